//! The sequencer's requests and its JSON-RPC methods.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_sendTransaction` | `[hex]`: the signed transaction's canonical encoding | the transaction id (hex) |
//! | `rollup_getAccount` | `{"index": n}` or `{"pubkey": [5 elements]}` | `{index, pubkey, balance, nonce}` or null |
//! | `rollup_getBlockByNumber` | `[n]` | the block with its `hash`, or null |
//! | `rollup_getTransactionReceipt` | `[id hex]` | `{tx_id, block_number, position, receipt}` or null |
//! | `rollup_getStateRoot` | none | `{block_number, state_root}` |
//! | `rollup_getAccountProof` | `[index]` | `{index, account, leaf, siblings, state_root}` |
//! | `rollup_getL1Status` | none | `{stalled, anchor_height, anchor_hash, cursor, final_tip_height, forced_inclusion_window, bridge_script}`: `stalled` is why blocks are not produced, or null |
//!
//! Rejections have stable codes (see [`error_code`]), with the reason in `data`.

use rollup_actors::{Handles, Request, Sender};
use rollup_l2::{Account, AccountIndex, Block, Digest, Encode, MerkleProof, PubKey, SignedTx, TxError};
use rollup_rpc::{Methods, Params, RpcError, INVALID_PARAMS};
use serde::Deserialize;
use serde_json::{json, Value};

use super::component::{Admission, Journal, L1Status, SequencerComponent};
use super::mempool::SubmitError;
use super::tables::ReceiptRecord;

/// Admit a signed transaction into the in-memory mempool; the caller persists the
/// admission through the [`Journal`] before acknowledging it.
#[derive(Debug)]
pub struct SubmitTx(pub SignedTx);
impl Request for SubmitTx {
    type Response = Result<Admission, SubmitError>;
}
impl Handles<SubmitTx> for SequencerComponent {
    fn handle(&mut self, SubmitTx(signed): SubmitTx) -> Result<Admission, SubmitError> {
        let admission = self.admit(signed)?;
        // A block sealed now makes the transaction durable even before the journal's
        // write; a stale journal entry is dropped on the next load.
        self.seal_if_full();
        Ok(admission)
    }
}

/// Which account to read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AccountQuery {
    /// By index.
    Index {
        /// The index.
        index: AccountIndex,
    },
    /// By public key.
    Pubkey {
        /// The key's five elements.
        pubkey: PubKey,
    },
}

/// Read an account.
#[derive(Debug)]
pub struct GetAccount(pub AccountQuery);
impl Request for GetAccount {
    type Response = Option<(AccountIndex, Account)>;
}
impl Handles<GetAccount> for SequencerComponent {
    fn handle(&mut self, GetAccount(query): GetAccount) -> Option<(AccountIndex, Account)> {
        match query {
            AccountQuery::Index { index } => self.account(index).map(|account| (index, account)),
            AccountQuery::Pubkey { pubkey } => self.account_by_pubkey(&pubkey),
        }
    }
}

/// Read a block.
#[derive(Debug)]
pub struct GetBlock(pub u64);
impl Request for GetBlock {
    type Response = Result<Option<Block>, String>;
}
impl Handles<GetBlock> for SequencerComponent {
    fn handle(&mut self, GetBlock(number): GetBlock) -> Result<Option<Block>, String> {
        self.block(number).map_err(|error| error.to_string())
    }
}

/// Read a receipt.
#[derive(Debug)]
pub struct GetReceipt(pub Digest);
impl Request for GetReceipt {
    type Response = Result<Option<ReceiptRecord>, String>;
}
impl Handles<GetReceipt> for SequencerComponent {
    fn handle(&mut self, GetReceipt(id): GetReceipt) -> Result<Option<ReceiptRecord>, String> {
        self.receipt(&id).map_err(|error| error.to_string())
    }
}

/// Read the head's number and state root.
#[derive(Debug)]
pub struct GetStateRoot;
impl Request for GetStateRoot {
    type Response = (u64, Digest);
}
impl Handles<GetStateRoot> for SequencerComponent {
    fn handle(&mut self, _: GetStateRoot) -> (u64, Digest) {
        (self.head().number, self.head().state_root)
    }
}

