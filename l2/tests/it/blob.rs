//! The batch blob: a chain of real blocks survives the round trip blob → bytes →
//! compressed → bytes → blob and rebuilds the exact headers and state; every kind of
//! malformed blob or posted form is refused with its reason.

use rand::{Rng, SeedableRng};
use rollup_l2::{
    compress, da_commitment, decompress, pubkey_of, sign, tx_commitment, BatchBlob, BlobError, BlockHeader,
    CompactBlock, DecodeError, Digest, L1Anchor, L2Tx, MemoryAccounts, MemoryTreeStore, PackedTx, PubKey,
    RebuildError, Rebuilder, SignedTx, State, Transfer, TxError, UserTx, Withdraw, BLOB_VERSION, MAX_AMOUNT,
    POSTED_FORMAT_ZLIB,
};

use super::{fresh_state, keys, Model, FEE_ACCOUNT, PARAMS};

type TestState = State<MemoryAccounts, MemoryTreeStore>;

/// What the sequencer does, in miniature: random user transactions on `state`, the
/// valid ones kept, packed before they run; headers sealed like the sequencer's.
/// Returns the blocks' headers and packed transactions.
fn chain(
    state: &mut TestState,
    seed: u64,
    blocks: usize,
) -> (BlockHeader, Vec<(BlockHeader, Vec<PackedTx>)>) {
    let keys = keys();
    let pubkeys: Vec<PubKey> = keys.iter().map(pubkey_of).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let genesis =
        BlockHeader { state_root: state.root(), timestamp_ms: 1_700_000_000_000, ..Default::default() };
    let mut previous = genesis.clone();
    let mut out = Vec::new();
    for _ in 0..blocks {
        let prev_state_root = state.root();
        let mut packed = Vec::new();
        for _ in 0..rng.gen_range(0..12) {
            let from: u32 = rng.gen_range(1..=4);
            let nonce = state.account(from).map_or(0, |account| account.nonce) + 1;
            let tx = if rng.gen_bool(0.85) {
                let to: u32 = rng.gen_range(1..=7);
                UserTx::Transfer(Transfer {
                    from,
                    to,
                    to_pubkey: pubkeys[to as usize],
                    amount: rng.gen_range(1..5_000),
                    fee: rng.gen_range(0..20),
                    nonce,
                })
            } else {
                UserTx::Withdraw(Withdraw {
                    from,
                    amount: rng.gen_range(1..5_000),
                    fee: rng.gen_range(0..20),
                    nonce,
                    l1_script: vec![0x51; rng.gen_range(1..=42)],
                })
            };
            let signature = sign(&keys[from as usize], &tx.signing_message(PARAMS.chain_id));
            let l2_tx = L2Tx::User(SignedTx { tx, signature });
            let form = state.pack(&l2_tx).expect("user transactions pack");
            if state.apply_tx(&PARAMS, &l2_tx).is_ok() {
                packed.push(form);
            }
        }
        let anchor_height = previous.l1_anchor.height + u32::from(rng.gen_bool(0.5));
        let l1_messages = rng.gen_range(0..3);
        let header = BlockHeader {
            number: previous.number + 1,
            parent_hash: previous.hash(),
            timestamp_ms: previous.timestamp_ms + rng.gen_range(0..5_000),
            prev_state_root,
            state_root: state.root(),
            tx_commitment: tx_commitment(&packed),
            l1_cursor_before: previous.l1_cursor_after,
            l1_cursor_after: previous.l1_cursor_after + l1_messages,
            l1_anchor: L1Anchor { height: anchor_height, hash: [anchor_height as u8; 32] },
        };
        previous = header.clone();
        out.push((header, packed));
    }
    (genesis, out)
}

