//! Wiring the enabled roles into the runtime ([`start`]), the load record every role
//! keeps ([`RoleRecord`]), and what a role that is not implemented yet gets: nothing
//! but a warning and a `not implemented` status.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use std::time::Duration;

use rollup_actors::{ComponentError, Request, Runtime, Sender};
use rollup_l2::{Genesis, GenesisError};

use crate::controller::{
    ControllerComponent, ControllerMetrics, ControllerSenders, DaMetrics, DaPoster, DaSettings, EsploraChain,
    LoadControllerError,
};
use crate::prover::{BlockSource, Groth16Settings, ProverComponent, ProverMetrics, ProverSenders};
use crate::sequencer::{
    BitcoinL1Source, Journal, L1MessageSource, MempoolLimits, QueueL1Source, SequencerComponent,
    SequencerMetrics, SequencerSenders, SequencerSettings,
};
use crate::vigilante::{VigilanteComponent, VigilanteMetrics, VigilanteSenders, VigilanteSettings};
use rollup_config::{Config, Role};
use rollup_storage::{Codec, DecodeError, Store, Table};

/// Table `role_records`: one [`RoleRecord`] per role name.
pub struct RoleRecords;

impl Table for RoleRecords {
    const NAME: &'static str = "role_records";
    type Key = String;
    type Value = RoleRecord;
}

/// What a role keeps about itself across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoleRecord {
    /// Times the role's state was loaded: the first start, every restart after a
    /// failure and every node start.
    pub loads: u64,
}

const RECORD_VERSION: u8 = 1;

impl Codec for RoleRecord {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![RECORD_VERSION];
        bytes.extend_from_slice(&self.loads.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((&RECORD_VERSION, rest)) => Ok(Self { loads: u64::decode(rest)? }),
            Some((version, _)) => Err(DecodeError::Invalid(format!("unknown role record version {version}"))),
            None => Err(DecodeError::Length { expected: 9, found: 0 }),
        }
    }
}

impl RoleRecord {
    /// Loads `role`'s record from the node database and durably counts this load.
    /// Every role's loader calls it first, so `rollup_roles` can tell how often a
    /// role was (re)loaded.
    pub fn load(role: Role, store: &Store) -> Result<Self, ComponentError> {
        let key = role.as_str().to_owned();
        let record = store.write(|tx| {
            let previous = tx.get::<RoleRecords>(&key)?.unwrap_or_default();
            let record = RoleRecord { loads: previous.loads.saturating_add(1) };
            tx.put::<RoleRecords>(&key, &record)?;
            Ok(record)
        })?;
        tracing::debug!(target: "rollup::roles", role = %role, loads = record.loads, "role state loaded");
        Ok(record)
    }
}

/// Asks a role for its name and record.
#[derive(Clone, Copy, Debug)]
pub struct DescribeRole;

impl Request for DescribeRole {
    type Response = (Role, RoleRecord);
}

/// Senders to the started roles.
#[derive(Clone, Debug, Default)]
pub struct StartedRoles {
    /// One sender per enabled role that runs (none for the ones not implemented).
    pub describe: BTreeMap<Role, Sender<DescribeRole>>,
    /// The sequencer's senders, when it runs here.
    pub sequencer: Option<SequencerSenders>,
    /// The prover's senders, when it runs here.
    pub prover: Option<ProverSenders>,
    /// The controller's senders, when it runs here.
    pub controller: Option<ControllerSenders>,
    /// The vigilante's senders, when it runs here.
    pub vigilante: Option<VigilanteSenders>,
    /// The enabled roles that are not implemented yet: nothing runs for them.
    pub not_implemented: Vec<Role>,
}

