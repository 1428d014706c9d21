//! Curve gadgets: public-key decoding, inversion and the joint multiplication s G + e P.

use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitConfig;

use super::gates::{DecodeGate, DoubleAddGate, InverseGate};
use crate::{D, F};

/// A GF(p^5) element in a circuit: five Goldilocks coefficients, lowest degree first.
pub type Gfp5Target = [Target; 5];

/// A group element in affine (x, u) coordinates in a circuit ((0, 0) is the neutral).
#[derive(Clone, Copy, Debug)]
pub struct PointTarget {
    /// x = X/Z.
    pub x: Gfp5Target,
    /// u = x/y (1/w for the encoding w).
    pub u: Gfp5Target,
}

fn wires(row: usize, start: usize) -> Gfp5Target {
    core::array::from_fn(|i| Target::wire(row, start + i))
}

fn connect5(builder: &mut CircuitBuilder<F, D>, a: Gfp5Target, b: Gfp5Target) {
    for (x, y) in a.into_iter().zip(b) {
        builder.connect(x, y);
    }
}

/// Decodes a public key w (one [`DecodeGate`] row): the point, and whether w is valid (a group
/// element other than the neutral). For an invalid w the point is the generator, so that the
/// rest of the circuit stays satisfiable; both outcomes are forced.
pub fn decode_public_key(builder: &mut CircuitBuilder<F, D>, w: Gfp5Target) -> (PointTarget, BoolTarget) {
    let row = builder.add_gate(DecodeGate, vec![]);
    connect5(builder, w, wires(row, DecodeGate::WIRE_W));
    let point = PointTarget { x: wires(row, DecodeGate::WIRE_XP), u: wires(row, DecodeGate::WIRE_UP) };
    // The gate constrains the bit to q (1 - zw) with q and zw boolean.
    let valid = BoolTarget::new_unsafe(Target::wire(row, DecodeGate::WIRE_VALID));
    (point, valid)
}

/// 1/a (0 when a = 0) and the bit [a = 0] (one [`InverseGate`] row).
pub fn inverse_or_zero(builder: &mut CircuitBuilder<F, D>, a: Gfp5Target) -> (Gfp5Target, BoolTarget) {
    let row = builder.add_gate(InverseGate, vec![]);
    connect5(builder, a, wires(row, InverseGate::WIRE_A));
    // The gate constrains the bit to be boolean.
    (wires(row, InverseGate::WIRE_INV), BoolTarget::new_unsafe(Target::wire(row, InverseGate::WIRE_IS_ZERO)))
}

/// The two [`DoubleAddGate`]s used for the configuration: (with P, without P).
pub(crate) fn double_add_gates(config: &CircuitConfig) -> (DoubleAddGate, DoubleAddGate) {
    (
        DoubleAddGate::new(DoubleAddGate::max_steps(config, true), true),
        DoubleAddGate::new(DoubleAddGate::max_steps(config, false), false),
    )
}

