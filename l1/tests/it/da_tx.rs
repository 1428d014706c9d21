//! DA commit and reveal transactions under Bitcoin Core's consensus engine
//! (libbitcoinkernel, every consensus flag, spent outputs supplied): they verify,
//! are deterministic and pay exactly the fee rate; tampered reveals are refused.

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::SecretKey;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Transaction, TxOut, Txid, Witness};
use rollup_l1::da::{
    build_commit_reveal, decode_transaction, reassemble_batch, split_batch, BuildCommitRevealError,
    CommitReveal, DecodedInput, Envelope, FundingUtxo, RevealedEnvelope, MAX_ENVELOPE_DATA,
};
use rollup_l1::script::exec::{kernel_verify_inputs, InputRefused};

const CHAIN: u64 = 31_337;
const RATE: FeeRate = FeeRate::from_sat_per_vb_u32(2);

fn keypair(byte: u8) -> Keypair {
    Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[byte; 32]).unwrap())
}

fn key_path_script(key: &Keypair) -> ScriptBuf {
    ScriptBuf::new_p2tr(&Secp256k1::new(), key.x_only_public_key().0, None)
}

fn coin(key: &Keypair, n: u8, sats: u64) -> FundingUtxo {
    FundingUtxo {
        outpoint: OutPoint::new(Txid::from_byte_array([n; 32]), u32::from(n)),
        output: TxOut { value: Amount::from_sat(sats), script_pubkey: key_path_script(key) },
    }
}

fn blob() -> Vec<u8> {
    (0..MAX_ENVELOPE_DATA + 1_000).map(|i| (i % 251) as u8).collect()
}

fn build(envelopes: &[Envelope], funding: &[FundingUtxo]) -> Result<CommitReveal, BuildCommitRevealError> {
    let poster = keypair(0x11);
    build_commit_reveal(
        &poster,
        envelopes,
        funding,
        RATE,
        &key_path_script(&poster),
        &key_path_script(&poster),
    )
}

fn fee(tx: &Transaction) -> Amount {
    RATE.fee_vb(tx.weight().to_vbytes_ceil()).unwrap()
}

fn refused() -> InputRefused {
    InputRefused { input: 0, message: "script verification failed".to_owned() }
}

#[test]
fn commit_and_reveals_verify_under_the_kernel_are_deterministic_and_decode() {
    let poster = keypair(0x11);
    let blob = blob();
    let mut envelopes = split_batch(CHAIN, 3, &blob).unwrap();
    envelopes.push(Envelope::deposit(CHAIN, b"deposit: 1 BTC to account 7".to_vec()).unwrap());
    let funding = [coin(&poster, 1, 600_000), coin(&poster, 2, 1_500_000)];
    let posted = build(&envelopes, &funding).unwrap();

    // Byte-identical on a rebuild.
    let again = build(&envelopes, &funding).unwrap();
    assert_eq!(serialize(&posted.commit), serialize(&again.commit));
    for (first, second) in posted.reveals.iter().zip(&again.reveals) {
        assert_eq!(serialize(first), serialize(second));
    }

    // The commit: both coins, three envelope outputs and change.
    assert_eq!(kernel_verify_inputs(&posted.commit, &posted.funding, 0..2).unwrap(), Ok(()));
    assert_eq!(posted.commit.input.len(), 2);
    assert_eq!(posted.commit.output.len(), 4);
    assert_eq!(posted.commit_fee, fee(&posted.commit));
    let paid: Amount = posted.commit.output.iter().map(|output| output.value).sum();
    assert_eq!(Amount::from_sat(2_100_000) - paid, posted.commit_fee);
    assert_eq!(posted.commit.output[3].script_pubkey, key_path_script(&poster));

    // Each reveal: spends its output through the leaf, pays the dust limit (330 sat
    // for P2TR) and exactly the fee rate.
    let commit_txid = posted.commit.compute_txid();
    assert_eq!(posted.reveals.len(), 3);
    for (i, reveal) in posted.reveals.iter().enumerate() {
        let spent = &posted.envelope_outputs[i];
        assert_eq!(posted.commit.output[i], *spent);
        assert_eq!(reveal.input[0].previous_output, OutPoint::new(commit_txid, i as u32));
        assert_eq!(kernel_verify_inputs(reveal, std::slice::from_ref(spent), [0]).unwrap(), Ok(()));
        assert_eq!(reveal.output[0].value, Amount::from_sat(330));
        assert_eq!(spent.value - reveal.output[0].value, fee(reveal));
        assert_eq!(posted.reveal_fees[i], fee(reveal));
        assert_eq!(
            decode_transaction(reveal, CHAIN),
            vec![DecodedInput {
                input: 0,
                result: Ok(RevealedEnvelope {
                    envelope: envelopes[i].clone(),
                    poster: poster.x_only_public_key().0
                })
            }]
        );
    }
    // A full chunk's reveal weighs what MAX_ENVELOPE_DATA's docs say.
    assert_eq!(posted.reveals[0].weight().to_wu(), 392_798);
    assert!(posted.reveals.iter().all(|reveal| reveal.weight().to_wu() < 400_000));
    assert_eq!(decode_transaction(&posted.commit, CHAIN), vec![]);

    let decoded: Vec<Envelope> = posted
        .reveals
        .iter()
        .rev()
        .flat_map(|reveal| decode_transaction(reveal, CHAIN))
        .map(|input| input.result.unwrap().envelope)
        .collect();
    assert_eq!(reassemble_batch(3, &decoded), Ok(blob));
}

