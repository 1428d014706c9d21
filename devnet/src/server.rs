//! The HTTP server: the Esplora REST API (as esplora-client uses it, with electrs'
//! answers) and the devnet control API under `/devnet/`.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Address, Amount, BlockHash, FeeRate, MerkleBlock, OutPoint, ScriptBuf, Transaction, Txid};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chain::script_hash;
use crate::devnet::Devnet;
use crate::views::{self, hex, TxStatus};

/// Transactions per page of `/block/:hash/txs` and of confirmed address history.
const TXS_PER_PAGE: usize = 25;
/// Unconfirmed transactions listed first in address history.
const MEMPOOL_TXS_LISTED: usize = 50;
/// Blocks per page of `/blocks`.
const BLOCKS_PER_PAGE: u32 = 10;

/// The devnet shared by the server's workers.
pub type SharedDevnet = Arc<Mutex<Devnet>>;

fn lock(devnet: &SharedDevnet) -> MutexGuard<'_, Devnet> {
    devnet.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A started devnet HTTP server.
pub struct DevnetServer {
    /// Resolves when the server stops; must be spawned to serve.
    pub server: actix_web::dev::Server,
    /// The bound address.
    pub local_addr: SocketAddr,
}

/// Binds the Esplora and control API on `listen`. With `mine_every`, a block is
/// mined to the devnet wallet at that interval.
pub fn serve(
    devnet: SharedDevnet,
    listen: SocketAddr,
    mine_every: Option<Duration>,
) -> std::io::Result<DevnetServer> {
    let data = web::Data::new(devnet.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/blocks/tip/height", web::get().to(tip_height))
            .route("/blocks/tip/hash", web::get().to(tip_hash))
            .route("/blocks", web::get().to(blocks_latest))
            .route("/blocks/{height}", web::get().to(blocks_from))
            .route("/block-height/{height}", web::get().to(block_height))
            .route("/block/{hash}", web::get().to(block_info))
            .route("/block/{hash}/header", web::get().to(block_header))
            .route("/block/{hash}/status", web::get().to(block_status))
            .route("/block/{hash}/txids", web::get().to(block_txids))
            .route("/block/{hash}/txid/{index}", web::get().to(block_txid))
            .route("/block/{hash}/txs", web::get().to(block_txs_first))
            .route("/block/{hash}/txs/{start}", web::get().to(block_txs))
            .route("/block/{hash}/raw", web::get().to(block_raw))
            .route("/tx", web::post().to(broadcast))
            .route("/tx/{txid}", web::get().to(tx_info))
            .route("/tx/{txid}/hex", web::get().to(tx_hex))
            .route("/tx/{txid}/raw", web::get().to(tx_raw))
            .route("/tx/{txid}/status", web::get().to(tx_status))
            .route("/tx/{txid}/merkle-proof", web::get().to(merkle_proof))
            .route("/tx/{txid}/merkleblock-proof", web::get().to(merkleblock_proof))
            .route("/tx/{txid}/outspend/{vout}", web::get().to(outspend))
            .route("/tx/{txid}/outspends", web::get().to(outspends))
            .route("/address/{address}", web::get().to(address_stats))
            .route("/address/{address}/utxo", web::get().to(address_utxo))
            .route("/address/{address}/txs", web::get().to(address_txs))
            .route("/address/{address}/txs/mempool", web::get().to(address_txs_mempool))
            .route("/address/{address}/txs/chain", web::get().to(address_txs_chain_first))
            .route("/address/{address}/txs/chain/{last_seen}", web::get().to(address_txs_chain))
            .route("/scripthash/{hash}", web::get().to(scripthash_stats))
            .route("/scripthash/{hash}/utxo", web::get().to(scripthash_utxo))
            .route("/scripthash/{hash}/txs", web::get().to(scripthash_txs))
            .route("/scripthash/{hash}/txs/mempool", web::get().to(scripthash_txs_mempool))
            .route("/scripthash/{hash}/txs/chain", web::get().to(scripthash_txs_chain_first))
            .route("/scripthash/{hash}/txs/chain/{last_seen}", web::get().to(scripthash_txs_chain))
            .route("/mempool", web::get().to(mempool_stats))
            .route("/mempool/txids", web::get().to(mempool_txids))
            .route("/mempool/recent", web::get().to(mempool_recent))
            .route("/fee-estimates", web::get().to(fee_estimates))
            .route("/devnet/info", web::get().to(control_info))
            .route("/devnet/mine", web::post().to(control_mine))
            .route("/devnet/faucet", web::post().to(control_faucet))
            .route("/devnet/reorg", web::post().to(control_reorg))
    })
    .workers(2)
    .disable_signals()
    .bind(listen)?;
    let local_addr = server.addrs().first().copied().unwrap_or(listen);
    if let Some(interval) = mine_every {
        actix_rt::spawn(async move {
            let mut ticks = actix_rt::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let devnet = devnet.clone();
                let mined = web::block(move || {
                    let mut devnet = lock(&devnet);
                    let payout = devnet.wallet().script_pubkey();
                    devnet.mine(1, &payout)
                })
                .await;
                if let Ok(Err(error)) = mined {
                    tracing::error!(target: "rollup::devnet", %error, "timed mining failed");
                }
            }
        });
    }
    Ok(DevnetServer { server: server.run(), local_addr })
}

