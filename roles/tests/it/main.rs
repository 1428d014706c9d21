//! The sequencer component, driven directly (no runtime): admission with every
//! rejection reason, durability across reloads, block production, L1 messages first.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod da;

use std::sync::Arc;
use std::time::Duration;

use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, Deposit, Genesis, GenesisAccount, L1Outpoint, L2Tx, Receipt, SignedTx, Transfer,
    TxError, UserTx, MAX_AMOUNT,
};
use rollup_roles::sequencer::{
    L1Message, LoadSequencerError, MempoolLimits, QueueL1Source, SequencerComponent, SequencerSettings,
    SubmitError, SubmitTxError,
};
use rollup_storage::Store;

mod l1;

const CHAIN_ID: u64 = 5;

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN_ID,
        fee_account: 1,
        accounts: vec![
            GenesisAccount { index: 1, pubkey: pubkey_of(&key(1)), balance: 0 },
            GenesisAccount { index: 2, pubkey: pubkey_of(&key(2)), balance: 10_000 },
        ],
        block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
        batch: rollup_l2::BatchRules::default(),
        code_control: None,
        l1: rollup_l2::L1Rules::devnet(),
    }
}

fn settings(per_account: usize, total: usize) -> SequencerSettings {
    SequencerSettings {
        block_time: Duration::from_millis(50),
        max_block_txs: 16,
        limits: MempoolLimits { per_account, total },
    }
}

fn open(store: &Arc<Store>, l1: QueueL1Source) -> SequencerComponent {
    SequencerComponent::load(store.clone(), &genesis(), settings(8, 100), Box::new(l1)).unwrap()
}

fn transfer(from_key: u8, from: u32, to: u32, amount: u64, fee: u64, nonce: u32) -> SignedTx {
    let tx =
        UserTx::Transfer(Transfer { from, to, to_pubkey: pubkey_of(&key(to as u8)), amount, fee, nonce });
    let signature = sign(&key(from_key), &tx.signing_message(CHAIN_ID));
    SignedTx { tx, signature }
}

fn refused(result: Result<rollup_l2::Digest, SubmitTxError>) -> SubmitError {
    match result {
        Err(SubmitTxError::Refused(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), CHAIN_ID).unwrap());
    (dir, store)
}

#[test]
fn a_transfer_is_admitted_sealed_and_survives_reloads() {
    let (_dir, store) = store();
    let mut sequencer = open(&store, QueueL1Source::default());
    let genesis_root = sequencer.head().state_root;
    let id = sequencer.submit(transfer(2, 2, 3, 1_000, 10, 1)).unwrap();
    assert_eq!(sequencer.pending(), 1);
    // Nothing sealed yet; a restart keeps the admitted transaction.
    drop(sequencer);
    let mut sequencer = open(&store, QueueL1Source::default());
    assert_eq!(sequencer.pending(), 1);
    let header = sequencer.produce_block().unwrap().unwrap();
    assert_eq!(header.number, 1);
    assert_eq!(header.prev_state_root, genesis_root);
    assert_eq!(sequencer.pending(), 0);
    let receipt = sequencer.receipt(&id).unwrap().unwrap();
    assert_eq!((receipt.block_number, receipt.position, receipt.receipt), (1, 0, Receipt::Success));
    assert_eq!(sequencer.account(2).map(|a| (a.balance, a.nonce)), Some((8_990, 1)));
    assert_eq!(sequencer.account(3).map(|a| (a.balance, a.nonce)), Some((1_000, 0)));
    assert_eq!(sequencer.account(1).map(|a| a.balance), Some(10));
    assert_eq!(sequencer.account_by_pubkey(&pubkey_of(&key(3))).map(|(index, _)| index), Some(3));
    let (account, proof, root) = sequencer.proof(3);
    assert!(proof.verify(&account.unwrap().leaf(), &root));
    // Nothing to include: no block.
    assert_eq!(sequencer.produce_block().unwrap(), None);

    drop(sequencer);
    let sequencer = open(&store, QueueL1Source::default());
    assert_eq!(sequencer.head(), &header);
    assert_eq!(sequencer.account(3).map(|a| a.balance), Some(1_000));
    assert_eq!(sequencer.pending(), 0);
    assert_eq!(sequencer.block(1).unwrap().unwrap().txs.len(), 1);
    assert_eq!(sequencer.block(2).unwrap(), None);
}

