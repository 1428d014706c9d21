//! Steps of the joint scalar multiplication s G + e P (MSB first, shared doublings).

use anyhow::Result;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::util::serialization::{Buffer, IoError, IoResult, Read, Write};

use super::super::algebra::{
    add_fractions, bool_constraint, double_fractions, fraction_constraints, q_at, q_base_times_const,
    q_mul_base, Algebra,
};
use super::super::native::{generator_coordinates, q5, AffinePoint};
use crate::{D, F};

/// Wires of one affine point: x (5) then u (5).
const POINT: usize = 10;

/// A row of `steps` steps of the joint multiplication s G + e P, most significant bit first:
/// each step computes `acc <- 2 acc`, then (if `var_base`) `acc <- acc + e_i P`, then
/// `acc <- acc + s_i G` for the conventional generator G (a constant of the gate).
///
/// Points are affine (x, u); adding `b Q` for a bit b adds the point (b x_Q, b u_Q), which is Q or
/// the neutral (0, 0). Every intermediate result is a prover-supplied affine point tied to the
/// complete fractional formulas by x' Z = X and u' T = U; Z and T never vanish on group elements,
/// so each result is unique. The constraints have degree 7 (a doubling's x' w1^2 with w1 of
/// degree 3, an addition's x' (t7 - t9) with t9 of degree 6 once the bit multiplies P).
///
/// Wires (the first ones routed): acc_in (10), P (10, if `var_base`), per step the bit s_i and
/// (if `var_base`) e_i, acc_out (10); then per step the doubled point, the point after adding
/// e_i P (if `var_base`) and after adding s_i G (the last step's is acc_out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleAddGate {
    /// Number of steps (bits of each scalar) per row.
    pub steps: usize,
    /// Whether the steps also add e_i P for a variable point P.
    pub var_base: bool,
}

impl DoubleAddGate {
    /// A gate with `steps` steps per row.
    pub const fn new(steps: usize, var_base: bool) -> Self {
        Self { steps, var_base }
    }

    /// The largest number of steps that fits in a row of `config`.
    pub fn max_steps(config: &CircuitConfig, var_base: bool) -> usize {
        let mut steps = 1;
        loop {
            let next = Self::new(steps + 1, var_base);
            if next.num_wires_inner() > config.num_wires || next.num_routed() > config.num_routed_wires {
                return steps;
            }
            steps += 1;
        }
    }

    fn bits_per_step(&self) -> usize {
        1 + usize::from(self.var_base)
    }

    /// First wire of the input accumulator (x then u).
    pub const fn wire_acc_in(&self) -> usize {
        0
    }

    /// First wire of the variable point P (x then u); only with `var_base`.
    pub const fn wire_base(&self) -> usize {
        POINT
    }

    fn bits_start(&self) -> usize {
        if self.var_base {
            2 * POINT
        } else {
            POINT
        }
    }

    /// The wire of step `j`'s bit of s (step 0 is the most significant).
    pub fn wire_s_bit(&self, j: usize) -> usize {
        self.bits_start() + j * self.bits_per_step()
    }

    /// The wire of step `j`'s bit of e; only with `var_base`.
    pub fn wire_e_bit(&self, j: usize) -> usize {
        self.bits_start() + j * self.bits_per_step() + 1
    }

    /// First wire of the output accumulator (x then u).
    pub fn wire_acc_out(&self) -> usize {
        self.bits_start() + self.steps * self.bits_per_step()
    }

    fn num_routed(&self) -> usize {
        self.wire_acc_out() + POINT
    }

    fn block(&self) -> usize {
        POINT * (2 + usize::from(self.var_base))
    }

    /// First wire of step `j`'s doubled point.
    fn wire_double(&self, j: usize) -> usize {
        self.num_routed() + j * self.block()
    }

    /// First wire of step `j`'s point after adding e_j P.
    fn wire_add_var(&self, j: usize) -> usize {
        self.wire_double(j) + POINT
    }

    /// First wire of step `j`'s point after adding s_j G.
    fn wire_add_const(&self, j: usize) -> usize {
        if j + 1 == self.steps {
            self.wire_acc_out()
        } else {
            self.wire_double(j) + POINT * (1 + usize::from(self.var_base))
        }
    }

    fn num_wires_inner(&self) -> usize {
        self.num_routed() + self.steps * self.block() - POINT
    }

