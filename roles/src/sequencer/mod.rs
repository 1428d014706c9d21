//! The sequencer role: takes L2 transactions, orders them (L1 messages first), executes
//! blocks with the L2 state transition function and stores them.

mod component;
mod mempool;
mod tables;

pub use component::{
    L1Message, L1MessageSource, LoadSequencerError, QueueL1Source, SequencerComponent, SequencerSettings,
    SubmitTxError,
};
pub use mempool::{Admitted, Mempool, MempoolLimits, PendingTx, SubmitError};
pub use tables::{Accounts, Blocks, L2Meta, PendingTxs, ReceiptRecord, Receipts, TreeNodes};