#[test]
fn tampered_reveals_are_refused_by_the_kernel() {
    let envelope = Envelope::forced_transaction(CHAIN, vec![0x5a; 1_500]).unwrap();
    let posted = build(std::slice::from_ref(&envelope), &[coin(&keypair(0x11), 1, 100_000)]).unwrap();
    let spent = std::slice::from_ref(&posted.envelope_outputs[0]);
    let verify = |tx: &Transaction| kernel_verify_inputs(tx, spent, [0]).unwrap();
    let reveal = &posted.reveals[0];
    assert_eq!(verify(reveal), Ok(()));
    let elements: Vec<Vec<u8>> = reveal.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let with = |elements: &[Vec<u8>]| {
        let mut tx = reveal.clone();
        tx.input[0].witness = Witness::from_slice(elements);
        tx
    };

    // One data byte changed in the leaf: the output does not commit to that leaf.
    let mut leaf_changed = elements.clone();
    leaf_changed[1][100] ^= 1;
    assert_eq!(verify(&with(&leaf_changed)), Err(refused()));
    // One bit of the signature flipped.
    let mut bad_signature = elements.clone();
    bad_signature[0][10] ^= 0x80;
    assert_eq!(verify(&with(&bad_signature)), Err(refused()));
    // A valid signature by another key over the same transaction.
    let forger = keypair(0x22);
    let mut forged = elements.clone();
    let secp = Secp256k1::new();
    let leaf_hash = bitcoin::taproot::TapLeafHash::from_script(
        bitcoin::Script::from_bytes(&elements[1]),
        bitcoin::taproot::LeafVersion::TapScript,
    );
    let sighash = bitcoin::sighash::SighashCache::new(reveal)
        .taproot_script_spend_signature_hash(
            0,
            &bitcoin::sighash::Prevouts::All(spent),
            leaf_hash,
            bitcoin::TapSighashType::Default,
        )
        .unwrap();
    let message = bitcoin::secp256k1::Message::from_digest(sighash.to_byte_array());
    forged[0] = secp.sign_schnorr_no_aux_rand(&message, &forger).as_ref().to_vec();
    assert_eq!(verify(&with(&forged)), Err(refused()));
    // The signed transaction paying itself more: the signature covers the outputs.
    let mut richer = reveal.clone();
    richer.output[0].value = Amount::from_sat(1_000);
    assert_eq!(verify(&richer), Err(refused()));
    // No signature at all.
    assert_eq!(verify(&with(&[vec![], elements[1].clone(), elements[2].clone()])), Err(refused()));
}

