//! Loading, layering and validation of the node configuration.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use rollup_config::{load, to_toml, ConfigIssue, ConfigSources, LoadConfigError, LogFormat, Role};

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    (dir, path)
}

fn with_file(path: &std::path::Path) -> ConfigSources {
    ConfigSources { file: Some(path.to_owned()), ..ConfigSources::default() }
}

fn issues(result: Result<rollup_config::Config, LoadConfigError>) -> Vec<ConfigIssue> {
    match result {
        Err(LoadConfigError::Invalid(issues)) => issues,
        other => panic!("expected an invalid configuration, got {other:?}"),
    }
}

fn issue(key: &str, value: Option<&str>, origin: Option<&str>, problem: &str) -> ConfigIssue {
    ConfigIssue {
        key: key.to_owned(),
        value: value.map(str::to_owned),
        origin: origin.map(str::to_owned),
        problem: problem.to_owned(),
    }
}

#[test]
fn every_profile_loads_with_its_roles() {
    let expected: [(&str, &[Role]); 5] = [
        ("operator", &[Role::Sequencer, Role::Prover, Role::Controller]),
        ("backup", &[Role::Backup]),
        ("signer", &[Role::Signer]),
        ("vigilante", &[Role::Vigilante]),
        ("all", &[Role::Sequencer, Role::Prover, Role::Controller, Role::Vigilante]),
    ];
    for (name, roles) in expected {
        let sources = ConfigSources { profile: Some(name.to_owned()), ..ConfigSources::default() };
        let config = load(&sources).unwrap_or_else(|error| panic!("profile {name}: {error}"));
        assert_eq!(config.roles.enabled(), roles, "profile {name}");
    }
    // Exactly the signer and the backup are not built yet; `all` runs every other role.
    let idle: Vec<Role> = Role::ALL.into_iter().filter(|role| !role.is_implemented()).collect();
    assert_eq!(idle, [Role::Signer, Role::Backup]);
    assert_eq!(rollup_config::profiles::names(), ["all", "backup", "operator", "signer", "vigilante"]);
}

#[test]
fn defaults_alone_enable_no_role() {
    let found = issues(load(&ConfigSources::default()));
    assert_eq!(
        found,
        [issue(
            "roles",
            None,
            None,
            "no role is enabled: set one under [roles] or pass --profile (operator, backup, signer, vigilante, all)"
        )]
    );
}

#[test]
fn layers_apply_in_precedence_order() {
    let (_dir, path) = file(
        "[node]\ndata_dir = \"/from/file\"\nchain_id = 7\n[rpc]\nlisten = \"127.0.0.1:1000\"\nworkers = 3\n\
         [roles]\nvigilante = true\n[log]\nformat = \"json\"\n",
    );
    let mut sources = with_file(&path);
    // The file alone.
    let config = load(&sources).unwrap();
    assert_eq!(config.rpc.listen, "127.0.0.1:1000");
    assert_eq!(config.roles.enabled(), [Role::Vigilante]);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.node.chain_id, 7);

    // The profile's [roles] replaces the file's.
    sources.profile = Some("operator".to_owned());
    let config = load(&sources).unwrap();
    assert_eq!(config.roles.enabled(), [Role::Sequencer, Role::Prover, Role::Controller]);

    // The environment beats file and profile.
    sources.env = HashMap::from([
        ("ROLLUP__RPC__LISTEN".to_owned(), "127.0.0.1:2000".to_owned()),
        ("ROLLUP__ROLES__SIGNER".to_owned(), "true".to_owned()),
        ("ROLLUP__RPC__WORKERS".to_owned(), "4".to_owned()),
        ("ROLLUP_UNRELATED".to_owned(), "ignored".to_owned()),
        ("PATH".to_owned(), "/bin".to_owned()),
    ]);
    let config = load(&sources).unwrap();
    assert_eq!(config.rpc.listen, "127.0.0.1:2000");
    assert_eq!(config.rpc.workers, 4);
    assert_eq!(config.roles.enabled(), [Role::Sequencer, Role::Prover, Role::Controller, Role::Signer]);

    // Command-line flags beat everything.
    sources.overrides = vec![
        ("rpc.listen".to_owned(), "127.0.0.1:3000".to_owned()),
        ("node.data_dir".to_owned(), "/from/cli".to_owned()),
    ];
    let config = load(&sources).unwrap();
    assert_eq!(config.rpc.listen, "127.0.0.1:3000");
    assert_eq!(config.node.data_dir, PathBuf::from("/from/cli"));
    // Keys nobody overrode keep the lower layers' values.
    assert_eq!(config.node.chain_id, 7);
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn unknown_key_in_file_suggests_the_closest_key() {
    let (_dir, path) = file("[roles]\nsequencer = true\n[rpc]\nlistn = \"127.0.0.1:1\"\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [issue("rpc.listn", Some("127.0.0.1:1"), Some(&origin), "unknown key (did you mean `rpc.listen`?)")]
    );
}

