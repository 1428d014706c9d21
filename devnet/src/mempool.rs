//! Transaction acceptance, as Bitcoin Core 31's `AcceptToMemoryPool` decides it
//! (with `-acceptnonstdtxn=1` unless standardness is on), and the pool of accepted
//! transactions.
//!
//! Every check names its failure as Core 31 does: its reject reason, then, after a
//! comma, the details Core adds (`bad-txns-premature-spend-of-coinbase, tried to spend
//! coinbase at depth 1`), so that a client sees the same string from this devnet as
//! from bitcoind. docs/devnet.md lists where the devnet still differs.

use std::collections::{BTreeSet, HashMap, HashSet};

use bitcoin::absolute::LOCK_TIME_THRESHOLD;
use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid, Weight};

use crate::chain::{ChainIndex, Coin};
use crate::kernel::verify_scripts;

/// Blocks a coinbase output must wait before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Largest block weight (BIP-141), which bounds a transaction too.
pub const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Largest standard transaction weight, enforced when non-standard transactions are refused.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
const MAX_MONEY: u64 = 21_000_000 * 100_000_000;
const SEQUENCE_FINAL: u32 = 0xffff_ffff;
const SEQUENCE_LOCKTIME_DISABLE_FLAG: u32 = 1 << 31;
const SEQUENCE_LOCKTIME_TYPE_FLAG: u32 = 1 << 22;
const SEQUENCE_LOCKTIME_MASK: u32 = 0x0000_ffff;
const SEQUENCE_LOCKTIME_GRANULARITY: u32 = 9;

/// Bitcoin Core's JSON-RPC error codes for a refused transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectCode {
    /// `RPC_DESERIALIZATION_ERROR` (-22): the bytes are not a transaction.
    Deserialization = -22,
    /// `RPC_VERIFY_ERROR` (-25): inputs missing or already spent.
    Verify = -25,
    /// `RPC_VERIFY_REJECTED` (-26): refused by consensus or policy.
    Rejected = -26,
    /// `RPC_VERIFY_ALREADY_IN_CHAIN` (-27): already confirmed.
    AlreadyInChain = -27,
}

/// A refused transaction: Core's error code and reject reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct TxRejected {
    /// Core's error code.
    pub code: RejectCode,
    /// Core's reject reason, e.g. `bad-txns-inputs-missingorspent`.
    pub reason: String,
}

fn reject(reason: impl Into<String>) -> TxRejected {
    TxRejected { code: RejectCode::Rejected, reason: reason.into() }
}

/// A transaction in the pool.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its fee.
    pub fee: Amount,
    /// Its weight.
    pub weight: Weight,
    /// Its virtual size for policy (weight or sigops, whichever counts more).
    pub vsize: u64,
    /// The outputs it spends, in input order.
    pub spent: Vec<TxOut>,
}

/// Accepted, unconfirmed transactions in acceptance order (parents before children).
#[derive(Debug, Default)]
pub struct Mempool {
    order: Vec<Txid>,
    entries: HashMap<Txid, MempoolEntry>,
    spends: HashMap<OutPoint, (Txid, u32)>,
}

/// Rules the acceptance applies beyond consensus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Accept transactions that are valid by consensus but not standard (large
    /// scripts, odd versions, dust), as `bitcoind -acceptnonstdtxn=1` does.
    pub accept_nonstandard: bool,
    /// Accept a transaction that conflicts with the pool when it pays for what it
    /// evicts, as Bitcoin Core 31 always does (full RBF: BIP-125 rules 3 to 5 without
    /// the signalling, and a better fee rate; see [`Mempool::accept`]). Off: any
    /// conflict is refused (`txn-mempool-conflict`), as Core before 28 refused a
    /// replacement of a transaction that does not signal BIP-125.
    pub full_rbf: bool,
}

/// Most transactions one replacement may conflict with directly (BIP-125 rule 5; Core
/// 31 counts their clusters, each of which holds at least one of them).
pub const MAX_REPLACEMENT_CANDIDATES: usize = 100;
/// The incremental relay fee a replacement pays for its own size, in sat/kvB (Core
/// 31's `-incrementalrelayfee` default).
const INCREMENTAL_RELAY_SAT_KVB: u64 = 100;
/// The lowest fee rate relayed, in sat/kvB (Core 31's `-minrelaytxfee` default).
const MIN_RELAY_SAT_KVB: u64 = 100;
/// Most transactions in one cluster (Core 31's `-limitclustercount` default).
pub const MAX_CLUSTER_COUNT: usize = 64;
/// Largest cluster, in virtual bytes (Core 31's `-limitclustersize` default, 101 kvB).
pub const MAX_CLUSTER_VSIZE: u64 = 101_000;
/// Virtual bytes a signature operation counts for (Core's `-bytespersigop` default).
const BYTES_PER_SIGOP: u64 = 20;