fn start_state() -> TestState {
    let pubkeys: Vec<PubKey> = keys().iter().map(pubkey_of).collect();
    let mut model = Model::default();
    for index in 1..=4u32 {
        model.accounts.insert(index, (pubkeys[index as usize], 1_000_000, 0));
    }
    model.accounts.insert(FEE_ACCOUNT, (pubkeys[0], 0, 0));
    fresh_state(&model)
}

fn blob_of(number: u64, blocks: &[(BlockHeader, Vec<PackedTx>)]) -> BatchBlob {
    BatchBlob {
        number,
        first_block: blocks[0].0.number,
        l1_cursor_before: blocks[0].0.l1_cursor_before,
        blocks: blocks.iter().map(|(header, txs)| CompactBlock::new(header, txs.clone())).collect(),
    }
}

#[test]
fn a_chain_round_trips_through_the_posted_form_and_rebuilds_headers_and_state() {
    for seed in 0..3 {
        let mut state = start_state();
        let (genesis, blocks) = chain(&mut state, seed, 12);
        let creates = blocks
            .iter()
            .flat_map(|(_, txs)| txs)
            .filter(|tx| matches!(tx, PackedTx::Transfer { new_pubkey: Some(_), .. }));
        assert_eq!(creates.count(), 3, "seed {seed}: accounts 5, 6 and 7 are created once each");
        let blob = blob_of(0, &blocks);
        let bytes = blob.encode();
        assert_eq!(bytes[0], BLOB_VERSION);
        assert_eq!(BatchBlob::decode(&bytes), Ok(blob.clone()));
        for block in &blob.blocks {
            let alone = block.to_bytes();
            assert_eq!(CompactBlock::from_bytes(&alone).as_ref(), Ok(block));
            let mut longer = alone.clone();
            longer.push(0);
            assert_eq!(
                CompactBlock::from_bytes(&longer),
                Err(BlobError::Malformed(DecodeError::TrailingBytes(1)))
            );
        }
        assert_eq!(blob.da_commitment(), da_commitment(&bytes));
        let posted = compress(&bytes);
        assert_eq!(posted[0], POSTED_FORMAT_ZLIB);
        assert_eq!(compress(&bytes), posted, "compression is deterministic");
        assert_eq!(decompress(&posted, bytes.len()), Ok(bytes.clone()));
        assert_eq!(decompress(&posted, bytes.len() - 1), Err(BlobError::TooLarge { limit: bytes.len() - 1 }));

        // A node with the genesis state and the blob alone: the same headers, and
        // re-executing the packed transactions gives each block's state root.
        let decoded = BatchBlob::decode(&decompress(&posted, 1 << 20).unwrap()).unwrap();
        let headers = decoded.headers(&genesis).unwrap();
        let original: Vec<BlockHeader> = blocks.iter().map(|(header, _)| header.clone()).collect();
        assert_eq!(headers, original, "seed {seed}");
        let mut rebuilt = start_state();
        for (header, block) in headers.iter().zip(&decoded.blocks) {
            for tx in &block.txs {
                rebuilt.apply_packed(&PARAMS, tx).unwrap();
            }
            assert_eq!(rebuilt.root(), header.state_root, "seed {seed} block {}", header.number);
        }
        assert_eq!(rebuilt.root(), state.root());
    }
}

#[test]
fn a_packed_transfer_carries_a_key_exactly_when_it_creates_the_receiver() {
    let mut state = start_state();
    let key = pubkey_of(&keys()[6]);
    let create = PackedTx::Transfer { from: 1, to: 6, amount: 10, fee: 0, new_pubkey: Some(key) };
    let keyless = PackedTx::Transfer { from: 1, to: 6, amount: 10, fee: 0, new_pubkey: None };
    let root = state.root();
    assert_eq!(state.apply_packed(&PARAMS, &keyless), Err(TxError::ReceiverKeyMissing { index: 6 }));
    assert_eq!(state.root(), root);
    assert_eq!(state.apply_packed(&PARAMS, &create), Ok(None));
    let root = state.root();
    assert_eq!(state.apply_packed(&PARAMS, &create), Err(TxError::ReceiverExists { index: 6 }));
    assert_eq!(state.root(), root);
    assert_eq!(state.apply_packed(&PARAMS, &keyless), Ok(None));
    assert_eq!(state.account(6).map(|account| account.balance), Some(20));
    assert_eq!(state.account(1).map(|account| account.nonce), Some(2));
    // The commitment tells the two forms apart.
    assert_ne!(tx_commitment(&[create]), tx_commitment(&[keyless]));
}