#[test]
fn unknown_section_and_far_off_key_list_what_is_known() {
    let (_dir, path) = file("[roles]\nsequencer = true\nwhatever = 1\n[mempool]\nsize = 3\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "mempool",
                None,
                Some(&origin),
                "unknown key (known keys here: node, roles, rpc, log, supervisor, bitcoin, sequencer, prover, controller, vigilante, devnet, debug)"
            ),
            issue(
                "roles.whatever",
                Some("1"),
                Some(&origin),
                "unknown key (known keys here: sequencer, prover, controller, signer, vigilante, backup)"
            ),
        ]
    );
}

#[test]
fn unknown_key_from_the_environment_is_an_error() {
    let sources = ConfigSources {
        profile: Some("vigilante".to_owned()),
        env: HashMap::from([("ROLLUP__RPC__LISTN".to_owned(), "127.0.0.1:1".to_owned())]),
        ..ConfigSources::default()
    };
    assert_eq!(
        issues(load(&sources)),
        [issue(
            "rpc.listn",
            Some("127.0.0.1:1"),
            Some("the environment"),
            "unknown key (did you mean `rpc.listen`?)"
        )]
    );
}

#[test]
fn wrongly_typed_values_name_what_was_expected() {
    let (_dir, path) = file("[roles]\nsequencer = \"maybe\"\n[rpc]\nmax_body_bytes = \"big\"\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "roles.sequencer",
                Some("maybe"),
                Some(&origin),
                "expected a boolean, found string \"maybe\""
            ),
            issue(
                "rpc.max_body_bytes",
                Some("big"),
                Some(&origin),
                "expected an integer, found string \"big\""
            ),
        ]
    );
}

#[test]
fn unknown_enum_variant_lists_the_variants() {
    let (_dir, path) = file("[roles]\nsigner = true\n[log]\nformat = \"xml\"\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [issue("log.format", Some("xml"), Some(&origin), "expected one of `pretty`, `json`")]
    );
}

#[test]
fn out_of_range_numbers_give_their_bounds() {
    let (_dir, path) =
        file("[roles]\nsigner = true\n[rpc]\nmax_batch_len = 0\n[supervisor]\nrestart_backoff_initial_ms = 5000\nrestart_backoff_max_ms = 1000\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue("rpc.max_batch_len", Some("0"), Some(&origin), "must be between 1 and 10000"),
            issue(
                "supervisor.restart_backoff_initial_ms",
                Some("5000"),
                Some(&origin),
                "must not exceed supervisor.restart_backoff_max_ms (1000)"
            ),
        ]
    );
}

#[test]
fn malformed_addresses_urls_and_filters_are_rejected() {
    let (_dir, path) = file(
        "[roles]\nvigilante = true\n[rpc]\nlisten = \"localhost\"\n[bitcoin]\nesplora_url = \"ftp://x\"\n\
         [log]\nfilter = \"rollup=loud\"\n[node]\ndata_dir = \"\"\n",
    );
    let origin = path.display().to_string();
    let found = issues(load(&with_file(&path)));
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(
        found[0],
        issue("bitcoin.esplora_url", Some("ftp://x"), Some(&origin), "must be an http:// or https:// URL")
    );
    assert_eq!(found[1].key, "log.filter");
    assert_eq!(found[1].value.as_deref(), Some("rollup=loud"));
    assert!(found[1].problem.starts_with("not a log filter: "), "{}", found[1].problem);
    assert_eq!(found[2], issue("node.data_dir", Some(""), Some(&origin), "must not be empty"));
    assert_eq!(
        found[3],
        issue(
            "rpc.listen",
            Some("localhost"),
            Some(&origin),
            "not a socket address (expected IP:PORT, e.g. 127.0.0.1:8545)"
        )
    );
}

