//! `rollup devnet`: the embedded Bitcoin regtest beside the rollup node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bitcoin::Amount;
use rollup_config::{Config, Role};
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
    for line in plan(config) {
        println!("{line}");
    }
    if let Some(warning) = memory_warning(config, available_memory()) {
        tracing::warn!(target: "rollup::devnet", "{warning}");
    }

    let handle = server.server.handle();
    let task = actix_rt::spawn(server.server);
    Ok(RunningDevnet { server: handle, task, addr_file, chain: shared })
}

/// What the devnet's node will do, for its banner: which roles run, what touches
/// Bitcoin, and what proving every batch costs (docs/devnet.md has the timeline).
fn plan(config: &Config) -> Vec<String> {
    let (running, idle): (Vec<Role>, Vec<Role>) =
        config.roles.enabled().into_iter().partition(|role| role.is_implemented());
    let names = |roles: &[Role]| roles.iter().map(|role| role.as_str()).collect::<Vec<_>>().join(", ");
    let mut lines = vec![format!("  roles:                         {}", names(&running))];
    let unbuilt: Vec<Role> = Role::ALL.into_iter().filter(|role| !role.is_implemented()).collect();
    match idle.is_empty() {
        true => lines.push(format!("  not implemented yet:           {} (not started)", names(&unbuilt))),
        false => lines.push(format!(
            "  not implemented yet:           {} (enabled, but they run nothing)",
            names(&idle)
        )),
    }
    let on_off = |on: bool| if on { "on" } else { "off" };
    lines.push(format!(
        "  L1 messages from Bitcoin:      {} (sequencer.follow_bitcoin; ROLLUP__SEQUENCER__FOLLOW_BITCOIN=true)",
        on_off(config.sequencer.follow_bitcoin)
    ));
    lines.push(format!(
        "  batches posted to Bitcoin:     {} (controller.da.enabled; see docs/devnet.md)",
        on_off(config.controller.da.enabled)
    ));
    if config.roles.is_enabled(Role::Prover) {
        lines.push(
            "  proving:                       every block as it seals; every closed batch through stage 3 (minutes)"
                .to_owned(),
        );
        match config.prover.groth16.enabled {
            true => lines.extend([
                "                                 and stage 4, its Groth16 proof, in a process of its own. The first"
                    .to_owned(),
                format!(
                    "                                 batch also sets up the Groth16 keys in {}: about {} minutes",
                    config.prover.groth16.key_dir(&config.node.data_dir).display(),
                    FIRST_BATCH_MINUTES
                ),
                format!(
                    "                                 and {STAGE4_GIB} GiB of memory on 2 cores; later batches about \
                     {LATER_BATCH_MINUTES} minutes each."
                ),
                "                                 ROLLUP__PROVER__GROTH16__ENABLED=false stops at stage 3.".to_owned(),
            ]),
            false => lines.push(
                "                                 (stage 4, the Groth16 proof, is off: prover.groth16.enabled)".to_owned(),
            ),
        }
    }
    lines
}

/// From a newcomer's devnet on the development machine (2 cores; docs/devnet.md):
/// batch 0 from its closing to its Groth16 proof, the key setup included.
const FIRST_BATCH_MINUTES: u32 = 10;
/// The same for a later batch (the keys are loaded).
const LATER_BATCH_MINUTES: u32 = 8;
/// What a node with stage 4 needs: the node (2.1 GiB) and the stage-4 process (7.2 GiB)
/// at their peaks on that run, rounded up.
const STAGE4_GIB: u64 = 10;

/// `MemAvailable` of `/proc/meminfo`, in bytes, where there is one.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find_map(|line| line.strip_prefix("MemAvailable:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// A warning when stage 4 is on and the machine has less memory available than it
/// needs.
fn memory_warning(config: &Config, available: Option<u64>) -> Option<String> {
    let needed = STAGE4_GIB << 30;
    let available = available?;
    (config.roles.is_enabled(Role::Prover) && config.prover.groth16.enabled && available < needed).then(|| {
        format!(
            "this machine has {:.1} GiB of memory available, and stage 4 needs about {STAGE4_GIB} GiB: the \
             Groth16 proofs may fail (out of memory); ROLLUP__PROVER__GROTH16__ENABLED=false stops the prover at \
             stage 3",
            available as f64 / f64::from(1u32 << 30)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devnet_config() -> Config {
        let mut config = Config {
            roles: rollup_config::RolesConfig {
                sequencer: true,
                prover: true,
                controller: true,
                vigilante: true,
                ..Default::default()
            },
            ..Default::default()
        };
        config.node.data_dir = "/tmp/dev".into();
        config
    }

    #[test]
    fn the_banner_says_what_runs_what_is_off_and_what_proving_costs() {
        let config = devnet_config();
        let lines = plan(&config);
        assert_eq!(lines[0], "  roles:                         sequencer, prover, controller, vigilante");
        assert_eq!(lines[1], "  not implemented yet:           signer, backup (not started)");
        assert!(lines[2].starts_with("  L1 messages from Bitcoin:      off "), "{}", lines[2]);
        assert!(lines[3].starts_with("  batches posted to Bitcoin:     off "), "{}", lines[3]);
        assert!(lines[6].contains("Groth16 keys in /tmp/dev/groth16: about 10 minutes"), "{}", lines[6]);
        assert_eq!(lines.len(), 9);

        let mut stage3 = devnet_config();
        stage3.prover.groth16.enabled = false;
        stage3.roles.signer = true;
        let lines = plan(&stage3);
        assert_eq!(lines[1], "  not implemented yet:           signer (enabled, but they run nothing)");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("                                 (stage 4, the Groth16 proof, is off: prover.groth16.enabled)")
        );
    }

    #[test]
    fn too_little_memory_for_stage_4_is_a_warning() {
        let config = devnet_config();
        assert_eq!(memory_warning(&config, Some(20 << 30)), None);
        assert_eq!(memory_warning(&config, None), None);
        let warning = memory_warning(&config, Some(6 << 30)).unwrap();
        assert!(warning
            .starts_with("this machine has 6.0 GiB of memory available, and stage 4 needs about 10 GiB"));
        let mut off = devnet_config();
        off.prover.groth16.enabled = false;
        assert_eq!(memory_warning(&off, Some(6 << 30)), None);
        assert!(available_memory().is_some_and(|bytes| bytes > 0));
    }
}