/// A small valid blob with one transaction of each form.
fn sample() -> BatchBlob {
    let anchor = L1Anchor { height: 100, hash: [7; 32] };
    BatchBlob {
        number: 3,
        first_block: 40,
        l1_cursor_before: 9,
        blocks: vec![
            CompactBlock {
                timestamp_ms: 1_000,
                l1_messages: 2,
                l1_anchor: anchor,
                state_root: Digest([1, 2, 3, 4]),
                txs: vec![
                    PackedTx::Transfer { from: 1, to: 300, amount: 5, fee: 1, new_pubkey: None },
                    PackedTx::Withdraw { from: 2, amount: 7, fee: 0, l1_script: vec![0x51, 0x20] },
                ],
            },
            CompactBlock {
                timestamp_ms: 900,
                l1_messages: 0,
                l1_anchor: anchor,
                state_root: Digest([5, 6, 7, 8]),
                txs: vec![PackedTx::Transfer {
                    from: 3,
                    to: 4,
                    amount: 1,
                    fee: 2,
                    new_pubkey: Some(PubKey([9; 5])),
                }],
            },
        ],
    }
}

fn malformed(bytes: &[u8]) -> BlobError {
    BatchBlob::decode(bytes).expect_err("a malformed blob is refused")
}

#[test]
fn every_malformed_blob_is_refused_with_its_reason() {
    let blob = sample();
    let bytes = blob.encode();
    assert_eq!(BatchBlob::decode(&bytes), Ok(blob.clone()), "the sample is valid");

    // Truncated anywhere.
    for len in 0..bytes.len() {
        assert!(
            matches!(malformed(&bytes[..len]), BlobError::Malformed(DecodeError::Truncated { .. })),
            "prefix of {len} bytes"
        );
    }
    // Trailing bytes.
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(malformed(&longer), BlobError::Malformed(DecodeError::TrailingBytes(1)));
    // Wrong version.
    let mut version = bytes.clone();
    version[0] = 2;
    assert_eq!(malformed(&version), BlobError::Malformed(DecodeError::UnknownVersion(2)));
    // No block.
    assert_eq!(malformed(&[BLOB_VERSION, 3, 40, 9, 0]), BlobError::Empty);
    // Header: version, number 3, first block 40, cursor 9, count 2, then block 0:
    // timestamp 1000 (2 bytes), messages 2, anchor flag at offset 8.
    assert_eq!(&bytes[..8], &[BLOB_VERSION, 3, 40, 9, 2, 0xe8, 0x07, 2]);
    let mut implicit = bytes.clone();
    implicit[8] = 0;
    assert_eq!(malformed(&implicit), BlobError::FirstAnchorImplicit);
    let mut flag = bytes.clone();
    flag[8] = 2;
    assert_eq!(
        malformed(&flag),
        BlobError::Malformed(DecodeError::UnknownKind { what: "anchor flag", kind: 2 })
    );
    // A non-minimal varint: the block count 2 written as 0x82 0x00.
    let mut padded = bytes[..4].to_vec();
    padded.extend([0x82, 0x00]);
    padded.extend(&bytes[5..]);
    assert_eq!(malformed(&padded), BlobError::Malformed(DecodeError::NonMinimal { what: "block count" }));

    // Field-level malformations, written with the encoder's own layout.
    // Layout of the sample: block 0's transactions start at 75 (header 5 bytes,
    // timestamp 2, messages 1, anchor flag 1, height 1, hash 32, root 32, count 1);
    // the transfer takes 6 bytes (`to` = 300 is 2), the withdrawal 7; block 1 starts
    // at 88 with a 2-byte timestamp delta and its message count, its anchor flag at 91.
    assert_eq!(bytes[75..81], [0, 1, 0xac, 0x02, 5, 1]);
    assert_eq!(bytes[81..88], [1, 2, 7, 0, 2, 0x51, 0x20]);
    assert_eq!(bytes[91], 0, "block 1 has block 0's anchor");
    let mut repeated = blob.clone();
    repeated.blocks[1].l1_anchor.hash[0] ^= 1;
    let mut repeated_bytes = repeated.encode();
    assert_eq!(repeated_bytes[91..94], [1, 100, 7 ^ 1]);
    repeated_bytes[93] ^= 1;
    assert_eq!(malformed(&repeated_bytes), BlobError::AnchorRepeated { index: 1 });

    let mut big_amount = blob.clone();
    big_amount.blocks[0].txs[0] =
        PackedTx::Transfer { from: 1, to: 2, amount: MAX_AMOUNT + 1, fee: 0, new_pubkey: None };
    assert_eq!(
        malformed(&big_amount.encode()),
        BlobError::Malformed(DecodeError::OutOfRange { what: "amount", value: MAX_AMOUNT + 1 })
    );
    let mut long_script = blob.clone();
    long_script.blocks[0].txs[1] = PackedTx::Withdraw { from: 2, amount: 1, fee: 0, l1_script: vec![0; 43] };
    assert_eq!(
        malformed(&long_script.encode()),
        BlobError::Malformed(DecodeError::OutOfRange { what: "l1 script length", value: 43 })
    );
    let mut bad_key = blob.clone();
    bad_key.blocks[1].txs[0] =
        PackedTx::Transfer { from: 3, to: 4, amount: 1, fee: 2, new_pubkey: Some(PubKey([u64::MAX; 5])) };
    assert_eq!(
        malformed(&bad_key.encode()),
        BlobError::Malformed(DecodeError::OutOfRange { what: "public key element", value: u64::MAX })
    );
    // Unknown transaction flags (bit 0 and bit 1 together is a withdrawal that
    // creates an account: refused too).
    let first_tx = 75;
    for flags in [4u8, 3, 0x80] {
        let mut bad = bytes.clone();
        assert_eq!(bad[first_tx], 0, "the first transaction's flags");
        bad[first_tx] = flags;
        assert_eq!(
            malformed(&bad),
            BlobError::Malformed(DecodeError::UnknownKind { what: "packed transaction flags", kind: flags })
        );
    }
}

