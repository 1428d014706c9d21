//! Single-threaded benchmarks of the native EcGFp5 code: GF(p^5) multiplication, scalar
//! multiplication of the generator and of an arbitrary point, Schnorr signing and verification.
//!
//! `cargo bench -p rollup-l2 --bench ecgfp5` measures each operation for about a second and prints
//! ns/op (plus verifications per second per core). Without `--bench` on the command line (as under
//! `cargo test --benches`) only a tiny smoke pass runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use rollup_l2::ecgfp5::{Gfp5, Message, Point, Scalar, SecretKey, Signature};

/// Runs `op` (which performs `per_call` operations) until `budget` has elapsed, after one warm-up
/// call, and returns nanoseconds per operation.
fn measure(budget: Duration, per_call: u64, mut op: impl FnMut()) -> f64 {
    op();
    let start = Instant::now();
    let mut calls = 0u64;
    loop {
        op();
        calls += 1;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / (calls * per_call) as f64;
        }
    }
}

fn report(name: &str, ns: f64) {
    println!("{name:<34} {ns:>12.1} ns/op {:>12.0} op/s", 1e9 / ns);
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let budget = if full { Duration::from_secs(1) } else { Duration::from_millis(1) };
    if !full {
        println!("ecgfp5 bench: quick pass (run with `cargo bench` for measurements)");
    }

    // GF(p^5) multiplication: a dependent chain of 1000 products per call.
    let mut x = Gfp5::new([1u64, 2, 3, 4, 5].map(GoldilocksField::from_canonical_u64));
    let y = Gfp5::new(
        [
            0x1234_5678_9abc_def0,
            0x0fed_cba9_8765_4321,
            0x7777_7777_7777_7777,
            0x0123_4567_89ab_cdef,
            0xffff_fffe_0000_0000,
        ]
        .map(GoldilocksField::from_canonical_u64),
    );
    let ns = measure(budget, 1000, || {
        for _ in 0..1000 {
            x = black_box(x) * y;
        }
    });
    report("GF(p^5) mul", ns);
    black_box(x);

    let mut s = Scalar::from_bytes_reduce(&[0x5a; 64]);
    let step = Scalar::from_bytes_reduce(&[0xa7; 48]);

    let mut p = Point::GENERATOR;
    let ns = measure(budget, 1, || {
        s += step;
        p = Point::mulgen(black_box(&s));
    });
    report("scalar mult (generator, tables)", ns);

    let base = Point::mulgen(&Scalar::from_u64(0xdead_beef));
    let ns = measure(budget, 1, || {
        s += step;
        p = black_box(base) * s;
    });
    report("scalar mult (variable base)", ns);
    black_box(p);

    let sk = SecretKey::from_seed(b"bench key");
    let pk = sk.public_key();
    let mut m: Message = [1u64, 2, 3, 4].map(GoldilocksField::from_canonical_u64);
    let mut sig = sk.sign(&m);
    let ns = measure(budget, 1, || {
        m[0] += GoldilocksField::ONE;
        sig = sk.sign(black_box(&m));
    });
    report("sign", ns);

    let signed: Vec<(Message, Signature)> = (0..16u64)
        .map(|i| {
            let msg = [i, i + 1, i + 2, i + 3].map(GoldilocksField::from_canonical_u64);
            (msg, sk.sign(&msg))
        })
        .collect();
    let mut i = 0;
    let mut failures = 0u64;
    let ns = measure(budget, 1, || {
        let (msg, sig) = &signed[i % signed.len()];
        i += 1;
        if !pk.verify(black_box(msg), black_box(sig)) {
            failures += 1;
        }
    });
    report("verify", ns);
    println!("verifications per second per core: {:.0}", 1e9 / ns);
    if failures != 0 {
        eprintln!("error: {failures} valid signatures failed to verify");
        std::process::exit(1);
    }
}
