//! Winternitz verification per signed byte, for every digit width.

use bitcoin::opcodes::all::OP_DROP;
use bitcoin::opcodes::OP_TRUE;
use rollup_l1::script::winternitz::{verify_script, Output, Params, SecretKey};

use crate::measure;

pub(crate) fn bench() {
    // Every width leaving the message digits, so that the rows compare; then the
    // default width leaving bytes, as a leaf reading a signed value does.
    let cases = [2, 3, 4, 5, 6, 8].map(|width| (width, 32, Output::Digits));
    let extra = [(4, 20, Output::Bytes), (4, 32, Output::Bytes), (4, 48, Output::Bytes)];
    for (width, length, output) in cases.into_iter().chain(extra) {
        let params = Params::new(width, length).unwrap();
        let secret = SecretKey::derive(&[1; 32], b"bench", 0, params);
        let message: Vec<u8> = (0..length).map(|i| (i * 37 + 11) as u8).collect();
        let signature = secret.sign(&message).unwrap();
        let left = if output == Output::Bytes { length } else { params.message_digits() };
        // The verifier, then drop what it leaves and succeed.
        let gadget = verify_script(&secret.public_key(), output).unwrap();
        let leaf = gadget.clone().ops(OP_DROP, left).op(OP_TRUE);
        let name = format!("Winternitz w={width}, {length}-byte message, leaving {output:?}");
        let run = measure(&name, &gadget, &leaf, &signature.to_witness());
        println!(
            "|   per signed byte | {:.1} | | {:.1} | | | |",
            gadget.len() as f64 / length as f64,
            run.witness_bytes as f64 / length as f64
        );
    }
}