    /// The constraints, generically: per step the doubling (10), the addition of e P (10, if
    /// `var_base`), the addition of s G (10) and the bit constraints.
    fn constraints<A: Algebra>(&self, a: &mut A, w: &[A::V]) -> Vec<A::V> {
        let mut out = Vec::with_capacity(self.num_constraints_inner());
        let (gx, gu) = generator_coordinates();
        let mut acc = (q_at(w, self.wire_acc_in()), q_at(w, self.wire_acc_in() + 5));
        let base = (q_at(w, self.wire_base()), q_at(w, self.wire_base() + 5));
        for j in 0..self.steps {
            // Doubling.
            let d = (q_at(w, self.wire_double(j)), q_at(w, self.wire_double(j) + 5));
            let fr = double_fractions(a, &acc.0, &acc.1);
            fraction_constraints(a, &fr, &d.0, &d.1, &mut out);
            acc = d;
            // + e_j P.
            if self.var_base {
                let e = w[self.wire_e_bit(j)];
                let q = (q_mul_base(a, e, &base.0), q_mul_base(a, e, &base.1));
                let r = (q_at(w, self.wire_add_var(j)), q_at(w, self.wire_add_var(j) + 5));
                let fr = add_fractions(a, &acc.0, &acc.1, &q.0, &q.1);
                fraction_constraints(a, &fr, &r.0, &r.1, &mut out);
                acc = r;
                out.push(bool_constraint(a, e));
            }
            // + s_j G.
            let s = w[self.wire_s_bit(j)];
            let q = (q_base_times_const(a, s, gx), q_base_times_const(a, s, gu));
            let r = (q_at(w, self.wire_add_const(j)), q_at(w, self.wire_add_const(j) + 5));
            let fr = add_fractions(a, &acc.0, &acc.1, &q.0, &q.1);
            fraction_constraints(a, &fr, &r.0, &r.1, &mut out);
            acc = r;
            out.push(bool_constraint(a, s));
        }
        out
    }

    fn num_constraints_inner(&self) -> usize {
        self.steps * (21 + 11 * usize::from(self.var_base))
    }

    /// Fills the computed wires of a row whose input wires (accumulator, P and bits) are set.
    pub(crate) fn fill(&self, w: &mut [F]) {
        let read = |w: &[F], start: usize| AffinePoint {
            x: q5(core::array::from_fn(|i| w[start + i])),
            u: q5(core::array::from_fn(|i| w[start + 5 + i])),
        };
        let write = |w: &mut [F], start: usize, p: &AffinePoint| {
            w[start..start + 5].copy_from_slice(&p.x.0);
            w[start + 5..start + 10].copy_from_slice(&p.u.0);
        };
        let g = AffinePoint::generator();
        let mut acc = read(w, self.wire_acc_in());
        let base = if self.var_base { read(w, self.wire_base()) } else { AffinePoint::NEUTRAL };
        for j in 0..self.steps {
            acc = acc.double();
            write(w, self.wire_double(j), &acc);
            if self.var_base {
                acc = acc.add(&base.scaled(w[self.wire_e_bit(j)]));
                write(w, self.wire_add_var(j), &acc);
            }
            acc = acc.add(&g.scaled(w[self.wire_s_bit(j)]));
            write(w, self.wire_add_const(j), &acc);
        }
    }

    /// The input wires: accumulator, P and bits.
    fn input_wires(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..POINT).map(|i| self.wire_acc_in() + i).collect();
        if self.var_base {
            v.extend((0..POINT).map(|i| self.wire_base() + i));
        }
        for j in 0..self.steps {
            v.push(self.wire_s_bit(j));
            if self.var_base {
                v.push(self.wire_e_bit(j));
            }
        }
        v
    }
}

impl Gate<F, D> for DoubleAddGate {
    fn id(&self) -> String {
        format!("EcGfp5{self:?}")
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.steps)?;
        dst.write_bool(self.var_base)
    }

    fn deserialize(src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let steps = src.read_usize()?;
        let var_base = src.read_bool()?;
        if steps == 0 {
            return Err(IoError);
        }
        Ok(Self { steps, var_base })
    }

    super::algebraic_evaluations!();

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(DoubleAddGenerator { row, gate: *self }.adapter())]
    }

    fn num_wires(&self) -> usize {
        self.num_wires_inner()
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        7
    }

    fn num_constraints(&self) -> usize {
        self.num_constraints_inner()
    }
}

super::packed_evaluation!(DoubleAddGate);

/// Computes a [`DoubleAddGate`] row from its accumulator, point and bits.
#[derive(Clone, Debug)]
pub struct DoubleAddGenerator {
    row: usize,
    gate: DoubleAddGate,
}

impl SimpleGenerator<F, D> for DoubleAddGenerator {
    fn id(&self) -> String {
        "EcGfp5DoubleAddGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.gate.input_wires().into_iter().map(|c| Target::wire(self.row, c)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<'_, F>, out_buffer: &mut GeneratedValues<F>) -> Result<()> {
        let mut w = vec![F::ZERO; self.gate.num_wires_inner()];
        let inputs = self.gate.input_wires();
        for &c in &inputs {
            w[c] = witness.get_target(Target::wire(self.row, c));
        }
        self.gate.fill(&mut w);
        for (c, value) in w.into_iter().enumerate() {
            if !inputs.contains(&c) {
                out_buffer.set_target(Target::wire(self.row, c), value)?;
            }
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.gate.steps)?;
        dst.write_bool(self.gate.var_base)
    }