// --- answers ---

fn text(body: impl Into<String>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body(body.into())
}

fn not_found(what: &str) -> HttpResponse {
    missing(&format!("{what} not found"))
}

/// electrs's answer to a merkle proof of a transaction it has in no block.
const NOT_CONFIRMED: &str = "Transaction not found or is unconfirmed";

/// HTTP 404 with `text`.
fn missing(text: &str) -> HttpResponse {
    HttpResponse::NotFound().content_type("text/plain").body(text.to_owned())
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().content_type("text/plain").body(message.into())
}

fn json_ok(value: Value) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// A refusal: the answer to send instead (boxed: a response is large).
type Refused = Box<HttpResponse>;

fn parse<T: FromStr>(raw: &str, what: &str) -> Result<T, Refused> {
    // electrs's words: `Invalid hex string` for a hash, `Invalid number` otherwise.
    let message =
        if what.contains("hash") || what == "txid" { "Invalid hex string" } else { "Invalid number" };
    raw.parse().map_err(|_| Box::new(bad_request(message)))
}

macro_rules! attempt {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return *response,
        }
    };
}

// --- blocks ---

async fn tip_height(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    text(lock(&devnet).height().to_string())
}

async fn tip_hash(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    match devnet.chain().tip() {
        Some(tip) => text(tip.hash.to_string()),
        None => not_found("Block"),
    }
}

fn block_list(devnet: &Devnet, start: u32) -> HttpResponse {
    let blocks: Vec<Value> = (0..BLOCKS_PER_PAGE)
        .filter_map(|offset| start.checked_sub(offset))
        .filter_map(|height| devnet.chain().block_at(height))
        .map(views::block)
        .collect();
    json_ok(Value::Array(blocks))
}

async fn blocks_latest(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    block_list(&devnet, devnet.height())
}

async fn blocks_from(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let height: u32 = attempt!(parse(&path, "height"));
    let devnet = lock(&devnet);
    block_list(&devnet, height.min(devnet.height()))
}

async fn block_height(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let height: u32 = attempt!(parse(&path, "height"));
    match lock(&devnet).chain().block_at(height) {
        Some(block) => text(block.hash.to_string()),
        None => not_found("Block"),
    }
}

async fn block_info(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    match lock(&devnet).chain().block(&hash) {
        Some((block, _)) => json_ok(views::block(block)),
        None => not_found("Block"),
    }
}

async fn block_header(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    match lock(&devnet).chain().block(&hash) {
        Some((block, _)) => text(hex(serialize(&block.header))),
        None => not_found("Block"),
    }
}

async fn block_status(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    let devnet = lock(&devnet);
    match devnet.chain().block(&hash) {
        Some((block, true)) => {
            let next = block.height.checked_add(1).and_then(|next| devnet.chain().block_at(next));
            json_ok(json!({
                "in_best_chain": true,
                "height": block.height,
                "next_best": next.map(|next| next.hash.to_string()),
            }))
        }
        // electrs answers the same for a stale block and for an unknown one.
        _ => json_ok(json!({ "in_best_chain": false, "height": null, "next_best": null })),
    }
}

