//! The state transition function (docs/protocol.md section 2): what the sequencer
//! executes, what the vigilante re-executes and what the block circuit proves.
//!
//! Consensus code: every amount is checked against [`MAX_AMOUNT`] and every sum is
//! a checked operation; nothing here panics on any input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob::PackedTx;
use crate::hash::{hash, Digest, Domain, F};
use crate::tree::{AccountTree, MerkleProof, TreeStore};
use crate::types::{
    pack_bytes, Account, AccountIndex, Deposit, L2Tx, PubKey, SignedTx, Transfer, UserTx, Withdraw,
    MAX_AMOUNT, MAX_L1_SCRIPT_LEN,
};
use plonky2::field::types::Field;

/// Why a transaction cannot execute. Each variant is a stable rejection reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TxError {
    /// Index 0 is reserved.
    #[error("account index 0 is reserved")]
    ReservedIndex,
    /// The sender has no account.
    #[error("unknown sender account {index}")]
    UnknownSender {
        /// The sender index.
        index: AccountIndex,
    },
    /// The signature does not verify against the sender's key.
    #[error("invalid signature")]
    BadSignature,
    /// The nonce is not the account's nonce plus one.
    #[error("wrong nonce: expected {expected}, got {got}")]
    BadNonce {
        /// The only acceptable nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u32,
    },
    /// The amount is zero.
    #[error("amount must be positive")]
    ZeroAmount,
    /// An amount, fee or resulting balance is at least 2^56.
    #[error("amount overflow: {value} exceeds {max}")]
    AmountOverflow {
        /// The offending value (saturated at u64::MAX).
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The sender cannot pay amount plus fee.
    #[error("insufficient balance: have {balance}, need {needed}")]
    InsufficientBalance {
        /// The sender's balance.
        balance: u64,
        /// Amount plus fee.
        needed: u64,
    },
    /// The receiver exists with another key.
    #[error("account {index} exists with another public key")]
    PubkeyMismatch {
        /// The receiver.
        index: AccountIndex,
    },
    /// The withdrawal's Bitcoin script is empty or too long.
    #[error("l1 script length {len} is not between 1 and {max}")]
    BadL1Script {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The nonce would wrap around.
    #[error("nonce exhausted")]
    NonceExhausted,
    /// A packed transfer carries a key for a receiver that exists.
    #[error("packed transfer creates account {index}, which exists")]
    ReceiverExists {
        /// The receiver.
        index: AccountIndex,
    },
    /// A packed transfer to an empty account carries no key to create it with.
    #[error("packed transfer to empty account {index} carries no key")]
    ReceiverKeyMissing {
        /// The receiver.
        index: AccountIndex,
    },
}

/// Where accounts live (the leaves' preimages; the tree holds only digests).
pub trait AccountStore {
    /// The account at `index`.
    fn account(&self, index: AccountIndex) -> Option<Account>;
    /// Replaces the account at `index`.
    fn set_account(&mut self, index: AccountIndex, account: Account);
}

/// Accounts in a map, remembering which changed since the last
/// [`MemoryAccounts::take_changes`] so that they can be persisted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryAccounts {
    accounts: BTreeMap<AccountIndex, Account>,
    changed: std::collections::BTreeSet<AccountIndex>,
}

impl MemoryAccounts {
    /// Accounts loaded from storage (not marked changed).
    pub fn from_map(accounts: BTreeMap<AccountIndex, Account>) -> Self {
        Self { accounts, changed: Default::default() }
    }

    /// The accounts changed since the last call, and forgets them.
    pub fn take_changes(&mut self) -> Vec<(AccountIndex, Account)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .filter_map(|index| self.accounts.get(&index).map(|account| (index, *account)))
            .collect()
    }

    /// Every account, by index.
    pub fn all(&self) -> &BTreeMap<AccountIndex, Account> {
        &self.accounts
    }
}

impl AccountStore for MemoryAccounts {
    fn account(&self, index: AccountIndex) -> Option<Account> {
        self.accounts.get(&index).copied()
    }

    fn set_account(&mut self, index: AccountIndex, account: Account) {
        self.changed.insert(index);
        self.accounts.insert(index, account);
    }
}

/// Chain parameters the STF needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StfParams {
    /// The chain id users sign over.
    pub chain_id: u64,
    /// The account that receives fees.
    pub fee_account: AccountIndex,
}

/// A withdrawal to pay on Bitcoin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// The output script to pay.
    pub l1_script: Vec<u8>,
    /// The amount.
    pub amount: u64,
}

/// What happened to one transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Receipt {
    /// Executed.
    Success,
    /// A forced transaction or deposit that could not execute: a recorded no-op.
    Failed {
        /// Why.
        error: TxError,
    },
}

