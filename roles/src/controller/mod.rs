//! The controller role, batch cutting: follows the sequencer's sealed blocks in the
//! node database and cuts them into batches by the genesis rules
//! ([`rollup_l2::BatchCutter`], docs/protocol.md section 4).
//!
//! Every tick the component feeds the blocks sealed since the last tick to the cutter
//! and commits every batch they closed to the `batches` table in one write
//! transaction. Only closed batches are stored; the open batch is rebuilt on load by
//! re-feeding its blocks (those after the last stored batch), so a restarted role or
//! node cuts exactly the batches it would have cut without the restart. Batches are
//! served by `rollup_getBatch` and `rollup_getBatchCount`.
//!
//! With `[controller.da] enabled`, the tick also runs the DA poster ([`DaPoster`],
//! module `poster`): it posts each closed batch's blob to Bitcoin in commit/reveal
//! envelopes paid from the operator's wallet, bumps stuck postings, reposts after
//! reorgs and records where every chunk lives (`rollup_getBatchDa`).

mod component;
mod poster;
mod rpc;
mod tables;

pub use component::{ControllerComponent, ControllerMetrics, LoadControllerError};
pub use poster::{
    batch_blob, load_or_create_key, BatchBlobError, ChainError, ChainUtxo, DaChain, DaMetrics, DaPoster,
    DaSettings, EsploraChain, LoadPosterError, PostBatchError, Refusal, StepReport, TxState, SETTLE_DEPTH,
};
pub use rpc::{
    register, BatchDa, ControllerSenders, DaWallet, GetBatch, GetBatchCount, GetBatchDa, GetDaWallet,
};
pub use tables::{
    AttemptKind, BatchRecord, Batches, ChunkLocation, DaAttempt, DaChild, DaOpenPostings, DaPosting,
    DaPostings,
};

pub(crate) use component::{feed_stored_blocks, resume};
