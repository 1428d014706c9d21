//! The vigilante: a node that trusts no operator. It rebuilds the chain from Bitcoin
//! alone (docs/protocol.md section 4), block by final block: batch chunks signed by the
//! configured DA posters and the L1 messages, replayed with
//! [`crate::da::DaReplay`]. Challenging and disproving bad claims come with the
//! settlement contract.
//!
//! The replayed chain is kept in memory: on a start the vigilante scans again from
//! the genesis's first Bitcoin height (a restart costs a rescan, never a wrong state).
//! It follows Bitcoin with the same light client as the sequencer's L1 source
//! (`rollup_l1::chain`: links, proof of work, reorganisations, finality) and reads
//! each final block checked against its header. A reorganisation replacing a final
//! block stops the role with an error saying so; the supervisor restarts it, and the
//! rescan follows the new chain.

mod component;
mod rpc;

pub use component::{DaSyncStatus, SyncedBatch, VigilanteComponent, VigilanteMetrics, VigilanteSettings};
pub use rpc::{register, GetDaSync, VigilanteSenders};