/// The L2 state: accounts and the tree over them.
#[derive(Clone, Debug, Default)]
pub struct State<A, T> {
    accounts: A,
    tree: AccountTree<T>,
}

/// The state change of one transaction, applied only if the whole transaction is valid.
#[derive(Debug, Default)]
struct Changes {
    accounts: Vec<(AccountIndex, Account)>,
    withdrawal: Option<WithdrawalRecord>,
}

impl<A: AccountStore, T: TreeStore> State<A, T> {
    /// A state over `accounts` and `tree`, which must agree.
    pub fn new(accounts: A, tree: AccountTree<T>) -> Self {
        Self { accounts, tree }
    }

    /// The state root.
    pub fn root(&self) -> Digest {
        self.tree.root()
    }

    /// An account.
    pub fn account(&self, index: AccountIndex) -> Option<Account> {
        self.accounts.account(index)
    }

    /// A proof of the account leaf at `index`.
    pub fn proof(&self, index: AccountIndex) -> MerkleProof {
        self.tree.proof(index)
    }

    /// The stores.
    pub fn stores(&self) -> (&A, &AccountTree<T>) {
        (&self.accounts, &self.tree)
    }

    /// The stores, mutably (to take their change sets for persistence).
    pub fn stores_mut(&mut self) -> (&mut A, &mut T) {
        (&mut self.accounts, self.tree.store_mut())
    }

    /// Creates or replaces an account (genesis).
    pub fn put_account(&mut self, index: AccountIndex, account: Account) {
        self.accounts.set_account(index, account);
        self.tree.set_leaf(index, account.leaf());
    }

    fn commit(&mut self, changes: Changes) {
        let leaves: Vec<(AccountIndex, Digest)> =
            changes.accounts.iter().map(|(index, account)| (*index, account.leaf())).collect();
        for (index, account) in changes.accounts {
            self.accounts.set_account(index, account);
        }
        self.tree.set_leaves(&leaves);
    }

    /// Checks a user transaction against the current state without changing it.
    pub fn check_user(&self, params: &StfParams, signed: &SignedTx) -> Result<(), TxError> {
        self.plan_user(params, signed).map(|_| ())
    }

    /// Executes a user transaction; on error nothing changes.
    pub fn apply_user(
        &mut self,
        params: &StfParams,
        signed: &SignedTx,
    ) -> Result<Option<WithdrawalRecord>, TxError> {
        let changes = self.plan_user(params, signed)?;
        let withdrawal = changes.withdrawal.clone();
        self.commit(changes);
        Ok(withdrawal)
    }

    /// Executes a deposit; on error nothing changes.
    pub fn apply_deposit(&mut self, deposit: &Deposit) -> Result<(), TxError> {
        let changes = self.plan_deposit(deposit)?;
        self.commit(changes);
        Ok(())
    }

    /// Checks a deposit against the current state without changing it.
    pub fn check_deposit(&self, deposit: &Deposit) -> Result<(), TxError> {
        self.plan_deposit(deposit).map(|_| ())
    }

    fn plan_deposit(&self, deposit: &Deposit) -> Result<Changes, TxError> {
        let mut view = View::new(&self.accounts);
        credit(&mut view, deposit.to, &deposit.to_pubkey, deposit.amount)?;
        Ok(Changes { accounts: view.into_changes(), withdrawal: None })
    }

    /// Executes one block transaction: user transactions must be valid (an invalid one
    /// is an error: it never enters a block); deposits and forced transactions that
    /// fail are recorded no-ops.
    pub fn apply_tx(
        &mut self,
        params: &StfParams,
        tx: &L2Tx,
    ) -> Result<(Receipt, Option<WithdrawalRecord>), TxError> {
        match tx {
            L2Tx::User(signed) => {
                self.apply_user(params, signed).map(|withdrawal| (Receipt::Success, withdrawal))
            }
            L2Tx::Forced(signed) => Ok(match self.apply_user(params, signed) {
                Ok(withdrawal) => (Receipt::Success, withdrawal),
                Err(error) => (Receipt::Failed { error }, None),
            }),
            L2Tx::Deposit(deposit) => Ok(match self.apply_deposit(deposit) {
                Ok(()) => (Receipt::Success, None),
                Err(error) => (Receipt::Failed { error }, None),
            }),
        }
    }

