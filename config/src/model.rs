//! The typed configuration: every key the node reads, with its default.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole node configuration.
///
/// Every field has a default (see [`Config::default`]); a file, the environment and the
/// command line only name what they change. Unknown keys are errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its data and which chain it belongs to.
    pub node: NodeConfig,
    /// Which roles this process runs.
    pub roles: RolesConfig,
    /// The JSON-RPC, health and metrics server.
    pub rpc: RpcConfig,
    /// Log output.
    pub log: LogConfig,
    /// Restart policy and shutdown of the role actors.
    pub supervisor: SupervisorConfig,
    /// How the node reaches Bitcoin.
    pub bitcoin: BitcoinConfig,
    /// The sequencer role.
    pub sequencer: SequencerConfig,
    /// The prover role.
    pub prover: ProverConfig,
    /// The controller role.
    pub controller: ControllerConfig,
    /// The vigilante role.
    pub vigilante: VigilanteConfig,
    /// The embedded Bitcoin regtest of `rollup devnet`.
    pub devnet: DevnetConfig,
    /// Switches for tests; all off by default.
    pub debug: DebugConfig,
}

/// `[node]`: where the node keeps its data and which chain it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Directory of the node's database (`node.redb`) and runtime files.
    pub data_dir: PathBuf,
    /// The L2 chain id. A database created for one chain id refuses to open for another.
    pub chain_id: u64,
    /// The genesis file (JSON). Unset: the built-in development genesis for `chain_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genesis: Option<PathBuf>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self { data_dir: PathBuf::from("rollup-data"), chain_id: DEFAULT_CHAIN_ID, genesis: None }
    }
}

/// The chain id of the development network.
pub const DEFAULT_CHAIN_ID: u64 = 0x0052_4f4c;

/// `[roles]`: which roles this process runs. Profiles set this table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    /// Take L2 transactions, order them and execute blocks.
    pub sequencer: bool,
    /// Prove blocks and batches.
    pub prover: bool,
    /// Cut batches and, with `controller.da.enabled`, post their data to Bitcoin;
    /// claims to the contract come with the contract.
    pub controller: bool,
    /// Not implemented yet: will pre-sign the contract's transaction graph with the
    /// committee. Enabled, it runs nothing and the node says so.
    pub signer: bool,
    /// Rebuild every header and the state from Bitcoin alone; re-checking and
    /// challenging claims come with the contract.
    pub vigilante: bool,
    /// Not implemented yet: will be a hot-standby operator. Enabled, it runs nothing
    /// and the node says so.
    pub backup: bool,
}

impl RolesConfig {
    /// The enabled roles, in start order.
    pub fn enabled(&self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|role| self.is_enabled(*role)).collect()
    }

    /// Whether `role` is enabled.
    pub fn is_enabled(&self, role: Role) -> bool {
        match role {
            Role::Sequencer => self.sequencer,
            Role::Prover => self.prover,
            Role::Controller => self.controller,
            Role::Signer => self.signer,
            Role::Vigilante => self.vigilante,
            Role::Backup => self.backup,
        }
    }
}

/// A role a node can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes L2 transactions and executes blocks.
    Sequencer,
    /// Proves blocks and batches (stages 1 to 4).
    Prover,
    /// Cuts batches and posts their data to Bitcoin (claims come with the contract).
    Controller,
    /// Contract signer of the committee (not implemented yet).
    Signer,
    /// Watcher that rebuilds the chain from Bitcoin (challenges come with the contract).
    Vigilante,
    /// Hot-standby operator (not implemented yet).
    Backup,
}

impl Role {
    /// Every role, in start order.
    pub const ALL: [Role; 6] =
        [Role::Sequencer, Role::Prover, Role::Controller, Role::Signer, Role::Vigilante, Role::Backup];

