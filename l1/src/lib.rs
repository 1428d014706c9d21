//! Everything the rollup writes to or reads from Bitcoin.
//!
//! - [`script`]: the tapscript toolkit of the BitVM-style settlement contract
//!   (`docs/protocol.md` section 7): a fragment builder, the execution of a leaf under
//!   Bitcoin Core's own interpreter (libbitcoinkernel), and the gadgets the
//!   contract's claim, assert and disprove scripts will be made of (the contract
//!   itself is not written yet).
//! - [`da`]: data availability (`docs/protocol.md` section 5). It turns a batch blob,
//!   a deposit or a forced transaction into envelopes (tapscript leaves that carry the
//!   data unexecuted), builds their commit transaction (paying to the leaf's P2TR
//!   output) and reveal transaction (spending it through the leaf, signed by the
//!   poster), and makes the poster's decisions (coin selection, fees, bumps, byte
//!   budget) without I/O; the controller and the wallet broadcast them. Readers decode
//!   the envelopes of mined reveals strictly, skip foreign leaves, and reassemble a
//!   batch's blob from its chunks.
//! - [`chain`]: the light client that follows Bitcoin headers through Esplora
//!   (links, proof of work, reorganisations, finality), the scanner that reads the L1
//!   messages (deposits, forced transactions) of final blocks,
//!   [`chain::fetch_block`] (a block checked against its header) and
//!   [`chain::build_deposit`] (a user's deposit).

pub mod chain;
pub mod da;
pub mod script;