    fn plan_user(&self, params: &StfParams, signed: &SignedTx) -> Result<Changes, TxError> {
        let tx = &signed.tx;
        let from = tx.from();
        if from == 0 {
            return Err(TxError::ReservedIndex);
        }
        let sender = self.accounts.account(from).ok_or(TxError::UnknownSender { index: from })?;
        if !crate::sig::verify(&sender.pubkey, &tx.signing_message(params.chain_id), &signed.signature) {
            return Err(TxError::BadSignature);
        }
        let expected = u64::from(sender.nonce) + 1;
        if u64::from(tx.nonce()) != expected {
            return Err(TxError::BadNonce { expected, got: tx.nonce() });
        }
        let effect = match tx {
            UserTx::Transfer(Transfer { to, to_pubkey, amount, fee, .. }) => Effect {
                amount: *amount,
                fee: *fee,
                kind: EffectKind::Transfer { to: *to, to_pubkey: *to_pubkey },
            },
            UserTx::Withdraw(Withdraw { amount, fee, l1_script, .. }) => {
                Effect { amount: *amount, fee: *fee, kind: EffectKind::Withdraw { l1_script } }
            }
        };
        self.plan_effect(params, from, sender, &effect)
    }

    /// What a user transaction does once its signature and nonce are accepted: the
    /// checks and changes shared by signed and packed transactions.
    fn plan_effect(
        &self,
        params: &StfParams,
        from: AccountIndex,
        sender: Account,
        effect: &Effect<'_>,
    ) -> Result<Changes, TxError> {
        let Effect { amount, fee, .. } = *effect;
        if let EffectKind::Withdraw { l1_script } = effect.kind {
            if l1_script.is_empty() || l1_script.len() > MAX_L1_SCRIPT_LEN {
                return Err(TxError::BadL1Script { len: l1_script.len(), max: MAX_L1_SCRIPT_LEN });
            }
        }
        if amount == 0 {
            return Err(TxError::ZeroAmount);
        }
        for value in [amount, fee] {
            within_limit(value)?;
        }
        let needed =
            amount.checked_add(fee).ok_or(TxError::AmountOverflow { value: u64::MAX, max: MAX_AMOUNT })?;
        let mut view = View::new(&self.accounts);
        let balance = sender.balance;
        let remaining =
            balance.checked_sub(needed).ok_or(TxError::InsufficientBalance { balance, needed })?;
        let nonce = sender.nonce.checked_add(1).ok_or(TxError::NonceExhausted)?;
        view.set(from, Account { balance: remaining, nonce, ..sender });
        let withdrawal = match effect.kind {
            EffectKind::Transfer { to, to_pubkey } => {
                if to == 0 {
                    return Err(TxError::ReservedIndex);
                }
                credit(&mut view, to, &to_pubkey, amount)?;
                None
            }
            EffectKind::Withdraw { l1_script } => {
                Some(WithdrawalRecord { l1_script: l1_script.to_vec(), amount })
            }
        };
        if fee > 0 {
            let fee_account =
                view.get(params.fee_account).ok_or(TxError::UnknownSender { index: params.fee_account })?;
            credit(&mut view, params.fee_account, &fee_account.pubkey, fee)?;
        }
        Ok(Changes { accounts: view.into_changes(), withdrawal })
    }

    /// The packed form of a user transaction about to run on this state (the receiver's
    /// key is kept only when the transfer creates the receiver); `None` for deposits
    /// and forced transactions, which the blob does not carry.
    pub fn pack(&self, tx: &L2Tx) -> Option<PackedTx> {
        let L2Tx::User(signed) = tx else { return None };
        Some(match &signed.tx {
            UserTx::Transfer(transfer) => PackedTx::Transfer {
                from: transfer.from,
                to: transfer.to,
                amount: transfer.amount,
                fee: transfer.fee,
                new_pubkey: self.accounts.account(transfer.to).is_none().then_some(transfer.to_pubkey),
            },
            UserTx::Withdraw(withdraw) => PackedTx::Withdraw {
                from: withdraw.from,
                amount: withdraw.amount,
                fee: withdraw.fee,
                l1_script: withdraw.l1_script.clone(),
            },
        })
    }

    /// Executes a block's transactions in order, as the sequencer sealed them, and
    /// returns the packed forms of its user transactions (their [`crate::tx_commitment`]
    /// is the header's). An invalid user transaction is an error: the state then holds
    /// the transactions before it. Deposits and forced transactions that fail are
    /// no-ops.
    pub fn apply_block(&mut self, params: &StfParams, txs: &[L2Tx]) -> Result<Vec<PackedTx>, TxError> {
        let mut packed = Vec::new();
        for tx in txs {
            let form = self.pack(tx);
            self.apply_tx(params, tx)?;
            packed.extend(form);
        }
        Ok(packed)
    }

