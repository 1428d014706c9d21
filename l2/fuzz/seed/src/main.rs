//! Writes the seed corpora of the rollup-l2 fuzz targets: a few valid encodings per target,
//! as `corpus/<target>/seed-<name>` next to this crate (or under the directory given as the
//! only argument). Deterministic: running it again rewrites the same files.

use std::path::{Path, PathBuf};

use rollup_l2::ecgfp5::{Point, Scalar, SecretKey};
use rollup_l2::{
    pubkey_of, sign, Account, Block, BlockHeader, Deposit, Digest, Encode, Genesis, GenesisAccount, L1Anchor,
    L1Outpoint, L2Tx, PubKey, SignedTx, Transfer, UserTx, Withdraw, MAX_AMOUNT, MAX_L1_SCRIPT_LEN,
};

const CHAIN_ID: u64 = 0x726f6c6c7570;

fn key(seed: u8) -> (SecretKey, PubKey) {
    let secret = SecretKey::from_seed(&[seed; 32]);
    let pubkey = pubkey_of(&secret);
    (secret, pubkey)
}

fn digest(tag: u64) -> Digest {
    Digest([tag, tag.wrapping_mul(0x9e37_79b9), 0xffff_ffff_0000_0000, tag << 7])
}

fn signed(tx: UserTx, secret: &SecretKey) -> SignedTx {
    let signature = sign(secret, &tx.signing_message(CHAIN_ID));
    SignedTx { tx, signature }
}

struct Writer {
    root: PathBuf,
    bytes: usize,
    files: usize,
}

impl Writer {
    fn put(&mut self, target: &str, name: &str, contents: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, contents).unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
        self.bytes += contents.len();
        self.files += 1;
    }
}

