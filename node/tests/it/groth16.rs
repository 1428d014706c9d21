//! Stage 4 on a running node: the prover role wraps a batch's chain proof into a
//! Groth16 proof over BLS12-381, `rollup_getGroth16Proof` serves it, it verifies
//! here and through `rollup verify-groth16` under the key of the node's key cache,
//! each tampering is refused, and `rollup prove-batch` makes an equivalent proof
//! from the node's chain proof.
//!
//! Two strengths. The fast test runs the whole path with the insecure test wrapper
//! (`debug.insecure_test_wrapper`: the same circuits and code, a 6-bit FRI, so a
//! small R1CS). The slow tier's test is the project's one full-size end-to-end
//! stage 4 (about twenty minutes on 2 cores, the first time with the Groth16
//! setup); its keys are cached in the target directory's scratch space, as an
//! operator's `prover.groth16.key_dir` keeps them, so a later run on the same
//! machine loads them instead of setting them up again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rollup_circuits::batch::ChainStatement;
use rollup_e2e::{run_rollup, NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{pubkey_of, sign, BatchRules, Encode, Genesis, SignedTx, Transfer, UserTx, DEVNET_USER_SEED};
use rollup_wrap::batch_proof::{BatchGroth16, BatchGroth16Json, CheckBatchProofError};
use rollup_wrap::groth16::Groth16Error;
use rollup_wrap::statement::Groth16Statement;
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;

/// The key cache shared by every run of this test.
fn key_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("groth16-keys")
}

/// The verifying-key hash recorded in the header of the key file the node used
/// (magic, version, circuit id, seed, then the hash: `rollup_wrap::groth16` docs).
fn cached_vk_hash(dir: &Path, circuit_file: &str) -> [u8; 32] {
    let bytes = std::fs::read(dir.join(circuit_file)).unwrap();
    bytes[76..108].try_into().unwrap()
}

