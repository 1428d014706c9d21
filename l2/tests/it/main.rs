//! The state transition function against a naive reference model, on seeded random
//! transaction sequences that include every kind of invalid transaction.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

mod blob;

use rand::{Rng, SeedableRng};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, Account, AccountTree, Deposit, L1Outpoint, L2Tx, MemoryAccounts, MemoryTreeStore,
    PubKey, Receipt, SignedTx, State, StfParams, Transfer, TxError, UserTx, Withdraw, WithdrawalRecord,
    MAX_AMOUNT,
};

const CHAIN_ID: u64 = 77;
const FEE_ACCOUNT: u32 = 9;
const PARAMS: StfParams = StfParams { chain_id: CHAIN_ID, fee_account: FEE_ACCOUNT };

/// The reference model: accounts in a map, every rule written out plainly.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    accounts: BTreeMap<u32, (PubKey, u64, u32)>,
}

#[derive(Debug, PartialEq)]
enum ModelError {
    Rejected,
}

impl Model {
    fn user(&mut self, tx: &UserTx, signer: &PubKey) -> Result<Option<WithdrawalRecord>, ModelError> {
        let from = tx.from();
        let Some(&(pubkey, balance, nonce)) = self.accounts.get(&from) else {
            return Err(ModelError::Rejected);
        };
        if from == 0 || *signer != pubkey || tx.nonce() as u64 != nonce as u64 + 1 {
            return Err(ModelError::Rejected);
        }
        let (amount, fee) = match tx {
            UserTx::Transfer(t) => (t.amount as u128, t.fee as u128),
            UserTx::Withdraw(w) => {
                if w.l1_script.is_empty() || w.l1_script.len() > 42 {
                    return Err(ModelError::Rejected);
                }
                (w.amount as u128, w.fee as u128)
            }
        };
        let max = MAX_AMOUNT as u128;
        if amount == 0 || amount > max || fee > max || amount + fee > balance as u128 {
            return Err(ModelError::Rejected);
        }
        let mut next = self.clone();
        next.accounts.insert(from, (pubkey, balance - (amount + fee) as u64, nonce + 1));
        let withdrawal = match tx {
            UserTx::Transfer(t) => {
                next.credit(t.to, t.to_pubkey, amount)?;
                None
            }
            UserTx::Withdraw(w) => {
                Some(WithdrawalRecord { l1_script: w.l1_script.clone(), amount: w.amount })
            }
        };
        if fee > 0 {
            let fee_key = next.accounts.get(&FEE_ACCOUNT).ok_or(ModelError::Rejected)?.0;
            next.credit(FEE_ACCOUNT, fee_key, fee)?;
        }
        *self = next;
        Ok(withdrawal)
    }

    fn credit(&mut self, to: u32, pubkey: PubKey, amount: u128) -> Result<(), ModelError> {
        if to == 0 || amount > MAX_AMOUNT as u128 {
            return Err(ModelError::Rejected);
        }
        let (key, balance, nonce) = self.accounts.get(&to).copied().unwrap_or((pubkey, 0, 0));
        if key != pubkey || balance as u128 + amount > MAX_AMOUNT as u128 {
            return Err(ModelError::Rejected);
        }
        self.accounts.insert(to, (key, balance + amount as u64, nonce));
        Ok(())
    }
}

fn keys() -> Vec<SecretKey> {
    (0u8..8).map(|i| SecretKey::from_seed(&[i; 32])).collect()
}

fn fresh_state(model: &Model) -> State<MemoryAccounts, MemoryTreeStore> {
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    for (index, (pubkey, balance, nonce)) in &model.accounts {
        state.put_account(*index, Account { pubkey: *pubkey, balance: *balance, nonce: *nonce });
    }
    state
}

fn random_amount(rng: &mut impl Rng) -> u64 {
    match rng.gen_range(0..10) {
        0 => 0,
        1 => MAX_AMOUNT + rng.gen_range(1..1000),
        2 => rng.gen_range(1..=MAX_AMOUNT),
        _ => rng.gen_range(1..50_000),
    }
}

