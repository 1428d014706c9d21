//! The sequencer's stored blocks become a batch blob, and a node holding only the
//! genesis, the posted chunks and the L1 messages replays it to the same headers
//! and state.

use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::SecretKey as BitcoinKey;
use rollup_l1::da::{split_batch, Envelope};
use rollup_l2::{
    compress, da_commitment, AccountTree, BatchBlob, L2Tx, MemoryAccounts, MemoryTreeStore, PackedTx, State,
};
use rollup_roles::controller::BatchRecord;
use rollup_roles::da::{batch_blob, BatchBlobError, DaReplay, ReplayError};
use rollup_roles::sequencer::{L1Message, QueueL1Source};

use super::{genesis, key, open, store, transfer, CHAIN_ID};

fn poster(seed: u8) -> bitcoin::XOnlyPublicKey {
    let secp = Secp256k1::new();
    Keypair::from_secret_key(&secp, &BitcoinKey::from_slice(&[seed; 32]).unwrap()).x_only_public_key().0
}

fn chunks(batch: u64, posted: &[u8]) -> Vec<Envelope> {
    split_batch(CHAIN_ID, batch, posted).unwrap()
}

fn genesis_state() -> State<MemoryAccounts, MemoryTreeStore> {
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    genesis().initialize(&mut state);
    state
}

#[test]
fn a_sealed_batch_is_posted_and_replayed_from_its_chunks_and_l1_messages() {
    let (_dir, store) = store();
    let mut l1 = QueueL1Source::default();
    let deposit = rollup_l2::Deposit {
        l1_outpoint: rollup_l2::L1Outpoint { txid: [9; 32], vout: 1 },
        amount: 700,
        to: 5,
        to_pubkey: rollup_l2::pubkey_of(&key(5)),
    };
    l1.push(L1Message { cursor: 0, tx: L2Tx::Deposit(deposit) });
    let mut sequencer = open(&store, l1);
    // Block 1: the deposit, a transfer creating account 3, one to existing account 5.
    sequencer.submit(transfer(2, 2, 3, 100, 1, 1)).unwrap();
    sequencer.submit(transfer(2, 2, 5, 50, 2, 2)).unwrap();
    let one = sequencer.produce_block().unwrap().unwrap();
    // Block 2: account 3 pays back; 3 exists now, so no key is carried.
    sequencer.submit(transfer(3, 3, 2, 40, 0, 1)).unwrap();
    let two = sequencer.produce_block().unwrap().unwrap();
    let record = BatchRecord {
        number: 0,
        first_block: 1,
        last_block: 2,
        blocks: 2,
        blob_bytes: 0,
        first_timestamp_ms: one.timestamp_ms,
        last_timestamp_ms: two.timestamp_ms,
    };
    let blob = batch_blob(&store, &record).unwrap();
    assert_eq!(
        blob.blocks.iter().map(|block| block.txs.clone()).collect::<Vec<_>>(),
        vec![
            vec![
                PackedTx::Transfer {
                    from: 2,
                    to: 3,
                    amount: 100,
                    fee: 1,
                    new_pubkey: Some(rollup_l2::pubkey_of(&key(3)))
                },
                PackedTx::Transfer { from: 2, to: 5, amount: 50, fee: 2, new_pubkey: None },
            ],
            vec![PackedTx::Transfer { from: 3, to: 2, amount: 40, fee: 0, new_pubkey: None }],
        ]
    );
    assert_eq!(blob.blocks[0].l1_messages, 1);
    let bytes = blob.encode();
    let posted = compress(&bytes);

    let operator = poster(1);
    let mut node = DaReplay::new(genesis().params(), genesis_state(), vec![operator], 1 << 20);
    // Someone else's "batch 0" is dropped; the operator's is kept.
    let forged = compress(&BatchBlob { number: 0, ..blob.clone() }.encode()[..10]);
    assert!(!node.push_chunk(chunks(0, &forged)[0].clone(), &poster(2)));
    for chunk in chunks(0, &posted) {
        assert!(node.push_chunk(chunk, &operator));
    }
    // The batch consumes one L1 message the node has not read yet: it waits.
    assert!(node.step().is_empty());
    let block_one = sequencer.block(1).unwrap().unwrap();
    node.push_message(block_one.txs[0].clone());
    let replayed = node.step();
    assert_eq!(replayed.len(), 1);
    let replayed = replayed.into_iter().next().unwrap().unwrap();
    assert_eq!(replayed.number, 0);
    assert_eq!(replayed.da_commitment, da_commitment(&bytes));
    assert_eq!(replayed.headers, vec![one, two.clone()]);
    assert_eq!(node.rebuilder().state().root(), sequencer.head().state_root);
    assert_eq!(node.rebuilder().head(), &two);

    // Batch 1 posted corrupt (not a zlib stream): refused, its chunks dropped, the
    // chain stays; the corrected repost replays.
    let mut broken = posted.clone();
    broken[3] ^= 0xff;
    assert!(node.push_chunk(chunks(1, &broken)[0].clone(), &operator));
    let outcome = node.step();
    assert!(matches!(outcome.as_slice(), [Err(ReplayError::Blob { batch: 1, .. })]), "{outcome:?}");
    assert_eq!(node.rebuilder().next_batch(), 1);
    sequencer.submit(transfer(2, 2, 3, 1, 0, 3)).unwrap();
    let three = sequencer.produce_block().unwrap().unwrap();
    let record = BatchRecord { number: 1, first_block: 3, last_block: 3, blocks: 1, ..record };
    let blob = batch_blob(&store, &record).unwrap();
    for chunk in chunks(1, &compress(&blob.encode())) {
        assert!(node.push_chunk(chunk, &operator));
    }
    let outcome = node.step();
    assert!(matches!(outcome.as_slice(), [Ok(batch)] if batch.headers == vec![three.clone()]), "{outcome:?}");
    assert_eq!(node.rebuilder().state().root(), three.state_root);

    // A record naming a block that is not stored is an error, not a short blob.
    let missing = BatchRecord { number: 2, first_block: 4, last_block: 5, blocks: 2, ..record };
    assert!(matches!(
        batch_blob(&store, &missing),
        Err(BatchBlobError::MissingBlock { batch: 2, block: 4, compact: false })
    ));
}
