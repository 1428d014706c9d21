//! plonky2's Poseidon over Goldilocks, generic over [`Algebra`].
//!
//! The instance is plonky2's: width 12, rate 8, 4 + 22 + 4 rounds, S-box `x^7`, MDS
//! matrix circulant plus diagonal, with plonky2's own round constants. The partial
//! rounds use plonky2's "fast" form (the MDS matrix factored into a dense initial
//! matrix and sparse per-round matrices), because `PoseidonGate` stores the
//! intermediate S-box inputs of that form in its wires: the gate evaluation in
//! [`crate::gates`] and the permutation here share the layers below.
//!
//! [`hash_no_pad`] is `PoseidonHash::hash_no_pad` (overwrite-mode sponge, no padding),
//! which the wrapper uses for its public-inputs hash.

use plonky2::field::extension::FieldExtension;
use plonky2::field::types::Field;
use plonky2::hash::poseidon::{
    Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS, SPONGE_RATE, SPONGE_WIDTH,
};

use crate::algebra::{Algebra, Gl, GlExt};

/// The width of the permutation.
pub const WIDTH: usize = SPONGE_WIDTH;
/// The rate of the sponge.
pub const RATE: usize = SPONGE_RATE;
/// The number of elements of a digest.
pub const DIGEST_LEN: usize = 4;

/// One of the two coordinates the permutation can run on: Goldilocks itself
/// ([`BaseLane`], the hash) or its quadratic extension ([`ExtLane`], the gate
/// constraints evaluated at an extension point).
pub(crate) trait Lane<A: Algebra> {
    /// A value.
    type V: Clone;
    /// `a + b`.
    fn add(alg: &mut A, a: &Self::V, b: &Self::V) -> Self::V;
    /// `a · b`.
    fn mul(alg: &mut A, a: &Self::V, b: &Self::V) -> Self::V;
    /// `c · a` for a constant `c`.
    fn scale(alg: &mut A, a: &Self::V, c: Gl) -> Self::V;
    /// `a + c` for a constant `c`.
    fn add_constant(alg: &mut A, a: &Self::V, c: Gl) -> Self::V;
    /// The constant `c`.
    fn constant(alg: &mut A, c: Gl) -> Self::V;
    /// `a` with a small representation ([`Algebra::base_reduce`], [`Algebra::reduce`]).
    fn reduce(alg: &mut A, a: &Self::V) -> Self::V;
}

/// Values in Goldilocks.
pub(crate) struct BaseLane;

impl<A: Algebra> Lane<A> for BaseLane {
    type V = A::Base;
    fn add(alg: &mut A, a: &A::Base, b: &A::Base) -> A::Base {
        alg.base_add(a, b)
    }
    fn mul(alg: &mut A, a: &A::Base, b: &A::Base) -> A::Base {
        alg.base_mul(a, b)
    }
    fn scale(alg: &mut A, a: &A::Base, c: Gl) -> A::Base {
        alg.base_scale(a, c)
    }
    fn add_constant(alg: &mut A, a: &A::Base, c: Gl) -> A::Base {
        let c = alg.base_constant(c);
        alg.base_add(a, &c)
    }
    fn constant(alg: &mut A, c: Gl) -> A::Base {
        alg.base_constant(c)
    }
    fn reduce(alg: &mut A, a: &A::Base) -> A::Base {
        alg.base_reduce(a)
    }
}

/// Values in the quadratic extension.
pub(crate) struct ExtLane;

impl<A: Algebra> Lane<A> for ExtLane {
    type V = A::Ext;
    fn add(alg: &mut A, a: &A::Ext, b: &A::Ext) -> A::Ext {
        alg.add(a, b)
    }
    fn mul(alg: &mut A, a: &A::Ext, b: &A::Ext) -> A::Ext {
        alg.mul(a, b)
    }
    fn scale(alg: &mut A, a: &A::Ext, c: Gl) -> A::Ext {
        alg.scale(a, embed(c))
    }
    fn add_constant(alg: &mut A, a: &A::Ext, c: Gl) -> A::Ext {
        alg.add_constant(a, embed(c))
    }
    fn constant(alg: &mut A, c: Gl) -> A::Ext {
        alg.ext_constant(embed(c))
    }
    fn reduce(alg: &mut A, a: &A::Ext) -> A::Ext {
        alg.reduce(a)
    }
}

/// A Poseidon state.
pub(crate) type State<V> = [V; WIDTH];

/// `c` in the quadratic extension.
pub(crate) fn embed(c: Gl) -> GlExt {
    <GlExt as FieldExtension<2>>::from_basefield(c)
}

fn constant(c: u64) -> Gl {
    Gl::from_noncanonical_u64(c)
}

