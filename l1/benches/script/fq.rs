//! BLS12-381 Fq and Fq2 gadgets, and how many Fq multiplies fit one standard leaf.

use ark_bls12_381::Fq;
use ark_ff::{BigInteger, PrimeField, UniformRand};
use bitcoin::opcodes::OP_TRUE;
use num_bigint::BigUint;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::fq::{self, FQ};
use rollup_l1::script::Script;

use crate::{measure, STANDARD_TX_WEIGHT};

fn big(x: &Fq) -> BigUint {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le())
}

fn wit(x: &Fq) -> Vec<Vec<u8>> {
    fq::fq_witness(&big(x)).unwrap()
}

/// Runs `gadget` on `witness` and drops the `results` field elements it leaves.
fn bench_gadget(name: &str, gadget: Script, witness: Vec<Vec<u8>>, results: usize) {
    let mut leaf = gadget.clone();
    for _ in 0..results {
        leaf = leaf.then(FQ.drop());
    }
    measure(name, &gadget, &leaf.op(OP_TRUE), &witness);
}

pub(crate) fn bench() {
    let mut rng = ChaCha20Rng::seed_from_u64(381);
    let a = Fq::rand(&mut rng);
    let b = Fq::rand(&mut rng);
    let (c, d) = (Fq::rand(&mut rng), Fq::rand(&mut rng));
    let two = |x: &Fq, y: &Fq| [wit(x), wit(y)].concat();
    bench_gadget("Fq add", fq::fq_add().unwrap(), two(&a, &b), 1);
    bench_gadget("Fq sub", fq::fq_sub().unwrap(), two(&a, &b), 1);
    bench_gadget("Fq double", fq::fq_double().unwrap(), wit(&a), 1);
    bench_gadget("Fq negate", fq::fq_neg().unwrap(), wit(&a), 1);
    bench_gadget("Fq equality (equalverify)", fq::fq_equalverify(), two(&a, &a), 0);
    bench_gadget("Fq canonical check", fq::fq_verify_canonical().unwrap(), wit(&a), 1);
    let hint = fq::fq_mul_hint(&big(&a), &big(&b)).unwrap();
    bench_gadget("Fq multiply (hinted)", fq::fq_mul().unwrap(), [hint, two(&a, &b)].concat(), 1);
    let hint = fq::fq_square_hint(&big(&a)).unwrap();
    bench_gadget("Fq square (hinted)", fq::fq_square().unwrap(), [hint, wit(&a)].concat(), 1);
    let hint = fq::fq2_mul_hint((&big(&a), &big(&b)), (&big(&c), &big(&d))).unwrap();
    let inputs = [wit(&a), wit(&b), wit(&c), wit(&d)].concat();
    bench_gadget("Fq2 multiply (3 hinted Fq multiplies)", fq::fq2_mul().unwrap(), [hint, inputs].concat(), 2);
    let hint = fq::fq2_square_hint((&big(&a), &big(&b))).unwrap();
    bench_gadget(
        "Fq2 square (2 hinted Fq multiplies)",
        fq::fq2_square().unwrap(),
        [hint, two(&a, &b)].concat(),
        2,
    );
    multiplies_per_leaf(&mut rng);
}

/// The most chained Fq multiplies `x ← x · y_i` one leaf can hold while its spend
/// stays a standard transaction.
fn multiplies_per_leaf(rng: &mut ChaCha20Rng) {
    let mul = fq::fq_mul().unwrap();
    let mut fitting = 0;
    for count in 1.. {
        let ys: Vec<Fq> = (0..count).map(|_| Fq::rand(rng)).collect();
        let x0 = Fq::rand(rng);
        let mut x = x0;
        let mut hints = Vec::new();
        for y in &ys {
            hints.push(fq::fq_mul_hint(&big(&x), &big(y)).unwrap());
            x *= y;
        }
        // Witness: the hints (last step deepest), x0, then the y_i (y_0 on top).
        let mut witness: Vec<Vec<u8>> = hints.iter().rev().flatten().cloned().collect();
        witness.extend(wit(&x0));
        for y in ys.iter().rev() {
            witness.extend(wit(y));
        }
        let mut leaf = Script::new();
        for i in 0..count {
            let ys_left = count - i;
            // Bring r_i, q_i, then x, then y_i to the top, and multiply.
            leaf = leaf.then(FQ.roll(ys_left + 2)).then(FQ.roll(ys_left + 2));
            leaf = if i == 0 { leaf.then(FQ.roll(ys_left + 2)) } else { leaf.then(FQ.roll(2)) };
            leaf = leaf.then(FQ.roll(3)).then(mul.clone());
        }
        let gadget = leaf.clone();
        let leaf = leaf.then(fq::fq_push(&big(&x)).unwrap()).then(fq::fq_equalverify()).op(OP_TRUE);
        let run = measure(&format!("{count} chained Fq multiplies in one leaf"), &gadget, &leaf, &witness);
        if run.tx_weight.to_wu() >= STANDARD_TX_WEIGHT {
            break;
        }
        fitting = count;
    }
    println!("| Fq multiplies that fit one standard leaf (< {STANDARD_TX_WEIGHT} WU) | {fitting} | | | | |");
}
