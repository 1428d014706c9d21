//! Boot, run and shutdown of a node.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::{select, Either};
use rollup_actors::{RestartPolicy, Runtime, Telemetry};
use rollup_config::{Config, SupervisorConfig};
use rollup_rpc::ApiConfig;
use rollup_storage::Store;

use crate::{api, devnet};

/// File in the data directory that holds the API's bound address while the node runs.
pub(crate) const RPC_ADDR_FILE: &str = "rpc.addr";

/// Runs the node (and with `with_devnet` the embedded Bitcoin regtest first) until
/// SIGINT or SIGTERM, then shuts it down cleanly.
pub(crate) fn run(mut config: Config, with_devnet: bool) -> anyhow::Result<()> {
    let boot_started = Instant::now();
    let roles: Vec<&str> = config.roles.enabled().iter().map(|role| role.as_str()).collect();
    tracing::info!(
        target: "rollup::node",
        version = env!("CARGO_PKG_VERSION"),
        roles = %roles.join(","),
        chain_id = config.node.chain_id,
        data_dir = %config.node.data_dir.display(),
        "starting rollup node"
    );
    let store = Arc::new(
        Store::open(&config.node.data_dir, config.node.chain_id).context("cannot open the node database")?,
    );
    actix_rt::System::new().block_on(async move {
        let devnet = if with_devnet { Some(devnet::start(&mut config).await?) } else { None };
        let result = serve(&config, &store, boot_started).await;
        if let Some(devnet) = devnet {
            devnet.stop().await;
        }
        result
    })?;
    tracing::info!(target: "rollup::node", "node stopped");
    Ok(())
}

fn restart_policy(config: &SupervisorConfig) -> RestartPolicy {
    RestartPolicy {
        initial_backoff: Duration::from_millis(config.restart_backoff_initial_ms),
        max_backoff: Duration::from_millis(config.restart_backoff_max_ms),
        reset_after: Duration::from_millis(config.restart_reset_after_ms),
    }
}

async fn serve(config: &Config, store: &Arc<Store>, boot_started: Instant) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::listen()?;
    let telemetry = Telemetry::new().context("cannot register metrics")?;
    let mut runtime = Runtime::new(telemetry.clone(), restart_policy(&config.supervisor));
    let roles = match rollup_roles::start(config, store, &mut runtime) {
        Ok(roles) => roles,
        Err(error) => {
            runtime.shutdown(Duration::from_millis(config.supervisor.shutdown_timeout_ms)).await;
            return Err(error).context("cannot start the roles");
        }
    };
    let methods = api::methods(config, runtime.controls(), roles, telemetry.health.clone());

    let listen = config.rpc.listen.parse().context("rpc.listen")?;
    let api_config = ApiConfig {
        listen,
        max_body_bytes: usize::try_from(config.rpc.max_body_bytes).context("rpc.max_body_bytes")?,
        max_batch_len: usize::try_from(config.rpc.max_batch_len).context("rpc.max_batch_len")?,
        workers: usize::try_from(config.rpc.workers).context("rpc.workers")?,
    };
    let api = match rollup_rpc::start(&api_config, methods, telemetry.clone()) {
        Ok(api) => api,
        Err(error) => {
            runtime.shutdown(Duration::from_millis(config.supervisor.shutdown_timeout_ms)).await;
            return Err(error).context("cannot start the API server");
        }
    };
    let addr_file = config.node.data_dir.join(RPC_ADDR_FILE);
    if let Err(error) = write_atomically(&addr_file, &api.local_addr.to_string()) {
        runtime.shutdown(Duration::from_millis(config.supervisor.shutdown_timeout_ms)).await;
        return Err(error).with_context(|| format!("cannot write {}", addr_file.display()));
    }
    tracing::info!(target: "rollup::rpc", addr = %api.local_addr, "JSON-RPC listening on http://{}", api.local_addr);

    let server = api.server.handle();
    report_ready(config, &telemetry, boot_started);
    let mut server_task = actix_rt::spawn(api.server);

    let outcome = match select(Box::pin(signals.recv()), &mut server_task).await {
        Either::Left((signal, _)) => {
            tracing::info!(target: "rollup::node", signal, "shutting down");
            Ok(())
        }
        Either::Right((result, _)) => {
            let error = match result {
                Ok(Ok(())) => anyhow::anyhow!("the API server stopped unexpectedly"),
                Ok(Err(error)) => anyhow::Error::new(error).context("the API server failed"),
                Err(error) => anyhow::Error::new(error).context("the API server task failed"),
            };
            Err(error)
        }
    };

    telemetry.health.begin_shutdown();
    // Stop taking requests and let in-flight ones finish, then let every role commit
    // and stop.
    server.stop(true).await;
    runtime.shutdown(Duration::from_millis(config.supervisor.shutdown_timeout_ms)).await;
    if let Err(error) = std::fs::remove_file(&addr_file) {
        tracing::warn!(target: "rollup::node", %error, file = %addr_file.display(), "cannot remove the address file");
    }
    outcome
}

/// SIGINT and SIGTERM, listened for from boot on so that neither kills the node
/// uncleanly once it has started.
struct ShutdownSignals {
    terminate: actix_rt::signal::unix::Signal,
    interrupt: actix_rt::signal::unix::Signal,
}

impl ShutdownSignals {
    fn listen() -> anyhow::Result<Self> {
        use actix_rt::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        })
    }

    /// Waits for either signal and names it.
    async fn recv(&mut self) -> &'static str {
        match select(Box::pin(self.terminate.recv()), Box::pin(self.interrupt.recv())).await {
            Either::Left(_) => "SIGTERM",
            Either::Right(_) => "SIGINT",
        }
    }
}

/// Logs `node ready` (with the time since boot) when every role that does work is
/// first ready, before `/ready` can answer 200 to anyone: a client that saw the node
/// ready finds the event in the log. Called before the API server runs. A node whose
/// enabled roles are all unimplemented is never ready, and says so.
fn report_ready(config: &Config, telemetry: &Telemetry, boot_started: Instant) {
    if !config.roles.enabled().iter().any(|role| role.is_implemented()) {
        tracing::warn!(
            target: "rollup::node",
            "no enabled role is implemented: the node serves its API but does no work, and /ready answers 503"
        );
        return;
    }
    telemetry.health.when_ready(move || {
        let elapsed_ms = boot_started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(target: "rollup::node", boot_ms = format!("{elapsed_ms:.1}"), "node ready");
    });
}

fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents)?;
    std::fs::rename(&partial, path)
}