#[test]
fn devnet_settings_are_checked() {
    let (_dir, path) =
        file("[roles]\nsigner = true\n[devnet]\nesplora_listen = \"3002\"\nblock_time_ms = 5\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "devnet.block_time_ms",
                Some("5"),
                Some(&origin),
                "must be 0 (mine on request) or between 100 and 3600000"
            ),
            issue(
                "devnet.esplora_listen",
                Some("3002"),
                Some(&origin),
                "not a socket address (expected IP:PORT, e.g. 127.0.0.1:3002)"
            ),
        ]
    );
}

#[test]
fn cross_role_errors_say_what_is_missing() {
    let (_dir, path) = file("[roles]\nprover = true\ncontroller = true\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "roles.controller",
                Some("true"),
                Some(&origin),
                "controller enabled without the sequencer: the controller cuts batches from the local chain, enable roles.sequencer"
            ),
            issue(
                "roles.prover",
                Some("true"),
                Some(&origin),
                "prover enabled but no sequencer to take jobs from: enable roles.sequencer or set prover.sequencer_rpc"
            ),
        ]
    );
    // A remote sequencer satisfies the prover.
    let (_dir, path) = file("[roles]\nprover = true\n[prover]\nsequencer_rpc = \"http://10.0.0.1:8545\"\n");
    assert!(load(&with_file(&path)).unwrap().roles.prover);
    // Blocks must fit the largest block circuit when the prover runs beside the sequencer.
    let (_dir, path) = file("[roles]\nsequencer = true\nprover = true\n[sequencer]\nmax_block_txs = 129\n");
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [issue(
            "sequencer.max_block_txs",
            Some("129"),
            Some(&origin),
            "the prover runs here and its largest block circuit holds 128 transactions: set at most 128"
        )]
    );
    let (_dir, path) = file("[roles]\nsequencer = true\n[sequencer]\nmax_block_txs = 4096\n");
    assert_eq!(load(&with_file(&path)).unwrap().sequencer.max_block_txs, 4096);
}

#[test]
fn fault_injection_is_refused_on_mainnet() {
    let (_dir, path) = file(
        "[roles]\nvigilante = true\n[bitcoin]\nnetwork = \"bitcoin\"\n[debug]\nfault_injection = true\n",
    );
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [issue("debug.fault_injection", Some("true"), Some(&origin), "refused on bitcoin mainnet")]
    );
}

#[test]
fn network_names_read_back_as_the_same_network() {
    use rollup_config::BitcoinNetwork;
    for network in [
        BitcoinNetwork::Bitcoin,
        BitcoinNetwork::Testnet,
        BitcoinNetwork::Testnet4,
        BitcoinNetwork::Signet,
        BitcoinNetwork::Regtest,
    ] {
        assert_eq!(BitcoinNetwork::try_from(network.to_string()), Ok(network));
    }
    assert_eq!(BitcoinNetwork::Testnet4.as_str(), "testnet4");
}

#[test]
fn the_insecure_test_wrapper_is_refused_off_regtest() {
    for network in ["bitcoin", "testnet4", "signet"] {
        let (_dir, path) = file(&format!(
            "[roles]\nsequencer = true\nprover = true\n[bitcoin]\nnetwork = \"{network}\"\n[prover.groth16]\nvk_hash = \"{}\"\n\
             [debug]\ninsecure_test_wrapper = true\n",
            "11".repeat(32)
        ));
        let origin = path.display().to_string();
        assert_eq!(
            issues(load(&with_file(&path))),
            [issue(
                "debug.insecure_test_wrapper",
                Some("true"),
                Some(&origin),
                "refused off regtest: its proofs prove nothing (a 6-bit FRI, for tests)"
            )],
            "{network}"
        );
    }
    let (_dir, path) =
        file("[roles]\nsequencer = true\nprover = true\n[debug]\ninsecure_test_wrapper = true\n");
    assert!(load(&with_file(&path)).unwrap().debug.insecure_test_wrapper);
}

