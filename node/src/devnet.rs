//! `rollup devnet`: the embedded Bitcoin regtest beside the rollup node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bitcoin::Amount;
use rollup_config::Config;
use rollup_devnet::{Devnet, DevnetConfig, Policy, Wallet};

/// File in the data directory holding the Esplora API's bound address while it runs.
pub(crate) const ESPLORA_ADDR_FILE: &str = "esplora.addr";
/// What a new devnet gives the user's key.
const USER_FUNDS: Amount = Amount::from_sat(10 * 100_000_000);

/// A running regtest server.
pub(crate) struct RunningDevnet {
    server: actix_web::dev::ServerHandle,
    task: actix_rt::task::JoinHandle<std::io::Result<()>>,
    addr_file: std::path::PathBuf,
    chain: Arc<Mutex<Devnet>>,
}

/// How long `stop` waits for the server's threads to let go of the chain.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

impl RunningDevnet {
    /// Stops the server, then closes the chain: Bitcoin Core's chainstate is flushed
    /// to disk when the last handle to it is dropped, so `stop` waits for the
    /// server's worker threads to drop theirs and drops the last one itself, before
    /// the process can exit with blocks still in memory.
    pub(crate) async fn stop(self) {
        self.server.stop(true).await;
        let _ = self.task.await;
        let started = std::time::Instant::now();
        let mut chain = self.chain;
        loop {
            match Arc::try_unwrap(chain) {
                Ok(devnet) => {
                    drop(devnet);
                    tracing::info!(target: "rollup::devnet", "regtest chain closed");
                    break;
                }
                Err(shared) if started.elapsed() < RELEASE_TIMEOUT => {
                    chain = shared;
                    actix_rt::time::sleep(Duration::from_millis(10)).await;
                }
                Err(_) => {
                    tracing::warn!(
                        target: "rollup::devnet",
                        "the regtest chain is still in use; it is flushed when the process exits"
                    );
                    break;
                }
            }
        }
        let _ = std::fs::remove_file(&self.addr_file);
    }
}

/// Opens (or creates and funds) the regtest chain in `<data_dir>/bitcoin`, serves its
/// Esplora and control API, points `config.bitcoin.esplora_url` at it and prints the
/// endpoints and the user's funded key.
pub(crate) async fn start(config: &mut Config) -> anyhow::Result<RunningDevnet> {
    let dir = config.node.data_dir.join("bitcoin");
    let policy =
        Policy { accept_nonstandard: config.devnet.accept_nonstandard, full_rbf: config.devnet.full_rbf };
    let mut devnet = Devnet::open(&DevnetConfig { data_dir: dir.clone(), policy })
        .context("cannot open the regtest chain")?;
    devnet.ensure_funded().context("cannot mine the initial regtest blocks")?;
    let user = Wallet::load_or_create(&dir.join("user.key")).context("cannot load the user key")?;
    if devnet.spendable(&user.script_pubkey()).is_empty() {
        devnet.faucet(user.script_pubkey(), USER_FUNDS).context("cannot fund the user key")?;
        let payout = devnet.wallet().script_pubkey();
        devnet.mine(1, &payout).context("cannot confirm the user's funds")?;
    }
    let balance: Amount =
        devnet.spendable(&user.script_pubkey()).iter().map(|(_, output)| output.value).sum();
    let height = devnet.height();

    let listen = config.devnet.esplora_listen.parse().context("devnet.esplora_listen")?;
    let block_time =
        (config.devnet.block_time_ms > 0).then(|| Duration::from_millis(config.devnet.block_time_ms));
    let shared = Arc::new(Mutex::new(devnet));
    let server = rollup_devnet::serve(shared.clone(), listen, block_time)
        .with_context(|| format!("cannot serve the Esplora API on {listen}"))?;
    let url = format!("http://{}", server.local_addr);
    let addr_file = config.node.data_dir.join(ESPLORA_ADDR_FILE);
    std::fs::write(&addr_file, server.local_addr.to_string())
        .with_context(|| format!("cannot write {}", addr_file.display()))?;
    config.bitcoin.esplora_url.clone_from(&url);
    tracing::info!(target: "rollup::devnet", %url, height, "Bitcoin regtest serving the Esplora API");

    println!("rollup devnet");
    println!("  Bitcoin regtest (Esplora API): {url}");
    println!("  devnet control API:            {url}/devnet/info, POST {url}/devnet/{{mine,faucet,reorg}}");
    println!("  rollup JSON-RPC:               http://{}", config.rpc.listen);
    println!("  your funded key:               {} ({balance} at {})", user.wif(), user.address());
    println!("  chain height:                  {height}");
    println!(
        "  L2 funded key:                 `rollup wallet new --devnet-user`, then `rollup wallet balance`"
    );

    let handle = server.server.handle();
    let task = actix_rt::spawn(server.server);
    Ok(RunningDevnet { server: handle, task, addr_file, chain: shared })
}
