//! The `rollup` binary as an operator runs it: boot per profile, readiness, JSON-RPC,
//! supervision of crashing roles, signals, SIGKILL and bad configuration.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod circuits;
mod controller;
mod groth16;
mod prover;
mod sequencer;
mod wallet;

use std::os::unix::process::ExitStatusExt;

use nix::sys::signal::Signal;
use rollup_e2e::{run_rollup, NodeOptions, NodeProcess};
use serde_json::{json, Value};

/// The profiles whose roles are all implemented, and their roles.
const PROFILES: [(&str, &[&str]); 3] = [
    ("operator", &["sequencer", "prover", "controller"]),
    ("vigilante", &["vigilante"]),
    ("all", &["sequencer", "prover", "controller", "vigilante"]),
];

/// Fault injection on, fast restarts.
const CRASHABLE: &str = "[debug]\nfault_injection = true\n[supervisor]\nrestart_backoff_initial_ms = 20\n";

fn loads(node: &NodeProcess) -> Vec<(String, Option<u64>)> {
    let roles = node.rpc_ok("rollup_roles", json!([]));
    roles
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["role"].as_str().unwrap().to_owned(), entry["loads"].as_u64()))
        .collect()
}

#[test]
fn every_profile_boots_serves_and_stops_cleanly_on_sigterm() {
    for (profile, roles) in PROFILES {
        let mut node = NodeProcess::start(NodeOptions::profile(profile));
        node.wait_ready();
        let (status, body) = node.get("/ready");
        let ready: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200, "profile {profile}: {body}\n{}", node.log());
        assert_eq!(ready["ready"], true);
        let mut expected_roles: Vec<&str> = roles.to_vec();
        expected_roles.sort_unstable();
        let reported: Vec<&str> = ready["roles"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(reported, expected_roles, "profile {profile}");
        assert_eq!(node.get("/health"), (200, r#"{"status":"ok"}"#.to_owned()));

        let info = node.rpc_ok("rollup_nodeInfo", json!([]));
        assert_eq!(
            info,
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "chain_id": 0x0052_4f4c,
                "network": "regtest",
                "roles": roles,
                "not_implemented": []
            }),
            "profile {profile}"
        );
        for role in roles {
            assert_eq!(
                node.metric(&format!("rollup_role_ready{{role=\"{role}\"}}")),
                Some(1.0),
                "{profile} {role}"
            );
        }

        let status = node.terminate();
        assert_eq!(status.code(), Some(0), "profile {profile}: {status}");
        assert!(!node.data_dir().join("rpc.addr").exists(), "profile {profile}: address file left behind");
        let log = node.log();
        assert!(log.contains("shutting down signal=\"SIGTERM\""), "{log}");
        assert!(log.contains("node stopped"), "{log}");
    }
}

#[test]
fn roles_that_are_not_implemented_run_nothing_and_are_never_counted_ready() {
    for role in ["signer", "backup"] {
        let mut node = NodeProcess::start(NodeOptions::profile(role));
        // The API serves, but the node does no work: never ready.
        assert_eq!(node.get("/health"), (200, r#"{"status":"ok"}"#.to_owned()));
        let (status, body) = node.get("/ready");
        assert_eq!(status, 503, "{role}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({ "ready": false, "shutting_down": false, "roles": { role: "not implemented" } })
        );
        assert_eq!(
            node.rpc_ok("rollup_roles", json!([])),
            json!([{ "role": role, "status": "not implemented" }])
        );
        let info = node.rpc_ok("rollup_nodeInfo", json!([]));
        assert_eq!((&info["roles"], &info["not_implemented"]), (&json!([]), &json!([role])), "{role}");
        assert_eq!(node.metric(&format!("rollup_role_ready{{role=\"{role}\"}}")), Some(0.0), "{role}");
        assert_eq!(node.terminate().code(), Some(0), "{role}");
        let log = node.log();
        assert!(
            log.contains(&format!(
                "WARN rollup::supervisor: role {role} is enabled but not implemented yet: nothing runs for it, \
                 and it is not counted as ready role=\"{role}\""
            )),
            "{log}"
        );
        assert!(
            log.contains(
                "WARN rollup::node: no enabled role is implemented: the node serves its API but does no work, \
                 and /ready answers 503"
            ),
            "{log}"
        );
        assert!(!log.contains("node ready"), "{log}");
    }

    // Beside implemented roles, an unimplemented one is listed and not counted.
    let mut options = NodeOptions::profile("vigilante");
    options.env.push(("ROLLUP__ROLES__SIGNER".to_owned(), "true".to_owned()));
    let mut node = NodeProcess::start(options);
    node.wait_ready();
    let (_, body) = node.get("/ready");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "ready": true, "shutting_down": false, "roles": { "signer": "not implemented", "vigilante": "ready" } })
    );
    assert_eq!(
        node.rpc_ok("rollup_roles", json!([])),
        json!([
            { "role": "signer", "status": "not implemented" },
            { "role": "vigilante", "status": "ready", "loads": 1 }
        ])
    );
    let output = run_rollup(&["config", "check", "--profile", "signer"], &[]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "configuration ok: roles signer (not implemented yet, they run nothing: signer)\n"
    );
    assert_eq!(node.terminate().code(), Some(0));
}

