//! `rollup circuits`: the digests of a genesis' circuits, the CodeControlGroup that
//! allows them and its check against a genesis file.

use std::path::{Path, PathBuf};

use rollup_e2e::run_rollup;
use rollup_l2::{CodeControlGroup, CodeEntry, Digest, Genesis, LAST_BLOCK_NUMBER};
use serde_json::Value;

const CHAIN_ID: u64 = 0x0052_4f4c;

/// The development genesis with one small block circuit (quick to build).
fn small_genesis(code_control: Option<CodeControlGroup>) -> Genesis {
    Genesis { block_capacities: vec![2], code_control, ..Genesis::devnet(CHAIN_ID) }
}

fn write_genesis(dir: &Path, name: &str, genesis: &Genesis) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(genesis).unwrap()).unwrap();
    path
}

/// Runs `rollup circuits <args>`: exit code, stdout, stderr.
fn circuits(args: &[&str]) -> (i32, String, String) {
    let output = run_rollup(&[&["circuits"], args].concat(), &[]);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn digests_and_registry_agree_and_the_registry_check_finds_unlisted_circuits() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = small_genesis(None);
    let path = write_genesis(dir.path(), "genesis.json", &genesis);
    let path_s = path.to_str().unwrap();

    let (code, out, err) = circuits(&["digests", "--genesis", path_s]);
    assert_eq!(code, 0, "{err}");
    let digests: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(digests["genesis_hash"], genesis.hash().to_string());
    let blocks = digests["block_circuits"].as_array().unwrap();
    assert_eq!(blocks.len(), 1, "{out}");
    assert_eq!(blocks[0]["class"], 0);
    assert_eq!(blocks[0]["capacity"], 2);
    assert!(blocks[0]["degree_bits"].as_u64().unwrap() > 0, "{out}");
    let block_digest = blocks[0]["digest"].as_str().unwrap().to_owned();
    assert_eq!(block_digest.len(), 64, "{out}");
    assert_eq!(digests["leaves"].as_array().unwrap().len(), 1, "{out}");
    for key in ["node", "recursion"] {
        assert_eq!(digests[key].as_str().unwrap().len(), 64, "{out}");
    }
    assert!(digests["family_degree_bits"].as_u64().unwrap() > 0, "{out}");
    assert!(err.starts_with("building the block circuit of capacity 2... done in "), "{err}");
    assert!(err.contains("\nbuilding the aggregation and recursion circuits... done in "), "{err}");

    // The registry for every block allows exactly that circuit, and its root is the
    // CodeControlGroup's.
    let (code, out, err) = circuits(&["registry", "--genesis", path_s]);
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    let registry: CodeControlGroup = serde_json::from_value(printed["code_control"].clone()).unwrap();
    assert_eq!(registry.entries().len(), 1);
    let entry = registry.entries()[0];
    assert_eq!(entry.digest.to_string(), block_digest);
    assert_eq!((entry.class, entry.first_block, entry.last_block), (0, 1, LAST_BLOCK_NUMBER));
    assert_eq!(printed["root"], registry.root().to_string());

    // A genesis with that registry passes the check; the circuit digests do not depend
    // on the registry.
    let listed = write_genesis(dir.path(), "listed.json", &small_genesis(Some(registry.clone())));
    let listed_s = listed.to_str().unwrap();
    let (code, out, err) = circuits(&["registry", "--check", "--genesis", listed_s]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "ok: the genesis' code_control lists all 1 block circuits for blocks 1..={LAST_BLOCK_NUMBER}\n"
        )
    );

    // Outside the registered range, or with another circuit registered, it fails and
    // names the circuit.
    let short = CodeControlGroup::new(vec![CodeEntry { last_block: 100, ..entry }]).unwrap();
    let short = write_genesis(dir.path(), "short.json", &small_genesis(Some(short)));
    let (code, out, err) = circuits(&[
        "registry",
        "--check",
        "--genesis",
        short.to_str().unwrap(),
        "--first-block",
        "50",
        "--last-block",
        "200",
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.ends_with(&format!(
            "error: the genesis does not list 1 of this binary's block circuits for blocks 50..=200:\n\
             \x20 - class 0 (capacity 2): {block_digest}\n\
             (print the entries to add with `rollup circuits registry`)\n"
        )),
        "{err}"
    );
    let other = CodeControlGroup::new(vec![CodeEntry { digest: Digest([1, 2, 3, 4]), ..entry }]).unwrap();
    let other = write_genesis(dir.path(), "other.json", &small_genesis(Some(other)));
    let (code, _, err) = circuits(&["registry", "--check", "--genesis", other.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.ends_with(&format!(
            "error: the genesis does not list 1 of this binary's block circuits for blocks 1..={LAST_BLOCK_NUMBER}:\n\
             \x20 - class 0 (capacity 2): {block_digest}\n\
             (print the entries to add with `rollup circuits registry`)\n"
        )),
        "{err}"
    );
    let (code, _, err) = circuits(&["registry", "--check", "--genesis", path_s]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("error: the genesis (it has no code_control) does not list 1 of this binary's block circuits for blocks 1..={LAST_BLOCK_NUMBER}:\n  - class 0 (capacity 2): {block_digest}\n")), "{err}");
}

#[test]
fn bad_ranges_and_genesis_files_are_refused_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_genesis(dir.path(), "genesis.json", &small_genesis(None));
    let path_s = path.to_str().unwrap();
    let refused = |args: &[&str], message: &str| {
        let (code, out, err) = circuits(args);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", message), "{args:?}");
    };
    refused(
        &["registry", "--genesis", path_s, "--first-block", "0"],
        &format!(
            "error: bad block range 0..={LAST_BLOCK_NUMBER}: --first-block must be at least 1 (block 0 is the genesis)\n"
        ),
    );
    refused(
        &["registry", "--check", "--genesis", path_s, "--first-block", "5", "--last-block", "4"],
        "error: bad block range 5..=4: --first-block is after --last-block\n",
    );
    let too_far = (LAST_BLOCK_NUMBER + 1).to_string();
    refused(
        &["registry", "--genesis", path_s, "--last-block", &too_far],
        &format!("error: bad block range 1..={too_far}: --last-block must be at most {LAST_BLOCK_NUMBER}\n"),
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"chain_id": 1}"#).unwrap();
    let bad_s = bad.to_str().unwrap();
    refused(
        &["digests", "--genesis", bad_s],
        &format!(
            "error: cannot use the genesis file {bad_s}: genesis is not valid: missing field `fee_account` at line 1 column 15\n"
        ),
    );
}
