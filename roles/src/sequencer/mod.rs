//! The sequencer role: takes L2 transactions, orders them (L1 messages first), executes
//! blocks with the L2 state transition function and stores them.

mod component;
mod l1_source;
mod mempool;
mod rpc;
mod tables;

pub use component::{
    Admission, Journal, L1Inclusion, L1Message, L1MessageSource, L1SourceError, L1Stall, L1Status,
    LoadSequencerError, QueueL1Source, SequencerComponent, SequencerMetrics, SequencerSettings,
    SubmitTxError,
};
pub use l1_source::{BitcoinL1Source, MessageLog, StartL1SourceError};
pub use mempool::{Admitted, Mempool, MempoolLimits, PendingTx, SubmitError};
pub use rpc::{
    error_code, register, AccountQuery, GetAccount, GetAccountProof, GetBlock, GetL1Status, GetReceipt,
    GetStateRoot, SequencerSenders, SubmitTx, MALFORMED_TRANSACTION,
};
pub use tables::{
    Accounts, Blocks, CompactBlocks, L1Messages, L2Meta, PendingTxs, ReceiptRecord, Receipts, ScannedBlock,
    ScannedBlocks, Stored, StoredCompact, StoredDigest, TreeNodes,
};
