//! Decoding a public key w, proving either outcome.

use anyhow::Result;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, WitnessWrite};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Write};

use super::super::algebra::{
    bool_constraint, q_add_base_const, q_at, q_const, q_mul, q_mul_base, q_mul_sub, q_square, q_sub, Algebra,
};
use super::super::native::{curve_b, decode_witness, generator_coordinates, q5, NON_SQUARE};
use super::read_q5;
use crate::{D, F};

/// Decodes a public key w (`rollup_l2::ecgfp5::Point::decode`) and tells whether it is valid
/// (a group element other than the neutral), with a dummy point (the generator) when it is not.
///
/// w is valid iff w != 0 and x^2 - (w^2 - 2) x + b = 0 has a root, i.e. iff the discriminant
/// delta = (w^2 - 2)^2 - 4 b (never zero, b not being a square) is a square; the decoded point is
/// (x, 1/w) for the root x that is not a square (the two roots multiply to b, so exactly one is).
/// The prover supplies a bit q and t with
///
/// * q = 1: x^2 - (w^2 - 2) x + b = 0 and t^2 = NS x (x is the non-square root),
/// * q = 0: t^2 = NS delta (delta is not a square, so there is no root),
///
/// for the fixed non-square NS = 7, an is-zero bit zw of w with its inverse winv
/// (zw w = 0, w winv = 1 - zw), and the outputs valid = q (1 - zw) and the point
/// (xp, up) = valid ? (x, winv) : G. Every w has exactly one accepted value of q, zw, valid, xp and
/// up. Degree 5 ((1 - q) delta).
///
/// Wires: w (5), xp (5), up (5), valid (1) routed; then x (5), t (5), winv (5), q, zw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeGate;

impl DecodeGate {
    /// First wire of the input w.
    pub const WIRE_W: usize = 0;
    /// First wire of the output x coordinate.
    pub const WIRE_XP: usize = 5;
    /// First wire of the output u coordinate.
    pub const WIRE_UP: usize = 10;
    /// The output validity bit.
    pub const WIRE_VALID: usize = 15;
    const WIRE_X: usize = 16;
    const WIRE_T: usize = 21;
    const WIRE_WINV: usize = 26;
    const WIRE_Q: usize = 31;
    const WIRE_ZW: usize = 32;
    const NUM_WIRES: usize = 33;
    const NUM_CONSTRAINTS: usize = 33;

    fn constraints<A: Algebra>(&self, a: &mut A, wires: &[A::V]) -> Vec<A::V> {
        let mut out = Vec::with_capacity(Self::NUM_CONSTRAINTS);
        let w = q_at(wires, Self::WIRE_W);
        let xp = q_at(wires, Self::WIRE_XP);
        let up = q_at(wires, Self::WIRE_UP);
        let valid = wires[Self::WIRE_VALID];
        let x = q_at(wires, Self::WIRE_X);
        let t = q_at(wires, Self::WIRE_T);
        let winv = q_at(wires, Self::WIRE_WINV);
        let q = wires[Self::WIRE_Q];
        let zw = wires[Self::WIRE_ZW];

        // zw w = 0 and w winv = 1 - zw.
        for wi in w {
            out.push(a.mul(zw, wi));
        }
        let one = a.constant(F::ONE);
        let zero = a.constant(F::ZERO);
        let not_zw = a.sub(one, zw);
        out.extend(q_mul_sub(a, &w, &winv, Some(&[not_zw, zero, zero, zero, zero])));

        // q (x^2 - e x + b) = 0 with e = w^2 - 2.
        let w2 = q_square(a, &w);
        let e = q_add_base_const(a, &w2, -F::TWO);
        let x2 = q_square(a, &x);
        let b = q_const(a, curve_b().0);
        let ex = q_mul(a, &e, &x);
        let lhs = q_sub(a, &x2, &ex);
        let poly: [A::V; 5] = core::array::from_fn(|i| a.add(lhs[i], b[i]));
        out.extend(q_mul_base(a, q, &poly));

        // t^2 = NS (q x + (1 - q) delta) with delta = e^2 - 4 b.
        let e2 = q_square(a, &e);
        let four_b =
            q_const(a, (curve_b() * q5([F::from_canonical_u64(4), F::ZERO, F::ZERO, F::ZERO, F::ZERO])).0);
        let delta = q_sub(a, &e2, &four_b);
        let diff = q_sub(a, &x, &delta);
        let t2 = q_square(a, &t);
        let ns = F::from_canonical_u64(NON_SQUARE);
        for i in 0..5 {
            let sel = a.scaled_mul_add(F::ONE, q, diff[i], delta[i]);
            out.push(a.scale_add(-ns, sel, t2[i]));
        }

        out.push(bool_constraint(a, q));
        out.push(bool_constraint(a, zw));

        // valid = q (1 - zw) = q - q zw.
        let v_minus_q = a.sub(valid, q);
        out.push(a.scaled_mul_add(F::ONE, q, zw, v_minus_q));

        // (xp, up) = valid ? (x, winv) : G.
        let (gx, gu) = generator_coordinates();
        for (out_coords, chosen, dummy) in [(xp, x, gx), (up, winv, gu)] {
            for i in 0..5 {
                let g = a.constant(dummy[i]);
                let d = a.sub(chosen[i], g);
                let o = a.sub(out_coords[i], g);
                out.push(a.scaled_mul_add(-F::ONE, valid, d, o));
            }
        }
        out
    }

