//! The sequencer role: takes L2 transactions, orders them (L1 messages first), executes
//! blocks with the L2 state transition function and stores them.

mod component;
mod mempool;
mod rpc;
mod tables;

pub use component::{
    Admission, Journal, L1Message, L1MessageSource, LoadSequencerError, QueueL1Source, SequencerComponent,
    SequencerSettings, SubmitTxError,
};
pub use mempool::{Admitted, Mempool, MempoolLimits, PendingTx, SubmitError};
pub use rpc::{
    error_code, register, AccountQuery, GetAccount, GetAccountProof, GetBlock, GetReceipt, GetStateRoot,
    SequencerSenders, SubmitTx, MALFORMED_TRANSACTION,
};
pub use tables::{
    Accounts, Blocks, CompactBlocks, L2Meta, PendingTxs, ReceiptRecord, Receipts, Stored, StoredCompact,
    StoredDigest, TreeNodes,
};