#[test]
fn funding_errors_and_the_change_threshold_are_exact() {
    let poster = keypair(0x11);
    let envelopes =
        [Envelope::deposit(CHAIN, vec![7; 300]).unwrap(), Envelope::deposit(CHAIN, vec![8; 10]).unwrap()];
    assert_eq!(build(&[], &[coin(&poster, 1, 100_000)]), Err(BuildCommitRevealError::NoEnvelopes));
    assert_eq!(build(&envelopes, &[]), Err(BuildCommitRevealError::NoFunding));
    let stranger = coin(&keypair(0x33), 2, 100_000);
    assert_eq!(
        build(&envelopes, &[coin(&poster, 1, 100_000), stranger.clone()]),
        Err(BuildCommitRevealError::ForeignFunding {
            outpoint: stranger.outpoint,
            script: stranger.output.script_pubkey.to_hex_string()
        })
    );

    // What the outputs need, and the commit fee without and with a change output
    // (43 bytes, 172 weight units more).
    let rich = build(&envelopes, &[coin(&poster, 1, 10_000_000)]).unwrap();
    let outputs: Amount = rich.envelope_outputs.iter().map(|output| output.value).sum();
    let fee_with_change = rich.commit_fee;
    let weight_without = rich.commit.weight().to_wu() - 172;
    let fee_without = RATE.fee_vb(weight_without.div_ceil(4)).unwrap();
    let needed = outputs + fee_without;

    let short = build(&envelopes, &[coin(&poster, 1, needed.to_sat() - 1)]);
    assert_eq!(
        short,
        Err(BuildCommitRevealError::InsufficientFunds { needed, available: needed - Amount::from_sat(1) })
    );
    let exact = build(&envelopes, &[coin(&poster, 1, needed.to_sat())]).unwrap();
    assert_eq!((exact.commit.output.len(), exact.commit_fee), (2, fee_without));
    assert_eq!(exact.commit.weight().to_wu(), weight_without);
    // Change appears once it reaches the dust limit (330 sat for P2TR).
    let threshold = outputs + fee_with_change + Amount::from_sat(330);
    let below = build(&envelopes, &[coin(&poster, 1, threshold.to_sat() - 1)]).unwrap();
    assert_eq!(below.commit.output.len(), 2);
    assert_eq!(below.commit_fee, threshold - Amount::from_sat(1) - outputs);
    let at = build(&envelopes, &[coin(&poster, 1, threshold.to_sat())]).unwrap();
    assert_eq!(at.commit.output.len(), 3);
    assert_eq!((at.commit.output[2].value, at.commit_fee), (Amount::from_sat(330), fee_with_change));
    for posted in [&exact, &below, &at] {
        assert_eq!(kernel_verify_inputs(&posted.commit, &posted.funding, [0]).unwrap(), Ok(()));
    }

    // A destination script 1,966 bytes longer than P2TR's (the output 1,968 bytes
    // longer) pushes a full chunk's reveal from 392,798 to 400,670 weight units.
    let full = split_batch(CHAIN, 0, &vec![1; MAX_ENVELOPE_DATA]).unwrap();
    let long_destination = ScriptBuf::from_bytes(vec![0x61; 2_000]);
    assert_eq!(
        build_commit_reveal(
            &poster,
            &full,
            &[coin(&poster, 1, 10_000_000)],
            RATE,
            &key_path_script(&poster),
            &long_destination
        ),
        Err(BuildCommitRevealError::RevealTooHeavy { index: 0, weight: 400_670, max: 400_000 })
    );
    assert_eq!(
        build_commit_reveal(
            &poster,
            &envelopes,
            &[coin(&poster, 1, 10_000_000)],
            FeeRate::from_sat_per_kwu(u64::MAX),
            &key_path_script(&poster),
            &key_path_script(&poster)
        ),
        Err(BuildCommitRevealError::Overflow { what: "a reveal fee" })
    );
}
