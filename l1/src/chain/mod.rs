//! Following Bitcoin for the L1 messages (`docs/protocol.md` section 3).
//!
//! - [`LightClient`]: follows the best Bitcoin header chain from the genesis
//!   `l1.start_height` through a [`BitcoinSource`] (Esplora in production), checking
//!   that each header hashes to what the source says, links to its parent and meets
//!   the proof of work its own `bits` claim. When the source's chain no longer holds
//!   our tip it walks back to the fork point, drops the replaced blocks and reports
//!   them ([`ChainUpdate::dropped`]). It reports each block once as final when it has
//!   `l1.finality_depth` confirmations (counting itself) on the followed chain
//!   ([`ChainUpdate::finalized`]); a reorganisation that would replace a final block
//!   is an error ([`ChainError::FinalityViolated`]), never silently followed.
//! - [`scan_block`]: the L1 messages of one final block, in protocol order, with the
//!   deposit rule applied; [`fetch_block`] gets a block and checks it against its
//!   header (hash, Merkle root, witness commitment: the envelopes are in witnesses).
//! - [`build_deposit`]: the user's side, a deposit's commit and reveal whose reveal
//!   pays the bridge the deposited amount.
//!
//! Nothing here is persisted: the caller keeps what it scanned and resumes a client
//! after its last final block ([`LightClient::resume`]).

mod client;
mod post;
mod scan;
mod source;

pub use client::{BlockRef, ChainError, ChainUpdate, LightClient, DEFAULT_MAX_HEADERS_PER_SYNC};
pub use post::build_deposit;
pub use scan::{scan_block, ScannedMessage};
pub use source::{fetch_block, BitcoinSource, SourceError};
