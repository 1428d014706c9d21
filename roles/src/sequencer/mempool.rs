//! The sequencer's mempool: per-account chains of consecutive nonces, fee priority
//! across accounts, replacement by a higher fee, per-account and total limits with
//! eviction of the cheapest tail.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rollup_l2::{
    verify, AccountIndex, AccountStore, Digest, SignedTx, State, StfParams, TreeStore, TxError, UserTx,
    MAX_AMOUNT, MAX_L1_SCRIPT_LEN,
};
use serde::Serialize;

/// Limits of the mempool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most pending transactions per sender.
    pub per_account: usize,
    /// Most pending transactions in all.
    pub total: usize,
}

/// Why a transaction was not admitted. Each variant has a stable JSON-RPC code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SubmitError {
    /// The transaction cannot execute.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The same transaction is already pending or included.
    #[error("transaction already known")]
    AlreadyKnown,
    /// A pending transaction has this nonce and the new fee is not higher by enough.
    #[error("replacement fee {offered} is below the required {required}")]
    ReplacementUnderpriced {
        /// The new transaction's fee.
        offered: u64,
        /// The least fee that replaces the pending one.
        required: u64,
    },
    /// The sender has too many pending transactions.
    #[error("sender {index} has {limit} pending transactions already")]
    AccountLimit {
        /// The sender.
        index: AccountIndex,
        /// The limit.
        limit: usize,
    },
    /// The mempool is full and the fee does not beat the cheapest pending transaction.
    #[error("mempool full: fee {offered} does not beat the cheapest pending fee {cheapest}")]
    MempoolFull {
        /// The offered fee.
        offered: u64,
        /// The fee to beat.
        cheapest: u64,
    },
}

/// A pending transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTx {
    /// Its id.
    pub id: Digest,
    /// The signed transaction.
    pub signed: SignedTx,
    /// Arrival order, for fair ties.
    pub sequence: u64,
}

impl PendingTx {
    fn fee(&self) -> u64 {
        self.signed.tx.fee()
    }

    fn cost(&self) -> u64 {
        let amount = match &self.signed.tx {
            UserTx::Transfer(transfer) => transfer.amount,
            UserTx::Withdraw(withdraw) => withdraw.amount,
        };
        amount.saturating_add(self.fee())
    }
}

/// What an admission changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The new transaction's id.
    pub id: Digest,
    /// Pending transactions it displaced (replaced, evicted, or dropped behind them).
    pub removed: Vec<Digest>,
}

/// The mempool.
#[derive(Clone, Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    chains: BTreeMap<AccountIndex, VecDeque<PendingTx>>,
    ids: HashMap<Digest, AccountIndex>,
    next_sequence: u64,
}

/// Fee increase a replacement needs, in percent.
const REPLACEMENT_BUMP_PERCENT: u64 = 10;

