//! A batch larger than one envelope posted on Bitcoin: one commit and a reveal per
//! chunk, mined (the second reveal a block later: Core 31's cluster limit), then read
//! back through Esplora by a reader who knows only the blocks, decoded and
//! reassembled to the exact blob.

use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::{Address, Amount, FeeRate, KnownHrp, Witness};
use rollup_e2e::TestEnv;
use rollup_l1::da::{
    build_commit_reveal, decode_transaction, reassemble_batch, split_batch, Envelope, EnvelopeKind,
    FundingUtxo, MAX_ENVELOPE_DATA,
};

use super::{confirmed_height, output_of, script_refusal, sink};

const CHAIN_ID: u64 = 0xda;
const BATCH: u64 = 42;

#[test]
fn a_two_chunk_batch_is_posted_mined_read_back_and_reassembled() {
    let env = TestEnv::start();
    let secp = Secp256k1::new();
    let poster = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
    let address = Address::p2tr(&secp, poster.x_only_public_key().0, None, KnownHrp::Regtest);
    let funding_txid = env.fund(&address, Amount::from_sat(5_000_000));
    env.mine(1, None);
    let (outpoint, output) = output_of(&env, funding_txid, &address.script_pubkey());

    // 1.3 envelopes' worth of data: two chunks, the first full.
    let blob: Vec<u8> = (0..MAX_ENVELOPE_DATA + MAX_ENVELOPE_DATA / 3).map(|i| (i * 7 % 256) as u8).collect();
    let chunks = split_batch(CHAIN_ID, BATCH, &blob).unwrap();
    assert_eq!(chunks.len(), 2);
    let posted = build_commit_reveal(
        &poster,
        &chunks,
        &[FundingUtxo { outpoint, output }],
        FeeRate::from_sat_per_vb_u32(2),
        &address.script_pubkey(),
        &sink(),
    )
    .unwrap();
    assert_eq!(posted.reveals.len(), 2);

    // A reveal with one data byte changed is refused. The envelope is in the leaf
    // script: changed, it is not the leaf the output commits to.
    assert_eq!(env.broadcast(&posted.commit), None);
    let mut tampered = posted.reveals[1].clone();
    let mut elements: Vec<Vec<u8>> = tampered.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    elements[1][200] ^= 1;
    tampered.input[0].witness = Witness::from_slice(&elements);
    let reason = env.broadcast(&tampered).expect("tampered reveal refused");
    assert_eq!(reason, script_refusal(&tampered, 0, "Witness program hash mismatch"));
    // The first reveal joins its unconfirmed commit in the mempool; the second would
    // make their cluster larger than Bitcoin Core 31 keeps (101 kvB), so it goes out
    // once the commit is mined, a cluster of its own.
    for reveal in &posted.reveals {
        assert!(reveal.weight().to_wu() <= 400_000, "{}", reveal.weight());
    }
    assert_eq!(env.broadcast(&posted.reveals[0]), None);
    assert_eq!(env.broadcast(&posted.reveals[1]).as_deref(), Some("too-large-cluster"));
    let first = env.mine(1, None)[0];
    let height = confirmed_height(&env, &posted.commit.compute_txid()).expect("commit mined");
    assert_eq!(confirmed_height(&env, &posted.reveals[0].compute_txid()), Some(height));
    assert_eq!(env.broadcast(&posted.reveals[1]), None);
    let second = env.mine(1, None)[0];
    assert_eq!(confirmed_height(&env, &posted.reveals[1].compute_txid()), Some(height + 1));

    // A reader scans the blocks through Esplora: the coinbases and the commit (a
    // key-path spend) carry nothing; the two reveals carry the chunks.
    let mut txids = env.esplora().get_block_txids(&first).unwrap();
    assert_eq!(txids.len(), 3);
    let later = env.esplora().get_block_txids(&second).unwrap();
    assert_eq!(later.len(), 2);
    txids.extend(later);
    let mut found = Vec::new();
    for txid in &txids {
        let tx = env.esplora().get_tx(txid).unwrap().expect("mined transaction");
        for decoded in decode_transaction(&tx, CHAIN_ID) {
            assert_eq!(decoded.input, 0);
            let revealed = decoded.result.unwrap();
            assert_eq!(revealed.poster, poster.x_only_public_key().0);
            assert!(posted.reveals.contains(&tx), "{txid} decoded but not a reveal");
            found.push(revealed.envelope);
        }
        // Read for another chain, nothing is ours.
        assert_eq!(decode_transaction(&tx, CHAIN_ID + 1), vec![]);
    }
    let mut kinds: Vec<EnvelopeKind> = found.iter().map(Envelope::kind).collect();
    kinds.sort_by_key(|kind| match kind {
        EnvelopeKind::BatchChunk { index, .. } => *index,
        _ => u16::MAX,
    });
    assert_eq!(
        kinds,
        vec![
            EnvelopeKind::BatchChunk { batch: BATCH, index: 0, count: 2 },
            EnvelopeKind::BatchChunk { batch: BATCH, index: 1, count: 2 },
        ]
    );
    assert_eq!(reassemble_batch(BATCH, &found), Ok(blob));
}
