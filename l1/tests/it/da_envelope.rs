//! DA envelopes: round trips of every kind and size, each malformed envelope's exact
//! error, foreign leaves skipped, the decoder on random and mutated input, and batch
//! reassembly.

use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::opcodes::all::OP_CHECKSIG;
use bitcoin::secp256k1::SecretKey;
use bitcoin::{
    absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
    XOnlyPublicKey,
};
use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rollup_l1::da::{
    decode_leaf, decode_transaction, decode_witness, reassemble_batch, split_batch, DecodeEnvelopeError,
    DecodedInput, Envelope, EnvelopeError, EnvelopeKind, ReassembleBatchError, RevealedEnvelope,
    MAX_ENVELOPE_DATA,
};

const CHAIN: u64 = 0x0102_0304_0506_0708;

fn poster() -> XOnlyPublicKey {
    let secp = Secp256k1::new();
    Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[0x11; 32]).unwrap()).x_only_public_key().0
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

fn decode(leaf: &[u8]) -> Result<Option<RevealedEnvelope>, DecodeEnvelopeError> {
    decode_leaf(leaf, CHAIN)
}

/// `OP_FALSE OP_IF <our tag>`: 15 bytes.
fn prefix() -> Vec<u8> {
    let mut bytes = vec![0x00, 0x63, 0x0c];
    bytes.extend_from_slice(&Envelope::tag(CHAIN));
    bytes
}

/// A direct push (1 to 75 bytes).
fn push(data: &[u8]) -> Vec<u8> {
    assert!((1..=75).contains(&data.len()));
    let mut bytes = vec![data.len() as u8];
    bytes.extend_from_slice(data);
    bytes
}