impl Mempool {
    /// An empty mempool.
    pub fn new(limits: MempoolLimits) -> Self {
        Self { limits, chains: BTreeMap::new(), ids: HashMap::new(), next_sequence: 0 }
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is pending.
    pub fn contains(&self, id: &Digest) -> bool {
        self.ids.contains_key(id)
    }

    /// Checks `signed` against the committed state plus the sender's pending chain and
    /// admits it; nothing changes on error.
    pub fn admit<A: AccountStore, T: TreeStore>(
        &mut self,
        signed: SignedTx,
        state: &State<A, T>,
        params: &StfParams,
    ) -> Result<Admitted, SubmitError> {
        let id = signed.tx.signing_message(params.chain_id);
        if self.ids.contains_key(&id) {
            return Err(SubmitError::AlreadyKnown);
        }
        let tx = &signed.tx;
        let from = tx.from();
        if from == 0 {
            return Err(TxError::ReservedIndex.into());
        }
        let sender = state.account(from).ok_or(TxError::UnknownSender { index: from })?;
        if !verify(&sender.pubkey, &id, &signed.signature) {
            return Err(TxError::BadSignature.into());
        }
        check_amounts(tx)?;
        if let UserTx::Transfer(transfer) = tx {
            if transfer.to == 0 {
                return Err(TxError::ReservedIndex.into());
            }
            if let Some(receiver) = state.account(transfer.to) {
                if receiver.pubkey != transfer.to_pubkey {
                    return Err(TxError::PubkeyMismatch { index: transfer.to }.into());
                }
            }
        }
        let chain = self.chains.get(&from).cloned().unwrap_or_default();
        let first_nonce = u64::from(sender.nonce) + 1;
        let nonce = u64::from(tx.nonce());
        let next_nonce = first_nonce + chain.len() as u64;
        if nonce < first_nonce || nonce > next_nonce {
            return Err(TxError::BadNonce { expected: next_nonce, got: tx.nonce() }.into());
        }
        // Replacement: the pending transaction with this nonce and everything after it go.
        let position = usize::try_from(nonce - first_nonce).unwrap_or(usize::MAX);
        let mut kept: VecDeque<PendingTx> = chain.iter().take(position).cloned().collect();
        let displaced: Vec<PendingTx> = chain.iter().skip(position).cloned().collect();
        if let Some(old) = displaced.first() {
            let required =
                old.fee().saturating_mul(100 + REPLACEMENT_BUMP_PERCENT).div_ceil(100).max(old.fee() + 1);
            if tx.fee() < required {
                return Err(SubmitError::ReplacementUnderpriced { offered: tx.fee(), required });
            }
        }
        let pending = PendingTx { id, signed: signed.clone(), sequence: self.next_sequence };
        let committed: u64 = kept.iter().map(PendingTx::cost).fold(0, u64::saturating_add);
        let needed = committed.saturating_add(pending.cost());
        if needed > sender.balance {
            return Err(TxError::InsufficientBalance { balance: sender.balance, needed }.into());
        }
        if kept.len() >= self.limits.per_account {
            return Err(SubmitError::AccountLimit { index: from, limit: self.limits.per_account });
        }
        let mut removed: Vec<Digest> = displaced.iter().map(|tx| tx.id).collect();
        let total_after = self.len() - displaced.len() + 1;
        let evict = if total_after > self.limits.total {
            let (victim_account, cheapest) = self
                .chains
                .iter()
                .filter(|(account, _)| **account != from)
                .filter_map(|(account, chain)| chain.back().map(|tail| (*account, tail.fee())))
                .min_by_key(|(_, fee)| *fee)
                .unwrap_or((from, u64::MAX));
            if tx.fee() <= cheapest || victim_account == from {
                return Err(SubmitError::MempoolFull { offered: tx.fee(), cheapest });
            }
            Some(victim_account)
        } else {
            None
        };
        // Commit the admission.
        for old in &displaced {
            self.ids.remove(&old.id);
        }
        if let Some(victim) = evict {
            if let Some(chain) = self.chains.get_mut(&victim) {
                if let Some(tail) = chain.pop_back() {
                    self.ids.remove(&tail.id);
                    removed.push(tail.id);
                }
                if chain.is_empty() {
                    self.chains.remove(&victim);
                }
            }
        }
        kept.push_back(pending);
        self.chains.insert(from, kept);
        self.ids.insert(id, from);
        self.next_sequence += 1;
        Ok(Admitted { id, removed })
    }

    /// Up to `max` transactions in execution order: the highest fee among the heads
    /// of all accounts' chains first, each account's transactions in nonce order.
    pub fn select(&self, max: usize) -> Vec<PendingTx> {
        let mut cursors: BTreeMap<AccountIndex, usize> = BTreeMap::new();
        let mut selected = Vec::with_capacity(max.min(self.len()));
        while selected.len() < max {
            let best = self
                .chains
                .iter()
                .filter_map(|(account, chain)| {
                    let position = cursors.get(account).copied().unwrap_or(0);
                    chain.get(position).map(|tx| (*account, tx))
                })
                .max_by(|(_, a), (_, b)| a.fee().cmp(&b.fee()).then(b.sequence.cmp(&a.sequence)));
            let Some((account, tx)) = best else { break };
            selected.push(tx.clone());
            *cursors.entry(account).or_insert(0) += 1;
        }
        selected
    }

    /// Forgets transactions that were included or dropped, and any later transaction
    /// of the same sender whose nonce chain they break.
    pub fn remove(&mut self, ids: &[Digest]) -> Vec<Digest> {
        let mut removed = Vec::new();
        for id in ids {
            let Some(account) = self.ids.get(id).copied() else { continue };
            let Some(chain) = self.chains.get_mut(&account) else { continue };
            if let Some(position) = chain.iter().position(|tx| tx.id == *id) {
                // Removing the head keeps the chain; removing inside it drops the rest.
                let tail: Vec<PendingTx> = if position == 0 {
                    chain.pop_front().into_iter().collect()
                } else {
                    chain.drain(position..).collect()
                };
                for tx in tail {
                    self.ids.remove(&tx.id);
                    removed.push(tx.id);
                }
            }
            if chain.is_empty() {
                self.chains.remove(&account);
            }
        }
        removed
    }
}

fn check_amounts(tx: &UserTx) -> Result<(), TxError> {
    let (amount, fee) = match tx {
        UserTx::Transfer(transfer) => (transfer.amount, transfer.fee),
        UserTx::Withdraw(withdraw) => {
            let len = withdraw.l1_script.len();
            if len == 0 || len > MAX_L1_SCRIPT_LEN {
                return Err(TxError::BadL1Script { len, max: MAX_L1_SCRIPT_LEN });
            }
            (withdraw.amount, withdraw.fee)
        }
    };
    if amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    for value in [amount, fee] {
        if value > MAX_AMOUNT {
            return Err(TxError::AmountOverflow { value, max: MAX_AMOUNT });
        }
    }
    Ok(())
}
