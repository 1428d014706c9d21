//! The Bitcoin side of end-to-end tests: an Esplora API plus a way to mine, fund and
//! reorganise, backed either by the embedded devnet or by an external regtest
//! bitcoind with an Esplora (electrs) in front of it.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::{Address, Amount, BlockHash, Txid};
use esplora_client::BlockingClient;
use serde_json::{json, Value};

use crate::{read, NodeOptions, NodeProcess, PROCESS_TIMEOUT};

/// Which Bitcoin the tests run against.
pub enum Backend {
    /// `rollup devnet`: the embedded regtest, controlled through `/devnet/*`.
    Embedded(Box<NodeProcess>),
    /// An external regtest bitcoind, controlled through its JSON-RPC.
    External {
        /// `http://user:password@host:port` of bitcoind.
        rpc_url: String,
    },
}

/// An Esplora API with mining, funding and reorgs.
///
/// `TestEnv::start()` uses the embedded devnet unless both `ROLLUP_E2E_ESPLORA_URL`
/// and `ROLLUP_E2E_BITCOIND_RPC` are set; then it uses that Esplora and mines and
/// funds through that bitcoind (its wallet must be loaded and funded).
///
/// An external backend is one chain shared by every test of the process: tests that
/// use it take turns (each holds it from `start` until it is dropped), and each turn
/// begins with an empty mempool. After every step that changes the chain, the
/// environment waits until Esplora (electrs follows bitcoind by polling) shows
/// bitcoind's tip and mempool.
pub struct TestEnv {
    backend: Backend,
    esplora_url: String,
    client: BlockingClient,
    _turn: Option<MutexGuard<'static, ()>>,
}

/// Held by the test that is using the external backend.
static EXTERNAL_TURN: Mutex<()> = Mutex::new(());

/// How far `TestEnv::lose_mempool` moves bitcoind's clock: past Core's mempool expiry
/// (`-mempoolexpiry`, 336 hours by default).
const PAST_MEMPOOL_EXPIRY: Duration = Duration::from_secs(30 * 24 * 3600);

impl TestEnv {
    /// The environment the variables select.
    pub fn start() -> TestEnv {
        let esplora = std::env::var("ROLLUP_E2E_ESPLORA_URL").ok();
        let rpc = std::env::var("ROLLUP_E2E_BITCOIND_RPC").ok();
        match (esplora, rpc) {
            (Some(esplora_url), Some(rpc_url)) => {
                // A test that failed while holding its turn leaves nothing to protect.
                let turn = EXTERNAL_TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let mut env = Self::with(Backend::External { rpc_url }, esplora_url);
                env._turn = Some(turn);
                // What an earlier test left unconfirmed is mined before this one begins.
                if !env.bitcoind("getrawmempool", json!([])).as_array().is_none_or(Vec::is_empty) {
                    env.mine(1, None);
                }
                env.wait_synced();
                env
            }
            (None, None) => {
                let node = NodeProcess::start(NodeOptions::devnet());
                let url = node.esplora_url();
                Self::with(Backend::Embedded(Box::new(node)), url)
            }
            _ => panic!("set both ROLLUP_E2E_ESPLORA_URL and ROLLUP_E2E_BITCOIND_RPC, or neither"),
        }
    }

    /// The embedded devnet with configuration `env` variables over its defaults, e.g.
    /// `[("ROLLUP__DEVNET__FULL_RBF", "true")]`.
    pub fn embedded_with(env: &[(&str, &str)]) -> TestEnv {
        let mut options = NodeOptions::devnet();
        options.env = env.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
        let node = NodeProcess::start(options);
        let url = node.esplora_url();
        Self::with(Backend::Embedded(Box::new(node)), url)
    }

    fn with(backend: Backend, esplora_url: String) -> TestEnv {
        let client = esplora_client::Builder::new(&esplora_url).timeout(30).build_blocking();
        TestEnv { backend, esplora_url, client, _turn: None }
    }

    /// The Esplora client.
    pub fn esplora(&self) -> &BlockingClient {
        &self.client
    }