async fn block_txids(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    match lock(&devnet).chain().block(&hash) {
        Some((block, _)) => json_ok(json!(block.txids.iter().map(Txid::to_string).collect::<Vec<_>>())),
        None => not_found("Block"),
    }
}

async fn block_txid(devnet: web::Data<SharedDevnet>, path: web::Path<(String, String)>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path.0, "block hash"));
    let index: usize = attempt!(parse(&path.1, "index"));
    let devnet = lock(&devnet);
    let Some((block, _)) = devnet.chain().block(&hash) else { return not_found("Block") };
    match block.txids.get(index) {
        Some(txid) => text(txid.to_string()),
        None => missing("tx index out of range"),
    }
}

fn block_txs_page(devnet: &Devnet, hash: &BlockHash, start: usize) -> HttpResponse {
    let Some((block, in_best_chain)) = devnet.chain().block(hash) else { return not_found("Block") };
    if start >= block.txids.len() {
        return missing("start index out of range");
    }
    if start % TXS_PER_PAGE != 0 {
        return bad_request(format!("start index must be a multipication of {TXS_PER_PAGE}"));
    }
    let status = if in_best_chain { TxStatus::in_block(block) } else { TxStatus::unconfirmed() };
    let txs: Vec<Value> = block.txids[start..]
        .iter()
        .take(TXS_PER_PAGE)
        .filter_map(|txid| devnet.chain().tx(txid))
        .map(|confirmed| views::transaction(&confirmed.tx, status.clone(), devnet.chain(), devnet.mempool()))
        .collect();
    json_ok(Value::Array(txs))
}

async fn block_txs_first(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    block_txs_page(&lock(&devnet), &hash, 0)
}

async fn block_txs(devnet: web::Data<SharedDevnet>, path: web::Path<(String, String)>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path.0, "block hash"));
    // electrs reads an unreadable start as 0.
    let start: usize = path.1.parse().unwrap_or(0);
    block_txs_page(&lock(&devnet), &hash, start)
}

async fn block_raw(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash: BlockHash = attempt!(parse(&path, "block hash"));
    let devnet = lock(&devnet);
    match devnet.full_block(&hash) {
        Some(block) => HttpResponse::Ok().content_type("application/octet-stream").body(serialize(&block)),
        None => not_found("Block"),
    }
}

// --- transactions ---

async fn broadcast(devnet: web::Data<SharedDevnet>, body: web::Bytes) -> HttpResponse {
    let rpc_error = |code: i64, message: &str| {
        let error = json!({ "code": code, "message": message });
        bad_request(format!("sendrawtransaction RPC error: {error}"))
    };
    let Some(tx) = std::str::from_utf8(&body)
        .ok()
        .and_then(views::unhex)
        .and_then(|bytes| deserialize::<Transaction>(&bytes).ok())
    else {
        return rpc_error(-22, "TX decode failed. Make sure the tx has at least one input.");
    };
    let devnet = devnet.get_ref().clone();
    match web::block(move || lock(&devnet).broadcast(tx)).await {
        Ok(Ok(txid)) => text(txid.to_string()),
        Ok(Err(rejected)) => rpc_error(rejected.code as i64, &rejected.reason),
        Err(error) => HttpResponse::InternalServerError().body(error.to_string()),
    }
}

/// A known transaction and its status.
fn find_tx(devnet: &Devnet, txid: &Txid) -> Option<(Transaction, TxStatus)> {
    if let Some(confirmed) = devnet.chain().tx(txid) {
        let status = views::tx_status(devnet.chain(), txid).unwrap_or_else(TxStatus::unconfirmed);
        return Some((confirmed.tx.clone(), status));
    }
    devnet.mempool().get(txid).map(|entry| (entry.tx.clone(), TxStatus::unconfirmed()))
}

