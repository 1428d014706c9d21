//! The rollup's L2: EcGFp5 Schnorr signatures, domain-separated Poseidon hashing, the
//! account tree, types and encodings, the state transition function, the genesis
//! (with its L1 rules), batch cutting, the CodeControlGroup, the L1 message payloads,
//! and what the DA layer carries (the packed transactions, the batch blob) with the
//! replay that rebuilds the chain from it.

mod batch;
mod blob;
mod code_control;
pub mod ecgfp5;
mod genesis;
mod hash;
pub mod hex;
mod l1_message;
mod rebuild;
mod sig;
mod stf;
mod tree;
mod types;

pub use batch::{BatchCutter, BatchRules, BatchSpan, CutError};
pub use blob::{
    chain_tx, compress, da_commitment, decompress, tx_commitment, BatchBlob, BlobError, CompactBlock,
    PackedTx, BLOB_VERSION, PACKED_TX_ELEMENTS, POSTED_FORMAT_ZLIB,
};
pub use code_control::{
    verify_code_entry, CodeControlError, CodeControlGroup, CodeEntry, BLOCK_NUMBER_BITS, CODE_CONTROL_DEPTH,
    LAST_BLOCK_NUMBER, MAX_CODE_ENTRIES,
};
pub use genesis::{
    Genesis, GenesisAccount, GenesisError, L1Rules, DEFAULT_BLOCK_CAPACITIES, DEVNET_BRIDGE_SCRIPT,
    DEVNET_FEE_SEED, DEVNET_USER_BALANCE, DEVNET_USER_SEED, MAX_BLOCK_CAPACITY, MAX_BLOCK_CLASSES,
    MAX_BRIDGE_SCRIPT_LEN, MAX_FINALITY_DEPTH, MAX_FORCED_INCLUSION_WINDOW,
};
pub use hash::{hash, hash_pair, Digest, Domain, F};
pub use l1_message::{
    decode_forced_payload, encode_forced_payload, DecodeL1MessageError, DepositPayload, DEPOSIT_PAYLOAD_LEN,
};
pub use rebuild::{RebuildError, Rebuilder};
pub use sig::{pubkey_from, pubkey_of, sign, verify};
pub use stf::{
    chain_withdrawal, AccountStore, MemoryAccounts, Receipt, State, StfParams, TxError, WithdrawalRecord,
    WITHDRAWAL_ELEMENTS,
};
pub use tree::{empty_digests, AccountTree, MemoryTreeStore, MerkleProof, NodeChange, TreeStore, TREE_DEPTH};
pub use types::{
    chain_batch_tx, chain_l1_message, pack_bytes, Account, AccountIndex, Block, BlockHeader, DecodeError,
    Deposit, Encode, L1Anchor, L1Outpoint, L2Tx, PubKey, Reader, SignedTx, Transfer, UserTx, Withdraw,
    ENCODING_VERSION, MAX_AMOUNT, MAX_BLOCK_TXS, MAX_L1_SCRIPT_LEN, SIGNATURE_LEN, SIGNED_ELEMENTS,
    TX_ELEMENTS,
};