/// s G + e P for the conventional generator G, from the little-endian bits of s and e (any
/// lengths; every bit is used, so s and e act as integers).
///
/// Shared doublings, most significant bit first: the positions above e's top bit use rows of the
/// fixed-base [`DoubleAddGate`], the others rows that also add e_i P. The accumulator starts at
/// the neutral, so leading zero steps (padding) are harmless.
pub fn mul_add_generator(
    builder: &mut CircuitBuilder<F, D>,
    p: &PointTarget,
    s_bits: &[BoolTarget],
    e_bits: &[BoolTarget],
) -> PointTarget {
    let (var_gate, fixed_gate) = double_add_gates(&builder.config);
    let zero = builder.zero();
    let total = s_bits.len().max(e_bits.len());
    let var_len = e_bits.len().div_ceil(var_gate.steps) * var_gate.steps;
    let fixed_len = total.saturating_sub(var_len).div_ceil(fixed_gate.steps) * fixed_gate.steps;
    let bit = |bits: &[BoolTarget], i: usize| bits.get(i).map_or(zero, |b| b.target);

    let mut acc = PointTarget { x: [zero; 5], u: [zero; 5] };
    // Positions var_len + fixed_len - 1 down to var_len, then var_len - 1 down to 0.
    let mut top = var_len + fixed_len;
    while top > 0 {
        let gate = if top > var_len { fixed_gate } else { var_gate };
        let row = builder.add_gate(gate, vec![]);
        connect5(builder, acc.x, wires(row, gate.wire_acc_in()));
        connect5(builder, acc.u, wires(row, gate.wire_acc_in() + 5));
        if gate.var_base {
            connect5(builder, p.x, wires(row, gate.wire_base()));
            connect5(builder, p.u, wires(row, gate.wire_base() + 5));
        }
        for j in 0..gate.steps {
            let position = top - 1 - j;
            builder.connect(bit(s_bits, position), Target::wire(row, gate.wire_s_bit(j)));
            if gate.var_base {
                builder.connect(bit(e_bits, position), Target::wire(row, gate.wire_e_bit(j)));
            }
        }
        acc = PointTarget { x: wires(row, gate.wire_acc_out()), u: wires(row, gate.wire_acc_out() + 5) };
        top -= gate.steps;
    }
    acc
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::{Field, PrimeField64, Sample};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::ecgfp5::{Gfp5, Point, Scalar};

    use super::*;
    use crate::ecgfp5::native::tests::{affine_of, random_point, random_scalar};
    use crate::ecgfp5::native::{q5, Q5};
    use crate::ecgfp5::testing::{assert_proof_fails, prove_and_verify, prove_with_tampering};
    use crate::C;

    fn bits_of(limbs: &[u64], n: usize) -> Vec<bool> {
        (0..n).map(|i| (limbs[i / 64] >> (i % 64)) & 1 == 1).collect()
    }

    /// One circuit: decode w, then s G + e P with the decoded point (or G), public outputs
    /// (valid, R.x, R.u, 1/R.u, [R = 0]).
    #[test]
    fn decode_and_multiply_match_l2() {
        let config = CircuitConfig::standard_recursion_config();
        let mut builder = CircuitBuilder::<F, D>::new(config);
        let w: Gfp5Target = builder.add_virtual_target_arr();
        let s_bits: Vec<BoolTarget> = (0..320).map(|_| builder.add_virtual_bool_target_safe()).collect();
        let e_bits: Vec<BoolTarget> = (0..256).map(|_| builder.add_virtual_bool_target_safe()).collect();
        let (p, valid) = decode_public_key(&mut builder, w);
        let r = mul_add_generator(&mut builder, &p, &s_bits, &e_bits);
        let (winv, is_zero) = inverse_or_zero(&mut builder, r.u);
        builder.register_public_input(valid.target);
        builder.register_public_inputs(&r.x);
        builder.register_public_inputs(&r.u);
        builder.register_public_inputs(&winv);
        builder.register_public_input(is_zero.target);
        let data = builder.build::<C>();

        let mut rng = ChaCha8Rng::seed_from_u64(61);
        let cases: Vec<(Q5, Scalar, Scalar)> = vec![
            // Random key and scalars.
            (q5(random_point(&mut rng).to_elements()), random_scalar(&mut rng), random_scalar(&mut rng)),
            // s G + e P = 0: e = 1, s = -x for P = x G.
            {
                let x = random_scalar(&mut rng);
                (q5(Point::mulgen(&x).to_elements()), -x, Scalar::ONE)
            },
            // Invalid key (not an encoding): P is replaced by G.
            {
                let mut w = Q5::sample(&mut rng);
                while Point::decode(&Gfp5::new(w.0)).is_some() {
                    w = Q5::sample(&mut rng);
                }
                (w, random_scalar(&mut rng), random_scalar(&mut rng))
            },
            // The neutral is not a valid key either.
            (Q5::ZERO, Scalar::ONE, Scalar::from_u64(2)),
        ];
        for (w_value, s, e) in cases {
            let e_limbs = e.to_limbs();
            // e below 2^256 as in signatures.
            let e = Scalar::from_limbs([e_limbs[0], e_limbs[1], e_limbs[2], e_limbs[3], 0]).expect("below n");
            let mut pw = PartialWitness::new();
            for (t, v) in w.iter().zip(w_value.0) {
                pw.set_target(*t, v).expect("fresh");
            }
            for (t, b) in s_bits.iter().zip(bits_of(&s.to_limbs(), 320)) {
                pw.set_bool_target(*t, b).expect("fresh");
            }
            for (t, b) in e_bits.iter().zip(bits_of(&e.to_limbs(), 256)) {
                pw.set_bool_target(*t, b).expect("fresh");
            }
            let proof = prove_and_verify(&data, pw);
            let decoded = Point::decode(&Gfp5::new(w_value.0)).filter(|q| !q.is_neutral());
            let base = decoded.unwrap_or(Point::GENERATOR);
            let expected = Point::mulgen(&s) + base * e;
            let pi = &proof.public_inputs;
            assert_eq!(pi[0], F::from_bool(decoded.is_some()));
            let expected_affine = affine_of(&expected);
            assert_eq!(&pi[1..6], &expected_affine.x.0);
            assert_eq!(&pi[6..11], &expected_affine.u.0);
            assert_eq!(&pi[11..16], &expected.to_elements());
            assert_eq!(pi[16], F::from_bool(expected.is_neutral()));
        }

        // Tampering: claim the valid key invalid, change R, claim R = 0.
        let x = random_scalar(&mut rng);
        let mut pw = PartialWitness::new();
        let w_value = q5(Point::mulgen(&x).to_elements());
        for (t, v) in w.iter().zip(w_value.0) {
            pw.set_target(*t, v).expect("fresh");
        }
        let s: Vec<bool> = (0..320).map(|_| rng.gen()).collect();
        let e: Vec<bool> = (0..256).map(|_| rng.gen()).collect();
        for (t, b) in s_bits.iter().zip(&s) {
            pw.set_bool_target(*t, *b).expect("fresh");
        }
        for (t, b) in e_bits.iter().zip(&e) {
            pw.set_bool_target(*t, *b).expect("fresh");
        }
        let targets = [valid.target, r.x[0], r.u[3], is_zero.target];
        for target in targets {
            let pw = pw.clone();
            assert_proof_fails(|| {
                prove_with_tampering(
                    &data,
                    pw,
                    &[(target, |v: F| if v.to_canonical_u64() <= 1 { F::ONE - v } else { v + F::ONE })],
                )
            });
        }
    }
}
