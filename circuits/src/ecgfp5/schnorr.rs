//! Schnorr verification in a circuit (the scheme of `rollup_l2::ecgfp5`).

use anyhow::Result;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};
use rollup_l2::ecgfp5::{Scalar, CHALLENGE_TAG};

use super::curve::{decode_public_key, inverse_or_zero, mul_add_generator, PointTarget};
use super::gates::ByteSplitGate;
use crate::{D, F};

/// Number of packed elements of a signature (80 bytes, seven per element).
const PACKED: usize = 12;

/// Bits of s and e.
const SCALAR_BITS: usize = 320;

/// Bits of a challenge (four Goldilocks elements).
const CHALLENGE_BITS: usize = 256;

/// Widths of the chunks of s compared with n: s = sum S_j 2^(56 j), the first five chunks being
/// the packed elements 0..5 and the last the low 40 bits (five bytes) of element 5.
const CHUNK_WIDTHS: [usize; 6] = [56, 56, 56, 56, 56, 40];

/// A signature's 80 bytes in a circuit: s (40 bytes LE) then e (40 bytes LE), packed seven bytes
/// per element little-endian exactly as `rollup_l2::pack_bytes(&sig_bytes)` (12 elements: 11 of
/// 56 bits, the last of 24 bits). The gadget range-checks them.
///
/// Each element is the input wire of a [`ByteSplitGate`] row (one per element), which also
/// provides the bits and bytes the verification uses.
#[derive(Clone, Copy, Debug)]
pub struct SignatureTarget {
    /// The packed elements.
    pub packed: [Target; PACKED],
    /// The [`ByteSplitGate`] row of each element.
    rows: [usize; PACKED],
}

impl SignatureTarget {
    /// Allocates the targets and range-checks each element to its bit width.
    pub fn new(builder: &mut CircuitBuilder<F, D>) -> Self {
        let rows: [usize; PACKED] = core::array::from_fn(|_| builder.add_gate(ByteSplitGate, vec![]));
        // The last element holds bytes 77..80: 24 bits.
        let zero = builder.zero();
        for bit in 24..ByteSplitGate::BITS {
            builder.connect(Target::wire(rows[PACKED - 1], ByteSplitGate::wire_bit(bit)), zero);
        }
        let packed = rows.map(|row| Target::wire(row, ByteSplitGate::WIRE_ELEMENT));
        Self { packed, rows }
    }

    /// Sets the witness from any 80 bytes (valid signature or garbage).
    pub fn set(&self, witness: &mut PartialWitness<F>, bytes: &[u8; 80]) -> Result<()> {
        for (target, value) in self.packed.iter().zip(rollup_l2::pack_bytes(bytes)) {
            witness.set_target(*target, value)?;
        }
        Ok(())
    }

    /// Bit `i` of the 640-bit little-endian byte string (s is bits 0..320, e bits 320..640).
    fn bit(&self, i: usize) -> BoolTarget {
        // The gate constrains its bits to be boolean.
        BoolTarget::new_unsafe(Target::wire(
            self.rows[i / ByteSplitGate::BITS],
            ByteSplitGate::wire_bit(i % ByteSplitGate::BITS),
        ))
    }

    /// Byte `k` of the 80 bytes.
    fn byte(&self, k: usize) -> Target {
        Target::wire(self.rows[k / ByteSplitGate::BYTES], ByteSplitGate::wire_byte(k % ByteSplitGate::BYTES))
    }
}

/// True iff `rollup_l2::verify(pubkey, message, bytes)` is true, for any pubkey elements
/// (invalid encodings and w = 0 give false), any message and any 80 bytes (s >= n or e >= n
/// give false, e not equal to the challenge gives false, R' neutral gives false).
///
/// It never asserts validity: every input has a satisfying witness and the returned bit is
/// forced to the right value. The circuit computes R' = s G + e P (P the decoded key, or G when
/// the key is invalid), w' = 1/u(R') with an is-zero bit, the challenge
/// Poseidon(TAG, w', pubkey, message), and the AND of: key valid, R' not neutral, s < n, the top
/// 64 bits of e zero, and each 64-bit limb of e canonical (below p) and equal to the challenge
/// element. Every witness value comes from generators fed by the pubkey, message and
/// signature targets only.
pub fn verify_schnorr(
    builder: &mut CircuitBuilder<F, D>,
    pubkey: [Target; 5],
    message: [Target; 4],
    signature: &SignatureTarget,
) -> BoolTarget {
    verify_schnorr_parts(builder, pubkey, message, signature).ok
}