/// `OP_PUSHDATA2 <data>`.
fn push2(data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x4d];
    bytes.extend_from_slice(&(data.len() as u16).to_le_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// `OP_ENDIF <poster> OP_CHECKSIG`: 35 bytes.
fn suffix() -> Vec<u8> {
    let mut bytes = vec![0x68, 0x20];
    bytes.extend_from_slice(&poster().serialize());
    bytes.push(OP_CHECKSIG.to_u8());
    bytes
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const DEPOSIT_HEADER: [u8; 2] = [1, 1];

fn batch_header(batch: u64, index: u16, count: u16) -> Vec<u8> {
    [&[1u8, 0][..], &batch.to_be_bytes(), &index.to_be_bytes(), &count.to_be_bytes()].concat()
}

#[test]
fn every_kind_and_size_round_trips_and_the_leaf_has_the_documented_size() {
    let kinds = [
        EnvelopeKind::BatchChunk { batch: 0, index: 0, count: 1 },
        EnvelopeKind::BatchChunk { batch: u64::MAX, index: 65_534, count: u16::MAX },
        EnvelopeKind::Deposit,
        EnvelopeKind::ForcedTransaction,
    ];
    for kind in kinds {
        let header = if matches!(kind, EnvelopeKind::BatchChunk { .. }) { 15 } else { 3 };
        for len in [0usize, 1, 520, 521, 1040, MAX_ENVELOPE_DATA] {
            let data = random_bytes(len as u64, len);
            // Bytes each push adds to its data: OP_PUSHDATA2 and its length for full
            // pushes; for the last, nothing (OP_1..OP_16, OP_1NEGATE), 1 (direct
            // push) or 2 (OP_PUSHDATA1).
            let pushes_overhead: usize = data
                .chunks(520)
                .map(|push| match push {
                    [1..=16] | [0x81] => 0,
                    _ if push.len() <= 75 => 1,
                    _ if push.len() <= 255 => 2,
                    _ => 3,
                })
                .sum();
            let envelope = Envelope::new(CHAIN, kind, data.clone()).unwrap();
            let leaf = envelope.leaf(&poster());
            // OP_FALSE OP_IF, the tag push, the header push, the pushes, OP_ENDIF,
            // the key push, OP_CHECKSIG.
            assert_eq!(leaf.len(), 2 + 13 + header + len + pushes_overhead + 1 + 33 + 1, "{kind:?} {len}");
            let decoded = decode(leaf.as_bytes()).unwrap().unwrap();
            assert_eq!(decoded, RevealedEnvelope { envelope: envelope.clone(), poster: poster() });
            assert_eq!(decoded.envelope.data(), data.as_slice());
            assert_eq!(decoded.envelope.kind(), kind);
            assert_eq!(decoded.envelope.chain_id(), CHAIN);
        }
    }
    // A one-byte payload is pushed as MINIMALDATA wants: OP_1..OP_16, OP_1NEGATE, or
    // a one-byte push otherwise.
    for (byte, encoding) in [
        (0x05u8, vec![0x55]),
        (0x10, vec![0x60]),
        (0x81, vec![0x4f]),
        (0x00, vec![0x01, 0x00]),
        (0x11, vec![0x01, 0x11]),
    ] {
        let envelope = Envelope::deposit(CHAIN, vec![byte]).unwrap();
        let leaf = envelope.leaf(&poster());
        assert_eq!(leaf.as_bytes(), concat(&[&prefix(), &push(&DEPOSIT_HEADER), &encoding, &suffix()]));
        assert_eq!(decode(leaf.as_bytes()).unwrap().unwrap().envelope, envelope);
    }
    // The layout, byte for byte, for a small batch chunk.
    let envelope = Envelope::batch_chunk(CHAIN, 0x0a0b, 2, 3, vec![0xaa; 20]).unwrap();
    assert_eq!(
        envelope.leaf(&poster()).as_bytes(),
        concat(&[
            &[0x00, 0x63, 0x0c],
            b"RLDA",
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[0x0e, 1, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x0b, 0, 2, 0, 3],
            &push(&[0xaa; 20]),
            &suffix()
        ])
    );
}

#[test]
fn envelopes_are_checked_when_made_and_a_blob_splits_into_full_chunks() {
    assert_eq!(
        Envelope::deposit(CHAIN, vec![0; MAX_ENVELOPE_DATA + 1]),
        Err(EnvelopeError::DataTooLarge { len: 390_001, max: 390_000 })
    );
    assert_eq!(Envelope::batch_chunk(CHAIN, 1, 0, 0, vec![]), Err(EnvelopeError::ZeroChunkCount));
    assert_eq!(
        Envelope::batch_chunk(CHAIN, 1, 3, 3, vec![]),
        Err(EnvelopeError::ChunkIndexOutOfRange { index: 3, count: 3 })
    );
    let kinds = |chunks: &[Envelope]| {
        chunks.iter().map(|chunk| (chunk.kind(), chunk.data().len())).collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&split_batch(CHAIN, 9, &[]).unwrap()),
        vec![(EnvelopeKind::BatchChunk { batch: 9, index: 0, count: 1 }, 0)]
    );
    assert_eq!(
        kinds(&split_batch(CHAIN, 9, &vec![1; MAX_ENVELOPE_DATA]).unwrap()),
        vec![(EnvelopeKind::BatchChunk { batch: 9, index: 0, count: 1 }, MAX_ENVELOPE_DATA)]
    );
    assert_eq!(
        kinds(&split_batch(CHAIN, 9, &vec![1; 2 * MAX_ENVELOPE_DATA + 1]).unwrap()),
        vec![
            (EnvelopeKind::BatchChunk { batch: 9, index: 0, count: 3 }, MAX_ENVELOPE_DATA),
            (EnvelopeKind::BatchChunk { batch: 9, index: 1, count: 3 }, MAX_ENVELOPE_DATA),
            (EnvelopeKind::BatchChunk { batch: 9, index: 2, count: 3 }, 1),
        ]
    );
}

#[test]
fn each_malformed_envelope_gives_its_exact_error() {
    use DecodeEnvelopeError as E;
    let p = prefix();
    let h = push(&DEPOSIT_HEADER);
    let s = suffix();
    let full = vec![0x33; 520];
    // 15 prefix bytes, then the 3-byte deposit header push at 15: data starts at 18.
    let cases: Vec<(&str, Vec<u8>, DecodeEnvelopeError)> = vec![
        ("no header", p.clone(), E::Truncated { offset: 15, missing: "header" }),
        ("no OP_ENDIF", concat(&[&p, &h, &push(&[9; 4])]), E::Truncated { offset: 23, missing: "OP_ENDIF" }),
        ("no key", concat(&[&p, &h, &[0x68]]), E::Truncated { offset: 19, missing: "poster key" }),
        ("no OP_CHECKSIG", concat(&[&p, &h, &s[..34]]), E::Truncated { offset: 52, missing: "OP_CHECKSIG" }),
        (
            "push length cut",
            concat(&[&p, &h, &[0x4d, 0x08]]),
            E::Truncated { offset: 19, missing: "push length" },
        ),
        (
            "push cut",
            concat(&[&p, &h, &[0x4d, 0x08, 0x02], &[7; 10]]),
            E::TruncatedPush { offset: 18, declared: 520, available: 10 },
        ),
        ("version 2", concat(&[&p, &push(&[2, 1]), &s]), E::UnsupportedVersion { version: 2 }),
        ("version 0", concat(&[&p, &push(&[0, 1]), &s]), E::UnsupportedVersion { version: 0 }),
        ("kind 3", concat(&[&p, &push(&[1, 3]), &s]), E::UnknownKind { kind: 3 }),
        ("one-byte header", concat(&[&p, &[0x51], &s]), E::HeaderTooShort { len: 1 }),
        ("empty header", concat(&[&p, &[0x00], &s]), E::HeaderTooShort { len: 0 }),
        (
            "long deposit header",
            concat(&[&p, &push(&[1, 1, 0]), &s]),
            E::HeaderLength { kind: 1, len: 3, expected: 2 },
        ),
        (
            "short batch header",
            concat(&[&p, &push(&batch_header(5, 0, 1)[..13]), &s]),
            E::HeaderLength { kind: 0, len: 13, expected: 14 },
        ),
        ("zero count", concat(&[&p, &push(&batch_header(5, 0, 0)), &s]), E::ZeroChunkCount { batch: 5 }),
        (
            "index = count",
            concat(&[&p, &push(&batch_header(5, 4, 4)), &s]),
            E::ChunkIndexOutOfRange { batch: 5, index: 4, count: 4 },
        ),
        (
            "header by OP_PUSHDATA1",
            concat(&[&p, &[0x4c, 2, 1, 1], &s]),
            E::NonMinimalPush { offset: 15, len: 2 },
        ),
        (
            "tag by OP_PUSHDATA1",
            concat(&[&[0x00, 0x63, 0x4c, 12], &Envelope::tag(CHAIN), &h, &s]),
            E::NonMinimalPush { offset: 2, len: 12 },
        ),
        (
            "data by OP_PUSHDATA1",
            concat(&[&p, &h, &[0x4c, 10], &[9; 10], &s]),
            E::NonMinimalPush { offset: 18, len: 10 },
        ),
        (
            "data 0x05 by a direct push",
            concat(&[&p, &h, &[0x01, 0x05], &s]),
            E::NonMinimalPush { offset: 18, len: 1 },
        ),
        (
            "data by OP_PUSHDATA4",
            concat(&[&p, &h, &[0x4e, 8, 2, 0, 0], &full, &s]),
            E::NonMinimalPush { offset: 18, len: 520 },
        ),
        (
            "a 521-byte push",
            concat(&[&p, &h, &push2(&[1; 521]), &s]),
            E::PushTooLarge { offset: 18, len: 521 },
        ),
        (
            "a short push before the last",
            concat(&[&p, &h, &push(&[9; 10]), &push(&[9; 10]), &s]),
            E::UnevenDataPush { index: 0, offset: 18, len: 10 },
        ),
        ("an empty push", concat(&[&p, &h, &[0x00], &s]), E::UnevenDataPush { index: 0, offset: 18, len: 0 }),
        (
            "an empty push after a full one",
            concat(&[&p, &h, &push2(&full), &[0x00], &s]),
            E::UnevenDataPush { index: 1, offset: 541, len: 0 },
        ),
        (
            "OP_DROP among the data",
            concat(&[&p, &h, &[0x75], &s]),
            E::UnexpectedOpcode { offset: 18, opcode: 0x75 },
        ),
        (
            "OP_NOP for the header",
            concat(&[&p, &[0x61], &s]),
            E::UnexpectedOpcode { offset: 15, opcode: 0x61 },
        ),
        (
            "OP_CHECKSIGVERIFY",
            concat(&[&p, &h, &s[..34], &[0xad]]),
            E::UnexpectedOpcode { offset: 52, opcode: 0xad },
        ),
        (
            "a push for OP_CHECKSIG",
            concat(&[&p, &h, &s[..34], &[0x51]]),
            E::UnexpectedOpcode { offset: 52, opcode: 0x51 },
        ),
        (
            "OP_IF for the key",
            concat(&[&p, &h, &[0x68, 0x63]]),
            E::UnexpectedOpcode { offset: 19, opcode: 0x63 },
        ),
        ("trailing OP_1", concat(&[&p, &h, &s, &[0x51]]), E::TrailingBytes { offset: 53, count: 1 }),
        ("trailing junk", concat(&[&p, &h, &s, &[0xff, 0xfe]]), E::TrailingBytes { offset: 53, count: 2 }),
        (
            "33-byte key",
            concat(&[&p, &h, &[0x68], &push(&[2; 33]), &[0xac]]),
            E::KeyLength { offset: 19, len: 33 },
        ),
        (
            "key not on the curve",
            concat(&[&p, &h, &[0x68], &push(&[0xff; 32]), &[0xac]]),
            E::InvalidKey { key: "ff".repeat(32) },
        ),
    ];
    for (what, leaf, error) in cases {
        assert_eq!(decode(&leaf), Err(error), "{what}");
    }
    // 751 full pushes: the push that goes over the limit is named.
    let over: Vec<u8> = concat(&[&p, &h, &push2(&full).repeat(751), &s]);
    assert_eq!(decode(&over), Err(E::Oversize { offset: 18 + 750 * 523, max: MAX_ENVELOPE_DATA }));
    // Messages are lower-case and carry the offending value.
    assert_eq!(E::UnsupportedVersion { version: 2 }.to_string(), "unsupported envelope version 2");
    assert_eq!(
        E::UnevenDataPush { index: 0, offset: 18, len: 10 }.to_string(),
        "data push 0 at byte 18 holds 10 bytes: only the last may hold fewer than 520, and none 0"
    );
    assert_eq!(
        E::Truncated { offset: 15, missing: "header" }.to_string(),
        "envelope truncated at byte 15: header missing"
    );
}

#[test]
fn foreign_leaves_and_inputs_are_skipped() {
    let ours = Envelope::deposit(CHAIN, vec![1, 2, 3]).unwrap();
    let other_chain = Envelope::deposit(CHAIN + 1, vec![1, 2, 3]).unwrap().leaf(&poster());
    let mut other_tag = ours.leaf(&poster()).to_bytes();
    other_tag[3..7].copy_from_slice(b"RLDB");
    let key_spend =
        bitcoin::script::Builder::new().push_x_only_key(&poster()).push_opcode(OP_CHECKSIG).into_script();
    let inscription = concat(&[
        &[0x00, 0x63, 0x03],
        b"ord",
        &[0x51],
        &push(b"text/plain"),
        &[0x00],
        &push(b"hi"),
        &suffix(),
    ]);
    let short_tag = concat(&[&[0x00, 0x63, 0x04], b"RLDA", &push(&DEPOSIT_HEADER), &suffix()]);
    let foreign: Vec<(&str, Vec<u8>)> = vec![
        ("another chain", other_chain.to_bytes()),
        ("another magic", other_tag),
        ("<key> OP_CHECKSIG", key_spend.to_bytes()),
        ("an inscription", inscription),
        ("the magic without the chain", short_tag),
        ("empty", vec![]),
        ("OP_FALSE OP_IF only", vec![0x00, 0x63]),
        ("OP_FALSE OP_IF and a cut push", vec![0x00, 0x63, 0x0c, b'R']),
        (
            "OP_TRUE OP_IF and our tag",
            concat(&[&[0x51, 0x63, 0x0c], &Envelope::tag(CHAIN), &push(&DEPOSIT_HEADER), &suffix()]),
        ),
    ];
    for (what, leaf) in &foreign {
        assert_eq!(decode(leaf), Ok(None), "{what}");
    }

    // Witnesses: ours (plain and with an annex), a key-path spend, P2WPKH, a foreign
    // leaf, a malformed envelope of ours, and an unknown leaf version.
    let control = [&[0xc0u8][..], &[0x22; 32]].concat();
    let leaf = ours.leaf(&poster()).to_bytes();
    let sig = vec![0x44; 64];
    let malformed = concat(&[&prefix(), &push(&[1, 9]), &suffix()]);
    let witnesses: Vec<Vec<Vec<u8>>> = vec![
        vec![sig.clone()],                                                      // 0: key path
        vec![sig.clone(), leaf.clone(), control.clone()],                       // 1: ours
        vec![sig.clone(), [&[0x02u8][..], &[0x33; 32]].concat()],               // 2: P2WPKH
        vec![sig.clone(), key_spend.to_bytes(), control.clone()],               // 3: foreign leaf
        vec![sig.clone(), leaf.clone(), control.clone(), vec![0x50, 1]],        // 4: ours with an annex
        vec![sig.clone(), malformed, control.clone()],                          // 5: malformed ours
        vec![sig.clone(), leaf.clone(), [&[0xc2u8][..], &[0x22; 32]].concat()], // 6: leaf version 0xc2
        vec![sig.clone(), leaf.clone(), vec![0xc0; 34]], // 7: a control block of bad length
        vec![sig, vec![0x50, 1]],                        // 8: key path with an annex
        vec![],                                          // 9: no witness
    ];
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: witnesses
            .iter()
            .map(|witness| TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(witness),
            })
            .collect(),
        output: vec![TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::new_op_return([]) }],
    };
    let revealed = RevealedEnvelope { envelope: ours, poster: poster() };
    assert_eq!(
        decode_transaction(&tx, CHAIN),
        vec![
            DecodedInput { input: 1, result: Ok(revealed.clone()) },
            DecodedInput { input: 4, result: Ok(revealed.clone()) },
            DecodedInput { input: 5, result: Err(DecodeEnvelopeError::UnknownKind { kind: 9 }) },
        ]
    );
    assert_eq!(decode_transaction(&tx, CHAIN + 1), vec![]);
    assert_eq!(decode_witness(&tx.input[1].witness, CHAIN), Ok(Some(revealed)));
    assert_eq!(decode_witness(&tx.input[2].witness, CHAIN), Ok(None));
}