    /// The Esplora base URL.
    pub fn esplora_url(&self) -> &str {
        &self.esplora_url
    }

    /// Whether this is the embedded devnet.
    pub fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Embedded(_))
    }

    /// Whether this is an external bitcoind and Esplora.
    pub fn is_external(&self) -> bool {
        !self.is_embedded()
    }

    /// Restarts the embedded devnet process on its data directory.
    pub fn restart_devnet(&mut self) {
        let Backend::Embedded(node) = &mut self.backend else { panic!("only the embedded devnet restarts") };
        node.restart();
        self.esplora_url = node.esplora_url();
        self.client = esplora_client::Builder::new(&self.esplora_url).timeout(30).build_blocking();
    }

    /// Mines `blocks` blocks (to `address`, or to the backend's own wallet) and waits
    /// until Esplora has indexed them.
    pub fn mine(&self, blocks: u32, address: Option<&Address>) -> Vec<BlockHash> {
        let hashes: Vec<String> = match &self.backend {
            Backend::Embedded(_) => {
                let mut request = json!({ "blocks": blocks });
                if let Some(address) = address {
                    request["address"] = json!(address.to_string());
                }
                let answer = self.control("mine", request);
                serde_json::from_value(answer["hashes"].clone()).expect("mined hashes")
            }
            Backend::External { rpc_url } => {
                let to = match address {
                    Some(address) => address.to_string(),
                    None => {
                        bitcoind(rpc_url, "getnewaddress", json!([])).as_str().expect("address").to_owned()
                    }
                };
                serde_json::from_value(bitcoind(rpc_url, "generatetoaddress", json!([blocks, to])))
                    .expect("hashes")
            }
        };
        let hashes: Vec<BlockHash> = hashes.iter().map(|hash| hash.parse().expect("block hash")).collect();
        if let Some(last) = hashes.last() {
            self.wait_for_tip(last);
        }
        self.wait_synced();
        hashes
    }

    /// Mines `blocks` blocks holding only the transactions whose package (the
    /// transaction with its unmined ancestors) pays at least `min_fee_rate_sat_vb`;
    /// the others stay in the mempool, as stuck transactions do. The devnet's miner
    /// selects so; on bitcoind, `generateblock` mines the packages this selects from
    /// `getrawmempool`.
    pub fn mine_above(&self, blocks: u32, min_fee_rate_sat_vb: u64) -> Vec<BlockHash> {
        let hashes: Vec<BlockHash> = match &self.backend {
            Backend::Embedded(_) => {
                let answer = self
                    .control("mine", json!({ "blocks": blocks, "min_fee_rate_sat_vb": min_fee_rate_sat_vb }));
                let hashes: Vec<String> =
                    serde_json::from_value(answer["hashes"].clone()).expect("mined hashes");
                hashes.iter().map(|hash| hash.parse().expect("block hash")).collect()
            }
            Backend::External { .. } => (0..blocks)
                .map(|_| {
                    let txids = self.packages_paying(min_fee_rate_sat_vb);
                    let to = self.bitcoind("getnewaddress", json!([]));
                    let mined = self.bitcoind("generateblock", json!([to, txids]));
                    mined["hash"].as_str().expect("generateblock hash").parse().expect("block hash")
                })
                .collect(),
        };
        if let Some(last) = hashes.last() {
            self.wait_for_tip(last);
        }
        self.wait_synced();
        hashes
    }

    /// bitcoind's mempool transactions whose package pays at least `min_sat_vb`, in an
    /// order a block can hold them (parents first): the devnet miner's selection.
    fn packages_paying(&self, min_sat_vb: u64) -> Vec<String> {
        let pool = self.bitcoind("getrawmempool", json!([true]));
        let pool = pool.as_object().expect("verbose mempool");
        // Oldest first, as the devnet takes them in acceptance order.
        let mut order: Vec<&String> = pool.keys().collect();
        order.sort_by_key(|txid| (pool[*txid]["time"].as_u64().unwrap_or(0), (*txid).clone()));
        let sats = |entry: &Value| (entry["fees"]["base"].as_f64().expect("fee") * 1e8).round() as u64;
        let mut chosen: Vec<String> = Vec::new();
        for txid in order {
            if chosen.contains(txid) {
                continue;
            }
            // The transaction and its unchosen ancestors, parents before children.
            let mut package: Vec<String> = Vec::new();
            let mut stack = vec![(txid.clone(), false)];
            while let Some((next, expanded)) = stack.pop() {
                if chosen.contains(&next) || package.contains(&next) {
                    continue;
                }
                if expanded {
                    package.push(next);
                    continue;
                }
                stack.push((next.clone(), true));
                for parent in pool[&next]["depends"].as_array().expect("depends") {
                    stack.push((parent.as_str().expect("parent txid").to_owned(), false));
                }
            }
            let fee: u64 = package.iter().map(|id| sats(&pool[id])).sum();
            let vsize: u64 = package.iter().map(|id| pool[id]["vsize"].as_u64().expect("vsize")).sum();
            if fee >= min_sat_vb * vsize {
                chosen.extend(package);
            }
        }
        chosen
    }

    /// Pays `amount` to `address` from the backend's wallet (unconfirmed).
    pub fn fund(&self, address: &Address, amount: Amount) -> Txid {
        let txid = match &self.backend {
            Backend::Embedded(_) => {
                let answer = self.control(
                    "faucet",
                    json!({ "address": address.to_string(), "amount_sat": amount.to_sat() }),
                );
                answer["txid"].as_str().expect("faucet txid").to_owned()
            }
            Backend::External { rpc_url } => {
                let btc = amount.to_btc();
                bitcoind(rpc_url, "sendtoaddress", json!([address.to_string(), btc]))
                    .as_str()
                    .expect("txid")
                    .to_owned()
            }
        };
        let txid: Txid = txid.parse().expect("txid");
        self.wait_until("the funding transaction to be indexed", || {
            matches!(self.client.get_tx(&txid), Ok(Some(_)))
        });
        txid
    }

    /// Replaces the last `depth` blocks with a longer branch of `depth + 1` blocks.
    pub fn reorg(&self, depth: u32) -> Vec<BlockHash> {
        let hashes: Vec<BlockHash> = match &self.backend {
            Backend::Embedded(_) => {
                let answer = self.control("reorg", json!({ "depth": depth }));
                let hashes: Vec<String> = serde_json::from_value(answer["hashes"].clone()).expect("hashes");
                hashes.iter().map(|hash| hash.parse().expect("block hash")).collect()
            }
            Backend::External { rpc_url } => {
                let height = self.client.get_height().expect("tip height");
                let first_replaced = self.client.get_block_hash(height + 1 - depth).expect("block hash");
                bitcoind(rpc_url, "invalidateblock", json!([first_replaced.to_string()]));
                // Empty blocks, as the devnet's branch: what the replaced blocks
                // confirmed stays in the mempool.
                let to = bitcoind(rpc_url, "getnewaddress", json!([]));
                (0..=depth)
                    .map(|_| {
                        let mined = bitcoind(rpc_url, "generateblock", json!([to, []]));
                        mined["hash"].as_str().expect("generateblock hash").parse().expect("block hash")
                    })
                    .collect()
            }
        };
        if let Some(last) = hashes.last() {
            self.wait_for_tip(last);
        }
        self.wait_synced();
        hashes
    }

    /// Empties the mempool, as a restart that loses it does. The embedded devnet
    /// restarts (it keeps no mempool across restarts). On bitcoind, whose mempool
    /// survives restarts, its clock is moved past the mempool's expiry for as long as
    /// it takes to disconnect and reconnect the tip, which expires every transaction;
    /// the chain is as before.
    pub fn lose_mempool(&mut self) {
        match &self.backend {
            Backend::Embedded(_) => self.restart_devnet(),
            Backend::External { .. } => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
                let tip = self.bitcoind("getbestblockhash", json!([]));
                self.bitcoind("setmocktime", json!([(now + PAST_MEMPOOL_EXPIRY).as_secs()]));
                self.bitcoind("invalidateblock", json!([tip]));
                self.bitcoind("reconsiderblock", json!([tip]));
                self.bitcoind("setmocktime", json!([0]));
                assert_eq!(self.bitcoind("getbestblockhash", json!([])), tip, "the tip came back");
                assert_eq!(self.bitcoind("getrawmempool", json!([])), json!([]), "the mempool expired");
                self.wait_synced();
            }
        }
    }

    /// Waits until Esplora shows bitcoind's tip and mempool: electrs adds a transaction
    /// broadcast through it at once, but notices what left the mempool only when it
    /// next polls bitcoind. The embedded devnet is always in step.
    pub fn wait_synced(&self) {
        if self.is_embedded() {
            return;
        }
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            let tip = self.bitcoind("getbestblockhash", json!([]));
            let mut pool: Vec<String> =
                serde_json::from_value(self.bitcoind("getrawmempool", json!([]))).expect("mempool txids");
            pool.sort();
            let shown_tip = self.client.get_tip_hash().map(|hash| json!(hash.to_string()));
            let mut shown: Vec<String> = match self.client.get_mempool_txids() {
                Ok(txids) => txids.iter().map(Txid::to_string).collect(),
                Err(error) => vec![format!("(error: {error})")],
            };
            shown.sort();
            if shown_tip.as_ref().ok() == Some(&tip) && shown == pool {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for Esplora to show bitcoind's tip and mempool: bitcoind {tip} {pool:?}, \
                 Esplora {shown_tip:?} {shown:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// External backend only: calls bitcoind's JSON-RPC.
    fn bitcoind(&self, method: &str, params: Value) -> Value {
        let Backend::External { rpc_url } = &self.backend else {
            panic!("the embedded devnet has no bitcoind")
        };
        bitcoind(rpc_url, method, params)
    }

    fn wait_for_tip(&self, hash: &BlockHash) {
        self.wait_until("Esplora to index the new tip", || {
            self.client.get_tip_hash().ok().as_ref() == Some(hash)
        });
    }

    /// Polls `condition` until it holds (Esplora indexes asynchronously).
    pub fn wait_until(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Calls the embedded devnet's control API.
    fn control(&self, action: &str, request: Value) -> Value {
        let url = format!("{}/devnet/{action}", self.esplora_url);
        let (status, body) = read(ureq::post(&url).send_json(request));
        assert_eq!(status, 200, "devnet {action}: {body}");
        serde_json::from_str(&body).expect("control API answer")
    }

    /// Broadcasts `tx` and returns the reject reason of a refusal (the `message` of
    /// bitcoind's error inside Esplora's answer), or `None` if it was accepted.
    pub fn broadcast(&self, tx: &bitcoin::Transaction) -> Option<String> {
        match self.client.broadcast(tx) {
            Ok(()) => None,
            Err(esplora_client::Error::HttpResponse { status, message }) => {
                assert_eq!(status, 400, "{message}");
                let json = message.split_once("RPC error: ").map(|(_, json)| json).unwrap_or(&message);
                let parsed: Value =
                    serde_json::from_str(json).unwrap_or_else(|_| json!({ "message": message }));
                Some(parsed["message"].as_str().unwrap_or_default().to_owned())
            }
            Err(error) => panic!("broadcast failed: {error}"),
        }
    }
}

/// Calls bitcoind's JSON-RPC at `url` (credentials in the URL).
fn bitcoind(url: &str, method: &str, params: Value) -> Value {
    let request = json!({ "jsonrpc": "1.0", "id": "e2e", "method": method, "params": params });
    let (status, body) = read(ureq::post(url).send_json(request));
    let answer: Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("bitcoind {method}: HTTP {status}: {body}"));
    assert!(answer["error"].is_null(), "bitcoind {method}: {}", answer["error"]);
    answer["result"].clone()
}
