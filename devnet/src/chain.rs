//! The index of the active chain that the Esplora API and the mempool read: blocks,
//! confirmed transactions, the UTXO set, spends and per-script history.
//!
//! It is derived state: rebuilt from the kernel's chain at start, then kept in step
//! block by block, with undo data so that a reorg disconnects blocks exactly.

use std::collections::HashMap;

use bitcoin::block::Header;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Block, BlockHash, OutPoint, Script, Transaction, TxOut, Txid, Weight};

/// An unspent output and where it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it is a coinbase output (spendable after 100 confirmations).
    pub coinbase: bool,
}

/// A block of the active chain.
#[derive(Clone, Debug)]
pub struct BlockMeta {
    /// Hash.
    pub hash: BlockHash,
    /// Height.
    pub height: u32,
    /// Header.
    pub header: Header,
    /// Transaction ids in block order.
    pub txids: Vec<Txid>,
    /// Serialized size in bytes.
    pub size: usize,
    /// Weight.
    pub weight: Weight,
    /// Median time past: the median timestamp of this block and its ten ancestors.
    pub median_time: u32,
    /// Coins this block spent, to restore them when it is disconnected.
    undo: Vec<(OutPoint, Coin)>,
}

/// A confirmed transaction and where it is.
#[derive(Clone, Debug)]
pub struct ConfirmedTx {
    /// The transaction.
    pub tx: Transaction,
    /// Height of its block.
    pub height: u32,
    /// Position in the block.
    pub position: usize,
}

/// The SHA-256 of an output script: how Esplora names scripts.
pub fn script_hash(script: &Script) -> sha256::Hash {
    sha256::Hash::hash(script.as_bytes())
}

/// The active chain, indexed.
#[derive(Debug, Default)]
pub struct ChainIndex {
    blocks: Vec<BlockMeta>,
    heights: HashMap<BlockHash, u32>,
    /// Blocks that were in the active chain once and were reorganised out.
    stale: HashMap<BlockHash, BlockMeta>,
    txs: HashMap<Txid, ConfirmedTx>,
    utxos: HashMap<OutPoint, Coin>,
    spends: HashMap<OutPoint, (Txid, u32)>,
    history: HashMap<sha256::Hash, Vec<Txid>>,
}

impl ChainIndex {
    /// Height of the indexed tip; `None` before genesis is connected.
    pub fn tip_height(&self) -> Option<u32> {
        self.blocks.last().map(|block| block.height)
    }

    /// The indexed tip.
    pub fn tip(&self) -> Option<&BlockMeta> {
        self.blocks.last()
    }

    /// The active-chain block at `height`.
    pub fn block_at(&self, height: u32) -> Option<&BlockMeta> {
        self.blocks.get(usize::try_from(height).ok()?)
    }

    /// A block by hash, with whether it is in the active chain.
    pub fn block(&self, hash: &BlockHash) -> Option<(&BlockMeta, bool)> {
        match self.heights.get(hash) {
            Some(height) => self.block_at(*height).map(|block| (block, true)),
            None => self.stale.get(hash).map(|block| (block, false)),
        }
    }

    /// A confirmed transaction.
    pub fn tx(&self, txid: &Txid) -> Option<&ConfirmedTx> {
        self.txs.get(txid)
    }

    /// An unspent output of the active chain.
    pub fn coin(&self, outpoint: &OutPoint) -> Option<&Coin> {
        self.utxos.get(outpoint)
    }