fn wait_for(node: &NodeProcess, method: &str, number: u64, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let value = node.rpc_ok(method, json!([number]));
        if !value.is_null() {
            return value;
        }
        assert!(Instant::now() < deadline, "no {method} for {number}\n{}", node.log());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A node with the operator profile on a one-block-per-batch genesis, stage 4 at
/// the strength `debug` sets, and one transfer sent: block 1 is batch 0.
struct Stage4Node {
    node: NodeProcess,
    dir: tempfile::TempDir,
    genesis_path: PathBuf,
}

fn start_stage4_node(keys: &Path, debug: &str) -> Stage4Node {
    let dir = tempfile::tempdir().unwrap();
    let mut genesis = Genesis::devnet(CHAIN_ID);
    genesis.block_capacities = vec![2];
    genesis.batch = BatchRules { max_blocks: 1, max_blob_bytes: 390_000, max_age_ms: 3_600_000 };
    let genesis_path = dir.path().join("genesis.json");
    std::fs::write(&genesis_path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    let config = format!(
        "[node]\ngenesis = {:?}\n[sequencer]\nblock_time_ms = 20\nmax_block_txs = 2\n[prover.groth16]\nkey_dir = {:?}\n{debug}",
        genesis_path.to_str().unwrap(),
        keys.to_str().unwrap()
    );
    let node = NodeProcess::start(NodeOptions::profile("operator").config(&config));
    node.wait_ready();
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let tx = UserTx::Transfer(Transfer {
        from: 2,
        to: 50,
        to_pubkey: pubkey_of(&SecretKey::from_seed(b"groth16 test")),
        amount: 777,
        fee: 3,
        nonce: 1,
    });
    let signature = sign(&user, &tx.signing_message(CHAIN_ID));
    let sent = node
        .rpc("rollup_sendTransaction", json!([rollup_l2::hex::encode(&SignedTx { tx, signature }.encode())]));
    assert!(sent["result"].is_string(), "{sent}");
    Stage4Node { node, dir, genesis_path }
}

/// Batch 0's chain statement and Groth16 proof as the node serves them, checked
/// against each other and the node's key cache; the proof's verifying-key hash.
fn served_groth16(node: &NodeProcess, keys: &Path, limit: Duration) -> (ChainStatement, Value, BatchGroth16) {
    let chain = wait_for(node, "rollup_getBatchProof", 0, Duration::from_secs(900));
    let statement: ChainStatement = serde_json::from_value(chain["statement"].clone()).unwrap();
    assert_eq!((statement.batch_number, statement.first_block, statement.last_block), (0, 1, 1));
    let served = wait_for(node, "rollup_getGroth16Proof", 0, limit);
    assert_eq!(node.rpc_ok("rollup_getGroth16Proof", json!([1])), Value::Null);
    assert_eq!(node.metric("rollup_groth16_proofs_total"), Some(1.0), "{}", node.log());
    assert_eq!(node.metric("rollup_prover_next_groth16"), Some(1.0));
    let json: BatchGroth16Json = serde_json::from_value(served.clone()).unwrap();
    let proof = BatchGroth16::from_json(&json).unwrap();
    assert_eq!(proof.batch, 0);
    assert_eq!(proof.statement, statement);
    assert_eq!(proof.inputs, Groth16Statement::from_chain_statement(&statement));
    assert_eq!(proof.proof.to_bytes().len(), 192);

    // The key is the one of the node's key cache, and the proof verifies under it.
    let files: Vec<String> = std::fs::read_dir(keys)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("groth16-") && name.ends_with(".keys"))
        .collect();
    let used: Vec<&String> =
        files.iter().filter(|name| cached_vk_hash(keys, name) == proof.vk_hash()).collect();
    assert_eq!(used.len(), 1, "{files:?}");
    proof.check(&proof.vk_hash()).unwrap();
    (statement, served, proof)
}

/// Each tampering of a served proof is refused, naming what is wrong, by the
/// library and by `rollup verify-groth16` (from a file and from the node).
fn check_refusals(
    node: &NodeProcess,
    dir: &Path,
    statement: &ChainStatement,
    served: &Value,
    proof: &BatchGroth16,
) {
    let vk_hash = proof.vk_hash();
    assert!(matches!(
        proof.check(&[0; 32]),
        Err(CheckBatchProofError::UnpinnedKey { pinned, .. }) if pinned == "00".repeat(32)
    ));
    let mut other = proof.clone();
    other.statement.to_root = statement.from_root;
    assert!(matches!(other.check(&vk_hash), Err(CheckBatchProofError::InputsMismatch { input: "to_lo" })));
    let mut relabelled = proof.clone();
    relabelled.batch = 1;
    assert!(matches!(
        relabelled.check(&vk_hash),
        Err(CheckBatchProofError::BatchMismatch { statement: 0, label: 1 })
    ));
    let mut restated = proof.clone();
    restated.statement.last_block = 2;
    restated.inputs = Groth16Statement::from_chain_statement(&restated.statement);
    assert!(matches!(
        restated.check(&vk_hash),
        Err(CheckBatchProofError::Groth16(Groth16Error::VerificationFailed))
    ));
    let json: BatchGroth16Json = serde_json::from_value(served.clone()).unwrap();
    let mut swapped = proof.clone();
    swapped.proof = BatchGroth16::from_json(&BatchGroth16Json {
        proof: {
            // A and C swapped: valid points, a different proof.
            let bytes = proof.proof.to_bytes();
            let mut changed = bytes[144..].to_vec();
            changed.extend_from_slice(&bytes[48..144]);
            changed.extend_from_slice(&bytes[..48]);
            rollup_l2::hex::encode(&changed)
        },
        ..json
    })
    .unwrap()
    .proof;
    assert!(matches!(
        swapped.check(&vk_hash),
        Err(CheckBatchProofError::Groth16(Groth16Error::VerificationFailed))
    ));

    let file = dir.join("batch-0.json");
    std::fs::write(&file, serde_json::to_string_pretty(served).unwrap()).unwrap();
    let hash = rollup_l2::hex::encode(&vk_hash);
    let file_arg = file.to_str().unwrap();
    let output = run_rollup(&["verify-groth16", "--proof", file_arg, "--vk-hash", &hash], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!(
            "ok: batch 0 (blocks 1..=1) from state {} to {}, verifying-key hash {hash}\n",
            statement.from_root, statement.to_root
        )
    );
    let output =
        run_rollup(&["verify-groth16", "--batch", "0", "--rpc", node.url(), "--vk-hash", &hash], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let other_hash = "11".repeat(32);
    let output = run_rollup(&["verify-groth16", "--proof", file_arg, "--vk-hash", &other_hash], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: batch 0: refused: the proof's verifying key has hash {hash}, the pinned hash is {other_hash}\n"
        )
    );
    let mut tampered = served.clone();
    tampered["statement"]["to_root"] = tampered["statement"]["from_root"].clone();
    std::fs::write(&file, serde_json::to_string(&tampered).unwrap()).unwrap();
    let output = run_rollup(&["verify-groth16", "--proof", file_arg, "--vk-hash", &hash], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: batch 0: refused: public input to_lo is not the statement's\n"
    );
}

/// The node's stage-4 progress, relayed from its `rollup prove-batch` process:
/// every step announced and timed, the circuits not built again (the prover hands
/// over its chain verifier), and no warning.
fn assert_stage4_log(log: &str, set_up: bool) {
    for step in ["building the wrapper circuit", "proving the wrapper", "making the Groth16 proof"] {
        assert!(log.contains(&format!("stage 4: {step}...")), "{step}\n{log}");
        assert!(log.contains(&format!("stage 4: {step}: done in ")), "{step}\n{log}");
    }
    assert!(log.contains("stage 4: loading the Groth16 keys..."), "{log}");
    let set_up_line = "stage 4: setting up the Groth16 keys (the first time: they are cached after)";
    match set_up {
        true => {
            assert!(log.contains("stage 4: loading the Groth16 keys: none usable in the cache"), "{log}");
            assert!(log.contains(&format!("{set_up_line}...")), "{log}");
            assert!(log.contains(&format!("{set_up_line}: done in ")), "{log}");
        }
        false => {
            assert!(log.contains("stage 4: loading the Groth16 keys: done in "), "{log}");
            assert!(!log.contains(set_up_line), "{log}");
        }
    }
    assert!(!log.contains("stage 4: building the block circuit"), "{log}");
    assert!(!log.contains("stage 4: building the aggregation"), "{log}");
    let warnings: Vec<&str> = log.lines().filter(|line| line.contains(" WARN ")).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
#[ignore = "slow tier: the full-size stage 4 on a node (about 20 minutes on 2 cores); `cargo xtask test` runs it"]
fn each_batch_gets_a_full_size_groth16_proof_that_verifies() {
    let keys = key_dir();
    // The first run on a machine sets the keys up; later ones load them.
    let set_up = !keys.exists() || key_files(&keys).is_empty();
    let Stage4Node { mut node, dir, .. } = start_stage4_node(&keys, "");
    let (statement, served, proof) = served_groth16(&node, &keys, Duration::from_secs(2400));
    check_refusals(&node, dir.path(), &statement, &served, &proof);
    assert_stage4_log(&node.log(), set_up);
    assert_eq!(node.terminate().code(), Some(0));
}

#[test]
fn stage4_runs_whole_with_the_test_wrapper_and_prove_batch_makes_the_same_proof() {
    let keys = tempfile::tempdir().unwrap();
    let Stage4Node { mut node, dir, genesis_path } =
        start_stage4_node(keys.path(), "[debug]\ninsecure_test_wrapper = true\n");
    let (statement, served, proof) = served_groth16(&node, keys.path(), Duration::from_secs(900));
    check_refusals(&node, dir.path(), &statement, &served, &proof);
    assert_stage4_log(&node.log(), true);
    let vk_hash = proof.vk_hash();
    let genesis = genesis_path.to_str().unwrap();

    // A batch the node has not proven yet is unusable input.
    let output = run_rollup(&["prove-batch", "5", "--rpc", node.url(), "--genesis", genesis], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!("error: batch 5 has no chain proof at {} yet\n", node.url())
    );

    // `rollup prove-batch`, by hand: it builds the circuits itself, checks the node's
    // chain proof, loads the keys the node set up and makes an equivalent proof.
    let out = dir.path().join("proved.json");
    let key_arg = keys.path().to_str().unwrap();
    let output = run_rollup(
        &[
            "prove-batch",
            "0",
            "--rpc",
            node.url(),
            "--genesis",
            genesis,
            "--key-dir",
            key_arg,
            "--insecure-test-wrapper",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.starts_with(
            "warning: the insecure test wrapper (6-bit FRI): this proof proves nothing\nbuilding the block \
             circuit of capacity 2... done in "
        ),
        "{stderr}"
    );
    assert!(stderr.contains("\nthe chain proof of batch 0 verifies\n"), "{stderr}");
    assert!(stderr.contains("\nloading the Groth16 keys...\nloading the Groth16 keys: done in "), "{stderr}");
    assert!(!stderr.contains("setting up"), "{stderr}");
    let json: BatchGroth16Json = serde_json::from_value(served).unwrap();
    let made: BatchGroth16Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        (made.batch, made.statement, &made.inputs, &made.vk_hash),
        (0, statement, &json.inputs, &json.vk_hash)
    );
    BatchGroth16::from_json(&made).unwrap().check(&vk_hash).unwrap();
    let hash = rollup_l2::hex::encode(&vk_hash);
    let output = run_rollup(&["verify-groth16", "--proof", out.to_str().unwrap(), "--vk-hash", &hash], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));

    // One key file: the node set it up, prove-batch loaded it.
    assert_eq!(key_files(keys.path()).len(), 1);

    assert_eq!(node.terminate().code(), Some(0));
}

/// The key files in `dir`.
fn key_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("groth16-") && name.ends_with(".keys"))
        .collect()
}

