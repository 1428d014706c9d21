//! The vigilante: a node that trusts no operator. It rebuilds the chain from Bitcoin
//! alone (PROTOCOL.md section 4), block by final block: batch chunks signed by the
//! configured DA posters and the L1 messages, replayed with
//! [`crate::da::DaReplay`]. Challenging and disproving bad claims come with the
//! settlement contract.
//!
//! The replayed chain is kept in memory: on a start the vigilante scans again from
//! the genesis's first Bitcoin height (a restart costs a rescan, never a wrong state).
//! A reorganisation below the finality depth (a final block replaced) stops the role
//! with an error saying so; the supervisor restarts it, and the rescan follows the
//! new chain.

mod component;
mod rpc;

pub use component::{
    DaSyncStatus, SyncedBatch, VigilanteComponent, VigilanteError, VigilanteMetrics, VigilanteSettings,
};
pub use rpc::{register, GetDaSync, VigilanteSenders};
