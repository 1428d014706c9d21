//! Arithmetic written once for every place a gate's constraints are evaluated.
//!
//! A custom gate evaluates the same polynomial constraints in three settings: over the
//! extension field (`eval_unfiltered`, used by the native verifier), over packed base-field
//! values (`eval_unfiltered_base_packed`, used by the prover) and as recursive-circuit targets
//! (`eval_unfiltered_circuit`). [`Algebra`] abstracts the ring operations so that every gate
//! writes its constraints once, generically; the GF(p^5) and curve formulas on top of it are
//! shared by all gates.

use core::marker::PhantomData;

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::packed::PackedField;
use plonky2::field::types::Field;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::native::{B1, W};
use crate::{D, F};

/// The extension field in which the verifier evaluates constraints.
pub(crate) type FE = <F as Extendable<D>>::Extension;

/// A commutative ring with the operations the constraints need.
pub(crate) trait Algebra {
    /// A ring element.
    type V: Copy;
    /// The constant `c`.
    fn constant(&mut self, c: F) -> Self::V;
    /// a + b.
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// a - b.
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// a * b.
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// k * a for a constant k.
    fn scale(&mut self, k: F, a: Self::V) -> Self::V;
    /// k * a * b + c for a constant k.
    fn scaled_mul_add(&mut self, k: F, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// k * a + b for a constant k.
    fn scale_add(&mut self, k: F, a: Self::V, b: Self::V) -> Self::V;
    /// a * b - c.
    fn mul_sub(&mut self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
}

/// Values in the verifier's extension field.
pub(crate) struct ExtAlg;

impl Algebra for ExtAlg {
    type V = FE;
    fn constant(&mut self, c: F) -> FE {
        <FE as FieldExtension<D>>::from_basefield(c)
    }
    fn add(&mut self, a: FE, b: FE) -> FE {
        a + b
    }
    fn sub(&mut self, a: FE, b: FE) -> FE {
        a - b
    }
    fn mul(&mut self, a: FE, b: FE) -> FE {
        a * b
    }
    fn scale(&mut self, k: F, a: FE) -> FE {
        <FE as FieldExtension<D>>::scalar_mul(&a, k)
    }
    fn scaled_mul_add(&mut self, k: F, a: FE, b: FE, c: FE) -> FE {
        <FE as FieldExtension<D>>::scalar_mul(&(a * b), k) + c
    }
    fn scale_add(&mut self, k: F, a: FE, b: FE) -> FE {
        <FE as FieldExtension<D>>::scalar_mul(&a, k) + b
    }
    fn mul_sub(&mut self, a: FE, b: FE, c: FE) -> FE {
        a * b - c
    }
}

/// Packed base-field values (the prover's evaluation; `P = F` gives plain base-field values).
pub(crate) struct PackedAlg<P>(PhantomData<P>);

impl<P> PackedAlg<P> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P: PackedField<Scalar = F>> Algebra for PackedAlg<P> {
    type V = P;
    fn constant(&mut self, c: F) -> P {
        P::from(c)
    }
    fn add(&mut self, a: P, b: P) -> P {
        a + b
    }
    fn sub(&mut self, a: P, b: P) -> P {
        a - b
    }
    fn mul(&mut self, a: P, b: P) -> P {
        a * b
    }
    fn scale(&mut self, k: F, a: P) -> P {
        a * k
    }
    fn scaled_mul_add(&mut self, k: F, a: P, b: P, c: P) -> P {
        a * b * k + c
    }
    fn scale_add(&mut self, k: F, a: P, b: P) -> P {
        a * k + b
    }
    fn mul_sub(&mut self, a: P, b: P, c: P) -> P {
        a * b - c
    }
}

/// Targets of a recursive verifier circuit.
pub(crate) struct CircuitAlg<'a> {
    builder: &'a mut CircuitBuilder<F, D>,
    one: ExtensionTarget<D>,
}

impl<'a> CircuitAlg<'a> {
    pub(crate) fn new(builder: &'a mut CircuitBuilder<F, D>) -> Self {
        let one = builder.one_extension();
        Self { builder, one }
    }
}

impl Algebra for CircuitAlg<'_> {
    type V = ExtensionTarget<D>;
    fn constant(&mut self, c: F) -> Self::V {
        self.builder.constant_extension(<FE as FieldExtension<D>>::from_basefield(c))
    }
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.add_extension(a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.sub_extension(a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.mul_extension(a, b)
    }
    fn scale(&mut self, k: F, a: Self::V) -> Self::V {
        let zero = self.builder.zero_extension();
        self.builder.arithmetic_extension(k, F::ZERO, a, self.one, zero)
    }
    fn scaled_mul_add(&mut self, k: F, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        self.builder.arithmetic_extension(k, F::ONE, a, b, c)
    }
    fn scale_add(&mut self, k: F, a: Self::V, b: Self::V) -> Self::V {
        self.builder.arithmetic_extension(k, F::ONE, a, self.one, b)
    }
    fn mul_sub(&mut self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        self.builder.mul_sub_extension(a, b, c)
    }
}

// ------------------------------------------------------------------------------------------------
// GF(p^5) = GF(p)[z]/(z^5 - 3) on top of an algebra: five coefficients, lowest degree first.

/// A GF(p^5) element over an algebra.
pub(crate) type Q<V> = [V; 5];

/// Five consecutive wires as a GF(p^5) element.
pub(crate) fn q_at<V: Copy>(wires: &[V], start: usize) -> Q<V> {
    core::array::from_fn(|i| wires[start + i])
}

/// The constant element with coefficients `c`.
pub(crate) fn q_const<A: Algebra>(a: &mut A, c: [F; 5]) -> Q<A::V> {
    c.map(|c| a.constant(c))
}

/// x + y.
pub(crate) fn q_add<A: Algebra>(a: &mut A, x: &Q<A::V>, y: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|i| a.add(x[i], y[i]))
}