#[test]
fn every_malformed_posted_form_is_refused_with_its_reason() {
    let bytes = sample().encode();
    let posted = compress(&bytes);
    assert_eq!(decompress(&[], 1000), Err(BlobError::EmptyPosted));
    let mut format = posted.clone();
    format[0] = 0;
    assert_eq!(decompress(&format, 1000), Err(BlobError::UnknownFormat(0)));
    // Truncated streams.
    for len in 1..posted.len() {
        assert!(
            matches!(decompress(&posted[..len], 1000), Err(BlobError::BadCompression(_))),
            "posted prefix of {len} bytes"
        );
    }
    // A changed byte in the stream: corrupt deflate data or a failed Adler-32 check.
    let mut corrupt = posted.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    assert!(matches!(decompress(&corrupt, 1000), Err(BlobError::BadCompression(_))));
    let mut longer = posted.clone();
    longer.extend([0, 0]);
    assert_eq!(decompress(&longer, 1000), Err(BlobError::TrailingCompressed(2)));
    // A zip bomb stops at the limit.
    let bomb = compress(&vec![0u8; 10_000_000]);
    assert!(bomb.len() < 20_000);
    assert_eq!(decompress(&bomb, 1_000_000), Err(BlobError::TooLarge { limit: 1_000_000 }));
    // A good stream of a bad blob decompresses, and the blob decoder refuses it.
    let inner = decompress(&compress(&bytes[..bytes.len() - 1]), 1000).unwrap();
    assert!(matches!(BatchBlob::decode(&inner), Err(BlobError::Malformed(DecodeError::Truncated { .. }))));
}

