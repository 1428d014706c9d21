//! The devnet: kernel, chain index, mempool, miner and wallet together.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::{Amount, Block, BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid};

use crate::chain::{script_hash, ChainIndex};
use crate::kernel::{BlockRejected, Kernel, KernelSetupError};
use crate::mempool::{Mempool, Policy, RejectCode, TxRejected, COINBASE_MATURITY, MAX_BLOCK_WEIGHT};
use crate::miner::{self, BlockPlan};
use crate::wallet::{Wallet, WalletError};

/// Weight kept free in a block for the coinbase.
const COINBASE_RESERVE_WEIGHT: u64 = 4_000;
/// Height the devnet mines to at first start so that its wallet has mature coins.
pub const FUNDED_HEIGHT: u32 = COINBASE_MATURITY + 10;

/// Settings of a devnet.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Directory of the chain (kernel data), the wallet key and nothing else.
    pub data_dir: PathBuf,
    /// Transaction acceptance rules.
    pub policy: Policy,
}

/// Why the devnet could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenDevnetError {
    /// The kernel failed.
    #[error(transparent)]
    Kernel(#[from] KernelSetupError),
    /// The wallet key could not be loaded.
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

/// Why mining failed.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    /// The kernel refused the block (a bug in block assembly, or a tampered block in tests).
    #[error(transparent)]
    Rejected(#[from] BlockRejected),
    /// The kernel failed reading its chain.
    #[error(transparent)]
    Kernel(#[from] KernelSetupError),
    /// A reorg deeper than the chain was asked for.
    #[error("cannot reorganise {depth} blocks: the chain has {height} blocks above genesis")]
    TooDeep {
        /// Requested depth.
        depth: u32,
        /// Tip height.
        height: u32,
    },
}

/// Why a faucet payment failed.
#[derive(Debug, thiserror::Error)]
pub enum FaucetError {
    /// The wallet cannot pay.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The payment was refused by the mempool (a bug: the wallet built it).
    #[error("faucet transaction refused: {0}")]
    Rejected(#[from] TxRejected),
}

/// An embedded regtest chain validated by Bitcoin Core's consensus engine.
pub struct Devnet {
    kernel: Kernel,
    chain: ChainIndex,
    mempool: Mempool,
    policy: Policy,
    wallet: Wallet,
    extra_nonce: u64,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("height", &self.chain.tip_height())
            .field("mempool", &self.mempool.len())
            .finish_non_exhaustive()
    }
}

fn now() -> u32 {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

impl Devnet {
    /// Opens the chain in `config.data_dir` (a new one holds only the genesis block)
    /// and indexes it.
    pub fn open(config: &DevnetConfig) -> Result<Self, OpenDevnetError> {
        let kernel = Kernel::open(&config.data_dir.join("chain"))?;
        let wallet = Wallet::load_or_create(&config.data_dir.join("wallet.key"))?;
        let mut devnet = Self {
            kernel,
            chain: ChainIndex::default(),
            mempool: Mempool::default(),
            policy: config.policy,
            wallet,
            extra_nonce: 0,
        };
        devnet.sync()?;
        tracing::info!(
            target: "rollup::devnet",
            height = devnet.chain.tip_height().unwrap_or(0),
            dir = %config.data_dir.display(),
            "regtest chain loaded"
        );
        Ok(devnet)
    }

    /// The indexed active chain.
    pub fn chain(&self) -> &ChainIndex {
        &self.chain
    }

    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The devnet's wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// A full block the kernel stored, by hash.
    pub fn full_block(&self, hash: &BlockHash) -> Option<Block> {
        match self.kernel.block_by_hash(hash) {
            Ok(block) => block,
            Err(error) => {
                tracing::error!(target: "rollup::devnet", %hash, %error, "cannot read block");
                None
            }
        }
    }

    /// Tip height.
    pub fn height(&self) -> u32 {
        self.chain.tip_height().unwrap_or(0)
    }

    /// Brings the index in line with the kernel's active chain; returns the
    /// non-coinbase transactions of blocks that left the chain, oldest first.
    fn sync(&mut self) -> Result<Vec<Transaction>, KernelSetupError> {
        let mut disconnected = Vec::new();
        while let Some(tip) = self.chain.tip() {
            if self.kernel.hash_at(tip.height) == Some(tip.hash) {
                break;
            }
            let mut txs = self.chain.disconnect_tip();
            txs.retain(|tx| !tx.is_coinbase());
            txs.extend(disconnected);
            disconnected = txs;
        }
        let next = self.chain.tip_height().map_or(0, |tip| tip.saturating_add(1));
        for height in next..=self.kernel.tip_height() {
            match self.kernel.block_at(height)? {
                Some(block) => self.chain.connect(&block),
                None => break,
            }
        }
        Ok(disconnected)
    }

    /// Checks `tx` as Bitcoin Core's mempool would and keeps it for the next block.
    pub fn submit(&mut self, tx: Transaction) -> Result<Txid, TxRejected> {
        let txid = self.mempool.accept(tx, &self.chain, self.policy)?;
        tracing::debug!(target: "rollup::devnet", %txid, "transaction accepted");
        Ok(txid)
    }

    /// Submits `tx` as Bitcoin Core 31's `sendrawtransaction` does (its
    /// `BroadcastTransaction`): a transaction with an output in the UTXO set is refused
    /// with `Transaction outputs already in utxo set` (code -27); one already in the
    /// mempool succeeds again, with its txid; anything else goes to [`Devnet::submit`].
    pub fn broadcast(&mut self, tx: Transaction) -> Result<Txid, TxRejected> {
        let txid = tx.compute_txid();
        let in_utxo_set = (0..tx.output.len()).any(|vout| {
            self.chain.coin(&OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX))).is_some()
        });
        if in_utxo_set {
            return Err(TxRejected {
                code: RejectCode::AlreadyInChain,
                reason: "Transaction outputs already in utxo set".to_owned(),
            });
        }
        if self.mempool.get(&txid).is_some() {
            return Ok(txid);
        }
        self.submit(tx)
    }

    /// Mines `count` blocks paying `payout`, each with as many mempool transactions as fit.
    pub fn mine(&mut self, count: u32, payout: &ScriptBuf) -> Result<Vec<BlockHash>, MineError> {
        let mut hashes = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            let (txs, fees) = self.select_transactions();
            let block = self.plan_on_tip(txs, fees, payout.clone());
            hashes.push(self.submit_block(&block)?);
        }
        Ok(hashes)
    }

    /// Mines `count` blocks paying `payout` like [`Devnet::mine`], but each takes only
    /// transactions whose package (the transaction with its ancestors not mined yet)
    /// pays at least `min_fee_rate`, as a miner facing a fuller mempool would: lower
    /// transactions stay in the mempool, stuck, until a child pays for them.
    pub fn mine_above(
        &mut self,
        count: u32,
        payout: &ScriptBuf,
        min_fee_rate: bitcoin::FeeRate,
    ) -> Result<Vec<BlockHash>, MineError> {
        let mut hashes = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            let (txs, fees) = self.select_packages(min_fee_rate);
            let block = self.plan_on_tip(txs, fees, payout.clone());
            hashes.push(self.submit_block(&block)?);
        }
        Ok(hashes)
    }

    /// Mines one block on the tip with exactly `txs` (no mempool checks) after letting
    /// `tamper` change it: for tests of the kernel's own rules.
    pub fn mine_block_with(
        &mut self,
        txs: Vec<Transaction>,
        tamper: impl FnOnce(&mut Block),
    ) -> Result<BlockHash, MineError> {
        let mut block = self.plan_on_tip(txs, Amount::ZERO, self.wallet.script_pubkey());
        tamper(&mut block);
        self.submit_block(&block)
    }

    /// Hands `block` to the kernel and follows the new active chain.
    pub fn submit_block(&mut self, block: &Block) -> Result<BlockHash, MineError> {
        self.kernel.process_block(block)?;
        let disconnected = self.sync()?;
        let hash = block.block_hash();
        // A valid block with less work than the tip is stored but confirms nothing.
        if matches!(self.chain.block(&hash), Some((_, true))) {
            self.mempool.remove_confirmed(&block.txdata);
        }
        if !disconnected.is_empty() {
            self.readmit(disconnected);
        }
        tracing::debug!(target: "rollup::devnet", %hash, height = self.height(), txs = block.txdata.len(), "block connected");
        Ok(hash)
    }

    /// Replaces the last `depth` blocks with a longer competing branch of `depth + 1`
    /// blocks that hold no transactions; what the old blocks confirmed goes back to
    /// the mempool (if still valid), as after a reorg in Bitcoin Core.
    pub fn reorg(&mut self, depth: u32) -> Result<Vec<BlockHash>, MineError> {
        let height = self.height();
        if depth == 0 || depth > height {
            return Err(MineError::TooDeep { depth, height });
        }
        let fork = height - depth;
        let Some(fork_block) = self.chain.block_at(fork) else {
            return Err(MineError::TooDeep { depth, height });
        };
        let mut prev = fork_block.hash;
        let mut recent: Vec<u32> = (fork.saturating_sub(10)..=fork)
            .filter_map(|h| self.chain.block_at(h).map(|block| block.header.time))
            .collect();
        let mut branch = Vec::new();
        for offset in 1..=depth + 1 {
            self.extra_nonce = self.extra_nonce.wrapping_add(1);
            let time = miner::next_time(&recent, now());
            let block = miner::assemble(BlockPlan {
                prev,
                height: fork + offset,
                time,
                txs: Vec::new(),
                fees: Amount::ZERO,
                payout: self.wallet.script_pubkey(),
                extra_nonce: self.extra_nonce,
            });
            self.kernel.process_block(&block)?;
            prev = block.block_hash();
            branch.push(prev);
            recent.push(time);
            if recent.len() > 11 {
                recent.remove(0);
            }
        }
        let disconnected = self.sync()?;
        self.readmit(disconnected);
        tracing::info!(target: "rollup::devnet", depth, height = self.height(), "chain reorganised");
        Ok(branch)
    }

    /// Re-checks `disconnected` and then the current pool against the new chain.
    fn readmit(&mut self, disconnected: Vec<Transaction>) {
        let pending = self.mempool.drain();
        for tx in disconnected.into_iter().chain(pending) {
            let txid = tx.compute_txid();
            if let Err(rejected) = self.mempool.accept(tx, &self.chain, self.policy) {
                tracing::info!(target: "rollup::devnet", %txid, reason = %rejected.reason, "transaction dropped after reorg");
            }
        }
    }

    /// Pays `amount` to `to` from the devnet wallet; the payment waits in the mempool.
    pub fn faucet(&mut self, to: ScriptBuf, amount: Amount) -> Result<Txid, FaucetError> {
        let coins = self.spendable(&self.wallet.script_pubkey());
        let tx = self.wallet.pay(&coins, to, amount)?;
        Ok(self.submit(tx)?)
    }

    /// Mines to the wallet until it has mature coins (at least [`FUNDED_HEIGHT`]).
    pub fn ensure_funded(&mut self) -> Result<(), MineError> {
        let missing = FUNDED_HEIGHT.saturating_sub(self.height());
        if missing > 0 {
            let payout = self.wallet.script_pubkey();
            self.mine(missing, &payout)?;
        }
        Ok(())
    }

    /// Outputs paying `script` that the next block may spend: mature and unspent in the
    /// chain and the mempool, plus unspent outputs of mempool transactions.
    pub fn spendable(&self, script: &ScriptBuf) -> Vec<(OutPoint, TxOut)> {
        let hash = script_hash(script);
        let next_height = self.height().saturating_add(1);
        let mut coins: Vec<(OutPoint, TxOut)> = self
            .chain
            .utxos_of(&hash)
            .into_iter()
            .filter(|(_, coin)| {
                !coin.coinbase || next_height.saturating_sub(coin.height) >= COINBASE_MATURITY
            })
            .map(|(outpoint, coin)| (outpoint, coin.output.clone()))
            .collect();
        for (txid, entry) in self.mempool.entries() {
            for (vout, output) in entry.tx.output.iter().enumerate() {
                if output.script_pubkey == *script {
                    coins.push((
                        OutPoint::new(*txid, u32::try_from(vout).unwrap_or(u32::MAX)),
                        output.clone(),
                    ));
                }
            }
        }
        coins.retain(|(outpoint, _)| self.mempool.spender(outpoint).is_none());
        coins
    }

    fn select_transactions(&self) -> (Vec<Transaction>, Amount) {
        let mut weight = COINBASE_RESERVE_WEIGHT;
        let mut fees = Amount::ZERO;
        let mut txs = Vec::new();
        let mut included = std::collections::HashSet::new();
        for (txid, entry) in self.mempool.entries() {
            let fits = weight.saturating_add(entry.weight.to_wu()) <= MAX_BLOCK_WEIGHT;
            // A child goes in only with its parents.
            let parents_in = entry.tx.input.iter().all(|input| {
                self.mempool.get(&input.previous_output.txid).is_none()
                    || included.contains(&input.previous_output.txid)
            });
            if fits && parents_in {
                weight += entry.weight.to_wu();
                fees += entry.fee;
                txs.push(entry.tx.clone());
                included.insert(*txid);
            }
        }
        (txs, fees)
    }

    /// Mempool transactions by ancestor package, in acceptance order: a transaction
    /// goes in with its unmined ancestors when their total fee over their total
    /// virtual size is at least `min_fee_rate` and they fit.
    fn select_packages(&self, min_fee_rate: bitcoin::FeeRate) -> (Vec<Transaction>, Amount) {
        let order: Vec<Txid> = self.mempool.entries().map(|(txid, _)| *txid).collect();
        let mut weight = COINBASE_RESERVE_WEIGHT;
        let mut fees = Amount::ZERO;
        let mut txs = Vec::new();
        let mut included = std::collections::HashSet::new();
        for txid in &order {
            if included.contains(txid) {
                continue;
            }
            // The transaction and its unmined ancestors.
            let mut package = std::collections::HashSet::from([*txid]);
            let mut queue = vec![*txid];
            while let Some(next) = queue.pop() {
                let Some(entry) = self.mempool.get(&next) else { continue };
                for input in &entry.tx.input {
                    let parent = input.previous_output.txid;
                    if self.mempool.get(&parent).is_some()
                        && !included.contains(&parent)
                        && package.insert(parent)
                    {
                        queue.push(parent);
                    }
                }
            }
            let members: Vec<Txid> = order.iter().filter(|id| package.contains(*id)).copied().collect();
            let (mut package_fee, mut package_weight, mut package_vbytes) = (Amount::ZERO, 0u64, 0u64);
            for id in &members {
                if let Some(entry) = self.mempool.get(id) {
                    package_fee += entry.fee;
                    package_weight += entry.weight.to_wu();
                    package_vbytes += entry.vsize;
                }
            }
            let pays = min_fee_rate.fee_vb(package_vbytes).is_some_and(|needed| package_fee >= needed);
            if !pays || weight.saturating_add(package_weight) > MAX_BLOCK_WEIGHT {
                continue;
            }
            for id in members {
                if let Some(entry) = self.mempool.get(&id) {
                    txs.push(entry.tx.clone());
                    included.insert(id);
                }
            }
            weight += package_weight;
            fees += package_fee;
        }
        (txs, fees)
    }

    fn plan_on_tip(&mut self, txs: Vec<Transaction>, fees: Amount, payout: ScriptBuf) -> Block {
        self.extra_nonce = self.extra_nonce.wrapping_add(1);
        let tip_height = self.height();
        let recent: Vec<u32> = (tip_height.saturating_sub(10)..=tip_height)
            .filter_map(|height| self.chain.block_at(height).map(|block| block.header.time))
            .collect();
        let prev = self.chain.tip().map(|tip| tip.hash).unwrap_or_else(bitcoin::hashes::Hash::all_zeros);
        miner::assemble(BlockPlan {
            prev,
            height: tip_height.saturating_add(1),
            time: miner::next_time(&recent, now()),
            txs,
            fees,
            payout,
            extra_nonce: self.extra_nonce,
        })
    }

    /// The data directory of a devnet rooted at `dir`, for tools that read it.
    pub fn chain_dir(dir: &Path) -> PathBuf {
        dir.join("chain")
    }
}