async fn tx_info(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    let devnet = lock(&devnet);
    match find_tx(&devnet, &txid) {
        Some((tx, status)) => json_ok(views::transaction(&tx, status, devnet.chain(), devnet.mempool())),
        None => not_found("Transaction"),
    }
}

async fn tx_hex(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    match find_tx(&lock(&devnet), &txid) {
        Some((tx, _)) => text(hex(serialize(&tx))),
        None => not_found("Transaction"),
    }
}

async fn tx_raw(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    match find_tx(&lock(&devnet), &txid) {
        Some((tx, _)) => HttpResponse::Ok().content_type("application/octet-stream").body(serialize(&tx)),
        None => not_found("Transaction"),
    }
}

async fn tx_status(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    // electrs answers an unknown transaction as an unconfirmed one.
    let status = find_tx(&lock(&devnet), &txid).map_or_else(TxStatus::unconfirmed, |(_, status)| status);
    json_ok(json!(status))
}

async fn merkle_proof(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    let devnet = lock(&devnet);
    let Some(confirmed) = devnet.chain().tx(&txid) else {
        return missing(NOT_CONFIRMED);
    };
    let Some(block) = devnet.chain().block_at(confirmed.height) else { return not_found("Block") };
    let branch = merkle_branch(&block.txids, confirmed.position);
    json_ok(json!({
        "block_height": block.height,
        "merkle": branch.iter().map(|hash| hash.to_string()).collect::<Vec<_>>(),
        "pos": confirmed.position,
    }))
}

/// The sibling hashes from leaf `position` up to the root, as txid-ordered hashes.
fn merkle_branch(txids: &[Txid], mut position: usize) -> Vec<Txid> {
    let mut level: Vec<Txid> = txids.to_vec();
    let mut branch = Vec::new();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            if let Some(last) = level.last().copied() {
                level.push(last);
            }
        }
        branch.push(level[position ^ 1]);
        level = level
            .chunks(2)
            .map(|pair| {
                let mut engine = bitcoin::hashes::sha256d::Hash::engine();
                bitcoin::hashes::HashEngine::input(&mut engine, pair[0].as_byte_array());
                bitcoin::hashes::HashEngine::input(&mut engine, pair[1].as_byte_array());
                Txid::from_raw_hash(bitcoin::hashes::sha256d::Hash::from_engine(engine))
            })
            .collect();
        position /= 2;
    }
    branch
}

async fn merkleblock_proof(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    let devnet = lock(&devnet);
    let Some(confirmed) = devnet.chain().tx(&txid) else { return missing(NOT_CONFIRMED) };
    let Some(hash) = devnet.chain().block_at(confirmed.height).map(|block| block.hash) else {
        return not_found("Block");
    };
    let Some(block) = devnet.full_block(&hash) else { return not_found("Block") };
    let proof = MerkleBlock::from_block_with_predicate(&block, |candidate| *candidate == txid);
    text(hex(serialize(&proof)))
}

fn spend_status(devnet: &Devnet, outpoint: &OutPoint) -> Value {
    let spender = devnet
        .chain()
        .spender(outpoint)
        .map(|(txid, vin)| {
            (txid, vin, views::tx_status(devnet.chain(), &txid).unwrap_or_else(TxStatus::unconfirmed))
        })
        .or_else(|| {
            devnet.mempool().spender(outpoint).map(|(txid, vin)| (txid, vin, TxStatus::unconfirmed()))
        });
    match spender {
        Some((txid, vin, status)) => {
            json!({ "spent": true, "txid": txid.to_string(), "vin": vin, "status": status })
        }
        None => json!({ "spent": false }),
    }
}

async fn outspend(devnet: web::Data<SharedDevnet>, path: web::Path<(String, String)>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path.0, "txid"));
    let vout: u32 = attempt!(parse(&path.1, "vout"));
    let devnet = lock(&devnet);
    match find_tx(&devnet, &txid) {
        Some((tx, _)) if usize::try_from(vout).is_ok_and(|vout| vout < tx.output.len()) => {
            json_ok(spend_status(&devnet, &OutPoint::new(txid, vout)))
        }
        _ => not_found("Transaction output"),
    }
}