#[test]
fn the_stf_matches_the_reference_model_on_random_sequences() {
    let keys = keys();
    let pubkeys: Vec<PubKey> = keys.iter().map(pubkey_of).collect();
    for seed in 0..4u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut model = Model::default();
        for index in 1..=4u32 {
            model.accounts.insert(index, (pubkeys[index as usize], rng.gen_range(0..200_000), 0));
        }
        model.accounts.insert(FEE_ACCOUNT, (pubkeys[0], 0, 0));
        let mut state = fresh_state(&model);
        // A node rebuilding from the DA layer: runs the packed form of each applied
        // transaction, and must stay identical.
        let mut rebuilt = fresh_state(&model);
        let (mut applied, mut rejected) = (0, 0);
        for step in 0..200 {
            let from: u32 = if rng.gen_bool(0.85) { rng.gen_range(1..=4) } else { rng.gen_range(0..=6) };
            let signer_index = if rng.gen_bool(0.9) { (from as usize).min(7) } else { rng.gen_range(0..8) };
            let nonce_base = model.accounts.get(&from).map_or(0, |account| account.2);
            let nonce = match rng.gen_range(0..10) {
                0 => nonce_base,
                1 => nonce_base + 2,
                _ => nonce_base + 1,
            };
            let tx = if rng.gen_bool(0.8) {
                let to: u32 = if rng.gen_bool(0.9) { rng.gen_range(1..=8) } else { 0 };
                let to_pubkey = if rng.gen_bool(0.95) {
                    pubkeys[(to as usize).min(7)]
                } else {
                    pubkeys[rng.gen_range(0..8)]
                };
                UserTx::Transfer(Transfer {
                    from,
                    to,
                    to_pubkey,
                    amount: random_amount(&mut rng),
                    fee: rng.gen_range(0..50),
                    nonce,
                })
            } else {
                let len = if rng.gen_bool(0.9) { 22 } else { 43 };
                UserTx::Withdraw(Withdraw {
                    from,
                    amount: random_amount(&mut rng),
                    fee: rng.gen_range(0..50),
                    nonce,
                    l1_script: vec![0x51; len],
                })
            };
            let signature = sign(&keys[signer_index], &tx.signing_message(CHAIN_ID));
            let signed = SignedTx { tx: tx.clone(), signature };
            let expected = model.user(&tx, &pubkeys[signer_index]);
            let packed = state.pack(&L2Tx::User(signed.clone())).expect("a user transaction packs");
            let got = state.apply_user(&PARAMS, &signed);
            match (&expected, &got) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "seed {seed} step {step}");
                    assert_eq!(
                        rebuilt.apply_packed(&PARAMS, &packed).as_ref(),
                        Ok(b),
                        "seed {seed} step {step}"
                    );
                    assert_eq!(rebuilt.root(), state.root(), "seed {seed} step {step}: rebuilt root");
                    applied += 1;
                }
                (Err(ModelError::Rejected), Err(_)) => rejected += 1,
                _ => panic!("seed {seed} step {step}: model {expected:?}, stf {got:?} for {tx:?}"),
            }
            for (index, (pubkey, balance, nonce)) in &model.accounts {
                assert_eq!(
                    state.account(*index),
                    Some(Account { pubkey: *pubkey, balance: *balance, nonce: *nonce })
                );
            }
            if step % 30 == 0 {
                assert_eq!(state.root(), fresh_state(&model).root(), "seed {seed} step {step}: root");
            }
        }
        assert!(applied > 20 && rejected > 20, "seed {seed}: {applied} applied, {rejected} rejected");
    }
}

fn genesis_state() -> (Vec<SecretKey>, State<MemoryAccounts, MemoryTreeStore>) {
    let keys = keys();
    let mut model = Model::default();
    model.accounts.insert(1, (pubkey_of(&keys[1]), 1_000, 0));
    model.accounts.insert(FEE_ACCOUNT, (pubkey_of(&keys[0]), 0, 0));
    let state = fresh_state(&model);
    (keys, state)
}

fn transfer(keys: &[SecretKey], amount: u64, fee: u64, nonce: u32) -> SignedTx {
    let tx =
        UserTx::Transfer(Transfer { from: 1, to: 2, to_pubkey: pubkey_of(&keys[2]), amount, fee, nonce });
    let signature = sign(&keys[1], &tx.signing_message(CHAIN_ID));
    SignedTx { tx, signature }
}

#[test]
fn each_rejection_has_its_reason_and_changes_nothing() {
    let (keys, mut state) = genesis_state();
    let root = state.root();
    let cases = [
        (transfer(&keys, 10, 1, 2), TxError::BadNonce { expected: 1, got: 2 }),
        (transfer(&keys, 0, 1, 1), TxError::ZeroAmount),
        (transfer(&keys, 2_000, 1, 1), TxError::InsufficientBalance { balance: 1_000, needed: 2_001 }),
        (
            transfer(&keys, MAX_AMOUNT + 1, 0, 1),
            TxError::AmountOverflow { value: MAX_AMOUNT + 1, max: MAX_AMOUNT },
        ),
    ];
    for (signed, error) in cases {
        assert_eq!(state.apply_user(&PARAMS, &signed), Err(error));
        assert_eq!(state.root(), root);
    }
    let mut forged = transfer(&keys, 10, 1, 1);
    forged.signature[3] ^= 1;
    assert_eq!(state.apply_user(&PARAMS, &forged), Err(TxError::BadSignature));
    let other_chain = StfParams { chain_id: CHAIN_ID + 1, ..PARAMS };
    assert_eq!(state.apply_user(&other_chain, &transfer(&keys, 10, 1, 1)), Err(TxError::BadSignature));
    let mut unknown = transfer(&keys, 10, 1, 1);
    if let UserTx::Transfer(t) = &mut unknown.tx {
        t.from = 5;
    }
    assert_eq!(state.apply_user(&PARAMS, &unknown), Err(TxError::UnknownSender { index: 5 }));
    assert_eq!(state.root(), root);

    // The valid one goes through once; replaying it is a nonce error.
    let good = transfer(&keys, 10, 1, 1);
    assert_eq!(state.apply_user(&PARAMS, &good), Ok(None));
    assert_eq!(state.account(1).map(|a| (a.balance, a.nonce)), Some((989, 1)));
    assert_eq!(state.account(2).map(|a| (a.balance, a.nonce)), Some((10, 0)));
    assert_eq!(state.account(FEE_ACCOUNT).map(|a| a.balance), Some(1));
    assert_eq!(state.apply_user(&PARAMS, &good), Err(TxError::BadNonce { expected: 2, got: 1 }));
}