fn chunk(batch: u64, index: u16, count: u16, data: &[u8]) -> Envelope {
    Envelope::batch_chunk(CHAIN, batch, index, count, data.to_vec()).unwrap()
}

#[test]
fn a_batch_reassembles_from_chunks_in_any_order_with_reposts() {
    let blob = random_bytes(3, 2 * MAX_ENVELOPE_DATA + 77);
    let chunks = split_batch(CHAIN, 4, &blob).unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!(reassemble_batch(4, &chunks), Ok(blob.clone()));
    let mut shuffled =
        vec![chunks[2].clone(), chunks[0].clone(), chunks[2].clone(), chunks[1].clone(), chunks[0].clone()];
    // Other batches and other kinds are ignored.
    shuffled.push(chunk(5, 0, 1, b"another batch"));
    shuffled.push(Envelope::deposit(CHAIN, b"a deposit".to_vec()).unwrap());
    assert_eq!(reassemble_batch(4, &shuffled), Ok(blob));
    assert_eq!(reassemble_batch(5, &shuffled), Ok(b"another batch".to_vec()));
    // An empty batch is one empty chunk.
    assert_eq!(reassemble_batch(6, &split_batch(CHAIN, 6, &[]).unwrap()), Ok(vec![]));

    assert_eq!(reassemble_batch(7, &shuffled), Err(ReassembleBatchError::NoChunks { batch: 7 }));
    let gaps = [chunk(8, 0, 5, b"a"), chunk(8, 2, 5, b"c"), chunk(8, 4, 5, b"e")];
    let missing = reassemble_batch(8, &gaps).unwrap_err();
    assert_eq!(missing, ReassembleBatchError::MissingChunks { batch: 8, count: 5, missing: vec![1, 3] });
    assert_eq!(missing.to_string(), "batch 8: 2 of 5 chunks missing, first 1");
    assert_eq!(
        reassemble_batch(8, &[chunk(8, 0, 2, b"a"), chunk(8, 1, 2, b"b"), chunk(8, 1, 2, b"B")]),
        Err(ReassembleBatchError::ConflictingChunk { batch: 8, index: 1 })
    );
    assert_eq!(
        reassemble_batch(8, &[chunk(8, 0, 2, b"a"), chunk(8, 1, 3, b"b")]),
        Err(ReassembleBatchError::CountMismatch { batch: 8, index: 1, count: 3, expected: 2 })
    );
}