/// x - y.
pub(crate) fn q_sub<A: Algebra>(a: &mut A, x: &Q<A::V>, y: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|i| a.sub(x[i], y[i]))
}

/// x + c for a base-field constant c.
pub(crate) fn q_add_base_const<A: Algebra>(a: &mut A, x: &Q<A::V>, c: F) -> Q<A::V> {
    let mut out = *x;
    let c = a.constant(c);
    out[0] = a.add(x[0], c);
    out
}

/// c - k x for base-field constants c and k (e.g. 1 - 2 x).
pub(crate) fn q_const_minus_scaled<A: Algebra>(a: &mut A, c: F, k: F, x: &Q<A::V>) -> Q<A::V> {
    let cv = a.constant(c);
    core::array::from_fn(|i| if i == 0 { a.scale_add(-k, x[0], cv) } else { a.scale(-k, x[i]) })
}

/// k x for a base-field constant k.
pub(crate) fn q_scale<A: Algebra>(a: &mut A, k: F, x: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|i| a.scale(k, x[i]))
}

/// k x + y for a base-field constant k.
pub(crate) fn q_scale_add<A: Algebra>(a: &mut A, k: F, x: &Q<A::V>, y: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|i| a.scale_add(k, x[i], y[i]))
}

/// s x for a base-field element s of the algebra.
pub(crate) fn q_mul_base<A: Algebra>(a: &mut A, s: A::V, x: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|i| a.mul(s, x[i]))
}

/// s c for a base-field element s of the algebra and a constant c.
pub(crate) fn q_base_times_const<A: Algebra>(a: &mut A, s: A::V, c: [F; 5]) -> Q<A::V> {
    core::array::from_fn(|i| a.scale(c[i], s))
}

/// k b x, with b = 263 z the curve constant: multiplying by z shifts the coefficients up and
/// wraps the top one times W = 3.
pub(crate) fn q_mul_b<A: Algebra>(a: &mut A, k: u64, x: &Q<A::V>) -> Q<A::V> {
    let kb = F::from_canonical_u64(k * B1);
    let kbw = kb * F::from_canonical_u64(W);
    [a.scale(kbw, x[4]), a.scale(kb, x[0]), a.scale(kb, x[1]), a.scale(kb, x[2]), a.scale(kb, x[3])]
}

/// The factor of the product x_i y_j in coefficient (i + j) mod 5.
fn wrap(i: usize, j: usize) -> F {
    if i + j >= 5 {
        F::from_canonical_u64(W)
    } else {
        F::ONE
    }
}

