//! Winternitz verification per signed byte, for every digit width.

use bitcoin::opcodes::all::OP_DROP;
use bitcoin::opcodes::OP_TRUE;
use rollup_l1::script::winternitz::{verify_script, Output, Params, SecretKey};

use crate::measure;

pub(crate) fn bench() {
    for (width, length) in [(4, 32), (4, 20), (4, 48), (2, 32), (3, 32), (5, 32), (6, 32), (8, 32)] {
        let params = Params::new(width, length).unwrap();
        let secret = SecretKey::derive(&[1; 32], b"bench", 0, params);
        let message: Vec<u8> = (0..length).map(|i| (i * 37 + 11) as u8).collect();
        let signature = secret.sign(&message).unwrap();
        let output = if 8 % width == 0 { Output::Bytes } else { Output::Digits };
        let left = if 8 % width == 0 { length } else { params.message_digits() };
        // The verifier, then drop what it leaves and succeed.
        let gadget = verify_script(&secret.public_key(), output).unwrap();
        let leaf = gadget.clone().ops(OP_DROP, left).op(OP_TRUE);
        let name = format!("Winternitz w={width}, {length}-byte message");
        let run = measure(&name, &gadget, &leaf, &signature.to_witness());
        println!(
            "|   per signed byte | {:.1} | | {:.1} | | | |",
            gadget.len() as f64 / length as f64,
            run.witness_bytes as f64 / length as f64
        );
    }
}