/// Why the roles could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StartRolesError {
    /// The genesis file is unusable.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The mempool journal thread could not start.
    #[error("cannot start the mempool journal: {0}")]
    Journal(std::io::Error),
    /// The sequencer would seal blocks the prover beside it cannot prove.
    #[error(
        "sequencer.max_block_txs is {max_block_txs}, but the largest block circuit of this genesis holds {largest} \
         transactions: lower sequencer.max_block_txs or add a larger capacity to the genesis block_capacities"
    )]
    BlocksTooLarge {
        /// The configured block size.
        max_block_txs: u64,
        /// The largest genesis capacity.
        largest: u32,
    },
    /// The path of this executable, which runs stage 4, is unknown.
    #[error("cannot find the rollup executable to run stage 4 with: {0}")]
    Executable(std::io::Error),
    /// A `vigilante.da_posters` entry is not an x-only public key.
    #[error("vigilante.da_posters entry {0:?} is not an x-only public key")]
    PosterKey(String),
    /// The genesis is for another chain than `node.chain_id`.
    #[error("the genesis is for chain id {genesis}, but node.chain_id is {config}")]
    ChainIdMismatch {
        /// The genesis' chain id.
        genesis: u64,
        /// The configured chain id.
        config: u64,
    },
}

/// The genesis `config` names, or the built-in development genesis.
pub fn genesis_of(config: &Config) -> Result<Genesis, GenesisError> {
    match &config.node.genesis {
        Some(path) => Genesis::from_file(path),
        None => Ok(Genesis::devnet(config.node.chain_id)),
    }
}

