//! JSON shapes of the Esplora API, field for field as Blockstream's electrs writes them.

use bitcoin::hashes::hex::FromHex;
use bitcoin::{Address, Network, Script, Transaction, TxOut, Txid};
use serde::Serialize;
use serde_json::{json, Value};

use crate::chain::{BlockMeta, ChainIndex};
use crate::mempool::Mempool;

/// `TxOutValue`.
pub(crate) fn output(output: &TxOut) -> Value {
    let script = &output.script_pubkey;
    let mut value = json!({
        "scriptpubkey": hex(script.as_bytes()),
        "scriptpubkey_asm": script.to_asm_string(),
        "scriptpubkey_type": script_type(script),
    });
    if let Ok(address) = Address::from_script(script, Network::Regtest) {
        value["scriptpubkey_address"] = json!(address.to_string());
    }
    value["value"] = json!(output.value.to_sat());
    value
}

/// electrs' names of output script types.
fn script_type(script: &Script) -> &'static str {
    if script.is_empty() {
        "empty"
    } else if script.is_op_return() {
        "op_return"
    } else if script.is_p2pk() {
        "p2pk"
    } else if script.is_p2pkh() {
        "p2pkh"
    } else if script.is_p2sh() {
        "p2sh"
    } else if script.is_p2wpkh() {
        "v0_p2wpkh"
    } else if script.is_p2wsh() {
        "v0_p2wsh"
    } else if script.is_p2tr() {
        "v1_p2tr"
    } else if script.is_multisig() {
        "multisig"
    } else if script.is_witness_program() {
        "unknown_witness"
    } else {
        "unknown"
    }
}

/// `TransactionStatus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TxStatus {
    confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_time: Option<u32>,
}

impl TxStatus {
    pub(crate) fn unconfirmed() -> Self {
        Self { confirmed: false, block_height: None, block_hash: None, block_time: None }
    }

    pub(crate) fn in_block(block: &BlockMeta) -> Self {
        Self {
            confirmed: true,
            block_height: Some(block.height),
            block_hash: Some(block.hash.to_string()),
            block_time: Some(block.header.time),
        }
    }
}

/// The status of a transaction known to the chain or the mempool.
pub(crate) fn tx_status(chain: &ChainIndex, txid: &Txid) -> Option<TxStatus> {
    if let Some(confirmed) = chain.tx(txid) {
        return chain.block_at(confirmed.height).map(TxStatus::in_block);
    }
    None
}

/// The outputs `tx` spends, from the chain or the mempool (None for a coinbase input).
pub(crate) fn prevouts(tx: &Transaction, chain: &ChainIndex, mempool: &Mempool) -> Vec<Option<TxOut>> {
    tx.input
        .iter()
        .map(|input| {
            if input.previous_output.is_null() {
                return None;
            }
            let vout = usize::try_from(input.previous_output.vout).ok()?;
            chain
                .tx(&input.previous_output.txid)
                .map(|confirmed| &confirmed.tx)
                .or_else(|| mempool.get(&input.previous_output.txid).map(|entry| &entry.tx))
                .and_then(|parent| parent.output.get(vout).cloned())
        })
        .collect()
}

/// `TransactionValue`.
pub(crate) fn transaction(
    tx: &Transaction,
    status: TxStatus,
    chain: &ChainIndex,
    mempool: &Mempool,
) -> Value {
    let prevouts = prevouts(tx, chain, mempool);
    let vin: Vec<Value> = tx
        .input
        .iter()
        .zip(&prevouts)
        .map(|(input, prevout)| {
            let coinbase = input.previous_output.is_null();
            let mut value = json!({
                "txid": input.previous_output.txid.to_string(),
                "vout": input.previous_output.vout,
                "prevout": prevout.as_ref().map(output),
                "scriptsig": hex(input.script_sig.as_bytes()),
                "scriptsig_asm": input.script_sig.to_asm_string(),
            });
            if !input.witness.is_empty() {
                value["witness"] = json!(input.witness.iter().map(hex).collect::<Vec<_>>());
            }
            value["is_coinbase"] = json!(coinbase);
            value["sequence"] = json!(input.sequence.0);
            if let (Some(prevout), Some(script)) = (prevout, input.witness.last()) {
                if prevout.script_pubkey.is_p2wsh() {
                    value["inner_witnessscript_asm"] = json!(Script::from_bytes(script).to_asm_string());
                }
            }
            value
        })
        .collect();
    let fee = if tx.is_coinbase() {
        0
    } else {
        let value_in: u64 = prevouts.iter().flatten().map(|prevout| prevout.value.to_sat()).sum();
        let value_out: u64 = tx.output.iter().map(|out| out.value.to_sat()).sum();
        value_in.saturating_sub(value_out)
    };
    json!({
        "txid": tx.compute_txid().to_string(),
        // electrs writes the version as an unsigned number.
        "version": u32::from_le_bytes(tx.version.0.to_le_bytes()),
        "locktime": tx.lock_time.to_consensus_u32(),
        "vin": vin,
        "vout": tx.output.iter().map(output).collect::<Vec<_>>(),
        "size": tx.total_size(),
        "weight": tx.weight().to_wu(),
        "sigops": sigops(tx, &prevouts),
        "fee": fee,
        "status": status,
    })
}

/// electrs' `sigops`: the transaction's sigop cost (legacy and P2SH sigops count four
/// times, segwit v0 sigops once, taproot none), as Core's `GetTransactionSigOpCost`.
pub(crate) fn sigops(tx: &Transaction, prevouts: &[Option<TxOut>]) -> usize {
    tx.total_sigop_cost(|outpoint| {
        tx.input
            .iter()
            .position(|input| input.previous_output == *outpoint)
            .and_then(|index| prevouts.get(index).cloned().flatten())
    })
}

/// `BlockValue`.
pub(crate) fn block(meta: &BlockMeta) -> Value {
    let mut value = json!({
        "id": meta.hash.to_string(),
        "height": meta.height,
        "version": meta.header.version.to_consensus(),
        "timestamp": meta.header.time,
        "tx_count": meta.txids.len(),
        "size": meta.size,
        "weight": meta.weight.to_wu(),
        "merkle_root": meta.header.merkle_root.to_string(),
    });
    if meta.height > 0 {
        value["previousblockhash"] = json!(meta.header.prev_blockhash.to_string());
    }
    value["mediantime"] = json!(meta.median_time);
    value["nonce"] = json!(meta.header.nonce);
    value["bits"] = json!(meta.header.bits.to_consensus());
    value["difficulty"] = json!(meta.header.difficulty_float());
    value
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: impl AsRef<[u8]>) -> String {
    bitcoin::hex::DisplayHex::to_lower_hex_string(bytes.as_ref())
}

/// Bytes of a hex string; `None` if it is not hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    Vec::<u8>::from_hex(text.trim()).ok()
}