/// Read an account with its Merkle proof.
#[derive(Debug)]
pub struct GetAccountProof(pub AccountIndex);
impl Request for GetAccountProof {
    type Response = (Option<Account>, MerkleProof, Digest);
}
impl Handles<GetAccountProof> for SequencerComponent {
    fn handle(&mut self, GetAccountProof(index): GetAccountProof) -> (Option<Account>, MerkleProof, Digest) {
        self.proof(index)
    }
}

/// Read the L1 side's status: whether block production stops and why.
#[derive(Debug)]
pub struct GetL1Status;
impl Request for GetL1Status {
    type Response = L1Status;
}
impl Handles<GetL1Status> for SequencerComponent {
    fn handle(&mut self, _: GetL1Status) -> L1Status {
        self.l1_status()
    }
}

/// Typed senders to the sequencer.
#[derive(Clone, Debug)]
pub struct SequencerSenders {
    /// [`SubmitTx`].
    pub submit: Sender<SubmitTx>,
    /// Group commit of admissions.
    pub journal: Journal,
    /// [`GetAccount`].
    pub account: Sender<GetAccount>,
    /// [`GetBlock`].
    pub block: Sender<GetBlock>,
    /// [`GetReceipt`].
    pub receipt: Sender<GetReceipt>,
    /// [`GetStateRoot`].
    pub state_root: Sender<GetStateRoot>,
    /// [`GetAccountProof`].
    pub proof: Sender<GetAccountProof>,
    /// [`GetL1Status`].
    pub l1_status: Sender<GetL1Status>,
}

/// Malformed transaction encoding.
pub const MALFORMED_TRANSACTION: i64 = 1000;

/// The stable JSON-RPC code of a rejection.
pub fn error_code(error: &SubmitError) -> i64 {
    match error {
        SubmitError::Invalid(TxError::BadSignature) => 1001,
        SubmitError::Invalid(TxError::BadNonce { .. }) => 1002,
        SubmitError::Invalid(TxError::InsufficientBalance { .. }) => 1003,
        SubmitError::Invalid(TxError::AmountOverflow { .. }) => 1004,
        SubmitError::Invalid(TxError::ZeroAmount) => 1005,
        SubmitError::Invalid(TxError::UnknownSender { .. }) => 1006,
        SubmitError::Invalid(TxError::PubkeyMismatch { .. }) => 1007,
        SubmitError::Invalid(TxError::ReservedIndex) => 1008,
        SubmitError::Invalid(TxError::BadL1Script { .. }) => 1009,
        SubmitError::Invalid(TxError::NonceExhausted) => 1010,
        SubmitError::AlreadyKnown => 1011,
        SubmitError::ReplacementUnderpriced { .. } => 1012,
        SubmitError::AccountLimit { .. } => 1013,
        SubmitError::MempoolFull { .. } => 1014,
        // Reasons of packed transactions (rebuilding from the DA layer): a signed
        // transaction never gets them, but every reason keeps a stable code.
        SubmitError::Invalid(TxError::ReceiverExists { .. }) => 1015,
        SubmitError::Invalid(TxError::ReceiverKeyMissing { .. }) => 1016,
    }
}

fn digest_param(text: &str) -> Result<Digest, RpcError> {
    let bytes: [u8; 32] = rollup_l2::hex::decode(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| RpcError::invalid_params(format!("not a 32-byte hex id: {text}")))?;
    Digest::from_bytes(&bytes)
        .ok_or_else(|| RpcError::invalid_params(format!("not a canonical digest: {text}")))
}

fn account_json(index: AccountIndex, account: &Account) -> Value {
    json!({ "index": index, "pubkey": account.pubkey, "balance": account.balance, "nonce": account.nonce })
}

fn storage_error(error: String) -> RpcError {
    RpcError::internal(error)
}