async fn outspends(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let txid: Txid = attempt!(parse(&path, "txid"));
    let devnet = lock(&devnet);
    match find_tx(&devnet, &txid) {
        Some((tx, _)) => {
            let statuses: Vec<Value> = (0..tx.output.len())
                .map(|vout| {
                    spend_status(&devnet, &OutPoint::new(txid, u32::try_from(vout).unwrap_or(u32::MAX)))
                })
                .collect();
            json_ok(Value::Array(statuses))
        }
        None => not_found("Transaction"),
    }
}

// --- addresses and scripts ---

fn address_script(raw: &str) -> Result<ScriptBuf, Refused> {
    let address = Address::from_str(raw).map_err(|_| Box::new(bad_request("Invalid Bitcoin address")))?;
    let address = address
        .require_network(bitcoin::Network::Regtest)
        .map_err(|_| Box::new(bad_request("Address on invalid network")))?;
    Ok(address.script_pubkey())
}

fn parse_script_hash(raw: &str) -> Result<sha256::Hash, Refused> {
    let bytes = views::unhex(raw).ok_or_else(|| Box::new(bad_request("Invalid hex string")))?;
    sha256::Hash::from_slice(&bytes).map_err(|_| Box::new(bad_request("Invalid scripthash")))
}

/// Unconfirmed transactions touching the script, newest first.
fn mempool_history(devnet: &Devnet, script: &sha256::Hash) -> Vec<Transaction> {
    let mut txs: Vec<Transaction> = devnet
        .mempool()
        .entries()
        .filter(|(_, entry)| {
            entry.tx.output.iter().any(|output| script_hash(&output.script_pubkey) == *script)
                || entry.spent.iter().any(|output| script_hash(&output.script_pubkey) == *script)
        })
        .map(|(_, entry)| entry.tx.clone())
        .collect();
    txs.reverse();
    txs
}

/// Confirmed transactions touching the script, newest first, after `last_seen`.
fn chain_history(devnet: &Devnet, script: &sha256::Hash, last_seen: Option<Txid>) -> Vec<Value> {
    let history = devnet.chain().history(script);
    let newest_first = history.iter().rev();
    let after: Vec<&Txid> = match last_seen {
        Some(last) => newest_first.skip_while(|txid| **txid != last).skip(1).collect(),
        None => newest_first.collect(),
    };
    after
        .into_iter()
        .take(TXS_PER_PAGE)
        .filter_map(|txid| devnet.chain().tx(txid).map(|confirmed| (txid, confirmed)))
        .map(|(txid, confirmed)| {
            let status = views::tx_status(devnet.chain(), txid).unwrap_or_else(TxStatus::unconfirmed);
            views::transaction(&confirmed.tx, status, devnet.chain(), devnet.mempool())
        })
        .collect()
}

fn txs_answer(devnet: &Devnet, script: &sha256::Hash) -> HttpResponse {
    let mut txs: Vec<Value> = mempool_history(devnet, script)
        .iter()
        .take(MEMPOOL_TXS_LISTED)
        .map(|tx| views::transaction(tx, TxStatus::unconfirmed(), devnet.chain(), devnet.mempool()))
        .collect();
    txs.extend(chain_history(devnet, script, None));
    json_ok(Value::Array(txs))
}

fn mempool_txs_answer(devnet: &Devnet, script: &sha256::Hash) -> HttpResponse {
    let txs: Vec<Value> = mempool_history(devnet, script)
        .iter()
        .map(|tx| views::transaction(tx, TxStatus::unconfirmed(), devnet.chain(), devnet.mempool()))
        .collect();
    json_ok(Value::Array(txs))
}