/// x y - z (z may be zero: pass `None`).
pub(crate) fn q_mul_sub<A: Algebra>(a: &mut A, x: &Q<A::V>, y: &Q<A::V>, z: Option<&Q<A::V>>) -> Q<A::V> {
    core::array::from_fn(|k| {
        // Terms x_i y_j with i + j = k (mod 5).
        let j0 = k; // partner of i = 0
        let mut acc = match z {
            Some(z) => a.mul_sub(x[0], y[j0], z[k]),
            None => a.mul(x[0], y[j0]),
        };
        for (i, &xi) in x.iter().enumerate().skip(1) {
            let j = (k + 5 - i) % 5;
            acc = a.scaled_mul_add(wrap(i, j), xi, y[j], acc);
        }
        acc
    })
}

/// x y.
pub(crate) fn q_mul<A: Algebra>(a: &mut A, x: &Q<A::V>, y: &Q<A::V>) -> Q<A::V> {
    q_mul_sub(a, x, y, None)
}

/// x^2 (15 products).
pub(crate) fn q_square<A: Algebra>(a: &mut A, x: &Q<A::V>) -> Q<A::V> {
    core::array::from_fn(|k| {
        let mut acc: Option<A::V> = None;
        for i in 0..5 {
            let j = (k + 5 - i) % 5;
            if j < i {
                continue;
            }
            let factor = if i == j { wrap(i, j) } else { wrap(i, j).double() };
            acc = Some(match acc {
                None => {
                    let m = a.mul(x[i], x[j]);
                    a.scale(factor, m)
                }
                Some(acc) => a.scaled_mul_add(factor, x[i], x[j], acc),
            });
        }
        // Every coefficient has at least one term (i = j = k/2 mod 5 or a pair).
        acc.unwrap_or_else(|| a.constant(F::ZERO))
    })
}

// ------------------------------------------------------------------------------------------------
// Curve formulas in affine (x, u) coordinates, u = x / y (the neutral is (0, 0)).
//
// They are the complete formulas of `rollup_l2::ecgfp5` (double-odd curve y^2 = x (x^2 + 2 x + b),
// b = 263 z) with Z = T = 1 on the inputs: each returns the fractional result (X, Z, U, T) whose
// denominators Z and T are non-zero for every pair of group elements, so x' Z = X and u' T = U
// determine the affine result uniquely.

/// The fractional coordinates (X, Z, U, T) of 2 (x, u):
/// w1 = 1 - 2 (x + 1) u^2, X = 4 b u^2, Z = w1^2, U = 2 w1 u, T = 2 - 4 u^2 - w1^2.
pub(crate) fn double_fractions<A: Algebra>(a: &mut A, x: &Q<A::V>, u: &Q<A::V>) -> [Q<A::V>; 4] {
    let u2 = q_square(a, u);
    let xp1 = q_add_base_const(a, x, F::ONE);
    let m = q_mul(a, &xp1, &u2);
    let w1 = q_const_minus_scaled(a, F::ONE, F::TWO, &m);
    let big_x = q_mul_b(a, 4, &u2);
    let big_z = q_square(a, &w1);
    let w1u = q_mul(a, &w1, u);
    let big_u = q_scale(a, F::TWO, &w1u);
    // T = 2 - 4 u^2 - Z.
    let t0 = q_const_minus_scaled(a, F::TWO, F::from_canonical_u64(4), &u2);
    let big_t = q_sub(a, &t0, &big_z);
    [big_x, big_z, big_u, big_t]
}

/// The fractional coordinates (X, Z, U, T) of (x1, u1) + (x2, u2):
/// t1 = x1 x2, t3 = u1 u2, t5 = x1 + x2, t7 = t1 + b, t9 = t3 (2 b t5 + 2 t7),
/// t10 = (1 + 2 t3) (t5 + t7), X = b (t10 - t7), Z = t7 - t9, U = (u1 + u2) (b - t1), T = t7 + t9.
pub(crate) fn add_fractions<A: Algebra>(
    a: &mut A,
    x1: &Q<A::V>,
    u1: &Q<A::V>,
    x2: &Q<A::V>,
    u2: &Q<A::V>,
) -> [Q<A::V>; 4] {
    let b = [F::ZERO, F::from_canonical_u64(B1), F::ZERO, F::ZERO, F::ZERO];
    let t1 = q_mul(a, x1, x2);
    let t3 = q_mul(a, u1, u2);
    let t5 = q_add(a, x1, x2);
    let bc = q_const(a, b);
    let t7 = q_add(a, &t1, &bc);
    // 2 b t5 + 2 t7
    let bt5 = q_mul_b(a, 2, &t5);
    let s = q_scale_add(a, F::TWO, &t7, &bt5);
    let t9 = q_mul(a, &t3, &s);
    // (1 + 2 t3) (t5 + t7)
    let one = a.constant(F::ONE);
    let l: Q<A::V> =
        core::array::from_fn(
            |i| if i == 0 { a.scale_add(F::TWO, t3[0], one) } else { a.scale(F::TWO, t3[i]) },
        );
    let r = q_add(a, &t5, &t7);
    let t10 = q_mul(a, &l, &r);
    let d = q_sub(a, &t10, &t7);
    let big_x = q_mul_b(a, 1, &d);
    let big_z = q_sub(a, &t7, &t9);
    let su = q_add(a, u1, u2);
    let bt1 = q_sub(a, &bc, &t1);
    let big_u = q_mul(a, &su, &bt1);
    let big_t = q_add(a, &t7, &t9);
    [big_x, big_z, big_u, big_t]
}