/// The output of [`verify_schnorr`] with the intermediate values the tests tamper with.
#[cfg_attr(not(test), allow(dead_code))]
struct SchnorrParts {
    ok: BoolTarget,
    key_valid: BoolTarget,
    r: PointTarget,
    r_neutral: BoolTarget,
    s_below_n: BoolTarget,
    digest: [Target; 4],
}

fn verify_schnorr_parts(
    builder: &mut CircuitBuilder<F, D>,
    pubkey: [Target; 5],
    message: [Target; 4],
    signature: &SignatureTarget,
) -> SchnorrParts {
    let (p, key_valid) = decode_public_key(builder, pubkey);
    let s_bits: Vec<BoolTarget> = (0..SCALAR_BITS).map(|i| signature.bit(i)).collect();
    let e_bits: Vec<BoolTarget> = (0..CHALLENGE_BITS).map(|i| signature.bit(SCALAR_BITS + i)).collect();
    let r = mul_add_generator(builder, &p, &s_bits, &e_bits);
    let (r_w, r_neutral) = inverse_or_zero(builder, r.u);

    let tag = builder.constant(F::from_canonical_u64(CHALLENGE_TAG));
    let mut input = vec![tag];
    input.extend(r_w);
    input.extend(pubkey);
    input.extend(message);
    let digest = builder.hash_n_to_hash_no_pad::<PoseidonHash>(input).elements;

    let s_ok = s_below_n(builder, signature);
    let mut checks = vec![key_valid, builder.not(r_neutral), s_ok];
    checks.extend(e_equals_digest(builder, signature, &digest));
    let mut ok = checks[0];
    for check in &checks[1..] {
        ok = builder.and(ok, *check);
    }
    SchnorrParts { ok, key_valid, r, r_neutral, s_below_n: s_ok, digest }
}

/// sum bytes\[i\] 256^i (little-endian, at most eight bytes: exact).
fn bytes_value(builder: &mut CircuitBuilder<F, D>, bytes: &[Target]) -> Target {
    let mut iter = bytes.iter().rev();
    let mut acc = iter.next().copied().unwrap_or_else(|| builder.zero());
    for &b in iter {
        acc = builder.mul_const_add(F::from_canonical_u64(256), acc, b);
    }
    acc
}

/// The checks that e (bytes 40..80) equals the digest as a 256-bit integer: e's top eight bytes
/// are zero, and each 64-bit limb is below p (a limb is at least p iff its high half is
/// 2^32 - 1 and its low half is not zero) and equal to the digest element.
fn e_equals_digest(
    builder: &mut CircuitBuilder<F, D>,
    signature: &SignatureTarget,
    digest: &[Target; 4],
) -> Vec<BoolTarget> {
    let zero = builder.zero();
    let hi_max = builder.constant(F::from_canonical_u64(u64::from(u32::MAX)));
    let mut checks = Vec::with_capacity(9);
    for (i, &d) in digest.iter().enumerate() {
        let start = 40 + 8 * i;
        let lo_bytes: Vec<Target> = (start..start + 4).map(|k| signature.byte(k)).collect();
        let hi_bytes: Vec<Target> = (start + 4..start + 8).map(|k| signature.byte(k)).collect();
        let lo = bytes_value(builder, &lo_bytes);
        let hi = bytes_value(builder, &hi_bytes);
        let limb = builder.mul_const_add(F::from_canonical_u64(1 << 32), hi, lo);
        let hi_is_max = builder.is_equal(hi, hi_max);
        let lo_is_zero = builder.is_equal(lo, zero);
        let lo_not_zero = builder.not(lo_is_zero);
        let non_canonical = builder.and(hi_is_max, lo_not_zero);
        checks.push(builder.not(non_canonical));
        checks.push(builder.is_equal(limb, d));
    }
    // The top eight bytes: their sum (at most 2040, no wrap-around) is zero iff they all are.
    let top: Vec<Target> = (72..80).map(|k| signature.byte(k)).collect();
    let sum = builder.add_many(top);
    checks.push(builder.is_equal(sum, zero));
    checks
}

