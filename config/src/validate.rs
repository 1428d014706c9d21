//! Checks of values and of the combination of roles, after the typed reading.

use std::net::SocketAddr;

use tracing_subscriber::EnvFilter;

use crate::error::ConfigIssue;
use crate::model::{BitcoinNetwork, Config, Role};

/// Bounds of numeric keys: `(key, value, min, max)`.
fn ranges(config: &Config) -> [(&'static str, u64, u64, u64); 12] {
    let rpc = &config.rpc;
    let supervisor = &config.supervisor;
    let sequencer = &config.sequencer;
    [
        ("sequencer.block_time_ms", sequencer.block_time_ms, 10, 3_600_000),
        ("sequencer.max_block_txs", sequencer.max_block_txs, 1, 65_536),
        ("sequencer.mempool_per_account", sequencer.mempool_per_account, 1, 65_536),
        ("sequencer.mempool_total", sequencer.mempool_total, 1, 10_000_000),
        ("sequencer.l1_poll_ms", sequencer.l1_poll_ms, 10, 600_000),
        ("rpc.max_body_bytes", rpc.max_body_bytes, 1024, 256 * 1024 * 1024),
        ("rpc.max_batch_len", rpc.max_batch_len, 1, 10_000),
        ("rpc.workers", rpc.workers, 1, 256),
        ("supervisor.restart_backoff_initial_ms", supervisor.restart_backoff_initial_ms, 1, 3_600_000),
        ("supervisor.restart_backoff_max_ms", supervisor.restart_backoff_max_ms, 1, 3_600_000),
        ("supervisor.restart_reset_after_ms", supervisor.restart_reset_after_ms, 1, 86_400_000),
        ("supervisor.shutdown_timeout_ms", supervisor.shutdown_timeout_ms, 1, 3_600_000),
    ]
}

/// Every problem of `config`, each naming its key.
pub(crate) fn validate(config: &Config) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();

    if config.node.data_dir.as_os_str().is_empty() {
        issues.push(ConfigIssue::new("node.data_dir", "must not be empty"));
    }
    if config.rpc.listen.parse::<SocketAddr>().is_err() {
        issues.push(ConfigIssue::new(
            "rpc.listen",
            "not a socket address (expected IP:PORT, e.g. 127.0.0.1:8545)",
        ));
    }
    if config.devnet.esplora_listen.parse::<SocketAddr>().is_err() {
        issues.push(ConfigIssue::new(
            "devnet.esplora_listen",
            "not a socket address (expected IP:PORT, e.g. 127.0.0.1:3002)",
        ));
    }
    let block_time = config.devnet.block_time_ms;
    if block_time != 0 && !(100..=3_600_000).contains(&block_time) {
        issues.push(ConfigIssue::new(
            "devnet.block_time_ms",
            "must be 0 (mine on request) or between 100 and 3600000",
        ));
    }
    for (key, value, min, max) in ranges(config) {
        if !(min..=max).contains(&value) {
            issues.push(ConfigIssue::new(key, format!("must be between {min} and {max}")));
        }
    }
    let supervisor = &config.supervisor;
    if supervisor.restart_backoff_initial_ms > supervisor.restart_backoff_max_ms {
        issues.push(ConfigIssue::new(
            "supervisor.restart_backoff_initial_ms",
            format!(
                "must not exceed supervisor.restart_backoff_max_ms ({})",
                supervisor.restart_backoff_max_ms
            ),
        ));
    }
    if let Err(error) = EnvFilter::builder().parse(&config.log.filter) {
        issues.push(ConfigIssue::new("log.filter", format!("not a log filter: {error}")));
    }
    if !is_http_url(&config.bitcoin.esplora_url) {
        issues.push(ConfigIssue::new("bitcoin.esplora_url", "must be an http:// or https:// URL"));
    }
    if let Some(url) = &config.prover.sequencer_rpc {
        if !is_http_url(url) {
            issues.push(ConfigIssue::new("prover.sequencer_rpc", "must be an http:// or https:// URL"));
        }
    }
    for (position, key) in config.vigilante.da_posters.iter().enumerate() {
        if crate::model::hex32(key).is_none() {
            issues.push(ConfigIssue::new(
                "vigilante.da_posters",
                format!("entry {position} is not a 32-byte x-only key in hex: {key:?}"),
            ));
        }
    }
    if config.vigilante.poll_ms == 0 {
        issues.push(ConfigIssue::new("vigilante.poll_ms", "must be at least 1"));
    }
    let groth16 = &config.prover.groth16;
    for (key, value) in
        [("prover.groth16.setup_seed", &groth16.setup_seed), ("prover.groth16.vk_hash", &groth16.vk_hash)]
    {
        if value.as_deref().is_some_and(|value| crate::model::hex32(value).is_none()) {
            issues.push(ConfigIssue::new(key, "must be 32 bytes in hex (64 digits)"));
        }
    }
    issues.extend(controller_da(config));
    issues.extend(cross_role(config));
    issues
}