/// The 10 constraints x' Z - X = 0 and u' T - U = 0 tying an affine result (x', u') to the
/// fractional coordinates of a formula.
pub(crate) fn fraction_constraints<A: Algebra>(
    a: &mut A,
    fractions: &[Q<A::V>; 4],
    x_out: &Q<A::V>,
    u_out: &Q<A::V>,
    out: &mut Vec<A::V>,
) {
    let [big_x, big_z, big_u, big_t] = fractions;
    out.extend(q_mul_sub(a, x_out, big_z, Some(big_x)));
    out.extend(q_mul_sub(a, u_out, big_t, Some(big_u)));
}

/// b (b - 1) = 0: b is a bit.
pub(crate) fn bool_constraint<A: Algebra>(a: &mut A, b: A::V) -> A::V {
    a.mul_sub(b, b, b)
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::native::{q5, Q5};
    use super::*;

    fn alg() -> PackedAlg<F> {
        PackedAlg::new()
    }

    fn random_q5(rng: &mut ChaCha8Rng) -> Q5 {
        Q5::sample(rng)
    }

    #[test]
    fn generic_field_arithmetic_matches_quintic_extension() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut a = alg();
        for _ in 0..50 {
            let (x, y, z) = (random_q5(&mut rng), random_q5(&mut rng), random_q5(&mut rng));
            let (xa, ya, za) = (x.0, y.0, z.0);
            assert_eq!(q5(q_mul(&mut a, &xa, &ya)), x * y);
            assert_eq!(q5(q_mul_sub(&mut a, &xa, &ya, Some(&za))), x * y - z);
            assert_eq!(q5(q_square(&mut a, &xa)), x * x);
            assert_eq!(q5(q_add(&mut a, &xa, &ya)), x + y);
            assert_eq!(q5(q_sub(&mut a, &xa, &ya)), x - y);
            let b =
                Q5::from_basefield_array([F::ZERO, F::from_canonical_u64(263), F::ZERO, F::ZERO, F::ZERO]);
            assert_eq!(q5(q_mul_b(&mut a, 4, &xa)), x * b * Q5::from(F::from_canonical_u64(4)));
            let k = F::from_canonical_u64(12345);
            assert_eq!(q5(q_const_minus_scaled(&mut a, F::ONE, k, &xa)), Q5::ONE - x * Q5::from(k));
            assert_eq!(q5(q_add_base_const(&mut a, &xa, k)), x + Q5::from(k));
            assert_eq!(q5(q_mul_base(&mut a, k, &xa)), x * Q5::from(k));
        }
        // The wrap factor is W = 3: z^4 * z = 3.
        let z4 = Q5::from_basefield_array([F::ZERO, F::ZERO, F::ZERO, F::ZERO, F::ONE]);
        let z1 = Q5::from_basefield_array([F::ZERO, F::ONE, F::ZERO, F::ZERO, F::ZERO]);
        assert_eq!(q5(q_mul(&mut a, &z4.0, &z1.0)), Q5::from(F::from_canonical_u64(3)));
    }

    #[test]
    fn bool_constraint_vanishes_on_bits_only() {
        let mut a = alg();
        assert_eq!(bool_constraint(&mut a, F::ZERO), F::ZERO);
        assert_eq!(bool_constraint(&mut a, F::ONE), F::ZERO);
        assert_ne!(bool_constraint(&mut a, F::TWO), F::ZERO);
    }
}
