//! Everything the rollup writes to or reads from Bitcoin.
//!
//! - [`script`]: the tapscript toolkit of the BitVM-style settlement contract
//!   (`PROTOCOL.md` section 7): a fragment builder, the execution of a leaf under
//!   Bitcoin Core's own interpreter (libbitcoinkernel), and the gadgets the
//!   contract's claim, assert and disprove scripts are made of.
//! - [`da`]: data availability (`PROTOCOL.md` section 5). The poster turns a batch
//!   blob, a deposit or a forced transaction into envelopes (tapscript leaves that
//!   carry the data unexecuted), and posts each with a commit transaction (paying to
//!   the leaf's P2TR output) and a reveal transaction (spending it through the leaf,
//!   signed by the poster). Readers decode the envelopes of mined reveals strictly,
//!   skip foreign leaves, and reassemble a batch's blob from its chunks.
//! - [`chain`]: the light client that follows Bitcoin headers through Esplora
//!   (links, proof of work, reorganisations, finality) and the scanner that reads
//!   the L1 messages (deposits, forced transactions) of final blocks.

pub mod chain;
pub mod da;
pub mod script;