#[test]
fn an_account_created_later_with_the_same_key_does_not_take_the_first_ones_place() {
    let (_dir, store) = store();
    let mut sequencer = open(&store, QueueL1Source::default());
    // Account 2 pays the free index 9 and names account 2's own key there: one key,
    // two accounts. Anyone could do this with anyone's key.
    let tx = UserTx::Transfer(Transfer {
        from: 2,
        to: 9,
        to_pubkey: pubkey_of(&key(2)),
        amount: 100,
        fee: 1,
        nonce: 1,
    });
    let signature = sign(&key(2), &tx.signing_message(CHAIN_ID));
    sequencer.submit(SignedTx { tx, signature }).unwrap();
    sequencer.produce_block().unwrap().unwrap();
    assert_eq!(sequencer.account(9).map(|account| account.pubkey), Some(pubkey_of(&key(2))));
    // The key still finds its first account, before and after a reload.
    assert_eq!(sequencer.account_by_pubkey(&pubkey_of(&key(2))).map(|(index, _)| index), Some(2));
    drop(sequencer);
    let sequencer = open(&store, QueueL1Source::default());
    assert_eq!(sequencer.account_by_pubkey(&pubkey_of(&key(2))).map(|(index, _)| index), Some(2));
}

#[test]
fn each_rejection_reason_is_reported_and_changes_nothing() {
    let (_dir, store) = store();
    let mut sequencer = open(&store, QueueL1Source::default());
    let root = sequencer.head().state_root;
    let mut forged = transfer(2, 2, 3, 10, 1, 1);
    forged.signature[0] ^= 1;
    let cases = [
        (forged, SubmitError::Invalid(TxError::BadSignature)),
        (transfer(3, 2, 3, 10, 1, 1), SubmitError::Invalid(TxError::BadSignature)),
        (transfer(2, 2, 3, 10, 1, 2), SubmitError::Invalid(TxError::BadNonce { expected: 1, got: 2 })),
        (
            transfer(2, 2, 3, 20_000, 1, 1),
            SubmitError::Invalid(TxError::InsufficientBalance { balance: 10_000, needed: 20_001 }),
        ),
        (transfer(2, 2, 3, 0, 1, 1), SubmitError::Invalid(TxError::ZeroAmount)),
        (
            transfer(2, 2, 3, MAX_AMOUNT + 1, 1, 1),
            SubmitError::Invalid(TxError::AmountOverflow { value: MAX_AMOUNT + 1, max: MAX_AMOUNT }),
        ),
        (transfer(4, 4, 3, 10, 1, 1), SubmitError::Invalid(TxError::UnknownSender { index: 4 })),
        (transfer(2, 2, 0, 10, 1, 1), SubmitError::Invalid(TxError::ReservedIndex)),
    ];
    for (signed, error) in cases {
        assert_eq!(refused(sequencer.submit(signed)), error);
    }
    // A receiver that exists with another key.
    let mut mismatch = transfer(2, 2, 1, 10, 1, 1);
    if let UserTx::Transfer(t) = &mut mismatch.tx {
        t.to_pubkey = pubkey_of(&key(9));
    }
    mismatch.signature = sign(&key(2), &mismatch.tx.signing_message(CHAIN_ID));
    assert_eq!(
        refused(sequencer.submit(mismatch)),
        SubmitError::Invalid(TxError::PubkeyMismatch { index: 1 })
    );
    assert_eq!(sequencer.pending(), 0);

    // Replay: once admitted it is known; once sealed its nonce is spent.
    let good = transfer(2, 2, 3, 10, 1, 1);
    sequencer.submit(good.clone()).unwrap();
    assert_eq!(refused(sequencer.submit(good.clone())), SubmitError::AlreadyKnown);
    sequencer.produce_block().unwrap();
    assert_eq!(
        refused(sequencer.submit(good)),
        SubmitError::Invalid(TxError::BadNonce { expected: 2, got: 1 })
    );
    assert_ne!(sequencer.head().state_root, root);
}