#[test]
fn devnet_runs_every_implemented_role_until_interrupted() {
    let mut node = NodeProcess::start(NodeOptions::devnet());
    node.wait_ready();
    let info = node.rpc_ok("rollup_nodeInfo", json!([]));
    assert_eq!(info["roles"], json!(["sequencer", "prover", "controller", "vigilante"]));
    assert_eq!(info["not_implemented"], json!([]));
    assert_eq!(node.signal_and_wait(Signal::SIGINT).code(), Some(0));
}

#[test]
fn devnet_mines_on_a_timer_when_asked() {
    let mut options = NodeOptions::devnet();
    options.args.extend(["--block-time-ms".to_owned(), "200".to_owned()]);
    let mut node = NodeProcess::start(options);
    let height = || -> u64 {
        let (status, body) = rollup_e2e::http_get(&format!("{}/blocks/tip/height", node.esplora_url()));
        assert_eq!(status, 200, "{body}");
        body.parse().unwrap()
    };
    let start = height();
    // A new devnet mines 110 blocks and confirms the user's funds in one more.
    assert!(start >= 111, "{start}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while height() < start + 2 {
        assert!(std::time::Instant::now() < deadline, "no timed blocks");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(node.terminate().code(), Some(0));
}

#[test]
fn sigint_also_stops_cleanly_and_state_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    for (start, signal) in [(1, Signal::SIGINT), (2, Signal::SIGTERM), (3, Signal::SIGINT)] {
        let mut node = NodeProcess::start(NodeOptions::profile("operator").data_dir(&data_dir));
        node.wait_ready();
        // Each role's record was reloaded from the database and counted once more.
        assert_eq!(
            loads(&node),
            [
                ("sequencer".into(), Some(start)),
                ("prover".into(), Some(start)),
                ("controller".into(), Some(start))
            ]
        );
        assert_eq!(node.signal_and_wait(signal).code(), Some(0), "start {start}: {signal}");
    }
}

#[test]
fn a_crashed_role_is_restarted_and_the_node_keeps_serving() {
    let mut node = NodeProcess::start(NodeOptions::profile("operator").config(CRASHABLE));
    node.wait_ready();
    assert_eq!(node.metric("rollup_role_restarts_total{role=\"prover\"}"), Some(0.0));

    assert_eq!(node.rpc_ok("debug_crashRole", json!({ "role": "prover" })), json!("prover crashed"));
    // The node keeps answering while the role restarts.
    assert_eq!(
        node.rpc_ok("rollup_nodeInfo", json!([]))["roles"],
        json!(["sequencer", "prover", "controller"])
    );
    node.wait_ready();
    assert_eq!(node.metric("rollup_role_restarts_total{role=\"prover\"}"), Some(1.0));
    assert_eq!(node.metric("rollup_role_failures_total{kind=\"panic\",role=\"prover\"}"), Some(1.0));
    assert_eq!(node.metric("rollup_role_restarts_total{role=\"sequencer\"}"), Some(0.0));
    // The restarted role reloaded its state from storage.
    assert_eq!(
        loads(&node),
        [("sequencer".into(), Some(1)), ("prover".into(), Some(2)), ("controller".into(), Some(1))]
    );
    assert!(node.log().contains("role failed: panicked: fault injected on request"), "{}", node.log());

    // Crash it twice more: every restart is counted.
    for _ in 0..2 {
        node.rpc_ok("debug_crashRole", json!({ "role": "prover" }));
        node.wait_ready();
    }
    assert_eq!(node.metric("rollup_role_restarts_total{role=\"prover\"}"), Some(3.0));

    assert_eq!(
        node.rpc("debug_crashRole", json!({ "role": "miner" }))["error"],
        json!({ "code": -32602, "message": "invalid params: no role \"miner\" runs in this node" })
    );
    assert_eq!(node.terminate().code(), Some(0));
}