fn utxo_answer(devnet: &Devnet, script: &sha256::Hash) -> HttpResponse {
    let mut utxos: Vec<Value> = devnet
        .chain()
        .utxos_of(script)
        .into_iter()
        .filter(|(outpoint, _)| devnet.mempool().spender(outpoint).is_none())
        .map(|(outpoint, coin)| {
            let status = devnet.chain().block_at(coin.height).map_or_else(TxStatus::unconfirmed, TxStatus::in_block);
            json!({ "txid": outpoint.txid.to_string(), "vout": outpoint.vout, "status": status, "value": coin.output.value.to_sat() })
        })
        .collect();
    for (txid, entry) in devnet.mempool().entries() {
        for (vout, output) in entry.tx.output.iter().enumerate() {
            let outpoint = OutPoint::new(*txid, u32::try_from(vout).unwrap_or(u32::MAX));
            if script_hash(&output.script_pubkey) == *script && devnet.mempool().spender(&outpoint).is_none()
            {
                utxos.push(json!({
                    "txid": txid.to_string(),
                    "vout": outpoint.vout,
                    "status": TxStatus::unconfirmed(),
                    "value": output.value.to_sat(),
                }));
            }
        }
    }
    json_ok(Value::Array(utxos))
}

fn stats(devnet: &Devnet, script: &sha256::Hash) -> (Value, Value) {
    let mut chain = [0u64; 5]; // funded count, funded sum, spent count, spent sum, txs
    for txid in devnet.chain().history(script) {
        let Some(confirmed) = devnet.chain().tx(txid) else { continue };
        chain[4] += 1;
        for output in
            confirmed.tx.output.iter().filter(|output| script_hash(&output.script_pubkey) == *script)
        {
            chain[0] += 1;
            chain[1] += output.value.to_sat();
        }
        for prevout in views::prevouts(&confirmed.tx, devnet.chain(), devnet.mempool()).into_iter().flatten()
        {
            if script_hash(&prevout.script_pubkey) == *script {
                chain[2] += 1;
                chain[3] += prevout.value.to_sat();
            }
        }
    }
    let mut mempool = [0u64; 5];
    for (_, entry) in devnet.mempool().entries() {
        let funded: Vec<u64> = entry
            .tx
            .output
            .iter()
            .filter(|output| script_hash(&output.script_pubkey) == *script)
            .map(|output| output.value.to_sat())
            .collect();
        let spent: Vec<u64> = entry
            .spent
            .iter()
            .filter(|output| script_hash(&output.script_pubkey) == *script)
            .map(|output| output.value.to_sat())
            .collect();
        if funded.is_empty() && spent.is_empty() {
            continue;
        }
        mempool[4] += 1;
        mempool[0] += funded.len() as u64;
        mempool[1] += funded.iter().sum::<u64>();
        mempool[2] += spent.len() as u64;
        mempool[3] += spent.iter().sum::<u64>();
    }
    let summary = |values: [u64; 5]| {
        json!({
            "funded_txo_count": values[0],
            "funded_txo_sum": values[1],
            "spent_txo_count": values[2],
            "spent_txo_sum": values[3],
            "tx_count": values[4],
        })
    };
    (summary(chain), summary(mempool))
}

async fn address_stats(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let script = attempt!(address_script(&path));
    let (chain, mempool) = stats(&lock(&devnet), &script_hash(&script));
    json_ok(json!({ "address": path.as_str(), "chain_stats": chain, "mempool_stats": mempool }))
}

async fn address_utxo(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let script = attempt!(address_script(&path));
    utxo_answer(&lock(&devnet), &script_hash(&script))
}

async fn address_txs(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let script = attempt!(address_script(&path));
    txs_answer(&lock(&devnet), &script_hash(&script))
}

async fn address_txs_mempool(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let script = attempt!(address_script(&path));
    mempool_txs_answer(&lock(&devnet), &script_hash(&script))
}

async fn address_txs_chain_first(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let script = attempt!(address_script(&path));
    json_ok(Value::Array(chain_history(&lock(&devnet), &script_hash(&script), None)))
}

async fn address_txs_chain(
    devnet: web::Data<SharedDevnet>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let script = attempt!(address_script(&path.0));
    let last: Txid = attempt!(parse(&path.1, "txid"));
    json_ok(Value::Array(chain_history(&lock(&devnet), &script_hash(&script), Some(last))))
}

async fn scripthash_stats(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path));
    let (chain, mempool) = stats(&lock(&devnet), &hash);
    json_ok(json!({ "scripthash": path.as_str(), "chain_stats": chain, "mempool_stats": mempool }))
}