    /// The role's name as used in config keys, metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Sequencer => "sequencer",
            Role::Prover => "prover",
            Role::Controller => "controller",
            Role::Signer => "signer",
            Role::Vigilante => "vigilante",
            Role::Backup => "backup",
        }
    }

    /// Whether the role's logic exists. A role that is not implemented can be
    /// enabled (its profile exists, so that configurations keep their shape), but it
    /// runs nothing: the node logs a warning, lists it as `not implemented` and does
    /// not count it as ready work.
    pub const fn is_implemented(self) -> bool {
        match self {
            Role::Sequencer | Role::Prover | Role::Controller | Role::Vigilante => true,
            Role::Signer | Role::Backup => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[rpc]`: the JSON-RPC, health and metrics server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcConfig {
    /// Listen address, `IP:PORT`. Port 0 picks a free port; the bound address is
    /// written to `<data_dir>/rpc.addr` either way.
    pub listen: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: u64,
    /// Most calls in one JSON-RPC batch.
    pub max_batch_len: u64,
    /// HTTP worker threads.
    pub workers: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8545".to_owned(),
            max_body_bytes: 1024 * 1024,
            max_batch_len: 100,
            workers: 2,
        }
    }
}

/// `[log]`: log output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `RUST_LOG`-style filter (`info`, `rollup::rpc=debug,info`, ...).
    /// The `RUST_LOG` environment variable, when set, takes its place.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info".to_owned() }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[supervisor]`: restart policy and shutdown of the role actors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    /// Delay before the first restart of a failed role, in milliseconds; it doubles
    /// with every further failure.
    pub restart_backoff_initial_ms: u64,
    /// Longest delay between restarts, in milliseconds.
    pub restart_backoff_max_ms: u64,
    /// A role that has run this long without failing starts again from the initial
    /// backoff, in milliseconds.
    pub restart_reset_after_ms: u64,
    /// How long shutdown waits for each role to finish, in milliseconds.
    pub shutdown_timeout_ms: u64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            restart_backoff_initial_ms: 100,
            restart_backoff_max_ms: 30_000,
            restart_reset_after_ms: 60_000,
            shutdown_timeout_ms: 10_000,
        }
    }
}

/// `[bitcoin]`: how the node reaches Bitcoin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitcoinConfig {
    /// The Bitcoin network.
    pub network: BitcoinNetwork,
    /// Base URL of the Esplora HTTP API.
    pub esplora_url: String,
}

impl Default for BitcoinConfig {
    fn default() -> Self {
        Self { network: BitcoinNetwork::Regtest, esplora_url: "http://127.0.0.1:3002".to_owned() }
    }
}

/// A Bitcoin network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum BitcoinNetwork {
    /// Mainnet.
    Bitcoin,
    /// Testnet 3.
    Testnet,
    /// Testnet 4.
    Testnet4,
    /// Signet.
    Signet,
    /// Regtest (the default, and what `rollup devnet` runs).
    #[default]
    Regtest,
}

impl BitcoinNetwork {
    /// The network's name, as `bitcoin.network` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            BitcoinNetwork::Bitcoin => "bitcoin",
            BitcoinNetwork::Testnet => "testnet",
            BitcoinNetwork::Testnet4 => "testnet4",
            BitcoinNetwork::Signet => "signet",
            BitcoinNetwork::Regtest => "regtest",
        }
    }
}

impl fmt::Display for BitcoinNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[sequencer]`: the sequencer role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerConfig {
    /// Interval between blocks, in milliseconds (a block is sealed when there is
    /// something to include, or empty to close a batch older than the genesis
    /// `batch.max_age_ms`).
    pub block_time_ms: u64,
    /// Most transactions in a block.
    pub max_block_txs: u64,
    /// Most pending transactions per sender.
    pub mempool_per_account: u64,
    /// Most pending transactions in all.
    pub mempool_total: u64,
    /// Take L1 messages (deposits, forced transactions) from Bitcoin through
    /// `bitcoin.esplora_url`, and keep the forced inclusion window: the sequencer
    /// then stops producing blocks while Bitcoin is unreachable. Off: no L1 message
    /// is ever included and blocks anchor to height 0 (development without Bitcoin).
    pub follow_bitcoin: bool,
    /// With `follow_bitcoin`, how often to ask Esplora for new blocks once caught
    /// up, in milliseconds.
    pub l1_poll_ms: u64,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            block_time_ms: 1_000,
            max_block_txs: 128,
            mempool_per_account: 64,
            mempool_total: 100_000,
            follow_bitcoin: false,
            l1_poll_ms: 1_000,
        }
    }
}

/// `[prover]`: the prover role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProverConfig {
    /// JSON-RPC URL of the sequencer to take proving jobs from, when the sequencer
    /// runs in another process. Unset: the sequencer must run in this process.
    /// Ignored when the sequencer runs here; that node must also run the controller
    /// (batches come from `rollup_getBatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequencer_rpc: Option<String>,
    /// Stage 4: the Groth16 proof of every batch.
    pub groth16: Groth16Config,
}