/// `Σ coefficient · value` over `terms`, for constant coefficients (zero terms skipped).
fn linear_combination<A: Algebra, L: Lane<A>>(
    alg: &mut A,
    terms: impl IntoIterator<Item = (L::V, Gl)>,
) -> L::V {
    let mut acc: Option<L::V> = None;
    for (value, coefficient) in terms {
        if coefficient == Gl::ZERO {
            continue;
        }
        let term = if coefficient == Gl::ONE { value } else { L::scale(alg, &value, coefficient) };
        acc = Some(match acc {
            None => term,
            Some(acc) => L::add(alg, &acc, &term),
        });
    }
    match acc {
        Some(acc) => acc,
        None => L::constant(alg, Gl::ZERO),
    }
}

/// Adds the round constants of round `round` (plonky2's `constant_layer`).
pub(crate) fn constant_layer<A: Algebra, L: Lane<A>>(alg: &mut A, state: &mut State<L::V>, round: usize) {
    let constants = ALL_ROUND_CONSTANTS.iter().skip(WIDTH * round);
    for (value, c) in state.iter_mut().zip(constants) {
        *value = L::add_constant(alg, value, constant(*c));
    }
}

/// `x^7` as `(x·x^2)^2·x`: four multiplications.
///
/// In R1CS (a value below `2^64` has about 64 bits of bound, a product the sum of
/// its operands'), `x^3 = x·x^2` is about 192 bits and is reduced once (a
/// reduction costs about as many constraints as the bits of the bound it removes);
/// `x^6 = (x^3)^2` and `x^7 = x^6·x` then need none. The order `x^2·x^2`,
/// `x·x^2`, `x^3·x^4` would need two reductions (`x^2`, then `x^3` or `x^4`). The
/// input is reduced by the first product if it is wide (the MDS output of the
/// previous round; once: reduced forms are cached); a gate's wire (canonical) or a
/// slightly wider value enters as it is.
pub(crate) fn sbox<A: Algebra, L: Lane<A>>(alg: &mut A, x: &L::V) -> L::V {
    let x2 = L::mul(alg, x, x);
    let x3 = L::mul(alg, x, &x2);
    let x3 = L::reduce(alg, &x3);
    let x6 = L::mul(alg, &x3, &x3);
    L::mul(alg, &x6, x)
}

/// The S-box on every element.
pub(crate) fn sbox_layer<A: Algebra, L: Lane<A>>(alg: &mut A, state: &mut State<L::V>) {
    for value in state.iter_mut() {
        *value = sbox::<A, L>(alg, value);
    }
}

/// The MDS matrix: row `r` is `Σ_i CIRC[i] · state[(i + r) mod 12] + DIAG[r] · state[r]`.
pub(crate) fn mds_layer<A: Algebra, L: Lane<A>>(alg: &mut A, state: &State<L::V>) -> State<L::V> {
    let circ = <Gl as Poseidon>::MDS_MATRIX_CIRC;
    let diag = <Gl as Poseidon>::MDS_MATRIX_DIAG;
    core::array::from_fn(|r| {
        let terms = (0..WIDTH).map(|i| {
            let j = (i + r) % WIDTH;
            // The diagonal term is folded into the coefficient of `state[r]` (`i = 0`).
            let mut coefficient = constant(circ[i]);
            if i == 0 {
                coefficient += constant(diag[r]);
            }
            (state[j].clone(), coefficient)
        });
        linear_combination::<A, L>(alg, terms)
    })
}

/// Adds the constants that open the fast partial rounds.
pub(crate) fn partial_first_constant_layer<A: Algebra, L: Lane<A>>(alg: &mut A, state: &mut State<L::V>) {
    let constants = <Gl as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT;
    for (value, c) in state.iter_mut().zip(constants) {
        *value = L::add_constant(alg, value, constant(c));
    }
}

/// The dense matrix that opens the fast partial rounds: `result[0] = state[0]` and
/// `result[c] = Σ_{r ≥ 1} state[r] · M[r - 1][c - 1]`.
pub(crate) fn mds_partial_layer_init<A: Algebra, L: Lane<A>>(
    alg: &mut A,
    state: &State<L::V>,
) -> State<L::V> {
    let matrix = <Gl as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX;
    // The entries are full 64-bit constants: each input is reduced once here rather
    // than left to grow (or to be reduced) inside the eleven sums it enters.
    let reduced: State<L::V> =
        core::array::from_fn(|r| if r == 0 { state[0].clone() } else { L::reduce(alg, &state[r]) });
    let mut result = state.clone();
    for (c, out) in result.iter_mut().enumerate().skip(1) {
        let terms = (1..WIDTH).map(|r| (reduced[r].clone(), constant(matrix[r - 1][c - 1])));
        *out = linear_combination::<A, L>(alg, terms);
    }
    result
}