#[test]
fn forced_transactions_and_deposits_fail_as_recorded_no_ops() {
    let (keys, mut state) = genesis_state();
    let root = state.root();
    let bad = transfer(&keys, 5_000, 0, 1);
    assert_eq!(
        state.apply_tx(&PARAMS, &L2Tx::Forced(bad.clone())),
        Ok((Receipt::Failed { error: TxError::InsufficientBalance { balance: 1_000, needed: 5_000 } }, None))
    );
    assert_eq!(state.root(), root);
    // The same transaction from the sequencer is refused outright.
    assert_eq!(
        state.apply_tx(&PARAMS, &L2Tx::User(bad)),
        Err(TxError::InsufficientBalance { balance: 1_000, needed: 5_000 })
    );

    let deposit = |to, pubkey, amount| {
        L2Tx::Deposit(Deposit {
            l1_outpoint: L1Outpoint { txid: [1; 32], vout: 0 },
            amount,
            to,
            to_pubkey: pubkey,
        })
    };
    assert_eq!(
        state.apply_tx(&PARAMS, &deposit(1, pubkey_of(&keys[3]), 5)),
        Ok((Receipt::Failed { error: TxError::PubkeyMismatch { index: 1 } }, None))
    );
    assert_eq!(state.root(), root);
    assert_eq!(state.apply_tx(&PARAMS, &deposit(3, pubkey_of(&keys[3]), 500)), Ok((Receipt::Success, None)));
    assert_eq!(state.account(3).map(|a| a.balance), Some(500));
    assert_eq!(
        state.apply_tx(&PARAMS, &deposit(3, pubkey_of(&keys[3]), MAX_AMOUNT)),
        Ok((
            Receipt::Failed { error: TxError::AmountOverflow { value: MAX_AMOUNT + 500, max: MAX_AMOUNT } },
            None
        ))
    );
}

#[test]
fn genesis_is_validated_whole_and_hashed() {
    let keys = keys();
    let pk = |i: usize| serde_json::to_value(pubkey_of(&keys[i])).unwrap();
    let text = serde_json::json!({
        "chain_id": 77,
        "fee_account": 9,
        "accounts": [
            { "index": 1, "pubkey": pk(1), "balance": 1000 },
            { "index": 9, "pubkey": pk(0), "balance": 0 },
        ],
    })
    .to_string();
    let genesis = rollup_l2::Genesis::from_json(&text).unwrap();
    assert_eq!(genesis.params(), PARAMS);
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    genesis.initialize(&mut state);
    assert_eq!(state.root(), genesis_state().1.root());

    // The hash covers every field.
    let mut other = genesis.clone();
    other.accounts[0].balance += 1;
    assert_ne!(other.hash(), genesis.hash());
    let mut reordered = genesis.clone();
    reordered.accounts.reverse();
    assert_eq!(reordered.hash(), genesis.hash());

    let bad = serde_json::json!({
        "chain_id": 1,
        "fee_account": 4,
        "accounts": [
            { "index": 0, "pubkey": pk(1), "balance": 1 },
            { "index": 2, "pubkey": pk(1), "balance": MAX_AMOUNT + 1 },
            { "index": 2, "pubkey": pk(2), "balance": 1 },
        ],
    })
    .to_string();
    assert_eq!(
        rollup_l2::Genesis::from_json(&bad).unwrap_err().to_string(),
        format!(
            "invalid genesis: account index 0 is reserved; account 2 balance {} exceeds {MAX_AMOUNT}; account 2 is listed twice; \
             fee account 4 is not among the accounts",
            MAX_AMOUNT + 1
        )
    );
    let unknown_field = r#"{"chain_id": 1, "fee_account": 1, "accounts": [], "extra": 1}"#;
    assert!(rollup_l2::Genesis::from_json(unknown_field)
        .unwrap_err()
        .to_string()
        .starts_with("genesis is not valid: unknown field `extra`"));
}