    /// Executes a packed user transaction, as a node rebuilding from the DA layer does:
    /// every rule of a signed transaction except the signature (the block proof covers
    /// it), with the nonce taken as the sender's plus one. A transfer must carry the
    /// receiver's key exactly when it creates the receiver. On error nothing changes.
    pub fn apply_packed(
        &mut self,
        params: &StfParams,
        tx: &PackedTx,
    ) -> Result<Option<WithdrawalRecord>, TxError> {
        let from = tx.from();
        if from == 0 {
            return Err(TxError::ReservedIndex);
        }
        let sender = self.accounts.account(from).ok_or(TxError::UnknownSender { index: from })?;
        let effect = match tx {
            PackedTx::Transfer { to, amount, fee, new_pubkey, .. } => {
                let to_pubkey = match (new_pubkey, self.accounts.account(*to)) {
                    (Some(pubkey), None) => *pubkey,
                    (None, Some(existing)) => existing.pubkey,
                    (Some(_), Some(_)) => return Err(TxError::ReceiverExists { index: *to }),
                    (None, None) => return Err(TxError::ReceiverKeyMissing { index: *to }),
                };
                Effect { amount: *amount, fee: *fee, kind: EffectKind::Transfer { to: *to, to_pubkey } }
            }
            PackedTx::Withdraw { amount, fee, l1_script, .. } => {
                Effect { amount: *amount, fee: *fee, kind: EffectKind::Withdraw { l1_script } }
            }
        };
        let changes = self.plan_effect(params, from, sender, &effect)?;
        let withdrawal = changes.withdrawal.clone();
        self.commit(changes);
        Ok(withdrawal)
    }
}

/// What a user transaction moves, once authorised.
#[derive(Clone, Copy)]
struct Effect<'a> {
    amount: u64,
    fee: u64,
    kind: EffectKind<'a>,
}

#[derive(Clone, Copy)]
enum EffectKind<'a> {
    Transfer { to: AccountIndex, to_pubkey: PubKey },
    Withdraw { l1_script: &'a [u8] },
}

/// Pending account changes over a store, read-your-writes.
struct View<'a, A> {
    base: &'a A,
    changed: Vec<(AccountIndex, Account)>,
}

impl<'a, A: AccountStore> View<'a, A> {
    fn new(base: &'a A) -> Self {
        Self { base, changed: Vec::new() }
    }

    fn get(&self, index: AccountIndex) -> Option<Account> {
        self.changed
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, account)| *account)
            .or_else(|| self.base.account(index))
    }

    fn set(&mut self, index: AccountIndex, account: Account) {
        self.changed.retain(|(i, _)| *i != index);
        self.changed.push((index, account));
    }

    fn into_changes(self) -> Vec<(AccountIndex, Account)> {
        self.changed
    }
}

fn within_limit(value: u64) -> Result<u64, TxError> {
    if value > MAX_AMOUNT {
        return Err(TxError::AmountOverflow { value, max: MAX_AMOUNT });
    }
    Ok(value)
}

/// Credits `amount` to `index`, creating the account with `pubkey` if it is empty.
fn credit<A: AccountStore>(
    view: &mut View<'_, A>,
    index: AccountIndex,
    pubkey: &PubKey,
    amount: u64,
) -> Result<(), TxError> {
    if index == 0 {
        return Err(TxError::ReservedIndex);
    }
    within_limit(amount)?;
    let account = match view.get(index) {
        Some(existing) if existing.pubkey != *pubkey => return Err(TxError::PubkeyMismatch { index }),
        Some(existing) => existing,
        None => Account { pubkey: *pubkey, balance: 0, nonce: 0 },
    };
    let balance = account
        .balance
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow { value: u64::MAX, max: MAX_AMOUNT })?;
    within_limit(balance)?;
    view.set(index, Account { balance, ..account });
    Ok(())
}

/// Number of elements a withdrawal adds to its chain link: amount, script length and
/// the script packed seven bytes per element, zero-padded to six.
pub const WITHDRAWAL_ELEMENTS: usize = 8;

/// The next link of the withdrawal chain: Poseidon over the previous link, the amount,
/// the script length and the script (seven bytes per element, padded to six), always
/// 12 elements.
pub fn chain_withdrawal(previous: &Digest, withdrawal: &WithdrawalRecord) -> Digest {
    let mut input = [F::ZERO; 4 + WITHDRAWAL_ELEMENTS];
    input[..4].copy_from_slice(&previous.elements());
    input[4] = F::from_noncanonical_u64(withdrawal.amount);
    input[5] = F::from_canonical_u64(withdrawal.l1_script.len() as u64);
    for (slot, element) in input[6..].iter_mut().zip(pack_bytes(&withdrawal.l1_script)) {
        *slot = element;
    }
    hash(Domain::WithdrawalChain, &input)
}
