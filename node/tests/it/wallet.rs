//! `rollup wallet` against a running node.

use std::os::unix::fs::PermissionsExt;

use rollup_e2e::{run_rollup, NodeOptions, NodeProcess};

fn wallet(args: &[&str]) -> (i32, String, String) {
    let output = run_rollup(&[&["wallet"], args].concat(), &[]);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn create_fund_send_and_list() {
    let node = NodeProcess::start(
        NodeOptions::default().config("[roles]\nsequencer = true\n[sequencer]\nblock_time_ms = 20\n"),
    );
    node.wait_ready();
    let dir = tempfile::tempdir().unwrap();
    let alice = dir.path().join("alice.key");
    let bob = dir.path().join("bob.key");
    let (alice_s, bob_s) = (alice.to_str().unwrap(), bob.to_str().unwrap());
    let url = node.url();

    let (code, out, _) = wallet(&["new", "--devnet-user", "--wallet", alice_s]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("wallet {alice_s} created\npublic key: ")), "{out}");
    assert_eq!(std::fs::metadata(&alice).unwrap().permissions().mode() & 0o777, 0o600);
    let (code, _, err) = wallet(&["new", "--wallet", alice_s]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!("error: cannot create the wallet {alice_s} (it must not exist yet)")),
        "{err}"
    );

    assert_eq!(wallet(&["new", "--wallet", bob_s]).0, 0);
    let (_, bob_pubkey, _) = wallet(&["address", "--wallet", bob_s]);
    let bob_pubkey = bob_pubkey.trim().to_owned();
    assert_eq!(bob_pubkey.len(), 80);

    let (code, out, _) = wallet(&["balance", "--wallet", alice_s, "--node", url]);
    assert_eq!((code, out.as_str()), (0, "account 2: balance 100000000000000 sat, nonce 0\n"));
    let (code, _, err) = wallet(&["balance", "--wallet", bob_s, "--node", url]);
    assert_eq!(code, 1);
    assert_eq!(err, "error: this key has no account yet: receive a transfer or a deposit first\n");

    let (code, out, err) = wallet(&[
        "send",
        "--wallet",
        alice_s,
        "--node",
        url,
        "--to",
        "20",
        "--to-pubkey",
        &bob_pubkey,
        "--amount",
        "1234",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"status\": \"success\""), "{out}");
    assert!(err.starts_with("submitted "), "{err}");
    let (_, out, _) = wallet(&["balance", "--wallet", bob_s, "--node", url]);
    assert_eq!(out, "account 20: balance 1234 sat, nonce 0\n");
    let (_, out, _) = wallet(&["history", "--wallet", bob_s, "--node", url]);
    assert_eq!(out.lines().count(), 1, "{out}");

    // Bad input is refused with the reason.
    let (code, _, err) = wallet(&[
        "send",
        "--wallet",
        alice_s,
        "--node",
        url,
        "--to",
        "20",
        "--to-pubkey",
        "xyz",
        "--amount",
        "1",
    ]);
    assert_eq!((code, err.as_str()), (1, "error: --to-pubkey is not hex: \"xyz\"\n"));
    let (code, _, err) = wallet(&[
        "send",
        "--wallet",
        alice_s,
        "--node",
        url,
        "--to",
        "20",
        "--to-pubkey",
        &bob_pubkey,
        "--amount",
        "0",
    ]);
    assert_eq!((code, err.as_str()), (1, "error: amount must be positive (code 1005)\n"));
    let (code, _, err) = wallet(&["balance", "--wallet", alice_s, "--node", "http://127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: cannot reach the node at http://127.0.0.1:1/: "), "{err}");
}