/// Registers the sequencer's methods.
pub fn register(methods: &mut Methods, senders: &SequencerSenders) {
    let (submit, journal) = (senders.submit.clone(), senders.journal.clone());
    methods.register("rollup_sendTransaction", move |params: Params| {
        let (submit, journal) = (submit.clone(), journal.clone());
        async move {
            let (hex,): (String,) = params.parse()?;
            let bytes = rollup_l2::hex::decode(&hex)
                .ok_or_else(|| RpcError::new(MALFORMED_TRANSACTION, "malformed transaction: not hex"))?;
            let signed = SignedTx::decode(&bytes).map_err(|error| {
                RpcError::new(MALFORMED_TRANSACTION, format!("malformed transaction: {error}"))
            })?;
            match submit.call(SubmitTx(signed)).await? {
                Ok(admission) => {
                    let id = admission.id;
                    journal.persist(admission).await.map_err(RpcError::internal)?;
                    Ok(id.to_string())
                }
                Err(error) => Err(RpcError::new(error_code(&error), error.to_string())
                    .with_data(serde_json::to_value(&error).unwrap_or(Value::Null))),
            }
        }
    });

    let account = senders.account.clone();
    methods.register("rollup_getAccount", move |params: Params| {
        let account = account.clone();
        async move {
            let query: AccountQuery = match params.clone().parse::<(AccountQuery,)>() {
                Ok((query,)) => query,
                Err(_) => params_object(params)?,
            };
            Ok::<_, RpcError>(
                account.call(GetAccount(query)).await?.map(|(index, account)| account_json(index, &account)),
            )
        }
    });

    let block = senders.block.clone();
    methods.register("rollup_getBlockByNumber", move |params: Params| {
        let block = block.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            let found = block.call(GetBlock(number)).await?.map_err(storage_error)?;
            Ok::<_, RpcError>(found.map(|block| {
                let hash = block.header.hash().to_string();
                let mut value = serde_json::to_value(&block).unwrap_or(Value::Null);
                value["hash"] = json!(hash);
                value
            }))
        }
    });

    let receipt = senders.receipt.clone();
    methods.register("rollup_getTransactionReceipt", move |params: Params| {
        let receipt = receipt.clone();
        async move {
            let (id,): (String,) = params.parse()?;
            let id = digest_param(&id)?;
            receipt.call(GetReceipt(id)).await?.map_err(storage_error)
        }
    });

    let state_root = senders.state_root.clone();
    methods.register("rollup_getStateRoot", move |params: Params| {
        let state_root = state_root.clone();
        async move {
            params.none()?;
            let (number, root) = state_root.call(GetStateRoot).await?;
            Ok::<_, RpcError>(json!({ "block_number": number, "state_root": root.to_string() }))
        }
    });

    register_l1_status(methods, senders);

    let proof = senders.proof.clone();
    methods.register("rollup_getAccountProof", move |params: Params| {
        let proof = proof.clone();
        async move {
            let (index,): (AccountIndex,) = params.parse()?;
            let (account, proof, root) = proof.call(GetAccountProof(index)).await?;
            let leaf = account.map(|account| account.leaf()).unwrap_or(Digest::ZERO);
            Ok::<_, RpcError>(json!({
                "index": index,
                "account": account.map(|account| account_json(index, &account)),
                "leaf": leaf.to_string(),
                "siblings": proof.siblings.iter().map(Digest::to_string).collect::<Vec<_>>(),
                "state_root": root.to_string(),
            }))
        }
    });
}

/// Registers `rollup_getL1Status` (part of [`register`]).
fn register_l1_status(methods: &mut Methods, senders: &SequencerSenders) {
    let status = senders.l1_status.clone();
    methods.register("rollup_getL1Status", move |params: Params| {
        let status = status.clone();
        async move {
            params.none()?;
            let status = status.call(GetL1Status).await?;
            Ok::<_, RpcError>(serde_json::to_value(status).unwrap_or(Value::Null))
        }
    });
}

/// Accepts `{"index": n}` / `{"pubkey": [...]}` given directly as the params object.
fn params_object(params: Params) -> Result<AccountQuery, RpcError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Direct {
        Query(AccountQuery),
    }
    params.parse::<Direct>().map(|Direct::Query(query)| query).map_err(|_| {
        RpcError::new(INVALID_PARAMS, "invalid params: expected {\"index\": n} or {\"pubkey\": [5 elements]}")
    })
}