/// `[prover.groth16]`: stage 4, the Groth16 (BLS12-381) proof of every batch proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Groth16Config {
    /// Wrap every batch proof into a Groth16 proof (minutes of CPU and up to 10 GiB
    /// of memory per batch, see BENCHMARKS.md).
    pub enabled: bool,
    /// Directory of the cached Groth16 keys. Unset: `<node.data_dir>/groth16`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_dir: Option<PathBuf>,
    /// The development setup's seed, 32 bytes in hex. Unset: the public development
    /// seed. A seeded setup is **not a ceremony**: whoever knows the seed can forge
    /// proofs for its keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_seed: Option<String>,
    /// The verifying-key hash (32 bytes, hex) the keys must have; the prover refuses
    /// keys with another one. Required on mainnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vk_hash: Option<String>,
}

impl Default for Groth16Config {
    fn default() -> Self {
        Self { enabled: true, key_dir: None, setup_seed: None, vk_hash: None }
    }
}

impl Groth16Config {
    /// The key directory: `key_dir`, or `<data_dir>/groth16`.
    pub fn key_dir(&self, data_dir: &std::path::Path) -> PathBuf {
        self.key_dir.clone().unwrap_or_else(|| data_dir.join("groth16"))
    }

    /// `setup_seed` decoded, `None` when unset (a validated configuration's seed
    /// always decodes).
    pub fn setup_seed(&self) -> Option<[u8; 32]> {
        self.setup_seed.as_deref().and_then(hex32)
    }

    /// `vk_hash` decoded, `None` when unset.
    pub fn vk_hash(&self) -> Option<[u8; 32]> {
        self.vk_hash.as_deref().and_then(hex32)
    }
}

/// `[vigilante]`: the vigilante role, which rebuilds the chain from Bitcoin alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VigilanteConfig {
    /// The operators' DA posting keys (x-only, 32 bytes hex): only batch chunks whose
    /// reveal one of them signed count. Empty: the DA key of the controller in this
    /// process when `roles.controller` and `controller.da.enabled` are both on, else
    /// none.
    pub da_posters: Vec<String>,
    /// How often to poll Esplora for new blocks, in milliseconds.
    pub poll_ms: u64,
}

impl Default for VigilanteConfig {
    fn default() -> Self {
        Self { da_posters: Vec::new(), poll_ms: 1_000 }
    }
}

/// 32 bytes from 64 hex digits (either case), `None` for anything else.
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `[controller]`: the controller role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// Posting batch data to Bitcoin.
    pub da: DaPosterConfig,
}

/// `[controller.da]`: the DA poster, which posts every closed batch's blob to Bitcoin
/// in commit/reveal envelopes paid from the operator's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaPosterConfig {
    /// Post batches to Bitcoin (through `bitcoin.esplora_url`).
    pub enabled: bool,
    /// The poster's wallet key: a file holding the 32-byte secret key in hex, created
    /// on first start when missing. Unset: `<node.data_dir>/da-poster.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_key: Option<PathBuf>,
    /// Confirmation target, in blocks, of the fee estimate posted at.
    pub fee_target_blocks: u16,
    /// The lowest fee rate posted at, in sat/vB.
    pub min_fee_rate_sat_vb: u64,
    /// The highest fee rate posted or bumped to, in sat/vB.
    pub max_fee_rate_sat_vb: u64,
    /// Most envelope data bytes posted for one Bitcoin block; later batches wait for
    /// the next block. A batch larger than this goes alone.
    pub max_bytes_per_block: u64,
    /// A posting still unconfirmed after this many blocks is bumped (RBF, or CPFP
    /// where the replacement is refused or the commit is already confirmed).
    pub bump_after_blocks: u32,
    /// How often the poster looks at Bitcoin, in milliseconds.
    pub poll_interval_ms: u64,
    /// Regtest only: when the wallet is empty, ask the devnet's faucet
    /// (`/devnet/faucet` on the Esplora URL) for this many sats; 0 never asks.
    pub devnet_faucet_sat: u64,
}