#[test]
fn ignoring_rpc_senders_needs_fault_injection() {
    let (_dir, path) = file("[roles]\nsequencer = true\n[debug]\nignore_rpc_txs_from = [2, 3]\n");
    let origin = path.display().to_string();
    let found = issues(load(&with_file(&path)));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "debug.ignore_rpc_txs_from");
    assert_eq!(found[0].origin.as_deref(), Some(origin.as_str()));
    assert_eq!(
        found[0].problem,
        "only honoured with debug.fault_injection = true: set it, or empty this list"
    );
    let (_dir, path) = file(
        "[roles]\nsequencer = true\n[debug]\nfault_injection = true\nignore_rpc_txs_from = [2, 3]\n\
         [sequencer]\nfollow_bitcoin = true\nl1_poll_ms = 50\n",
    );
    let config = load(&with_file(&path)).unwrap();
    assert_eq!(config.debug.ignore_rpc_txs_from, vec![2, 3]);
    assert!(config.sequencer.follow_bitcoin);
    assert_eq!(config.sequencer.l1_poll_ms, 50);
    let (_dir, path) = file("[roles]\nsequencer = true\n[sequencer]\nl1_poll_ms = 5\n");
    let found = issues(load(&with_file(&path)));
    assert_eq!(found.iter().map(|issue| issue.key.as_str()).collect::<Vec<_>>(), ["sequencer.l1_poll_ms"]);
}

#[test]
fn every_error_is_reported_at_once() {
    let (_dir, path) = file(
        "[roles]\nprover = true\n[rpc]\nlistn = \"x\"\nworkers = \"two\"\nmax_batch_len = 0\n[log]\nformat = \"xml\"\n",
    );
    let keys: Vec<String> = issues(load(&with_file(&path))).into_iter().map(|issue| issue.key).collect();
    assert_eq!(keys, ["log.format", "roles.prover", "rpc.listn", "rpc.max_batch_len", "rpc.workers"]);
}

#[test]
fn the_error_message_lists_every_issue() {
    let (_dir, path) = file("[roles]\nsigner = true\n[rpc]\nlisten = \"nowhere\"\nmax_batch_len = 0\n");
    let message = load(&with_file(&path)).unwrap_err().to_string();
    let origin = path.display();
    assert_eq!(
        message,
        format!(
            "invalid configuration (2 errors):\n  - `rpc.listen` = \"nowhere\" (from {origin}): not a socket address \
             (expected IP:PORT, e.g. 127.0.0.1:8545)\n  - `rpc.max_batch_len` = \"0\" (from {origin}): must be between 1 and 10000"
        )
    );
}

#[test]
fn unknown_profile_names_the_available_ones() {
    let sources = ConfigSources { profile: Some("opertor".to_owned()), ..ConfigSources::default() };
    assert_eq!(
        load(&sources).unwrap_err().to_string(),
        "unknown profile \"opertor\" (available: all, backup, operator, signer, vigilante)"
    );
}