#[test]
fn higher_fees_replace_and_limits_evict_the_cheapest() {
    let (_dir, store) = store();
    let mut sequencer = SequencerComponent::load(
        store.clone(),
        &genesis(),
        settings(2, 3),
        Box::new(QueueL1Source::default()),
    )
    .unwrap();
    let first = sequencer.submit(transfer(2, 2, 3, 3_000, 10, 1)).unwrap();
    assert_eq!(refused(sequencer.submit(transfer(2, 2, 3, 3_000, 10, 1))), SubmitError::AlreadyKnown);
    assert_eq!(
        refused(sequencer.submit(transfer(2, 2, 3, 2_999, 10, 1))),
        SubmitError::ReplacementUnderpriced { offered: 10, required: 11 }
    );
    let replacement = sequencer.submit(transfer(2, 2, 3, 3_000, 11, 1)).unwrap();
    assert_ne!(first, replacement);
    assert_eq!(sequencer.pending(), 1);
    sequencer.submit(transfer(2, 2, 4, 1_000, 5, 2)).unwrap();
    assert_eq!(
        refused(sequencer.submit(transfer(2, 2, 3, 10, 5, 3))),
        SubmitError::AccountLimit { index: 2, limit: 2 }
    );
    sequencer.produce_block().unwrap();
    assert!(sequencer.receipt(&first).unwrap().is_none(), "the replaced transaction was never included");
    assert!(sequencer.receipt(&replacement).unwrap().is_some());

    // Fill the pool (3): the cheapest tail of another sender makes room for a better fee.
    let cheap = sequencer.submit(transfer(2, 2, 3, 10, 1, 3)).unwrap();
    sequencer.submit(transfer(3, 3, 2, 5, 3, 1)).unwrap();
    sequencer.submit(transfer(3, 3, 2, 5, 3, 2)).unwrap();
    assert_eq!(
        refused(sequencer.submit(transfer(4, 4, 2, 5, 1, 1))),
        SubmitError::MempoolFull { offered: 1, cheapest: 1 }
    );
    sequencer.submit(transfer(4, 4, 2, 5, 2, 1)).unwrap();
    assert_eq!(sequencer.pending(), 3);

    // The evicted transaction is gone for good, also after a reload.
    drop(sequencer);
    let mut sequencer = SequencerComponent::load(
        store.clone(),
        &genesis(),
        settings(2, 3),
        Box::new(QueueL1Source::default()),
    )
    .unwrap();
    assert_eq!(sequencer.pending(), 3);
    let header = sequencer.produce_block().unwrap().unwrap();
    let block = sequencer.block(header.number).unwrap().unwrap();
    let senders: Vec<u32> = block
        .txs
        .iter()
        .map(|tx| match tx {
            L2Tx::User(signed) => signed.tx.from(),
            _ => 0,
        })
        .collect();
    // Fee priority across senders, nonce order within one.
    assert_eq!(senders, [3, 3, 4]);
    assert!(sequencer.receipt(&cheap).unwrap().is_none());
}

#[test]
fn l1_messages_come_first_and_advance_the_cursor() {
    let (_dir, store) = store();
    let mut l1 = QueueL1Source::default();
    let deposit = |cursor, to, amount| L1Message {
        cursor,
        tx: L2Tx::Deposit(Deposit {
            l1_outpoint: L1Outpoint { txid: [cursor as u8; 32], vout: 0 },
            amount,
            to,
            to_pubkey: pubkey_of(&key(to as u8)),
        }),
    };
    l1.push(deposit(0, 5, 700));
    l1.push(deposit(1, 1, 1));
    let mut sequencer = open(&store, l1);
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap();
    let header = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((header.l1_cursor_before, header.l1_cursor_after), (0, 2));
    let block = sequencer.block(1).unwrap().unwrap();
    assert!(matches!(block.txs[0], L2Tx::Deposit(_)));
    assert!(matches!(block.txs[1], L2Tx::Deposit(_)));
    assert!(matches!(block.txs[2], L2Tx::User(_)));
    assert_eq!(sequencer.account(5).map(|a| a.balance), Some(700));
    // The next block does not consume them again.
    sequencer.submit(transfer(2, 2, 3, 10, 1, 2)).unwrap();
    let next = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((next.l1_cursor_before, next.l1_cursor_after), (2, 2));
    assert_eq!(sequencer.block(2).unwrap().unwrap().txs.len(), 1);
}

#[test]
fn a_database_of_another_genesis_is_refused() {
    let (_dir, store) = store();
    drop(open(&store, QueueL1Source::default()));
    let mut other = genesis();
    other.accounts[1].balance += 1;
    match SequencerComponent::load(
        store.clone(),
        &other,
        settings(8, 100),
        Box::new(QueueL1Source::default()),
    ) {
        Err(LoadSequencerError::GenesisMismatch { found, expected }) => {
            assert_eq!((found, expected), (genesis().hash(), other.hash()))
        }
        other => panic!("expected a genesis mismatch, got {other:?}"),
    }
}

#[test]
fn a_full_mempool_seals_a_block_without_waiting() {
    let (_dir, store) = store();
    let full_at_two = SequencerSettings { max_block_txs: 2, ..settings(8, 100) };
    let mut sequencer =
        SequencerComponent::load(store.clone(), &genesis(), full_at_two, Box::new(QueueL1Source::default()))
            .unwrap();
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap();
    assert_eq!(sequencer.head().number, 0);
    sequencer.submit(transfer(2, 2, 3, 10, 1, 2)).unwrap();
    assert_eq!(sequencer.head().number, 1);
    assert_eq!(sequencer.pending(), 0);
    assert_eq!(sequencer.block(1).unwrap().unwrap().txs.len(), 2);
}
