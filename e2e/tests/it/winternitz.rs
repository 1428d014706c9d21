//! A Winternitz-signed 32-byte value revealed through a tapscript leaf on the
//! devnet, as the settlement contract's claims and asserts are.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::key::Secp256k1;
use bitcoin::opcodes::all::OP_EQUALVERIFY;
use bitcoin::opcodes::OP_TRUE;
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::{Address, Amount, KnownHrp, Sequence, Transaction, Witness, XOnlyPublicKey};
use rollup_e2e::TestEnv;
use rollup_l1::script::exec::UNSPENDABLE_INTERNAL_KEY;
use rollup_l1::script::winternitz::{verify_script, Output, Params, SecretKey, Signature};
use rollup_l1::script::{encode_num, Script};

use super::{confirmed_height, output_of, script_refusal, sink, spend};

#[test]
fn a_winternitz_signed_value_is_revealed_through_tapscript_and_a_forged_one_is_refused() {
    let env = TestEnv::start();
    // Both refusals fail an OP_EQUALVERIFY: of a chain value against its key
    // element, then of a signed byte against the committed one.
    const EQUALVERIFY_FAILED: &str = "Script failed an OP_EQUALVERIFY operation";
    let secp = Secp256k1::verification_only();
    let params = Params::with_default_width(32).unwrap();
    let secret = SecretKey::derive(&[0x42; 32], b"e2e/state-root", 0, params);
    let public = secret.public_key();
    // The leaf: verify the signature, then check the signed bytes are the
    // committed value (byte 31 is on top), then succeed.
    let committed = sha256::Hash::hash(b"rollup e2e: the committed state root").to_byte_array();
    let leaf = committed
        .iter()
        .rev()
        .fold(verify_script(&public, Output::Bytes).unwrap(), |script, byte| {
            script.num(i64::from(*byte)).op(OP_EQUALVERIFY)
        })
        .op(OP_TRUE);
    let script = leaf.to_script_buf();
    let internal = XOnlyPublicKey::from_slice(&UNSPENDABLE_INTERNAL_KEY).unwrap();
    let tree = TaprootBuilder::new().add_leaf(0, script.clone()).unwrap().finalize(&secp, internal).unwrap();
    let address = Address::p2tr_tweaked(tree.output_key(), KnownHrp::Regtest);
    let funding = env.fund(&address, Amount::from_sat(50_000_000));
    env.mine(1, None);
    let (outpoint, _) = output_of(&env, funding, &address.script_pubkey());
    let control = tree.control_block(&(script.clone(), LeafVersion::TapScript)).unwrap().serialize();
    let spend_with = |elements: Vec<Vec<u8>>| -> Transaction {
        let mut tx = spend(outpoint, Amount::from_sat(49_900_000), sink(), Sequence::MAX);
        let mut witness = Witness::from_slice(&elements);
        witness.push(script.as_bytes());
        witness.push(&control);
        tx.input[0].witness = witness;
        tx
    };

    let signature = secret.sign(&committed).unwrap();
    // Forged: the first digit raised by one without a matching chain value.
    let mut forged = signature.to_witness();
    let first_digit = signature.digits()[0];
    forged[1] = encode_num(i64::from((first_digit + 1) % 16));
    let forged = spend_with(forged);
    let reason = env.broadcast(&forged).expect("forged signature refused");
    println!("forged signature refused: {reason}");
    assert_eq!(reason, script_refusal(&forged, 0, EQUALVERIFY_FAILED));
    // A genuine signature by the same key, on another value: the leaf's value
    // check refuses it.
    let mut other = committed;
    other[31] ^= 1;
    let other = spend_with(secret.sign(&other).unwrap().to_witness());
    let reason = env.broadcast(&other).expect("other value refused");
    println!("signature on another value refused: {reason}");
    assert_eq!(reason, script_refusal(&other, 0, EQUALVERIFY_FAILED));

    let good = spend_with(signature.to_witness());
    assert!(good.weight().to_wu() < 400_000, "{}", good.weight());
    assert_eq!(env.broadcast(&good), None);
    env.mine(1, None);
    assert!(confirmed_height(&env, &good.compute_txid()).is_some());

    // A watcher reads the revealed value back from the mined witness.
    let mined = env.esplora().get_tx(&good.compute_txid()).unwrap().expect("mined transaction");
    let elements: Vec<Vec<u8>> = mined.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let revealed = Signature::from_witness(params, &elements[..elements.len() - 2]).unwrap();
    assert_eq!(public.verify(&revealed).unwrap(), committed.to_vec());
    assert_eq!(Script::from_bytes(elements[elements.len() - 2].clone()), leaf);
}