#[test]
fn missing_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    match load(&with_file(&path)) {
        Err(LoadConfigError::ReadFile { path: reported, source }) => {
            assert_eq!(reported, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected ReadFile, got {other:?}"),
    }
}

#[test]
fn toml_syntax_errors_carry_the_line() {
    let (_dir, path) = file("[roles]\nsequencer = true\n[rpc\nlisten = 1\n");
    match load(&with_file(&path)) {
        Err(LoadConfigError::Syntax { path: reported, message }) => {
            assert_eq!(reported, path);
            assert!(message.contains("line 3"), "{message}");
        }
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn dump_reads_back_to_the_same_config() {
    let (_dir, path) =
        file("[roles]\nprover = true\n[prover]\nsequencer_rpc = \"http://seq:8545\"\n[rpc]\nworkers = 7\n");
    let config = load(&with_file(&path)).unwrap();
    let (_dir2, dumped) = file(&to_toml(&config).unwrap());
    assert_eq!(load(&with_file(&dumped)).unwrap(), config);
}

#[test]
fn groth16_keys_are_pinned_by_hex_and_required_on_mainnet() {
    let (_dir, path) = file("[roles]\nsequencer = true\nprover = true\n");
    let config = load(&with_file(&path)).unwrap();
    let groth16 = &config.prover.groth16;
    assert!(groth16.enabled);
    assert_eq!(groth16.key_dir(std::path::Path::new("/data")), PathBuf::from("/data/groth16"));
    assert_eq!((groth16.setup_seed(), groth16.vk_hash()), (None, None));

    let hash = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
    let (_dir, path) = file(&format!(
        "[roles]\nsequencer = true\nprover = true\n[prover.groth16]\nkey_dir = \"/keys\"\nsetup_seed = \"{}\"\nvk_hash = \"{hash}\"\n",
        "07".repeat(32)
    ));
    let config = load(&with_file(&path)).unwrap();
    let groth16 = &config.prover.groth16;
    assert_eq!(groth16.key_dir(std::path::Path::new("/data")), PathBuf::from("/keys"));
    assert_eq!(groth16.setup_seed(), Some([7; 32]));
    let mut expected = [0u8; 32];
    for (i, byte) in expected.iter_mut().enumerate() {
        *byte =
            [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
                [i % 16];
    }
    assert_eq!(groth16.vk_hash(), Some(expected));

    let (_dir, path) = file(
        "[roles]\nsequencer = true\nprover = true\n[prover.groth16]\nsetup_seed = \"07\"\nvk_hash = \"zz00112233445566778899aabbccddeeff00112233445566778899aabbccddee\"\n",
    );
    let origin = path.display().to_string();
    let zz = "zz00112233445566778899aabbccddeeff00112233445566778899aabbccddee";
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "prover.groth16.setup_seed",
                Some("07"),
                Some(&origin),
                "must be 32 bytes in hex (64 digits)"
            ),
            issue("prover.groth16.vk_hash", Some(zz), Some(&origin), "must be 32 bytes in hex (64 digits)"),
        ]
    );

    // Mainnet proves with ceremony keys only: their hash must be pinned.
    let (_dir, path) = file("[roles]\nsequencer = true\nprover = true\n[bitcoin]\nnetwork = \"bitcoin\"\n");
    assert_eq!(
        issues(load(&with_file(&path))),
        [issue(
            "prover.groth16.vk_hash",
            None,
            None,
            "required on bitcoin mainnet: pin the verifying key of the setup ceremony (the development setup is not one)"
        )]
    );
    let (_dir, path) = file(&format!(
        "[roles]\nsequencer = true\nprover = true\n[bitcoin]\nnetwork = \"bitcoin\"\n[prover.groth16]\nvk_hash = \"{hash}\"\n"
    ));
    assert!(load(&with_file(&path)).is_ok());
    let (_dir, path) = file(
        "[roles]\nsequencer = true\nprover = true\n[bitcoin]\nnetwork = \"bitcoin\"\n[prover.groth16]\nenabled = false\n",
    );
    assert!(!load(&with_file(&path)).unwrap().prover.groth16.enabled);
}

#[test]
fn the_da_poster_is_off_by_default_and_its_keys_are_checked() {
    let (_dir, path) = file("[roles]\nsequencer = true\ncontroller = true\n");
    let config = load(&with_file(&path)).unwrap();
    let da = &config.controller.da;
    assert!(!da.enabled);
    assert_eq!(
        (da.fee_target_blocks, da.min_fee_rate_sat_vb, da.max_fee_rate_sat_vb, da.bump_after_blocks),
        (6, 1, 100, 3)
    );
    assert_eq!(da.wallet_key(std::path::Path::new("/data")), PathBuf::from("/data/da-poster.key"));

    let (_dir, path) = file(
        "[roles]\nsequencer = true\ncontroller = true\n[controller.da]\nenabled = true\nwallet_key = \"/keys/poster\"\nmax_bytes_per_block = 500000\ndevnet_faucet_sat = 100000000\n",
    );
    let config = load(&with_file(&path)).unwrap();
    let da = &config.controller.da;
    assert!(da.enabled);
    assert_eq!(da.wallet_key(std::path::Path::new("/data")), PathBuf::from("/keys/poster"));
    assert_eq!((da.max_bytes_per_block, da.devnet_faucet_sat), (500_000, 100_000_000));
    let (_dir2, dumped) = file(&to_toml(&config).unwrap());
    assert_eq!(load(&with_file(&dumped)).unwrap(), config);

    let (_dir, path) = file(
        "[roles]\nsequencer = true\ncontroller = true\n[bitcoin]\nnetwork = \"signet\"\n[controller.da]\nfee_target_blocks = 0\nmin_fee_rate_sat_vb = 50\nmax_fee_rate_sat_vb = 20\nmax_bytes_per_block = 0\ndevnet_faucet_sat = 1\n",
    );
    let origin = path.display().to_string();
    assert_eq!(
        issues(load(&with_file(&path))),
        [
            issue(
                "controller.da.devnet_faucet_sat",
                Some("1"),
                Some(&origin),
                "only regtest has a devnet faucet: set 0 on other networks"
            ),
            issue("controller.da.fee_target_blocks", Some("0"), Some(&origin), "must be between 1 and 1008"),
            issue(
                "controller.da.max_bytes_per_block",
                Some("0"),
                Some(&origin),
                "must be between 1 and 4000000"
            ),
            issue(
                "controller.da.min_fee_rate_sat_vb",
                Some("50"),
                Some(&origin),
                "must not exceed controller.da.max_fee_rate_sat_vb (20)"
            ),
        ]
    );
}