/// The 56-bit chunks of n (the last one 40 bits wide), as in [`CHUNK_WIDTHS`].
fn n_chunks() -> [u64; 6] {
    let n = Scalar::MODULUS;
    let mut out = [0u64; 6];
    let mut offset = 0;
    for (chunk, width) in out.iter_mut().zip(CHUNK_WIDTHS) {
        for k in 0..width {
            let bit = offset + k;
            *chunk |= ((n[bit / 64] >> (bit % 64)) & 1) << k;
        }
        offset += width;
    }
    out
}

/// [s < n] by a subtraction with prover-supplied borrows: with c_0 = 0 and chunks S_j, N_j of
/// width k_j, D_j = S_j - N_j - c_j + 2^(k_j) c_(j+1) is range-checked to k_j bits, which forces
/// each borrow; s - n = sum D_j 2^(56 j) - c_6 2^320, so s < n iff c_6 = 1.
fn s_below_n(builder: &mut CircuitBuilder<F, D>, signature: &SignatureTarget) -> BoolTarget {
    let last_bytes: Vec<Target> = (35..40).map(|k| signature.byte(k)).collect();
    let last = bytes_value(builder, &last_bytes);
    let chunks = [
        signature.packed[0],
        signature.packed[1],
        signature.packed[2],
        signature.packed[3],
        signature.packed[4],
        last,
    ];
    let borrows: [BoolTarget; 6] = core::array::from_fn(|_| builder.add_virtual_bool_target_safe());
    builder.add_simple_generator(ScalarBorrowGenerator { chunks, borrows: borrows.map(|b| b.target) });
    let n = n_chunks();
    for j in 0..6 {
        let width = CHUNK_WIDTHS[j];
        let mut d = builder.mul_const_add(F::from_canonical_u64(1 << width), borrows[j].target, chunks[j]);
        if j > 0 {
            d = builder.sub(d, borrows[j - 1].target);
        }
        let minus_n = builder.constant(-F::from_canonical_u64(n[j]));
        d = builder.add(d, minus_n);
        builder.range_check(d, width);
    }
    borrows[5]
}

/// Computes the borrows of s - n for the comparison s < n (see `s_below_n`).
#[derive(Clone, Debug)]
pub struct ScalarBorrowGenerator {
    chunks: [Target; 6],
    borrows: [Target; 6],
}

impl SimpleGenerator<F, D> for ScalarBorrowGenerator {
    fn id(&self) -> String {
        "EcGfp5ScalarBorrowGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.chunks.to_vec()
    }