    /// Fills the computed wires of a row whose input w is set.
    pub(crate) fn fill(&self, w: &mut [F]) {
        let d = decode_witness(q5(core::array::from_fn(|i| w[Self::WIRE_W + i])));
        let p = d.point();
        for (start, v) in [
            (Self::WIRE_XP, p.x),
            (Self::WIRE_UP, p.u),
            (Self::WIRE_X, d.x),
            (Self::WIRE_T, d.t),
            (Self::WIRE_WINV, d.winv),
        ] {
            w[start..start + 5].copy_from_slice(&v.0);
        }
        w[Self::WIRE_VALID] = F::from_bool(d.valid());
        w[Self::WIRE_Q] = F::from_bool(d.q);
        w[Self::WIRE_ZW] = F::from_bool(d.zw);
    }
}

impl Gate<F, D> for DecodeGate {
    fn id(&self) -> String {
        "EcGfp5DecodeGate".to_string()
    }

    fn serialize(&self, _dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        Ok(())
    }

    fn deserialize(_src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self)
    }

    super::algebraic_evaluations!();

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(DecodeGenerator { row }.adapter())]
    }

    fn num_wires(&self) -> usize {
        Self::NUM_WIRES
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        5
    }

    fn num_constraints(&self) -> usize {
        Self::NUM_CONSTRAINTS
    }
}

super::packed_evaluation!(DecodeGate);

/// Computes a [`DecodeGate`] row from w.
#[derive(Clone, Debug)]
pub struct DecodeGenerator {
    row: usize,
}

impl SimpleGenerator<F, D> for DecodeGenerator {
    fn id(&self) -> String {
        "EcGfp5DecodeGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..5).map(|i| Target::wire(self.row, DecodeGate::WIRE_W + i)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<'_, F>, out_buffer: &mut GeneratedValues<F>) -> Result<()> {
        let mut w = vec![F::ZERO; DecodeGate::NUM_WIRES];
        w[..5].copy_from_slice(&read_q5(witness, self.row, DecodeGate::WIRE_W).0);
        DecodeGate.fill(&mut w);
        for (c, value) in w.into_iter().enumerate().skip(5) {
            out_buffer.set_target(Target::wire(self.row, c), value)?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)
    }

    fn deserialize(src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        use plonky2::util::serialization::Read;
        Ok(Self { row: src.read_usize()? })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::ecgfp5::Point;

    use super::super::testing::assert_tampering_detected;
    use super::*;
    use crate::ecgfp5::native::tests::{affine_of, random_point};
    use crate::ecgfp5::native::Q5;
    use crate::C;

    #[test]
    fn low_degree() {
        test_low_degree::<F, _, D>(DecodeGate);
    }

    #[test]
    fn eval_fns() -> Result<()> {
        test_eval_fns::<F, C, _, D>(DecodeGate)
    }

    fn row(w: Q5) -> Vec<F> {
        let mut wires = vec![F::ZERO; DecodeGate::NUM_WIRES];
        wires[..5].copy_from_slice(&w.0);
        DecodeGate.fill(&mut wires);
        wires
    }

    #[test]
    fn rows_match_l2_and_tampering_is_detected() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let mut seen = [false; 3];
        for i in 0..40 {
            let w = match i {
                0 => Q5::ZERO,
                _ if i % 2 == 0 => q5(random_point(&mut rng).to_elements()),
                _ => Q5::sample(&mut rng),
            };
            let wires = row(w);
            let decoded = Point::decode(&rollup_l2::ecgfp5::Gfp5::new(w.0));
            let valid = decoded.is_some() && w != Q5::ZERO;
            assert_eq!(wires[DecodeGate::WIRE_VALID], F::from_bool(valid));
            let xp = q5(core::array::from_fn(|i| wires[DecodeGate::WIRE_XP + i]));
            let up = q5(core::array::from_fn(|i| wires[DecodeGate::WIRE_UP + i]));
            let expected =
                if valid { affine_of(&decoded.expect("valid")) } else { affine_of(&Point::GENERATOR) };
            assert_eq!((xp, up), (expected.x, expected.u));
            seen[if w == Q5::ZERO {
                0
            } else if valid {
                1
            } else {
                2
            }] = true;
            // Determined wires: all but x when q = 0 and winv when w = 0 (both unused then).
            let q = wires[DecodeGate::WIRE_Q] == F::ONE;
            let tamper: Vec<usize> = (0..DecodeGate::NUM_WIRES)
                .filter(|&c| q || !(DecodeGate::WIRE_X..DecodeGate::WIRE_X + 5).contains(&c))
                .filter(|&c| {
                    w != Q5::ZERO || !(DecodeGate::WIRE_WINV..DecodeGate::WIRE_WINV + 5).contains(&c)
                })
                .collect();
            assert_tampering_detected(&DecodeGate, &wires, &tamper);
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn the_other_outcome_has_no_witness() {
        // A valid key cannot be declared invalid: q = 0 needs t^2 = NS delta with delta a square.
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        let w = q5(random_point(&mut rng).to_elements());
        let mut wires = row(w);
        wires[DecodeGate::WIRE_Q] = F::ZERO;
        wires[DecodeGate::WIRE_VALID] = F::ZERO;
        let (gx, gu) = generator_coordinates();
        wires[DecodeGate::WIRE_XP..DecodeGate::WIRE_XP + 5].copy_from_slice(&gx);
        wires[DecodeGate::WIRE_UP..DecodeGate::WIRE_UP + 5].copy_from_slice(&gu);
        // Whatever t is, NS delta is not a square; try the natural candidates.
        for t in [Q5::ZERO, Q5::ONE, q5(core::array::from_fn(|i| wires[DecodeGate::WIRE_T + i]))] {
            wires[DecodeGate::WIRE_T..DecodeGate::WIRE_T + 5].copy_from_slice(&t.0);
            assert!(super::super::testing::eval(&DecodeGate, &wires)
                .iter()
                .any(|c| *c != crate::ecgfp5::algebra::FE::ZERO));
        }
    }
}