/// A chain sealed like the sequencer: each block first consumes its L1 messages
/// (deposits, some creating accounts, and a forced transfer that fails), then runs
/// user transfers. Returns the headers, each block's packed transactions, and the L1
/// messages in cursor order.
fn chain_with_messages(
    state: &mut TestState,
    blocks: u64,
) -> (Vec<BlockHeader>, Vec<Vec<PackedTx>>, Vec<L2Tx>) {
    let keys = keys();
    let mut previous = BlockHeader::genesis(state.root());
    let (mut headers, mut packed_blocks, mut messages) = (Vec::new(), Vec::new(), Vec::new());
    for number in 1..=blocks {
        let prev_state_root = state.root();
        let mut block_messages = vec![L2Tx::Deposit(rollup_l2::Deposit {
            l1_outpoint: rollup_l2::L1Outpoint { txid: [number as u8; 32], vout: 0 },
            amount: 1_000 * number,
            to: 10 + number as u32,
            to_pubkey: pubkey_of(&keys[(10 + number as usize) % 8]),
        })];
        if number == 2 {
            // A forced transfer with a bad nonce: a recorded no-op.
            let tx = UserTx::Transfer(Transfer {
                from: 1,
                to: 2,
                to_pubkey: pubkey_of(&keys[2]),
                amount: 1,
                fee: 0,
                nonce: 99,
            });
            let signature = sign(&keys[1], &tx.signing_message(PARAMS.chain_id));
            block_messages.push(L2Tx::Forced(SignedTx { tx, signature }));
        }
        let mut txs = block_messages.clone();
        for from in 1..=2u32 {
            let nonce = state.account(from).map_or(0, |account| account.nonce)
                + 1
                + txs.iter().filter(|tx| matches!(tx, L2Tx::User(signed) if signed.tx.from() == from)).count()
                    as u32;
            let to = 10 + number as u32;
            let tx = UserTx::Transfer(Transfer {
                from,
                to,
                to_pubkey: pubkey_of(&keys[(to as usize) % 8]),
                amount: 10,
                fee: 1,
                nonce,
            });
            let signature = sign(&keys[from as usize], &tx.signing_message(PARAMS.chain_id));
            txs.push(L2Tx::User(SignedTx { tx, signature }));
        }
        let packed = state.apply_block(&PARAMS, &txs).expect("a valid block");
        let header = BlockHeader {
            number,
            parent_hash: previous.hash(),
            timestamp_ms: 1_000 * number,
            prev_state_root,
            state_root: state.root(),
            tx_commitment: tx_commitment(&packed),
            l1_cursor_before: previous.l1_cursor_after,
            l1_cursor_after: previous.l1_cursor_after + block_messages.len() as u64,
            l1_anchor: L1Anchor { height: 100 + number as u32, hash: [number as u8; 32] },
        };
        messages.extend(block_messages);
        previous = header.clone();
        headers.push(header);
        packed_blocks.push(packed);
    }
    (headers, packed_blocks, messages)
}

fn batch(number: u64, headers: &[BlockHeader], packed: &[Vec<PackedTx>]) -> BatchBlob {
    BatchBlob {
        number,
        first_block: headers[0].number,
        l1_cursor_before: headers[0].l1_cursor_before,
        blocks: headers
            .iter()
            .zip(packed)
            .map(|(header, txs)| CompactBlock::new(header, txs.clone()))
            .collect(),
    }
}