/// The vigilante's settings from `config`.
fn vigilante_settings(config: &Config) -> Result<VigilanteSettings, StartRolesError> {
    let posters = config
        .vigilante
        .da_posters
        .iter()
        .map(|hex| {
            rollup_l2::hex::decode(hex)
                .and_then(|bytes| bitcoin::XOnlyPublicKey::from_slice(&bytes).ok())
                .ok_or_else(|| StartRolesError::PosterKey(hex.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut posters = posters;
    if posters.is_empty() && config.roles.is_enabled(Role::Controller) && config.controller.da.enabled {
        // The controller beside us posts: trust its key.
        let path = config.controller.da.wallet_key(&config.node.data_dir);
        let key = crate::controller::load_or_create_key(&path)
            .map_err(|error| StartRolesError::PosterKey(format!("{}: {error}", path.display())))?;
        posters.push(key.x_only_public_key().0);
    }
    Ok(VigilanteSettings {
        esplora_url: config.bitcoin.esplora_url.clone(),
        posters,
        poll: Duration::from_millis(config.vigilante.poll_ms),
        no_posters_expected: config.roles.is_enabled(Role::Controller) && !config.controller.da.enabled,
    })
}

/// Starts one supervised actor per role enabled in `config`.
pub fn start(
    config: &Config,
    store: &Arc<Store>,
    runtime: &mut Runtime,
) -> Result<StartedRoles, StartRolesError> {
    let mut started = StartedRoles::default();
    for role in config.roles.enabled() {
        let store = store.clone();
        if role == Role::Sequencer {
            let genesis = genesis_of(config)?;
            if genesis.chain_id != config.node.chain_id {
                return Err(StartRolesError::ChainIdMismatch {
                    genesis: genesis.chain_id,
                    config: config.node.chain_id,
                });
            }
            let settings = SequencerSettings {
                block_time: Duration::from_millis(config.sequencer.block_time_ms),
                max_block_txs: usize::try_from(config.sequencer.max_block_txs).unwrap_or(usize::MAX),
                limits: MempoolLimits {
                    per_account: usize::try_from(config.sequencer.mempool_per_account).unwrap_or(usize::MAX),
                    total: usize::try_from(config.sequencer.mempool_total).unwrap_or(usize::MAX),
                },
            };
            let store_for_journal = store.clone();
            // Following Bitcoin is opt-in: `bitcoin.esplora_url` always has a value,
            // and a follower without Bitcoin would stop block production.
            let follow = config.sequencer.follow_bitcoin.then(|| {
                (config.bitcoin.esplora_url.clone(), Duration::from_millis(config.sequencer.l1_poll_ms))
            });
            let ignored: BTreeSet<u32> = match config.debug.fault_injection {
                true => config.debug.ignore_rpc_txs_from.iter().copied().collect(),
                false => BTreeSet::new(),
            };
            let metrics = SequencerMetrics::register(runtime.telemetry().metrics.registry());
            let addr = runtime.spawn(
                role.as_str(),
                Box::new(move || {
                    let record = RoleRecord::load(role, &store)?;
                    // A (re)load starts a new follower, which goes on after the last
                    // block it stored; the previous one stops when dropped.
                    let l1: Box<dyn L1MessageSource> = match &follow {
                        Some((url, poll)) => Box::new(BitcoinL1Source::start_esplora(
                            url,
                            genesis.chain_id,
                            &genesis.l1,
                            *poll,
                            Some(store.clone()),
                        )?),
                        None => Box::new(QueueL1Source::default()),
                    };
                    let mut sequencer = SequencerComponent::load(store.clone(), &genesis, settings, l1)?;
                    sequencer.set_role_record(record);
                    sequencer.set_metrics(metrics.clone());
                    if !ignored.is_empty() {
                        tracing::warn!(
                            target: "rollup::sequencer",
                            ignored = ?ignored,
                            "debug: the RPC transactions of these accounts are dropped"
                        );
                        sequencer.set_ignored_senders(ignored.clone());
                    }
                    Ok(sequencer)
                }),
            );
            let name = role.as_str();
            started.describe.insert(role, Sender::new(name, &addr));
            started.sequencer = Some(SequencerSenders {
                submit: Sender::new(name, &addr),
                journal: Journal::start(store_for_journal).map_err(StartRolesError::Journal)?,
                account: Sender::new(name, &addr),
                block: Sender::new(name, &addr),
                receipt: Sender::new(name, &addr),
                state_root: Sender::new(name, &addr),
                proof: Sender::new(name, &addr),
                l1_status: Sender::new(name, &addr),
            });
            continue;
        }
        if role == Role::Prover {
            let genesis = genesis_of(config)?;
            let largest = genesis.block_capacities.iter().copied().max().unwrap_or(0);
            if config.roles.is_enabled(Role::Sequencer) && config.sequencer.max_block_txs > u64::from(largest)
            {
                return Err(StartRolesError::BlocksTooLarge {
                    max_block_txs: config.sequencer.max_block_txs,
                    largest,
                });
            }
            let metrics = ProverMetrics::register(runtime.telemetry().metrics.registry());
            let source = match &config.prover.sequencer_rpc {
                Some(url) if !config.roles.is_enabled(Role::Sequencer) => BlockSource::Remote(url.clone()),
                _ => BlockSource::Local,
            };
            let groth16 = &config.prover.groth16;
            let groth16 = match groth16.enabled {
                false => None,
                true => Some(Groth16Settings {
                    program: std::env::current_exe().map_err(StartRolesError::Executable)?,
                    work_dir: config.node.data_dir.join("stage4"),
                    key_dir: groth16.key_dir(&config.node.data_dir),
                    seed: groth16.setup_seed().unwrap_or(rollup_wrap::stage4::DEVELOPMENT_SEED),
                    vk_hash: groth16.vk_hash(),
                    insecure_test_wrapper: config.debug.insecure_test_wrapper,
                }),
            };
            let addr = runtime.spawn(
                role.as_str(),
                Box::new(move || {
                    let record = RoleRecord::load(role, &store)?;
                    Ok(ProverComponent::load(
                        store.clone(),
                        &genesis,
                        source.clone(),
                        metrics.clone(),
                        record,
                        groth16.clone(),
                    )?)
                }),
            );
            let name = role.as_str();
            started.describe.insert(role, Sender::new(name, &addr));
            started.prover = Some(ProverSenders {
                proof: Sender::new(name, &addr),
                batch_proof: Sender::new(name, &addr),
                groth16_proof: Sender::new(name, &addr),
            });
            continue;
        }
        if role == Role::Controller {
            let genesis = genesis_of(config)?;
            let metrics = ControllerMetrics::register(runtime.telemetry().metrics.registry());
            let da = config.controller.da.enabled.then(|| {
                (
                    DaSettings::from_config(config),
                    DaMetrics::register(runtime.telemetry().metrics.registry()),
                    config.bitcoin.esplora_url.clone(),
                    Duration::from_millis(config.controller.da.poll_interval_ms),
                )
            });
            let addr = runtime.spawn(
                role.as_str(),
                Box::new(move || {
                    let record = RoleRecord::load(role, &store)?;
                    let mut controller =
                        ControllerComponent::load(store.clone(), &genesis, metrics.clone(), record)?;
                    if let Some((settings, metrics, url, interval)) = &da {
                        let poster = DaPoster::load(store.clone(), settings.clone(), metrics.clone())
                            .map_err(LoadControllerError::from)?;
                        controller.set_poster(poster, Box::new(EsploraChain::new(url)), *interval);
                    }
                    Ok(controller)
                }),
            );
            let name = role.as_str();
            started.describe.insert(role, Sender::new(name, &addr));
            started.controller = Some(ControllerSenders {
                batch: Sender::new(name, &addr),
                count: Sender::new(name, &addr),
                da: Sender::new(name, &addr),
                wallet: Sender::new(name, &addr),
            });
            continue;
        }
        if role == Role::Vigilante {
            let genesis = genesis_of(config)?;
            let settings = vigilante_settings(config)?;
            let metrics = VigilanteMetrics::register(runtime.telemetry().metrics.registry());
            let addr = runtime.spawn(
                role.as_str(),
                Box::new(move || {
                    let record = RoleRecord::load(role, &store)?;
                    Ok(VigilanteComponent::new(&genesis, settings.clone(), metrics.clone(), record))
                }),
            );
            let name = role.as_str();
            started.describe.insert(role, Sender::new(name, &addr));
            started.vigilante = Some(VigilanteSenders { sync: Sender::new(name, &addr) });
            continue;
        }
        // Only the roles whose logic exists get here with something to run.
        debug_assert!(!role.is_implemented(), "role {role} is implemented but not started");
        runtime.declare_not_implemented(role.as_str());
        started.not_implemented.push(role);
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_load_is_counted_durably() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 1).unwrap();
        assert_eq!(RoleRecord::load(Role::Prover, &store).unwrap(), RoleRecord { loads: 1 });
        assert_eq!(RoleRecord::load(Role::Prover, &store).unwrap(), RoleRecord { loads: 2 });
        assert_eq!(RoleRecord::load(Role::Vigilante, &store).unwrap(), RoleRecord { loads: 1 });
        drop(store);
        let store = Store::open(dir.path(), 1).unwrap();
        assert_eq!(RoleRecord::load(Role::Prover, &store).unwrap(), RoleRecord { loads: 3 });
    }

    #[test]
    fn the_vigilante_trusts_the_listed_posters_or_the_controller_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.node.data_dir = dir.path().to_owned();
        config.roles.vigilante = true;
        // Nothing listed, no local poster: no key, and that is worth a warning.
        let settings = vigilante_settings(&config).unwrap();
        assert_eq!((settings.posters, settings.no_posters_expected), (vec![], false));
        // A controller beside it that does not post: no key, as configured.
        config.roles.controller = true;
        let settings = vigilante_settings(&config).unwrap();
        assert_eq!((settings.posters, settings.no_posters_expected), (vec![], true));
        // The controller beside it posts: its key (created on first use).
        config.controller.da.enabled = true;
        assert!(!vigilante_settings(&config).unwrap().no_posters_expected);
        let local = vigilante_settings(&config).unwrap().posters;
        let key_file = config.controller.da.wallet_key(dir.path());
        let expected = crate::controller::load_or_create_key(&key_file).unwrap().x_only_public_key().0;
        assert_eq!(local, vec![expected]);
        // A list replaces it; an entry that is not a key is refused by name.
        let listed = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798".to_owned();
        config.vigilante.da_posters = vec![listed.clone()];
        let posters = vigilante_settings(&config).unwrap().posters;
        assert_eq!(
            posters.iter().map(|key| rollup_l2::hex::encode(&key.serialize())).collect::<Vec<_>>(),
            [listed]
        );
        let not_on_curve = "00".repeat(32);
        config.vigilante.da_posters = vec![not_on_curve.clone()];
        assert!(
            matches!(vigilante_settings(&config), Err(StartRolesError::PosterKey(key)) if key == not_on_curve)
        );
    }

    #[test]
    fn records_round_trip_and_reject_unknown_versions() {
        let record = RoleRecord { loads: 0x0102_0304 };
        assert_eq!(RoleRecord::decode(&record.encode()), Ok(record));
        assert_eq!(
            RoleRecord::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 1]),
            Err(DecodeError::Invalid("unknown role record version 9".to_owned()))
        );
        assert_eq!(RoleRecord::decode(&[]), Err(DecodeError::Length { expected: 9, found: 0 }));
        assert_eq!(RoleRecord::decode(&[1, 0]), Err(DecodeError::Length { expected: 8, found: 1 }));
    }
}