    /// The confirmed spender of `outpoint`: transaction and input index.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<(Txid, u32)> {
        self.spends.get(outpoint).copied()
    }

    /// Confirmed transactions touching `script` (paying it or spending from it), oldest first.
    pub fn history(&self, script: &sha256::Hash) -> &[Txid] {
        self.history.get(script).map_or(&[], Vec::as_slice)
    }

    /// Unspent outputs paying the script with hash `script`.
    pub fn utxos_of(&self, script: &sha256::Hash) -> Vec<(OutPoint, &Coin)> {
        let mut found: Vec<(OutPoint, &Coin)> = self
            .history(script)
            .iter()
            .filter_map(|txid| self.txs.get(txid))
            .flat_map(|confirmed| {
                let txid = confirmed.tx.compute_txid();
                (0..confirmed.tx.output.len()).filter_map(move |vout| {
                    let outpoint = OutPoint::new(txid, u32::try_from(vout).ok()?);
                    Some(outpoint)
                })
            })
            .filter_map(|outpoint| self.utxos.get(&outpoint).map(|coin| (outpoint, coin)))
            .filter(|(_, coin)| script_hash(&coin.output.script_pubkey) == *script)
            .collect();
        found.dedup_by_key(|(outpoint, _)| *outpoint);
        found
    }

    /// Median time past of the tip (0 before genesis).
    pub fn tip_median_time(&self) -> u32 {
        self.tip().map_or(0, |tip| tip.median_time)
    }

    /// Median time past of the block at `height`.
    pub fn median_time_at(&self, height: u32) -> u32 {
        self.block_at(height).map_or(0, |block| block.median_time)
    }

    /// Connects `block` as the new tip. The kernel has validated it already.
    pub fn connect(&mut self, block: &Block) {
        let height = self.tip_height().map_or(0, |tip| tip.saturating_add(1));
        let hash = block.block_hash();
        let mut undo = Vec::new();
        for (position, tx) in block.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            let mut scripts = Vec::new();
            if !tx.is_coinbase() {
                for (vin, input) in tx.input.iter().enumerate() {
                    if let Some(coin) = self.utxos.remove(&input.previous_output) {
                        scripts.push(script_hash(&coin.output.script_pubkey));
                        undo.push((input.previous_output, coin));
                    }
                    self.spends.insert(input.previous_output, (txid, u32::try_from(vin).unwrap_or(u32::MAX)));
                }
            }
            for (vout, output) in tx.output.iter().enumerate() {
                scripts.push(script_hash(&output.script_pubkey));
                let coin = Coin { output: output.clone(), height, coinbase: tx.is_coinbase() };
                self.utxos.insert(OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX)), coin);
            }
            scripts.sort();
            scripts.dedup();
            for script in scripts {
                self.history.entry(script).or_default().push(txid);
            }
            self.txs.insert(txid, ConfirmedTx { tx: tx.clone(), height, position });
        }
        let mut times: Vec<u32> = self.blocks.iter().rev().take(10).map(|meta| meta.header.time).collect();
        times.push(block.header.time);
        times.sort_unstable();
        let median_time = times[times.len() / 2];
        self.stale.remove(&hash);
        self.heights.insert(hash, height);
        self.blocks.push(BlockMeta {
            hash,
            height,
            header: block.header,
            txids: block.txdata.iter().map(Transaction::compute_txid).collect(),
            size: bitcoin::consensus::serialize(block).len(),
            weight: block.weight(),
            median_time,
            undo,
        });
    }

    /// Disconnects the tip and returns its transactions, coinbase first.
    pub fn disconnect_tip(&mut self) -> Vec<Transaction> {
        let Some(meta) = self.blocks.pop() else { return Vec::new() };
        self.heights.remove(&meta.hash);
        let mut txs = Vec::with_capacity(meta.txids.len());
        for txid in meta.txids.iter().rev() {
            let Some(confirmed) = self.txs.remove(txid) else { continue };
            let tx = confirmed.tx;
            let mut scripts: Vec<sha256::Hash> =
                tx.output.iter().map(|output| script_hash(&output.script_pubkey)).collect();
            for vout in 0..tx.output.len() {
                self.utxos.remove(&OutPoint::new(*txid, u32::try_from(vout).unwrap_or(u32::MAX)));
            }
            if !tx.is_coinbase() {
                for input in &tx.input {
                    self.spends.remove(&input.previous_output);
                }
            }
            for (outpoint, coin) in meta
                .undo
                .iter()
                .filter(|(outpoint, _)| tx.input.iter().any(|i| i.previous_output == *outpoint))
            {
                scripts.push(script_hash(&coin.output.script_pubkey));
                self.utxos.insert(*outpoint, coin.clone());
            }
            scripts.sort();
            scripts.dedup();
            for script in scripts {
                if let Some(history) = self.history.get_mut(&script) {
                    if history.last() == Some(txid) {
                        history.pop();
                    }
                }
            }
            txs.push(tx);
        }
        txs.reverse();
        self.stale.insert(meta.hash, BlockMeta { undo: Vec::new(), ..meta });
        txs
    }
}