async fn scripthash_utxo(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path));
    utxo_answer(&lock(&devnet), &hash)
}

async fn scripthash_txs(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path));
    txs_answer(&lock(&devnet), &hash)
}

async fn scripthash_txs_mempool(devnet: web::Data<SharedDevnet>, path: web::Path<String>) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path));
    mempool_txs_answer(&lock(&devnet), &hash)
}

async fn scripthash_txs_chain_first(
    devnet: web::Data<SharedDevnet>,
    path: web::Path<String>,
) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path));
    json_ok(Value::Array(chain_history(&lock(&devnet), &hash, None)))
}

async fn scripthash_txs_chain(
    devnet: web::Data<SharedDevnet>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let hash = attempt!(parse_script_hash(&path.0));
    let last: Txid = attempt!(parse(&path.1, "txid"));
    json_ok(Value::Array(chain_history(&lock(&devnet), &hash, Some(last))))
}

// --- mempool and fees ---

fn vsize(weight: bitcoin::Weight) -> u64 {
    weight.to_wu().div_ceil(4)
}

async fn mempool_stats(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    let mut count = 0u64;
    let mut total_vsize = 0u64;
    let mut total_fee = 0u64;
    let mut rates: Vec<(f64, u64)> = Vec::new();
    for (_, entry) in devnet.mempool().entries() {
        let size = vsize(entry.weight);
        count += 1;
        total_vsize += size;
        total_fee += entry.fee.to_sat();
        rates.push((entry.fee.to_sat() as f64 / size.max(1) as f64, size));
    }
    rates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let histogram: Vec<Value> = rates.iter().map(|(rate, size)| json!([rate, size])).collect();
    json_ok(
        json!({ "count": count, "vsize": total_vsize, "total_fee": total_fee, "fee_histogram": histogram }),
    )
}

async fn mempool_txids(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    let txids: Vec<String> = devnet.mempool().entries().map(|(txid, _)| txid.to_string()).collect();
    json_ok(json!(txids))
}

async fn mempool_recent(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    let recent: Vec<Value> = devnet
        .mempool()
        .entries()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(10)
        .map(|(txid, entry)| {
            let value: u64 = entry.tx.output.iter().map(|output| output.value.to_sat()).sum();
            json!({ "txid": txid.to_string(), "fee": entry.fee.to_sat(), "vsize": vsize(entry.weight), "value": value })
        })
        .collect();
    json_ok(Value::Array(recent))
}

/// electrs passes on bitcoind's `estimatesmartfee`, which has no estimate on a regtest
/// chain without fee history: an empty map. The devnet keeps no fee history, so it
/// always answers so; readers fall back to their floor.
async fn fee_estimates() -> HttpResponse {
    json_ok(json!({}))
}

// --- control API ---

fn control_error(status: StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.to_string() }))
}