#[test]
fn a_node_rebuilds_the_chain_from_blobs_and_l1_messages_alone() {
    let mut sequencer = start_state();
    let (headers, packed, messages) = chain_with_messages(&mut sequencer, 5);
    assert_eq!(messages.len(), 6);
    let first = batch(0, &headers[..3], &packed[..3]);
    let second = batch(1, &headers[3..], &packed[3..]);
    // Through the posted form, as a node reading Bitcoin gets them.
    let read = |blob: &BatchBlob| {
        BatchBlob::decode(&decompress(&compress(&blob.encode()), 1 << 20).unwrap()).unwrap()
    };
    let mut node = Rebuilder::from_genesis(PARAMS, start_state());
    assert_eq!(node.apply_batch(&read(&first), &messages[..4]), Ok(headers[..3].to_vec()));
    assert_eq!(node.apply_batch(&read(&second), &messages[4..]), Ok(headers[3..].to_vec()));
    assert_eq!(node.head().hash(), headers[4].hash());
    assert_eq!(node.state().root(), sequencer.root());
    assert_eq!(node.next_batch(), 2);
}

#[test]
fn a_batch_that_does_not_replay_is_refused_and_changes_nothing() {
    let mut sequencer = start_state();
    let (headers, packed, messages) = chain_with_messages(&mut sequencer, 3);
    let good = batch(0, &headers, &packed);
    let fresh = || Rebuilder::from_genesis(PARAMS, start_state());
    let genesis_root = start_state().root();
    let refused = |blob: &BatchBlob, messages: &[L2Tx]| {
        let mut node = fresh();
        let error = node.apply_batch(blob, messages).expect_err("refused");
        assert_eq!(node.state().root(), genesis_root, "{error}");
        assert_eq!(node.next_batch(), 0);
        error
    };
    assert_eq!(
        refused(&BatchBlob { number: 1, ..good.clone() }, &messages),
        RebuildError::WrongBatch { expected: 0, found: 1 }
    );
    assert_eq!(
        refused(&BatchBlob { first_block: 2, ..good.clone() }, &messages),
        RebuildError::WrongFirstBlock { batch: 0, expected: 1, found: 2 }
    );
    assert_eq!(
        refused(&BatchBlob { l1_cursor_before: 1, ..good.clone() }, &messages),
        RebuildError::WrongCursor { batch: 0, expected: 0, found: 1 }
    );
    assert_eq!(refused(&good, &messages[1..]), RebuildError::MessageCount { batch: 0, needed: 4, given: 3 });
    let mut user_as_message = messages.clone();
    user_as_message[0] = match &messages[2] {
        L2Tx::Forced(signed) => L2Tx::User(signed.clone()),
        other => panic!("message 2 is the forced transfer, not {other:?}"),
    };
    assert_eq!(refused(&good, &user_as_message), RebuildError::NotAnL1Message { cursor: 0 });
    // A user transaction moving more than the sender has.
    let mut overdraft = good.clone();
    overdraft.blocks[1].txs[0] =
        PackedTx::Transfer { from: 1, to: 11, amount: 2_000_000, fee: 1, new_pubkey: None };
    assert!(matches!(
        refused(&overdraft, &messages),
        RebuildError::InvalidTransaction {
            block: 2,
            position: 0,
            error: TxError::InsufficientBalance { .. }
        }
    ));
    // A claimed root the replay does not reach; a dropped deposit gives the same.
    let mut lying = good.clone();
    lying.blocks[2].state_root = Digest([1, 2, 3, 4]);
    assert_eq!(
        refused(&lying, &messages),
        RebuildError::StateRoot { block: 3, claimed: Digest([1, 2, 3, 4]), actual: headers[2].state_root }
    );
    let mut other_deposit = messages.clone();
    if let L2Tx::Deposit(deposit) = &mut other_deposit[0] {
        deposit.amount += 1;
    }
    assert!(matches!(refused(&good, &other_deposit), RebuildError::StateRoot { block: 1, .. }));
}
