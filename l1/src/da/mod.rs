//! Data availability on Bitcoin: the rollup's envelopes (`docs/protocol.md` section 5).
//!
//! A batch blob, a deposit or a forced transaction reaches Bitcoin inside a taproot
//! leaf that never executes its data, posted in two steps: a *commit* transaction
//! pays to a P2TR output whose only leaf is the envelope, and a *reveal* transaction
//! spends that output through the leaf, so that the leaf (with the data) is in the
//! reveal's witness, signed by the poster.
//!
//! - [`Envelope`]: what one leaf carries; [`Envelope::leaf`] encodes it,
//!   [`split_batch`] cuts a batch blob into chunk envelopes.
//! - [`decode_leaf`], [`decode_witness`], [`decode_transaction`]: the strict decoder.
//!   A leaf that is not ours (another tag, another chain, not an envelope at all) is
//!   foreign and skipped; a leaf with our tag that is malformed is a
//!   [`DecodeEnvelopeError`] naming what is wrong.
//! - [`build_commit_reveal`]: the commit and reveal transactions, deterministic.
//! - [`reassemble_batch`]: a batch's blob from its chunks, in any order, reposts
//!   included.
//! - [`plan_posting`], [`plan_cpfp`], [`fee_rate_from_estimates`], [`decide_bump`],
//!   [`fits_budget`]: the poster's decisions (coin selection, fees, bumps, the byte
//!   budget per block), without I/O; the controller drives them against Esplora.
//!
//! # The leaf, byte for byte
//!
//! ```text
//! OP_FALSE OP_IF
//!   <tag: "RLDA" ‖ chain id (u64 BE)>                          12 bytes
//!   <header: version ‖ kind [‖ batch (u64 BE) ‖ index (u16 BE) ‖ count (u16 BE)]>
//!   <data 0> <data 1> ... <data n-1>
//! OP_ENDIF
//! <poster key (32-byte x-only)> OP_CHECKSIG
//! ```
//!
//! - **Tag**: the magic [`MAGIC`] (`"RLDA"`) then the L2 chain id, big-endian, in
//!   one 12-byte push. A leaf is ours exactly when it opens with `OP_FALSE OP_IF` and
//!   this push: another rollup's envelope, an ordinals inscription (whose tag is the
//!   3-byte `"ord"`) or our own envelope for another chain (a testnet next to
//!   mainnet) is foreign. Putting the chain id in the tag costs 8 bytes per envelope
//!   and makes "is it ours?" one comparison.
//! - **Header**: one push of fixed width per kind, so that parsing is a length check
//!   and fixed-offset reads, with no script-number rules to get wrong. Byte 0 is the
//!   version ([`ENVELOPE_VERSION`], 1): a later format changes it and an old reader
//!   fails loudly ([`DecodeEnvelopeError::UnsupportedVersion`]) instead of misreading.
//!   Byte 1 is the kind: 0 batch chunk, 1 deposit, 2 forced transaction. A batch
//!   chunk adds the batch number (u64, as batches are numbered), the chunk index and
//!   the chunk count (u16 each: 65,535 chunks of 390,000 bytes is 25 GB, far above
//!   any batch), 14 bytes in all; the other kinds' header is 2 bytes. Every header is
//!   at least 2 bytes, so it is always a plain data push (never `OP_1`..`OP_16`).
//! - **Data**: the payload cut into pushes of exactly [`MAX_PUSH_BYTES`] (520, the
//!   largest element script allows) bytes, the last one holding the 1 to 520 bytes
//!   left; an empty payload has no push. One split only, so that one payload has one
//!   leaf: the decoder refuses any other split.
//! - **Pushes are minimal**, as Bitcoin Core's MINIMALDATA demands of executed code:
//!   a 1-byte last push of 1 to 16 is `OP_1`..`OP_16`, of `0x81` is `OP_1NEGATE`; 1
//!   to 75 bytes use a direct push, 76 to 255 `OP_PUSHDATA1`, more `OP_PUSHDATA2`.
//!   The decoder refuses any other encoding of our pushes (the data is never executed,
//!   so consensus would accept it: we do not, so that one envelope has one encoding).
//! - **Key and `OP_CHECKSIG`**: the poster's x-only key; the spend carries its BIP-340
//!   signature, so a reveal proves who posted (the sequencer for batch chunks, a user
//!   for a forced transaction).
//!
//! The payload of one envelope is at most [`MAX_ENVELOPE_DATA`] bytes (390,000), so
//! that a reveal spending one envelope stays below the 400,000-weight standardness
//! limit ([`MAX_STANDARD_TX_WEIGHT`]): see the constant.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod decode;
mod envelope;
mod poster;
mod reassemble;
mod tx;

pub use decode::{
    decode_leaf, decode_transaction, decode_witness, DecodeEnvelopeError, DecodedInput, RevealedEnvelope,
};
pub use envelope::{
    split_batch, Envelope, EnvelopeError, EnvelopeKind, ENVELOPE_VERSION, KIND_BATCH_CHUNK, KIND_DEPOSIT,
    KIND_FORCED_TRANSACTION, MAGIC, MAX_ENVELOPE_DATA, MAX_PUSH_BYTES, MAX_STANDARD_TX_WEIGHT,
};
pub use poster::{
    decide_bump, fee_rate_from_estimates, fits_budget, order_coins, plan_cpfp, plan_posting,
    replacement_min_fee, Ancestor, Bump, FeeEstimateError, FeePolicy, PlanPostingError,
    INCREMENTAL_RELAY_FEE, MAX_FUNDING_INPUTS,
};
pub use reassemble::{reassemble_batch, ReassembleBatchError};
pub use tx::{
    build_commit_reveal, build_commit_reveal_paying, BuildCommitRevealError, CommitReveal, FundingUtxo,
    ENVELOPE_INTERNAL_KEY,
};
pub(crate) use tx::{envelope_output, funded_poster_key, key_path_inputs, EnvelopeOutput};