    fn deserialize(src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let row = src.read_usize()?;
        let steps = src.read_usize()?;
        let var_base = src.read_bool()?;
        Ok(Self { row, gate: DoubleAddGate::new(steps, var_base) })
    }
}

/// The affine point in wires `start..start + 10` of a witness row.
#[cfg(test)]
fn point_at(w: &[F], start: usize) -> AffinePoint {
    AffinePoint {
        x: q5(core::array::from_fn(|i| w[start + i])),
        u: q5(core::array::from_fn(|i| w[start + 5 + i])),
    }
}

#[cfg(test)]
mod tests {
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::ecgfp5::Point;

    use super::super::testing::assert_tampering_detected;
    use super::*;
    use crate::ecgfp5::native::tests::{affine_of, random_point};
    use crate::C;

    fn gates() -> [DoubleAddGate; 2] {
        let config = CircuitConfig::standard_recursion_config();
        [
            DoubleAddGate::new(DoubleAddGate::max_steps(&config, true), true),
            DoubleAddGate::new(DoubleAddGate::max_steps(&config, false), false),
        ]
    }

    #[test]
    fn layout_fits_the_standard_recursion_config() {
        let config = CircuitConfig::standard_recursion_config();
        let [var, fixed] = gates();
        assert_eq!((var.steps, fixed.steps), (3, 5));
        for g in [var, fixed] {
            assert!(g.num_wires() <= config.num_wires);
            assert!(g.num_routed() <= config.num_routed_wires);
        }
    }

    #[test]
    fn low_degree() {
        for g in gates() {
            test_low_degree::<F, _, D>(g);
        }
    }

    #[test]
    fn eval_fns() -> Result<()> {
        for g in gates() {
            test_eval_fns::<F, C, _, D>(g)?;
        }
        Ok(())
    }

    /// A row from a starting point, P and bits; returns the wires.
    fn row(gate: &DoubleAddGate, acc: &Point, p: &Point, s_bits: &[bool], e_bits: &[bool]) -> Vec<F> {
        let mut w = vec![F::ZERO; gate.num_wires()];
        let write = |w: &mut [F], start: usize, p: &AffinePoint| {
            w[start..start + 5].copy_from_slice(&p.x.0);
            w[start + 5..start + 10].copy_from_slice(&p.u.0);
        };
        write(&mut w, gate.wire_acc_in(), &affine_of(acc));
        if gate.var_base {
            write(&mut w, gate.wire_base(), &affine_of(p));
        }
        for j in 0..gate.steps {
            w[gate.wire_s_bit(j)] = F::from_bool(s_bits[j]);
            if gate.var_base {
                w[gate.wire_e_bit(j)] = F::from_bool(e_bits[j]);
            }
        }
        gate.fill(&mut w);
        w
    }

    #[test]
    fn rows_match_l2_and_tampering_is_detected() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for gate in gates() {
            for case in 0..6 {
                let acc = if case == 0 { Point::NEUTRAL } else { random_point(&mut rng) };
                let p = match case {
                    1 => acc,
                    2 => -acc,
                    3 => Point::GENERATOR,
                    _ => random_point(&mut rng),
                };
                let s_bits: Vec<bool> = (0..gate.steps).map(|_| rng.gen()).collect();
                let e_bits: Vec<bool> = (0..gate.steps).map(|_| rng.gen()).collect();
                let w = row(&gate, &acc, &p, &s_bits, &e_bits);
                // Expected: acc 2^k + sum of bits times P and G.
                let mut expected = acc;
                for j in 0..gate.steps {
                    expected = expected.double();
                    if gate.var_base && e_bits[j] {
                        expected += p;
                    }
                    if s_bits[j] {
                        expected += Point::GENERATOR;
                    }
                }
                assert_eq!(point_at(&w, gate.wire_acc_out()), affine_of(&expected));
                // P only matters if some bit of e is set.
                let uses_p = e_bits.iter().any(|&b| b);
                // A point (x, 0) doubles to the neutral whatever x: the neutral input's x is free
                // (inputs are always group elements, for which u = 0 means x = 0).
                let wires: Vec<usize> = (0..gate.num_wires())
                    .filter(|&c| {
                        uses_p || !gate.var_base || !(gate.wire_base()..gate.wire_base() + POINT).contains(&c)
                    })
                    .filter(|&c| case != 0 || !(gate.wire_acc_in()..gate.wire_acc_in() + 5).contains(&c))
                    .collect();
                assert_tampering_detected(&gate, &w, &wires);
            }
        }
    }
}