#[test]
fn stage4_commands_refuse_unusable_input_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let output = run_rollup(
        &["verify-groth16", "--proof", missing.to_str().unwrap(), "--vk-hash", &"00".repeat(32)],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with(&format!("error: cannot read {}: No such file", missing.display())));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"batch\": 0}").unwrap();
    let output = run_rollup(
        &["verify-groth16", "--proof", garbage.to_str().unwrap(), "--vk-hash", &"00".repeat(32)],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: {} is not a batch proof: missing field `statement` at line 1 column 12\n",
            garbage.display()
        )
    );

    let output =
        run_rollup(&["verify-groth16", "--proof", garbage.to_str().unwrap(), "--vk-hash", "abc"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: --vk-hash \"abc\" is not 32 bytes in hex\n"
    );

    let output = run_rollup(&["verify-groth16", "--proof", garbage.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr).unwrap().starts_with("error: no verifying key is pinned"));

    // Hex that decodes to a point not on the curve, with a consistent key hash.
    let json = BatchGroth16Json {
        batch: 0,
        statement: ChainStatement::default(),
        inputs: rollup_l2::hex::encode(&Groth16Statement::default().to_bytes()),
        proof: "ff".repeat(192),
        vk_hash: rollup_l2::hex::encode(blake3::hash(&[]).as_bytes()),
        verifying_key: String::new(),
        wrap_seconds: 0.0,
        groth16_seconds: 0.0,
    };
    std::fs::write(&garbage, serde_json::to_string(&json).unwrap()).unwrap();
    let output = run_rollup(
        &["verify-groth16", "--proof", garbage.to_str().unwrap(), "--vk-hash", &"00".repeat(32)],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("error: the proof does not decode: invalid proof point A"),);

    // The test strength off regtest, by flag (the config key is refused by validation).
    let output = run_rollup(
        &["prove-batch", "0", "--insecure-test-wrapper"],
        &[("ROLLUP__BITCOIN__NETWORK", "signet")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: --insecure-test-wrapper is refused on signet: its proofs prove nothing (a 6-bit FRI, for tests on \
         regtest)\n"
    );

    // No node to fetch from.
    let output = run_rollup(
        &["verify-groth16", "--batch", "0", "--rpc", "http://127.0.0.1:9", "--vk-hash", &"00".repeat(32)],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("error: rollup_getGroth16Proof at http://127.0.0.1:9: "));
    let output = run_rollup(&["prove-batch", "0", "--rpc", "http://127.0.0.1:9"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("error: rollup_getBatchProof at http://127.0.0.1:9: "));
}