/// A valid leaf whose payload and kind come from the proptest strategy.
fn leaf_for(kind: u8, data: Vec<u8>) -> Vec<u8> {
    let kind = match kind % 3 {
        0 => EnvelopeKind::BatchChunk { batch: u64::from(kind), index: 1, count: 2 },
        1 => EnvelopeKind::Deposit,
        _ => EnvelopeKind::ForcedTransaction,
    };
    Envelope::new(CHAIN, kind, data).unwrap().leaf(&poster()).to_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random bytes, with or without our prefix, never panic the decoder.
    #[test]
    fn random_leaves_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2000), ours in any::<bool>()) {
        let leaf = if ours { concat(&[&prefix(), &tail]) } else { tail };
        let _ = decode(&leaf);
    }

    /// Mutated valid leaves (a byte changed, bytes cut or inserted) never panic the
    /// decoder, and whatever it accepts is canonical: re-encoding gives the input.
    #[test]
    fn mutated_leaves_never_panic_and_what_is_accepted_is_canonical(
        kind in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..1600),
        position in any::<usize>(),
        byte in any::<u8>(),
        mutation in 0u8..4,
    ) {
        let mut leaf = leaf_for(kind, data);
        let at = position % leaf.len();
        match mutation {
            0 => leaf[at] = byte,
            1 => leaf.truncate(at),
            2 => leaf.insert(at, byte),
            _ => { leaf.remove(at); }
        }
        if let Ok(Some(revealed)) = decode(&leaf) {
            prop_assert_eq!(revealed.envelope.leaf(&revealed.poster).to_bytes(), leaf);
        }
    }

    /// Random witnesses (random element counts and sizes, an annex or not, a valid
    /// control block or not, our leaf or not) never panic the decoder.
    #[test]
    fn random_witnesses_never_panic(
        elements in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..5),
        with_leaf in any::<bool>(),
        with_control in any::<bool>(),
        with_annex in any::<bool>(),
        cut in any::<usize>(),
    ) {
        let mut elements = elements;
        if with_leaf {
            let mut leaf = leaf_for(1, vec![7; 40]);
            leaf.truncate(cut % (leaf.len() + 1));
            elements.push(leaf);
        }
        if with_control {
            elements.push([&[0xc0u8][..], &[0x22; 32]].concat());
        }
        if with_annex {
            elements.push(vec![0x50]);
        }
        let _ = decode_witness(&Witness::from_slice(&elements), CHAIN);
    }
}