fn boxed_control_error(status: StatusCode, message: impl std::fmt::Display) -> Refused {
    Box::new(control_error(status, message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MineRequest {
    blocks: u32,
    #[serde(default)]
    address: Option<String>,
    /// Only mine transactions whose package pays at least this many sat/vB.
    #[serde(default)]
    min_fee_rate_sat_vb: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaucetRequest {
    address: String,
    amount_sat: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReorgRequest {
    depth: u32,
}

/// Most blocks one `/devnet/mine` call may mine.
const MAX_BLOCKS_PER_CALL: u32 = 10_000;

fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refused> {
    serde_json::from_slice(body)
        .map_err(|error| boxed_control_error(StatusCode::BAD_REQUEST, format!("invalid request: {error}")))
}

async fn control_info(devnet: web::Data<SharedDevnet>) -> HttpResponse {
    let devnet = lock(&devnet);
    json_ok(json!({
        "network": "regtest",
        "height": devnet.height(),
        "tip": devnet.chain().tip().map(|tip| tip.hash.to_string()),
        "mempool_count": devnet.mempool().len(),
        "wallet_address": devnet.wallet().address().to_string(),
        "wallet_balance_sat": devnet.spendable(&devnet.wallet().script_pubkey()).iter().map(|(_, output)| output.value).sum::<Amount>().to_sat(),
    }))
}

async fn control_mine(devnet: web::Data<SharedDevnet>, body: web::Bytes) -> HttpResponse {
    let request: MineRequest = attempt!(read_json(&body));
    if request.blocks == 0 || request.blocks > MAX_BLOCKS_PER_CALL {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("blocks must be between 1 and {MAX_BLOCKS_PER_CALL}"),
        );
    }
    let payout = match &request.address {
        Some(address) => Some(attempt!(address_script(address).map_err(|_| boxed_control_error(
            StatusCode::BAD_REQUEST,
            format!("invalid regtest address: {address}")
        )))),
        None => None,
    };
    let devnet = devnet.get_ref().clone();
    let mined = web::block(move || {
        let mut devnet = lock(&devnet);
        let payout = payout.unwrap_or_else(|| devnet.wallet().script_pubkey());
        match request.min_fee_rate_sat_vb {
            Some(rate) => devnet.mine_above(
                request.blocks,
                &payout,
                FeeRate::from_sat_per_kwu(rate.saturating_mul(250)),
            ),
            None => devnet.mine(request.blocks, &payout),
        }
    })
    .await;
    match mined {
        Ok(Ok(hashes)) => {
            json_ok(json!({ "hashes": hashes.iter().map(BlockHash::to_string).collect::<Vec<_>>() }))
        }
        Ok(Err(error)) => control_error(StatusCode::INTERNAL_SERVER_ERROR, error),
        Err(error) => control_error(StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}

async fn control_faucet(devnet: web::Data<SharedDevnet>, body: web::Bytes) -> HttpResponse {
    let request: FaucetRequest = attempt!(read_json(&body));
    let script = attempt!(address_script(&request.address).map_err(|_| boxed_control_error(
        StatusCode::BAD_REQUEST,
        format!("invalid regtest address: {}", request.address)
    )));
    if request.amount_sat == 0 {
        return control_error(StatusCode::BAD_REQUEST, "amount_sat must be positive");
    }
    let mut devnet = lock(&devnet);
    match devnet.faucet(script, Amount::from_sat(request.amount_sat)) {
        Ok(txid) => json_ok(json!({ "txid": txid.to_string() })),
        Err(error) => control_error(StatusCode::UNPROCESSABLE_ENTITY, error),
    }
}

async fn control_reorg(devnet: web::Data<SharedDevnet>, body: web::Bytes) -> HttpResponse {
    let request: ReorgRequest = attempt!(read_json(&body));
    let devnet = devnet.get_ref().clone();
    match web::block(move || lock(&devnet).reorg(request.depth)).await {
        Ok(Ok(hashes)) => {
            json_ok(json!({ "hashes": hashes.iter().map(BlockHash::to_string).collect::<Vec<_>>() }))
        }
        Ok(Err(error @ crate::devnet::MineError::TooDeep { .. })) => {
            control_error(StatusCode::BAD_REQUEST, error)
        }
        Ok(Err(error)) => control_error(StatusCode::INTERNAL_SERVER_ERROR, error),
        Err(error) => control_error(StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_branches_lead_to_the_root() {
        let txids: Vec<Txid> = (0u8..5).map(|i| Txid::from_byte_array([i; 32])).collect();
        let root = bitcoin::merkle_tree::calculate_root(txids.iter().map(|txid| txid.to_raw_hash())).unwrap();
        for position in 0..txids.len() {
            let mut hash = txids[position].to_raw_hash();
            let mut index = position;
            for sibling in merkle_branch(&txids, position) {
                let mut engine = bitcoin::hashes::sha256d::Hash::engine();
                let (left, right) = if index % 2 == 0 {
                    (hash, sibling.to_raw_hash())
                } else {
                    (sibling.to_raw_hash(), hash)
                };
                bitcoin::hashes::HashEngine::input(&mut engine, left.as_byte_array());
                bitcoin::hashes::HashEngine::input(&mut engine, right.as_byte_array());
                hash = bitcoin::hashes::sha256d::Hash::from_engine(engine);
                index /= 2;
            }
            assert_eq!(hash, root, "position {position}");
        }
    }
}
