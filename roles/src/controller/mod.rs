//! The controller role, batch cutting: follows the sequencer's sealed blocks in the
//! node database and cuts them into batches by the genesis rules
//! ([`rollup_l2::BatchCutter`], PROTOCOL.md section 4).
//!
//! Every tick the component feeds the blocks sealed since the last tick to the cutter
//! and commits every batch they closed to the `batches` table in one write
//! transaction. Only closed batches are stored; the open batch is rebuilt on load by
//! re-feeding its blocks (those after the last stored batch), so a restarted role or
//! node cuts exactly the batches it would have cut without the restart. Batches are
//! served by `rollup_getBatch` and `rollup_getBatchCount`.

mod component;
mod rpc;
mod tables;

pub use component::{ControllerComponent, ControllerMetrics, LoadControllerError};
pub use rpc::{register, ControllerSenders, GetBatch, GetBatchCount};
pub use tables::{BatchRecord, Batches};

pub(crate) use component::{feed_stored_blocks, resume};