    fn run_once(&self, witness: &PartitionWitness<'_, F>, out_buffer: &mut GeneratedValues<F>) -> Result<()> {
        let n = n_chunks();
        let mut borrow = 0u64;
        for ((&chunk, &target), n_j) in self.chunks.iter().zip(&self.borrows).zip(n) {
            let s = witness.get_target(chunk).to_canonical_u64();
            // s - n_j - borrow < 0?
            let next = u64::from(u128::from(s) < u128::from(n_j) + u128::from(borrow));
            out_buffer.set_target(target, F::from_canonical_u64(next))?;
            borrow = next;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_target_array(&self.chunks)?;
        dst.write_target_array(&self.borrows)
    }

    fn deserialize(src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let chunks = src.read_target_array()?;
        let borrows = src.read_target_array()?;
        Ok(Self { chunks, borrows })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::proof::ProofWithPublicInputs;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::ecgfp5::{Gfp5, Point, SecretKey};
    use rollup_l2::{Digest, PubKey};

    use std::sync::OnceLock;

    use super::*;
    use crate::ecgfp5::testing::{assert_proof_fails, prove_and_verify, prove_with_tampering};
    use crate::C;

    /// One circuit with the verification bit as its only public input.
    struct Fixture {
        data: CircuitData<F, C, D>,
        pubkey: [Target; 5],
        message: [Target; 4],
        signature: SignatureTarget,
        parts: SchnorrParts,
    }

    impl Fixture {
        /// The circuit, built once for all tests.
        fn shared() -> &'static Self {
            static FIXTURE: OnceLock<Fixture> = OnceLock::new();
            FIXTURE.get_or_init(Self::new)
        }

        fn new() -> Self {
            let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let pubkey = builder.add_virtual_target_arr();
            let message = builder.add_virtual_target_arr();
            let signature = SignatureTarget::new(&mut builder);
            let parts = verify_schnorr_parts(&mut builder, pubkey, message, &signature);
            builder.register_public_input(parts.ok.target);
            Self { data: builder.build::<C>(), pubkey, message, signature, parts }
        }

        fn witness(&self, pubkey: &PubKey, message: &Digest, bytes: &[u8; 80]) -> PartialWitness<F> {
            let mut pw = PartialWitness::new();
            for (t, v) in self.pubkey.iter().zip(pubkey.0) {
                pw.set_target(*t, F::from_canonical_u64(v)).expect("fresh");
            }
            for (t, v) in self.message.iter().zip(message.0) {
                pw.set_target(*t, F::from_canonical_u64(v)).expect("fresh");
            }
            self.signature.set(&mut pw, bytes).expect("fresh");
            pw
        }

        /// Proves, verifies, checks the bit against `rollup_l2::verify` and returns it.
        fn check(&self, pubkey: &PubKey, message: &Digest, bytes: &[u8; 80]) -> bool {
            self.check_proof(pubkey, message, bytes).1
        }

        fn check_proof(
            &self,
            pubkey: &PubKey,
            message: &Digest,
            bytes: &[u8; 80],
        ) -> (ProofWithPublicInputs<F, C, D>, bool) {
            let proof = prove_and_verify(&self.data, self.witness(pubkey, message, bytes));
            let bit = proof.public_inputs[0];
            assert!(bit == F::ZERO || bit == F::ONE);
            let native = rollup_l2::verify(pubkey, message, bytes);
            assert_eq!(bit == F::ONE, native, "circuit and rollup_l2::verify disagree");
            (proof, native)
        }

        /// Asserts that the honest witness proves and that each tampering (one at a time) does not.
        fn assert_tampering_fails(
            &self,
            pubkey: &PubKey,
            message: &Digest,
            bytes: &[u8; 80],
            targets: &[Target],
        ) {
            let flip: fn(F) -> F = |v| if v == F::ZERO || v == F::ONE { F::ONE - v } else { v + F::ONE };
            prove_with_tampering(&self.data, self.witness(pubkey, message, bytes), &[])
                .expect("the honest witness proves");
            for &target in targets {
                assert_proof_fails(|| {
                    prove_with_tampering(&self.data, self.witness(pubkey, message, bytes), &[(target, flip)])
                });
            }
        }
    }

    fn random_message(rng: &mut ChaCha8Rng) -> Digest {
        Digest::from_elements([0; 4].map(|_: u8| F::sample(rng)))
    }

    fn sign(secret: &SecretKey, message: &Digest) -> [u8; 80] {
        rollup_l2::sign(secret, message).try_into().expect("80 bytes")
    }

    /// Adds `value` (little-endian bytes) to the 40-byte integer at `bytes[start..start + 40]`.
    fn add_le(bytes: &mut [u8; 80], start: usize, value: &[u8]) {
        let mut carry = 0u16;
        for i in 0..40 {
            let sum = u16::from(bytes[start + i]) + u16::from(value.get(i).copied().unwrap_or(0)) + carry;
            bytes[start + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "no overflow");
    }

    fn n_bytes() -> [u8; 40] {
        let mut out = [0u8; 40];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(Scalar::MODULUS) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    #[test]
    fn verification_matches_rollup_l2_on_valid_and_invalid_inputs() {
        let fx = Fixture::shared();
        let mut rng = ChaCha8Rng::seed_from_u64(71);
        let secret = SecretKey::from_seed(b"circuit");
        let pubkey = rollup_l2::pubkey_of(&secret);
        let message = random_message(&mut rng);
        let sig = sign(&secret, &message);

        // Valid signatures (two keys).
        assert!(fx.check(&pubkey, &message, &sig));
        let other_secret = SecretKey::from_seed(b"other");
        let other_pubkey = rollup_l2::pubkey_of(&other_secret);
        let other_message = random_message(&mut rng);
        assert!(fx.check(&other_pubkey, &other_message, &sign(&other_secret, &other_message)));

        // A flipped bit in the message, in s, in e.
        let mut m = message;
        m.0[2] ^= 1 << 17;
        assert!(!fx.check(&pubkey, &m, &sig));
        let mut bad = sig;
        bad[5] ^= 0x10;
        assert!(!fx.check(&pubkey, &message, &bad));
        let mut bad = sig;
        bad[41] ^= 0x01;
        assert!(!fx.check(&pubkey, &message, &bad));

        // Wrong public key, the neutral (w = 0), and a w that is no encoding.
        assert!(!fx.check(&other_pubkey, &message, &sig));
        assert!(!fx.check(&PubKey([0; 5]), &message, &sig));
        let invalid = loop {
            let w = [0; 5].map(|_: u8| F::sample(&mut rng));
            if Point::decode(&Gfp5::new(w)).is_none() {
                break PubKey(w.map(|e| e.to_canonical_u64()));
            }
        };
        assert!(!fx.check(&invalid, &message, &sig));

        // s + n (same R', so only the canonicity check rejects it), s = n, s = 2^320 - 1.
        let mut bad = sig;
        add_le(&mut bad, 0, &n_bytes());
        assert!(!fx.check(&pubkey, &message, &bad));
        let mut bad = sig;
        bad[..40].copy_from_slice(&n_bytes());
        assert!(!fx.check(&pubkey, &message, &bad));
        let mut bad = sig;
        bad[..40].fill(0xff);
        assert!(!fx.check(&pubkey, &message, &bad));

        // e with a non-zero top byte (still below n), and e + 2^256.
        let mut bad = sig;
        bad[79] = 0x01;
        assert!(!fx.check(&pubkey, &message, &bad));
        let mut bad = sig;
        bad[72] ^= 0x01;
        assert!(!fx.check(&pubkey, &message, &bad));

        // All-zero bytes (R' = 0 G + 0 P is the neutral) and random garbage.
        assert!(!fx.check(&pubkey, &message, &[0u8; 80]));
        for _ in 0..2 {
            let mut garbage = [0u8; 80];
            rng.fill_bytes(&mut garbage);
            assert!(!fx.check(&pubkey, &message, &garbage));
        }
    }

    #[test]
    fn the_prover_cannot_flip_the_bit() {
        let fx = Fixture::shared();
        let mut rng = ChaCha8Rng::seed_from_u64(72);
        let secret = SecretKey::from_seed(b"soundness");
        let pubkey = rollup_l2::pubkey_of(&secret);
        let message = random_message(&mut rng);
        let sig = sign(&secret, &message);
        let p = &fx.parts;

        // A good signature claimed invalid: the output, key validity, R' (so the digest would
        // change), R' neutral, s < n, the digest.
        assert!(fx.check(&pubkey, &message, &sig));
        fx.assert_tampering_fails(
            &pubkey,
            &message,
            &sig,
            &[
                p.ok.target,
                p.key_valid.target,
                p.r.x[0],
                p.r.u[4],
                p.r_neutral.target,
                p.s_below_n.target,
                p.digest[1],
            ],
        );

        // Bad signatures claimed valid: s + n (R' and the challenge are right, only s < n is
        // wrong), and a wrong message.
        let mut non_canonical = sig;
        add_le(&mut non_canonical, 0, &n_bytes());
        assert!(!fx.check(&pubkey, &message, &non_canonical));
        fx.assert_tampering_fails(&pubkey, &message, &non_canonical, &[p.ok.target, p.s_below_n.target]);
        let mut m = message;
        m.0[0] ^= 1;
        assert!(!fx.check(&pubkey, &m, &sig));
        fx.assert_tampering_fails(&pubkey, &m, &sig, &[p.ok.target, p.digest[0]]);
        // An invalid key claimed valid.
        assert!(!fx.check(&PubKey([0; 5]), &message, &sig));
        fx.assert_tampering_fails(&PubKey([0; 5]), &message, &sig, &[p.ok.target, p.key_valid.target]);
    }

    #[test]
    fn verifies_recursively() {
        let fx = Fixture::shared();
        let secret = SecretKey::from_seed(b"recursion");
        let message = Digest([5, 6, 7, 8]);
        let (proof, ok) = fx.check_proof(&rollup_l2::pubkey_of(&secret), &message, &sign(&secret, &message));
        assert!(ok);

        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let proof_t = builder.add_virtual_proof_with_pis(&fx.data.common);
        let vd_t = builder.constant_verifier_data(&fx.data.verifier_only);
        builder.verify_proof::<C>(&proof_t, &vd_t, &fx.data.common);
        builder.register_public_inputs(&proof_t.public_inputs);
        let outer = builder.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&proof_t, &proof).expect("fresh");
        let outer_proof = prove_and_verify(&outer, pw);
        assert_eq!(outer_proof.public_inputs, vec![F::ONE]);
    }

    #[test]
    fn packed_elements_are_range_checked() {
        let fx = Fixture::shared();
        let secret = SecretKey::from_seed(b"range");
        let pubkey = rollup_l2::pubkey_of(&secret);
        let message = Digest([1, 2, 3, 4]);
        let sig = sign(&secret, &message);
        // An element of 2^56 (or 2^24 for the last one) has no witness, even one that says "false".
        for (index, value) in [(0, 1u64 << 56), (6, u64::MAX >> 1), (11, 1 << 24)] {
            let mut pw = PartialWitness::new();
            for (t, v) in fx.pubkey.iter().zip(pubkey.0) {
                pw.set_target(*t, F::from_canonical_u64(v)).expect("fresh");
            }
            for (t, v) in fx.message.iter().zip(message.0) {
                pw.set_target(*t, F::from_canonical_u64(v)).expect("fresh");
            }
            let mut packed = rollup_l2::pack_bytes(&sig);
            packed[index] = F::from_canonical_u64(value);
            for (t, v) in fx.signature.packed.iter().zip(packed) {
                pw.set_target(*t, v).expect("fresh");
            }
            if index == 11 {
                // Bit 24 is wired to zero: witness generation itself finds the contradiction.
                let error = prove_with_tampering(&fx.data, pw, &[]).err().map(|e| e.to_string());
                assert!(error.is_some_and(|e| e.contains("set twice with different values")));
            } else {
                assert_proof_fails(|| prove_with_tampering(&fx.data, pw, &[]));
            }
        }
    }

    #[test]
    fn rows_per_signature() {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let pubkey = builder.add_virtual_target_arr();
        let message = builder.add_virtual_target_arr();
        let signature = SignatureTarget::new(&mut builder);
        let before = builder.num_gates();
        let _ = verify_schnorr(&mut builder, pubkey, message, &signature);
        let rows = builder.num_gates();
        // 12 byte splits, 99 double-and-add rows, 6 range checks, 9 arithmetic rows, 2 Poseidon
        // rows, decoding and inversion (constants come on top, shared by the whole circuit).
        assert_eq!(before, 12);
        assert!(rows <= 130, "{rows} rows");
    }
}