/// The fee `sat_per_kvb` asks of `vsize` virtual bytes, rounded up (Core's
/// `CFeeRate::GetFee`).
fn fee_at(sat_per_kvb: u64, vsize: u64) -> u64 {
    sat_per_kvb.saturating_mul(vsize).div_ceil(1000)
}

/// Core's `FormatMoney`: bitcoins with up to eight decimals, at least two.
fn format_money(sats: u64) -> String {
    let mut text = format!("{}.{:08}", sats / 100_000_000, sats % 100_000_000);
    while text.ends_with('0') && text.as_bytes().get(text.len() - 3) != Some(&b'.') {
        text.pop();
    }
    text
}

/// Core's virtual size for policy: the weight, or the sigop cost at
/// [`BYTES_PER_SIGOP`] when that is larger, in vbytes rounded up.
fn policy_vsize(tx: &Transaction, weight: Weight, spent: &[TxOut]) -> u64 {
    let spent: Vec<Option<TxOut>> = spent.iter().cloned().map(Some).collect();
    let sigop_cost = crate::views::sigops(tx, &spent);
    let sigop_weight = u64::try_from(sigop_cost).unwrap_or(u64::MAX).saturating_mul(BYTES_PER_SIGOP);
    weight.to_wu().max(sigop_weight).div_ceil(4)
}

impl Mempool {
    /// Transactions in acceptance order.
    pub fn entries(&self) -> impl Iterator<Item = (&Txid, &MempoolEntry)> {
        self.order.iter().filter_map(|txid| self.entries.get(txid).map(|entry| (txid, entry)))
    }

    /// A transaction in the pool.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// The pool transaction spending `outpoint`, and its input index.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<(Txid, u32)> {
        self.spends.get(outpoint).copied()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Checks `tx` against the chain and the pool; adds it if it passes.
    pub fn accept(
        &mut self,
        tx: Transaction,
        chain: &ChainIndex,
        policy: Policy,
    ) -> Result<Txid, TxRejected> {
        let (entry, evicted) = self.check(&tx, chain, policy)?;
        for txid in &evicted {
            self.remove(txid);
        }
        let txid = tx.compute_txid();
        for (vin, input) in tx.input.iter().enumerate() {
            self.spends.insert(input.previous_output, (txid, u32::try_from(vin).unwrap_or(u32::MAX)));
        }
        self.order.push(txid);
        self.entries.insert(txid, entry);
        Ok(txid)
    }

    /// Removes the transactions `confirmed` (now in a block) and anything that
    /// conflicts with them.
    pub fn remove_confirmed(&mut self, confirmed: &[Transaction]) {
        let ids: HashSet<Txid> = confirmed.iter().map(Transaction::compute_txid).collect();
        let spent: HashSet<OutPoint> =
            confirmed.iter().flat_map(|tx| tx.input.iter().map(|input| input.previous_output)).collect();
        let dropped: Vec<Txid> = self
            .entries
            .iter()
            .filter(|(txid, entry)| {
                ids.contains(*txid)
                    || entry.tx.input.iter().any(|input| spent.contains(&input.previous_output))
            })
            .map(|(txid, _)| *txid)
            .collect();
        for txid in dropped {
            self.remove(&txid);
        }
    }

    fn remove(&mut self, txid: &Txid) {
        if let Some(entry) = self.entries.remove(txid) {
            for input in &entry.tx.input {
                self.spends.remove(&input.previous_output);
            }
            self.order.retain(|id| id != txid);
        }
    }

    /// Empties the pool and returns its transactions in acceptance order (to re-check
    /// them after a reorg).
    pub fn drain(&mut self) -> Vec<Transaction> {
        let order = std::mem::take(&mut self.order);
        self.spends.clear();
        let mut entries = std::mem::take(&mut self.entries);
        order.into_iter().filter_map(|txid| entries.remove(&txid)).map(|entry| entry.tx).collect()
    }

    /// The coin `outpoint` refers to: from the chain, or an output of a pool transaction
    /// (then at height `next_height`, as Core treats unconfirmed coins).
    fn coin(&self, outpoint: &OutPoint, chain: &ChainIndex, next_height: u32) -> Option<Coin> {
        if let Some(coin) = chain.coin(outpoint) {
            return Some(coin.clone());
        }
        let entry = self.entries.get(&outpoint.txid)?;
        let output = entry.tx.output.get(usize::try_from(outpoint.vout).ok()?)?;
        Some(Coin { output: output.clone(), height: next_height, coinbase: false })
    }