#[test]
fn fault_injection_is_off_by_default() {
    let node = NodeProcess::start(NodeOptions::profile("vigilante"));
    assert_eq!(
        node.rpc("debug_crashRole", json!({ "role": "vigilante" }))["error"],
        json!({ "code": -32601, "message": "method not found: debug_crashRole" })
    );
}

#[test]
fn malformed_json_rpc_gets_the_right_error_codes() {
    let node = NodeProcess::start(NodeOptions::profile("vigilante").config("[rpc]\nmax_body_bytes = 2048\n"));
    node.wait_ready();
    let code = |body: &str| -> Value {
        let (status, text) = node.post(body);
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<Value>(&text).unwrap()["error"]["code"].clone()
    };
    assert_eq!(code("{\"jsonrpc\":"), json!(-32700));
    assert_eq!(code("\u{0}\u{1}garbage"), json!(-32700));
    assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), json!(-32600));
    assert_eq!(code(r#"["not a call"]"#)[0], Value::Null);
    assert_eq!(code(r#"{"jsonrpc":"2.0","method":"rollup_nope","id":1}"#), json!(-32601));
    assert_eq!(code(r#"{"jsonrpc":"2.0","method":"rollup_nodeInfo","params":[1],"id":1}"#), json!(-32602));
    let (status, _) = node.post(&format!(
        r#"{{"jsonrpc":"2.0","method":"rollup_nodeInfo","params":["{}"],"id":1}}"#,
        "x".repeat(4096)
    ));
    assert_eq!(status, 413);
    // Still serving after all of it.
    assert_eq!(node.rpc_ok("rollup_nodeInfo", json!({}))["roles"], json!(["vigilante"]));
    assert_eq!(
        node.metric("rollup_rpc_requests_total{method=\"rollup_nodeInfo\",outcome=\"-32602\"}"),
        Some(1.0)
    );
}

#[test]
fn a_node_killed_with_sigkill_restarts_on_consistent_data() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Each start loads every role once; each crash loads the crashed role once more.
    // The node is killed right after the reloads, with no chance to shut down.
    for round in 1..=3u64 {
        let mut node = NodeProcess::start(NodeOptions::profile("all").config(CRASHABLE).data_dir(&data_dir));
        node.wait_ready();
        for role in ["sequencer", "vigilante"] {
            node.rpc_ok("debug_crashRole", json!({ "role": role }));
            node.wait_ready();
        }
        let status = node.kill();
        assert_eq!(status.signal(), Some(9), "round {round}");
    }
    let mut node = NodeProcess::start(NodeOptions::profile("all").config(CRASHABLE).data_dir(&data_dir));
    node.wait_ready();
    assert_eq!(
        loads(&node),
        [
            ("sequencer".into(), Some(7)),
            ("prover".into(), Some(4)),
            ("controller".into(), Some(4)),
            ("vigilante".into(), Some(7)),
        ]
    );
    assert_eq!(node.terminate().code(), Some(0));
}

#[test]
fn a_second_node_on_the_same_data_dir_is_refused() {
    let node = NodeProcess::start(NodeOptions::profile("vigilante"));
    node.wait_ready();
    let output = run_rollup(
        &[
            "node",
            "--profile",
            "vigilante",
            "--data-dir",
            node.data_dir().to_str().unwrap(),
            "--rpc-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.ends_with(&format!(
            "error: cannot open the node database: database {}/node.redb is in use by another process (is another node running with this data_dir?)\n",
            node.data_dir().display()
        )),
        "{stderr}"
    );
    // The running node is unaffected.
    assert_eq!(node.get("/ready").0, 200);
}

#[test]
fn an_unusable_listen_address_is_reported_and_nothing_is_left_running() {
    let node = NodeProcess::start(NodeOptions::profile("vigilante"));
    let taken = node.url().trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let output = run_rollup(
        &[
            "node",
            "--profile",
            "vigilante",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--rpc-listen",
            &taken,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("error: cannot start the API server: cannot listen on {taken}: ")),
        "{stderr}"
    );
}

#[test]
fn bad_configuration_is_reported_whole_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[roles]\nprover = true\n[rpc]\nlisten = \"nowhere\"\nworkerz = 2\n").unwrap();
    let file_str = file.to_str().unwrap();
    let output = run_rollup(&["config", "check", "--config", file_str], &[("ROLLUP__LOG__FORMAT", "xml")]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: invalid configuration (4 errors):\n\
             \x20 - `log.format` = \"xml\" (from the environment): expected one of `pretty`, `json`\n\
             \x20 - `roles.prover` = \"true\" (from {file_str}): prover enabled but no sequencer to take jobs from: enable roles.sequencer or set prover.sequencer_rpc\n\
             \x20 - `rpc.listen` = \"nowhere\" (from {file_str}): not a socket address (expected IP:PORT, e.g. 127.0.0.1:8545)\n\
             \x20 - `rpc.workerz` = \"2\" (from {file_str}): unknown key (did you mean `rpc.workers`?)\n"
        )
    );

    // `rollup node` refuses the same configuration before touching the data directory.
    let data_dir = dir.path().join("data");
    let output = run_rollup(&["node", "--config", file_str, "--data-dir", data_dir.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!data_dir.exists());

    let output = run_rollup(&["config", "check", "--profile", "nope"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: unknown profile \"nope\" (available: all, backup, operator, signer, vigilante)\n"
    );

    let output =
        run_rollup(&["config", "check", "--config", dir.path().join("absent.toml").to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr).unwrap().starts_with("error: cannot read config file "));

    let output = run_rollup(&["node", "--profile", "all", "--rpc-listen", "127.0.0.1:99999"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: invalid configuration (1 error):\n  - `rpc.listen` = \"127.0.0.1:99999\" (from the command line): \
         not a socket address (expected IP:PORT, e.g. 127.0.0.1:8545)\n"
    );
}

#[test]
fn config_dump_prints_the_merged_configuration() {
    let output = run_rollup(&["config", "dump", "--profile", "operator"], &[("ROLLUP__RPC__WORKERS", "5")]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let dumped: toml::Table = String::from_utf8(output.stdout).unwrap().parse().unwrap();
    assert_eq!(dumped["rpc"]["workers"].as_integer(), Some(5));
    assert_eq!(dumped["roles"]["controller"].as_bool(), Some(true));
    assert_eq!(dumped["roles"]["vigilante"].as_bool(), Some(false));
    assert_eq!(dumped["log"]["format"].as_str(), Some("pretty"));
    let sections: Vec<&str> = dumped.keys().map(String::as_str).collect();
    assert_eq!(
        sections,
        [
            "bitcoin",
            "controller",
            "debug",
            "devnet",
            "log",
            "node",
            "prover",
            "roles",
            "rpc",
            "sequencer",
            "supervisor",
            "vigilante"
        ]
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut node = NodeProcess::start(NodeOptions::profile("vigilante").config("[log]\nformat = \"json\"\n"));
    node.wait_ready();
    assert_eq!(node.terminate().code(), Some(0));
    let log_text = node.log();
    let events: Vec<Value> = log_text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let ready = events.iter().find(|event| event["message"] == "node ready").expect("a node ready event");
    assert_eq!(ready["target"], "rollup::node");
    assert_eq!(ready["level"], "INFO");
    assert!(ready["boot_ms"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
}

#[test]
fn rust_log_filters_the_log_and_a_bad_filter_is_refused() {
    let mut options = NodeOptions::profile("vigilante");
    options.env.push(("RUST_LOG".to_owned(), "warn,rollup::supervisor=info".to_owned()));
    let mut node = NodeProcess::start(options);
    node.wait_ready();
    assert_eq!(node.terminate().code(), Some(0));
    let log = node.log();
    assert!(log.contains("INFO rollup::supervisor: role ready"), "{log}");
    assert!(!log.contains("rollup::node"), "{log}");

    let output = run_rollup(&["node", "--profile", "vigilante"], &[("RUST_LOG", "rollup=loud")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: invalid RUST_LOG \"rollup=loud\": "), "{stderr}");
}

#[test]
fn help_and_version_work() {
    let output = run_rollup(&["--version"], &[]);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), format!("rollup {}\n", env!("CARGO_PKG_VERSION")));
    let output = run_rollup(&["--help"], &[]);
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["node", "config", "devnet"] {
        assert!(help.contains(&format!("\n  {command} ")), "{help}");
    }
}