impl Default for DaPosterConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            wallet_key: None,
            fee_target_blocks: 6,
            min_fee_rate_sat_vb: 1,
            max_fee_rate_sat_vb: 100,
            max_bytes_per_block: 1_000_000,
            bump_after_blocks: 3,
            poll_interval_ms: 1_000,
            devnet_faucet_sat: 0,
        }
    }
}

impl DaPosterConfig {
    /// The wallet key file: `wallet_key`, or `<data_dir>/da-poster.key`.
    pub fn wallet_key(&self, data_dir: &std::path::Path) -> PathBuf {
        self.wallet_key.clone().unwrap_or_else(|| data_dir.join("da-poster.key"))
    }
}

/// `[devnet]`: the embedded Bitcoin regtest that `rollup devnet` runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevnetConfig {
    /// Listen address of its Esplora and control API, `IP:PORT` (port 0: any free
    /// port; the bound address is written to `<data_dir>/esplora.addr`).
    pub esplora_listen: String,
    /// Mine a block every this many milliseconds; 0 mines only on request.
    pub block_time_ms: u64,
    /// Accept transactions that are valid by consensus but not standard (large BitVM
    /// scripts), as `bitcoind -acceptnonstdtxn=1` does on regtest.
    pub accept_nonstandard: bool,
    /// Accept replacements by fee, as Bitcoin Core 31 does (full RBF, its fee rules);
    /// off, every transaction conflicting with the mempool is refused, as Core before
    /// 28 refused replacing a transaction that does not signal BIP-125.
    pub full_rbf: bool,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            esplora_listen: "127.0.0.1:3002".to_owned(),
            block_time_ms: 0,
            accept_nonstandard: true,
            full_rbf: true,
        }
    }
}

/// `[debug]`: switches for tests. All off by default; refused on mainnet
/// (`insecure_test_wrapper`: anywhere but regtest).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// Enables the `debug_crashRole` JSON-RPC method, which makes a role panic so
    /// that tests can watch the supervisor restart it.
    pub fault_injection: bool,
    /// Account indexes whose JSON-RPC transactions the sequencer acknowledges and
    /// then drops instead of including them: a censoring sequencer, for tests of
    /// forced inclusion. Requires `fault_injection`.
    pub ignore_rpc_txs_from: Vec<u32>,
    /// Stage 4 wraps with the insecure test strength (a 6-bit FRI): the prover's whole
    /// stage-4 path (process, key cache, wrapper, R1CS, Groth16) in about two minutes
    /// instead of 7 to 10 (2 cores; BENCHMARKS.md), for tests. Its keys are its own and its proofs prove
    /// nothing. Regtest only.
    pub insecure_test_wrapper: bool,
}

/// Implements `TryFrom<String>` for a unit enum from its lower-case names, with an
/// error that lists the accepted names.
macro_rules! named_choices {
    ($ty:ty { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl TryFrom<String> for $ty {
            type Error = String;

            fn try_from(name: String) -> Result<Self, String> {
                match name.as_str() {
                    $($name => Ok($variant),)+
                    _ => Err(format!("expected one of {}", [$(concat!("`", $name, "`")),+].join(", "))),
                }
            }
        }
    };
}

named_choices!(LogFormat { "pretty" => LogFormat::Pretty, "json" => LogFormat::Json });
named_choices!(BitcoinNetwork {
    "bitcoin" => BitcoinNetwork::Bitcoin,
    "testnet" => BitcoinNetwork::Testnet,
    "testnet4" => BitcoinNetwork::Testnet4,
    "signet" => BitcoinNetwork::Signet,
    "regtest" => BitcoinNetwork::Regtest,
});