    /// `txids` and every pool transaction descending from them.
    fn with_descendants(&self, txids: &BTreeSet<Txid>) -> BTreeSet<Txid> {
        let mut all = txids.clone();
        let mut queue: Vec<Txid> = txids.iter().copied().collect();
        while let Some(txid) = queue.pop() {
            let Some(entry) = self.entries.get(&txid) else { continue };
            for vout in 0..entry.tx.output.len() {
                let outpoint = OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX));
                if let Some((child, _)) = self.spends.get(&outpoint) {
                    if all.insert(*child) {
                        queue.push(*child);
                    }
                }
            }
        }
        all
    }

    /// The pool transactions `tx` would share a cluster with (connected to it through
    /// parents and children, `evicted` left out): how many, and their virtual size.
    fn cluster_with(&self, tx: &Transaction, evicted: &BTreeSet<Txid>) -> (usize, u64) {
        let mut seen: HashSet<Txid> = HashSet::new();
        let mut queue: Vec<Txid> = tx
            .input
            .iter()
            .map(|input| input.previous_output.txid)
            .filter(|parent| self.entries.contains_key(parent) && !evicted.contains(parent))
            .collect();
        let mut vsize: u64 = 0;
        while let Some(txid) = queue.pop() {
            if !seen.insert(txid) {
                continue;
            }
            let Some(entry) = self.entries.get(&txid) else { continue };
            vsize = vsize.saturating_add(entry.vsize);
            let parents = entry.tx.input.iter().map(|input| input.previous_output.txid);
            let children = (0..entry.tx.output.len()).filter_map(|vout| {
                let outpoint = OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX));
                self.spends.get(&outpoint).map(|(child, _)| *child)
            });
            for next in parents.chain(children) {
                if self.entries.contains_key(&next) && !evicted.contains(&next) && !seen.contains(&next) {
                    queue.push(next);
                }
            }
        }
        (seen.len(), vsize)
    }

    /// Checks `tx`; on success returns its entry and the pool transactions it evicts
    /// (empty unless it is a full-RBF replacement).
    fn check(
        &self,
        tx: &Transaction,
        chain: &ChainIndex,
        policy: Policy,
    ) -> Result<(MempoolEntry, BTreeSet<Txid>), TxRejected> {
        check_transaction(tx)?;
        if tx.is_coinbase() {
            return Err(reject("coinbase"));
        }
        let weight = tx.weight();
        if !policy.accept_nonstandard {
            check_standard(tx, weight)?;
        }
        let txid = tx.compute_txid();
        if self.entries.contains_key(&txid) {
            return Err(reject("txn-already-in-mempool"));
        }
        let next_height = chain.tip_height().map_or(0, |tip| tip.saturating_add(1));
        let tip_median_time = chain.tip_median_time();
        if !is_final(tx, next_height, tip_median_time) {
            return Err(reject("non-final"));
        }
        let direct: BTreeSet<Txid> = tx
            .input
            .iter()
            .filter_map(|input| self.spends.get(&input.previous_output))
            .map(|(txid, _)| *txid)
            .collect();
        if !direct.is_empty() && !policy.full_rbf {
            return Err(reject("txn-mempool-conflict"));
        }
        let mut coins = Vec::with_capacity(tx.input.len());
        for input in &tx.input {
            match self.coin(&input.previous_output, chain, next_height) {
                Some(coin) => coins.push(coin),
                None => {
                    let known = (0..tx.output.len()).any(|vout| {
                        chain.coin(&OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX))).is_some()
                    });
                    return Err(if known {
                        TxRejected {
                            code: RejectCode::AlreadyInChain,
                            reason: "txn-already-known".to_owned(),
                        }
                    } else {
                        TxRejected {
                            code: RejectCode::Verify,
                            reason: "bad-txns-inputs-missingorspent".to_owned(),
                        }
                    });
                }
            }
        }
        if !sequence_locks_hold(tx, &coins, next_height, tip_median_time, chain) {
            return Err(reject("non-BIP68-final"));
        }
        // Core's `CheckTxInputs`.
        let mut value_in: u64 = 0;
        for coin in &coins {
            let depth = next_height.saturating_sub(coin.height);
            if coin.coinbase && depth < COINBASE_MATURITY {
                return Err(reject(format!(
                    "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {depth}"
                )));
            }
            value_in = value_in
                .checked_add(coin.output.value.to_sat())
                .filter(|total| *total <= MAX_MONEY)
                .ok_or_else(|| reject("bad-txns-inputvalues-outofrange"))?;
        }
        let value_out: u64 = tx.output.iter().map(|output| output.value.to_sat()).sum();
        let fee = value_in.checked_sub(value_out).ok_or_else(|| {
            reject(format!(
                "bad-txns-in-belowout, value in ({}) < value out ({})",
                format_money(value_in),
                format_money(value_out)
            ))
        })?;
        let spent: Vec<TxOut> = coins.into_iter().map(|coin| coin.output).collect();
        let vsize = policy_vsize(tx, weight, &spent);
        let min_fee = fee_at(MIN_RELAY_SAT_KVB, vsize);
        if fee < min_fee {
            return Err(reject(format!("min relay fee not met, {fee} < {min_fee}")));
        }
        let evicted = self.with_descendants(&direct);
        // A transaction descending from one it conflicts with: Core names that one.
        if let Some(parent) =
            tx.input.iter().map(|input| input.previous_output.txid).find(|parent| evicted.contains(parent))
        {
            let conflict = direct
                .iter()
                .find(|conflict| self.with_descendants(&BTreeSet::from([**conflict])).contains(&parent))
                .copied()
                .unwrap_or(parent);
            return Err(reject(format!(
                "bad-txns-spends-conflicting-tx, {txid} spends conflicting transaction {conflict}"
            )));
        }
        if !direct.is_empty() {
            self.check_replacement(&txid, fee, vsize, &direct, &evicted)?;
        }
        let (count, cluster_vsize) = self.cluster_with(tx, &evicted);
        if count.saturating_add(1) > MAX_CLUSTER_COUNT
            || cluster_vsize.saturating_add(vsize) > MAX_CLUSTER_VSIZE
        {
            return Err(reject("too-large-cluster"));
        }
        verify_scripts(tx, &spent).map_err(|failure| reject(failure.reject_reason(tx)))?;
        Ok((MempoolEntry { tx: tx.clone(), fee: Amount::from_sat(fee), weight, vsize, spent }, evicted))
    }

    /// Core 31's `ReplacementChecks` for a replacement `txid` paying `fee` for `vsize`
    /// that conflicts directly with `direct` and evicts `evicted`: rule 5, rules 3 and
    /// 4 (`PaysForRBF`), then a better fee rate. Core compares the feerate diagrams of
    /// the clusters involved; the devnet asks for a fee rate above each directly
    /// replaced transaction's, which is the same for the chains a rollup posts.
    fn check_replacement(
        &self,
        txid: &Txid,
        fee: u64,
        vsize: u64,
        direct: &BTreeSet<Txid>,
        evicted: &BTreeSet<Txid>,
    ) -> Result<(), TxRejected> {
        if direct.len() > MAX_REPLACEMENT_CANDIDATES {
            return Err(reject(format!(
                "too many potential replacements, rejecting replacement {txid}; too many conflicting clusters ({} > {MAX_REPLACEMENT_CANDIDATES})",
                direct.len()
            )));
        }
        let evicted_fees: u64 =
            evicted.iter().filter_map(|txid| self.entries.get(txid)).map(|entry| entry.fee.to_sat()).sum();
        if fee < evicted_fees {
            return Err(reject(format!(
                "insufficient fee, rejecting replacement {txid}, less fees than conflicting txs; {} < {}",
                format_money(fee),
                format_money(evicted_fees)
            )));
        }
        let relay = fee_at(INCREMENTAL_RELAY_SAT_KVB, vsize);
        if fee - evicted_fees < relay {
            return Err(reject(format!(
                "insufficient fee, rejecting replacement {txid}, not enough additional fees to relay; {} < {}",
                format_money(fee - evicted_fees),
                format_money(relay)
            )));
        }
        // A higher fee rate than every transaction it replaces directly (compared as
        // fee × the other's size, exactly).
        for old in direct.iter().filter_map(|txid| self.entries.get(txid)) {
            let new_side = u128::from(fee) * u128::from(old.vsize);
            let old_side = u128::from(old.fee.to_sat()) * u128::from(vsize);
            if new_side <= old_side {
                return Err(reject(
                    "replacement-failed, insufficient feerate: does not improve feerate diagram",
                ));
            }
        }
        Ok(())
    }
}