fn main() {
    let root = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("seed/ has a parent").join("corpus")
    });
    let mut out = Writer { root, bytes: 0, files: 0 };

    let (alice_secret, alice) = key(1);
    let (bob_secret, bob) = key(2);
    let (_, carol) = key(3);

    // Accounts.
    let accounts = [
        ("zero", Account::default()),
        ("alice", Account { pubkey: alice, balance: 50_000, nonce: 3 }),
        ("max", Account { pubkey: bob, balance: MAX_AMOUNT, nonce: u32::MAX }),
    ];
    for (name, account) in &accounts {
        out.put("decode_account", name, &account.encode());
    }

    // User transactions, signed or not.
    let transfer =
        UserTx::Transfer(Transfer { from: 1, to: 2, to_pubkey: bob, amount: 10_000, fee: 10, nonce: 1 });
    let transfer_max = UserTx::Transfer(Transfer {
        from: u32::MAX,
        to: 7,
        to_pubkey: carol,
        amount: MAX_AMOUNT,
        fee: MAX_AMOUNT,
        nonce: u32::MAX,
    });
    // P2WPKH (22 bytes) and the longest script allowed.
    let mut p2wpkh = vec![0x00, 0x14];
    p2wpkh.extend(1..=20u8);
    let withdraw =
        UserTx::Withdraw(Withdraw { from: 2, amount: 5_000, fee: 20, nonce: 4, l1_script: p2wpkh });
    let withdraw_empty =
        UserTx::Withdraw(Withdraw { from: 3, amount: 0, fee: 0, nonce: 0, l1_script: vec![] });
    let withdraw_long = UserTx::Withdraw(Withdraw {
        from: 1,
        amount: 1,
        fee: 1,
        nonce: 9,
        l1_script: vec![0x51; MAX_L1_SCRIPT_LEN],
    });
    let user_txs = [
        ("transfer", transfer.clone(), &alice_secret),
        ("transfer-max", transfer_max, &bob_secret),
        ("withdraw", withdraw.clone(), &bob_secret),
        ("withdraw-empty-script", withdraw_empty, &alice_secret),
        ("withdraw-longest-script", withdraw_long, &alice_secret),
    ];
    for (name, tx, secret) in &user_txs {
        out.put("decode_user_tx", name, &tx.encode());
        out.put("decode_signed_tx", name, &signed(tx.clone(), secret).encode());
    }

    // Deposits and block transactions.
    let deposit = Deposit {
        l1_outpoint: L1Outpoint { txid: [0xab; 32], vout: 1 },
        amount: 100_000,
        to: 4,
        to_pubkey: carol,
    };
    let deposit_max = Deposit {
        l1_outpoint: L1Outpoint { txid: [0xff; 32], vout: u32::MAX },
        amount: MAX_AMOUNT,
        to: u32::MAX,
        to_pubkey: PubKey([0xffff_ffff_0000_0000; 5]),
    };
    out.put("decode_deposit", "deposit", &deposit.encode());
    out.put("decode_deposit", "max", &deposit_max.encode());
    let l2_txs = [
        ("user-transfer", L2Tx::User(signed(transfer, &alice_secret))),
        ("deposit", L2Tx::Deposit(deposit)),
        ("forced-withdraw", L2Tx::Forced(signed(withdraw, &bob_secret))),
    ];
    for (name, tx) in &l2_txs {
        out.put("decode_l2_tx", name, &tx.encode());
    }

    // Headers and blocks.
    let header = BlockHeader {
        number: 42,
        parent_hash: digest(1),
        timestamp_ms: 1_795_000_000_000,
        prev_state_root: digest(2),
        state_root: digest(3),
        tx_commitment: digest(4),
        l1_cursor_before: 7,
        l1_cursor_after: 8,
        l1_anchor: L1Anchor { height: 900_000, hash: [0x5a; 32] },
    };
    out.put("decode_block_header", "genesis", &BlockHeader::default().encode());
    out.put("decode_block_header", "block-42", &header.encode());
    let next = BlockHeader { number: 43, parent_hash: header.hash(), l1_cursor_before: 8, ..header.clone() };
    out.put("decode_block_header", "block-43", &next.encode());
    out.put("decode_block", "empty", &Block::default().encode());
    let txs = l2_txs.iter().map(|(_, tx)| tx.clone()).collect();
    out.put("decode_block", "three-txs", &Block { header, txs }.encode());

    // Genesis files: one written by serde_json, one by hand (other field order, spacing).
    let genesis = Genesis {
        chain_id: CHAIN_ID,
        fee_account: 1,
        accounts: vec![
            GenesisAccount { index: 1, pubkey: alice, balance: 1_000_000 },
            GenesisAccount { index: 2, pubkey: bob, balance: MAX_AMOUNT },
        ],
        block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
        batch: rollup_l2::BatchRules::default(),
        code_control: None,
        l1: rollup_l2::L1Rules::devnet(),
    };
    let pretty = serde_json::to_string_pretty(&genesis).expect("genesis serializes");
    out.put("genesis_json", "two-accounts", pretty.as_bytes());
    let [a, b, c, d, e] = carol.0;
    let hand = format!(
        "{{\"accounts\":[{{\"balance\":0,\"pubkey\":[{a},{b},{c},{d},{e}],\"index\":4294967295}}],\
         \"fee_account\":4294967295,\"chain_id\":18446744073709551615}}"
    );
    out.put("genesis_json", "hand-written", hand.as_bytes());

    // EcGFp5: the same target reads field elements, scalars, points, keys and signatures.
    let minus_one = Scalar::ZERO - Scalar::ONE;
    let signature = sign(&alice_secret, &digest(9));
    out.put("decode_ecgfp5", "neutral", &Point::NEUTRAL.to_bytes());
    out.put("decode_ecgfp5", "generator", &Point::GENERATOR.to_bytes());
    out.put("decode_ecgfp5", "public-key", &alice_secret.public_key().to_bytes());
    out.put("decode_ecgfp5", "scalar-n-minus-1", &minus_one.to_bytes());
    out.put("decode_ecgfp5", "signature", &signature);

    println!("wrote {} files, {} bytes, under {}", out.files, out.bytes, out.root.display());
}
