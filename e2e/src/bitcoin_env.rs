//! The Bitcoin side of end-to-end tests: an Esplora API plus a way to mine, fund and
//! reorganise, backed either by the embedded devnet or by an external regtest
//! bitcoind with an Esplora (electrs) in front of it.

use std::time::{Duration, Instant};

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
pub struct TestEnv {
    backend: Backend,
    esplora_url: String,
    client: BlockingClient,
}

impl TestEnv {
    /// The environment the variables select.
    pub fn start() -> TestEnv {
        let esplora = std::env::var("ROLLUP_E2E_ESPLORA_URL").ok();
        let rpc = std::env::var("ROLLUP_E2E_BITCOIND_RPC").ok();
        match (esplora, rpc) {
            (Some(esplora_url), Some(rpc_url)) => Self::with(Backend::External { rpc_url }, esplora_url),
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
        TestEnv { backend, esplora_url, client }
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
        hashes
    }

    /// Embedded devnet only: mines `blocks` blocks holding only the transactions
    /// whose package pays at least `min_fee_rate_sat_vb`; the others stay in the
    /// mempool, as stuck transactions do.
    pub fn mine_above(&self, blocks: u32, min_fee_rate_sat_vb: u64) -> Vec<BlockHash> {
        assert!(self.is_embedded(), "only the embedded devnet mines above a fee rate");
        let answer =
            self.control("mine", json!({ "blocks": blocks, "min_fee_rate_sat_vb": min_fee_rate_sat_vb }));
        let hashes: Vec<String> = serde_json::from_value(answer["hashes"].clone()).expect("mined hashes");
        let hashes: Vec<BlockHash> = hashes.iter().map(|hash| hash.parse().expect("block hash")).collect();
        if let Some(last) = hashes.last() {
            self.wait_for_tip(last);
        }
        hashes
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
                let to = bitcoind(rpc_url, "getnewaddress", json!([]));
                let hashes: Vec<String> =
                    serde_json::from_value(bitcoind(rpc_url, "generatetoaddress", json!([depth + 1, to])))
                        .expect("hashes");
                hashes.iter().map(|hash| hash.parse().expect("block hash")).collect()
            }
        };
        if let Some(last) = hashes.last() {
            self.wait_for_tip(last);
        }
        hashes
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