/// Core's `CheckTransaction`: context-free consensus checks.
fn check_transaction(tx: &Transaction) -> Result<(), TxRejected> {
    if tx.input.is_empty() {
        return Err(reject("bad-txns-vin-empty"));
    }
    if tx.output.is_empty() {
        return Err(reject("bad-txns-vout-empty"));
    }
    // Weight without witness data, as Core counts it here.
    let stripped = bitcoin::consensus::serialize(&Transaction {
        input: tx
            .input
            .iter()
            .map(|input| bitcoin::TxIn { witness: bitcoin::Witness::new(), ..input.clone() })
            .collect(),
        ..tx.clone()
    })
    .len() as u64;
    if stripped.saturating_mul(4) > MAX_BLOCK_WEIGHT {
        return Err(reject("bad-txns-oversize"));
    }
    let mut total: u64 = 0;
    for output in &tx.output {
        let value = output.value.to_sat();
        if value > MAX_MONEY {
            return Err(reject("bad-txns-vout-toolarge"));
        }
        total = total.saturating_add(value);
        if total > MAX_MONEY {
            return Err(reject("bad-txns-txouttotal-toolarge"));
        }
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    for input in &tx.input {
        if !seen.insert(input.previous_output) {
            return Err(reject("bad-txns-inputs-duplicate"));
        }
    }
    if tx.is_coinbase() {
        let length = tx.input[0].script_sig.len();
        if !(2..=100).contains(&length) {
            return Err(reject("bad-cb-length"));
        }
    } else if tx.input.iter().any(|input| input.previous_output.is_null()) {
        return Err(reject("bad-txns-prevout-null"));
    }
    Ok(())
}

/// A subset of Core's `IsStandardTx`, applied when non-standard transactions are refused.
fn check_standard(tx: &Transaction, weight: Weight) -> Result<(), TxRejected> {
    if !(1..=3).contains(&tx.version.0) {
        return Err(reject("version"));
    }
    if weight.to_wu() > MAX_STANDARD_TX_WEIGHT {
        return Err(reject("tx-size"));
    }
    for input in &tx.input {
        if input.script_sig.len() > 1650 {
            return Err(reject("scriptsig-size"));
        }
        if !input.script_sig.is_push_only() {
            return Err(reject("scriptsig-not-pushonly"));
        }
    }
    if tx.output.iter().filter(|output| output.script_pubkey.is_op_return()).count() > 1 {
        return Err(reject("multi-op-return"));
    }
    if tx.output.iter().any(|output| {
        !output.script_pubkey.is_op_return() && output.value < output.script_pubkey.minimal_non_dust()
    }) {
        return Err(reject("dust"));
    }
    Ok(())
}

/// Core's `IsFinalTx` for a transaction in the next block (BIP-113: time locks
/// compare with the median time past of the tip).
fn is_final(tx: &Transaction, next_height: u32, tip_median_time: u32) -> bool {
    let lock_time = tx.lock_time.to_consensus_u32();
    if lock_time == 0 {
        return true;
    }
    let reference = if lock_time < LOCK_TIME_THRESHOLD { next_height } else { tip_median_time };
    lock_time < reference || tx.input.iter().all(|input| input.sequence.0 == SEQUENCE_FINAL)
}

/// BIP-68 relative lock times of every input, for inclusion in the next block.
fn sequence_locks_hold(
    tx: &Transaction,
    coins: &[Coin],
    next_height: u32,
    tip_median_time: u32,
    chain: &ChainIndex,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    for (input, coin) in tx.input.iter().zip(coins) {
        let sequence = input.sequence.0;
        if sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG != 0 {
            continue;
        }
        let value = i64::from(sequence & SEQUENCE_LOCKTIME_MASK);
        if sequence & SEQUENCE_LOCKTIME_TYPE_FLAG != 0 {
            // Time-based: from the median time past of the block before the coin's.
            let coin_time = i64::from(chain.median_time_at(coin.height.saturating_sub(1)));
            min_time = min_time.max(coin_time + (value << SEQUENCE_LOCKTIME_GRANULARITY) - 1);
        } else {
            min_height = min_height.max(i64::from(coin.height) + value - 1);
        }
    }
    min_height < i64::from(next_height) && min_time < i64::from(tip_median_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_cores_format_money_writes_them() {
        assert_eq!(format_money(0), "0.00");
        assert_eq!(format_money(1), "0.00000001");
        assert_eq!(format_money(10), "0.0000001");
        assert_eq!(format_money(150_000), "0.0015");
        assert_eq!(format_money(100_000_000), "1.00");
        assert_eq!(format_money(12_345_678_901), "123.45678901");
        assert_eq!(format_money(2_100_000_000_000_000), "21000000.00");
    }

    #[test]
    fn fees_at_a_rate_round_up_as_cores_get_fee() {
        assert_eq!(fee_at(100, 0), 0);
        assert_eq!(fee_at(100, 1), 1);
        assert_eq!(fee_at(100, 10), 1);
        assert_eq!(fee_at(100, 11), 2);
        assert_eq!(fee_at(1000, 141), 141);
    }
}