/// Problems of `[controller.da]`.
fn controller_da(config: &Config) -> Vec<ConfigIssue> {
    let da = &config.controller.da;
    let mut issues = Vec::new();
    for (key, value, min, max) in [
        ("controller.da.fee_target_blocks", u64::from(da.fee_target_blocks), 1, 1_008),
        ("controller.da.min_fee_rate_sat_vb", da.min_fee_rate_sat_vb, 1, 100_000),
        ("controller.da.max_fee_rate_sat_vb", da.max_fee_rate_sat_vb, 1, 100_000),
        ("controller.da.max_bytes_per_block", da.max_bytes_per_block, 1, 4_000_000),
        ("controller.da.bump_after_blocks", u64::from(da.bump_after_blocks), 1, 1_008),
        ("controller.da.poll_interval_ms", da.poll_interval_ms, 10, 3_600_000),
        ("controller.da.devnet_faucet_sat", da.devnet_faucet_sat, 0, 21_000_000 * 100_000_000),
    ] {
        if !(min..=max).contains(&value) {
            issues.push(ConfigIssue::new(key, format!("must be between {min} and {max}")));
        }
    }
    if da.min_fee_rate_sat_vb > da.max_fee_rate_sat_vb {
        issues.push(ConfigIssue::new(
            "controller.da.min_fee_rate_sat_vb",
            format!("must not exceed controller.da.max_fee_rate_sat_vb ({})", da.max_fee_rate_sat_vb),
        ));
    }
    if da.wallet_key.as_ref().is_some_and(|path| path.as_os_str().is_empty()) {
        issues.push(ConfigIssue::new(
            "controller.da.wallet_key",
            "must not be empty (unset it for the default)",
        ));
    }
    if da.devnet_faucet_sat > 0 && config.bitcoin.network != BitcoinNetwork::Regtest {
        issues.push(ConfigIssue::new(
            "controller.da.devnet_faucet_sat",
            "only regtest has a devnet faucet: set 0 on other networks",
        ));
    }
    issues
}

/// Problems of the combination of roles and settings.
fn cross_role(config: &Config) -> Vec<ConfigIssue> {
    let roles = &config.roles;
    let mut issues = Vec::new();
    if roles.enabled().is_empty() {
        issues.push(ConfigIssue::new(
            "roles",
            "no role is enabled: set one under [roles] or pass --profile (operator, backup, signer, vigilante, all)",
        ));
    }
    if roles.is_enabled(Role::Prover)
        && !roles.is_enabled(Role::Sequencer)
        && config.prover.sequencer_rpc.is_none()
    {
        issues.push(ConfigIssue::new(
            "roles.prover",
            "prover enabled but no sequencer to take jobs from: enable roles.sequencer or set prover.sequencer_rpc",
        ));
    }
    if roles.is_enabled(Role::Prover)
        && roles.is_enabled(Role::Sequencer)
        && config.sequencer.max_block_txs > 128
    {
        issues.push(ConfigIssue::new(
            "sequencer.max_block_txs",
            "the prover runs here and its largest block circuit holds 128 transactions: set at most 128",
        ));
    }
    if roles.is_enabled(Role::Controller) && !roles.is_enabled(Role::Sequencer) {
        issues.push(ConfigIssue::new(
            "roles.controller",
            "controller enabled without the sequencer: the controller cuts batches from the local chain, enable roles.sequencer",
        ));
    }
    if roles.is_enabled(Role::Prover)
        && config.prover.groth16.enabled
        && config.prover.groth16.vk_hash.is_none()
        && config.bitcoin.network == BitcoinNetwork::Bitcoin
    {
        issues.push(ConfigIssue::new(
            "prover.groth16.vk_hash",
            "required on bitcoin mainnet: pin the verifying key of the setup ceremony (the development setup is not one)",
        ));
    }
    if config.debug.fault_injection && config.bitcoin.network == BitcoinNetwork::Bitcoin {
        issues.push(ConfigIssue::new("debug.fault_injection", "refused on bitcoin mainnet"));
    }
    if config.debug.insecure_test_wrapper && config.bitcoin.network != BitcoinNetwork::Regtest {
        issues.push(ConfigIssue::new(
            "debug.insecure_test_wrapper",
            "refused off regtest: its proofs prove nothing (a 6-bit FRI, for tests)",
        ));
    }
    if !config.debug.ignore_rpc_txs_from.is_empty() && !config.debug.fault_injection {
        issues.push(ConfigIssue::new(
            "debug.ignore_rpc_txs_from",
            "only honoured with debug.fault_injection = true: set it, or empty this list",
        ));
    }
    issues
}

fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_need_a_host() {
        assert!(is_http_url("http://127.0.0.1:3002"));
        assert!(is_http_url("https://blockstream.info/api"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("ftp://example.org"));
        assert!(!is_http_url("127.0.0.1:3002"));
        assert!(!is_http_url("http://bad host"));
    }
}