/// The sparse matrix of a partial round, given that round's `ŵ` and `v`:
/// `result[0] = (CIRC[0] + DIAG[0]) · state[0] + Σ_{i ≥ 1} ŵ[i - 1] · state[i]` and
/// `result[i] = v[i - 1] · state[0] + state[i]`.
pub(crate) fn mds_partial_layer_fast<A: Algebra, L: Lane<A>>(
    alg: &mut A,
    state: &State<L::V>,
    w_hats: &[u64; WIDTH - 1],
    vs: &[u64; WIDTH - 1],
) -> State<L::V> {
    let mds00 =
        constant(<Gl as Poseidon>::MDS_MATRIX_CIRC[0]) + constant(<Gl as Poseidon>::MDS_MATRIX_DIAG[0]);
    // `state[0]` (an S-box output) enters all twelve results, eleven times through a
    // full 64-bit constant `v`: reduced once here, each product `v · state[0]` stays
    // near 128 bits in R1CS. Left lazy, a product by a smaller `v` would fit the
    // bound and make `state[i]` near 2^250, which every later round's `ŵ · state[i]`
    // would then have to reduce.
    let s0 = L::reduce(alg, &state[0]);
    let terms = core::iter::once((s0.clone(), mds00))
        .chain(state.iter().skip(1).zip(w_hats).map(|(s, w)| (s.clone(), constant(*w))));
    let d = linear_combination::<A, L>(alg, terms);
    let mut result = state.clone();
    result[0] = d;
    for (out, v) in result.iter_mut().skip(1).zip(vs) {
        let scaled = L::scale(alg, &s0, constant(*v));
        *out = L::add(alg, &scaled, out);
    }
    result
}

/// The per-round constants of the fast partial rounds: the constant added after the
/// S-box, `ŵ` and `v`.
pub(crate) fn partial_round_constants(
) -> impl Iterator<Item = (u64, &'static [u64; WIDTH - 1], &'static [u64; WIDTH - 1])> {
    <Gl as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS
        .into_iter()
        .zip(<Gl as Poseidon>::FAST_PARTIAL_ROUND_W_HATS.iter())
        .zip(<Gl as Poseidon>::FAST_PARTIAL_ROUND_VS.iter())
        .map(|((c, w), v)| (c, w, v))
}

/// The permutation, equal to plonky2's `Poseidon::poseidon` on Goldilocks.
pub fn permute<A: Algebra>(alg: &mut A, state: &[A::Base; WIDTH]) -> [A::Base; WIDTH] {
    let mut state = state.clone();
    let mut round = 0;
    full_rounds(alg, &mut state, &mut round);

    partial_first_constant_layer::<A, BaseLane>(alg, &mut state);
    state = mds_partial_layer_init::<A, BaseLane>(alg, &state);
    for (c, w_hats, vs) in partial_round_constants() {
        state[0] = sbox::<A, BaseLane>(alg, &state[0]);
        state[0] = BaseLane::add_constant(alg, &state[0], constant(c));
        state = mds_partial_layer_fast::<A, BaseLane>(alg, &state, w_hats, vs);
    }
    round += N_PARTIAL_ROUNDS;

    full_rounds(alg, &mut state, &mut round);
    state
}

fn full_rounds<A: Algebra>(alg: &mut A, state: &mut State<A::Base>, round: &mut usize) {
    for _ in 0..HALF_N_FULL_ROUNDS {
        constant_layer::<A, BaseLane>(alg, state, *round);
        sbox_layer::<A, BaseLane>(alg, state);
        *state = mds_layer::<A, BaseLane>(alg, state);
        *round += 1;
    }
}

/// The hash of `inputs`, equal to plonky2's `PoseidonHash::hash_no_pad`: from the
/// zero state, each chunk of [`RATE`] inputs overwrites the start of the state and
/// is followed by a permutation; the digest is the first four elements.
pub fn hash_no_pad<A: Algebra>(alg: &mut A, inputs: &[A::Base]) -> [A::Base; DIGEST_LEN] {
    let zero = alg.base_constant(Gl::ZERO);
    let mut state: [A::Base; WIDTH] = core::array::from_fn(|_| zero.clone());
    for chunk in inputs.chunks(RATE) {
        for (slot, input) in state.iter_mut().zip(chunk) {
            *slot = input.clone();
        }
        state = permute(alg, &state);
    }
    core::array::from_fn(|i| state[i].clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::algebra::Native;
    use plonky2::field::types::Sample;
    use rand::SeedableRng;

    #[test]
    fn fast_and_plain_partial_rounds_agree() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let input: [Gl; WIDTH] = core::array::from_fn(|_| Gl::sample(&mut rng));
        assert_eq!(permute(&mut Native::new(), &input), <Gl as Poseidon>::poseidon_naive(input));
    }
}
