//! The native permutation with cheap partial rounds (Poseidon paper, Appendix B).
//!
//! The textbook partial round `s ← M·S_p(s + c)` (`S_p`: S-box on `s[0]` only) costs
//! a dense 5×5 product. Two equivalent rewritings make it a sparse one:
//!
//! 1. **Constants.** The constant vector of partial round `j ≥ 1` is moved back
//!    through the MDS matrix into round `j − 1`: with `u = M⁻¹·acc`, `u[1..]` joins
//!    round `j − 1`'s constants before its S-box (it does not touch `s[0]`) and `u[0]`
//!    becomes a scalar `k_{j−1}` added to `s[0]` after that S-box. The first partial
//!    round keeps a full vector `ĉ`, the others only their scalar `k_j`
//!    (`k` of the last partial round is zero).
//! 2. **Matrices.** A block matrix `B = [[1, 0], [0, A]]` commutes with a partial
//!    round's non-linear step. Going from the last partial round backwards, the
//!    current dense matrix `D` (initially `M`) is factored as `D = S·B`, where
//!    `S = [[D₀₀, b], [w, I]]` is sparse (`A = D[1..][1..]`, `w = D[1..][0]`,
//!    `b = D[0][1..]·A⁻¹`); the round uses `S`, and `B` moves into the previous round,
//!    `D ← B·M`. The `B` left after the first partial round moves into the last
//!    full round before them (its matrix becomes `B·M`) and transforms `ĉ` into `B·ĉ`.
//!
//! A sparse round costs 9 multiplications instead of 25. The result is the same
//! permutation (tests compare it with the textbook form and the reference vector).
//! If a block `A` were singular (it is not for this instance: the constants are
//! fixed and the tests build them) the native permutation falls back to the
//! textbook form.

use ark_bls12_381::Fr;
use ark_ff::{Field, Zero};

use super::is_full_round;
use super::params::{Params, FULL_ROUNDS, PARTIAL_ROUNDS, ROUNDS, WIDTH};

type Matrix = [[Fr; WIDTH]; WIDTH];

/// A sparse matrix `[[row[0], row[1..]], [w, I]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sparse {
    row: [Fr; WIDTH],
    w: [Fr; WIDTH - 1],
}

/// The constants of the rewritten permutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastParams {
    /// The round constants of the full rounds, as in the textbook form.
    round_constants: [[Fr; WIDTH]; ROUNDS],
    mds: Matrix,
    /// The matrix of the last full round before the partial rounds.
    pre_partial_matrix: Matrix,
    /// The constant vector of the first partial round (`B·ĉ`).
    first_partial_constants: [Fr; WIDTH],
    /// The scalar added to `s[0]` after the S-box of each partial round.
    partial_scalars: [Fr; PARTIAL_ROUNDS],
    sparse: Vec<Sparse>,
}

impl FastParams {
    /// Rewrites the textbook constants, or `None` if a block is singular.
    pub fn new(params: &Params) -> Option<Self> {
        let first_partial = FULL_ROUNDS / 2;
        let mds = params.mds;
        let mds_inverse = invert(&mds)?;

        // 1. Constants, backwards.
        let mut partial_scalars = [Fr::zero(); PARTIAL_ROUNDS];
        let mut acc = params.round_constants[first_partial + PARTIAL_ROUNDS - 1];
        for j in (1..PARTIAL_ROUNDS).rev() {
            let u = apply(&mds_inverse, &acc);
            partial_scalars[j - 1] = u[0];
            acc = params.round_constants[first_partial + j - 1];
            for (a, v) in acc.iter_mut().zip(&u).skip(1) {
                *a += v;
            }
        }

        // 2. Matrices, backwards.
        let mut sparse =
            vec![Sparse { row: [Fr::zero(); WIDTH], w: [Fr::zero(); WIDTH - 1] }; PARTIAL_ROUNDS];
        let mut dense = mds;
        let mut block = mds;
        for slot in sparse.iter_mut().rev() {
            let (s, b) = factor(&dense)?;
            *slot = s;
            dense = multiply(&b, &mds);
            block = b;
        }
        // `block` is the B left after the first partial round, `dense = B·M`.
        Some(Self {
            round_constants: params.round_constants,
            mds,
            pre_partial_matrix: dense,
            first_partial_constants: apply(&block, &acc),
            partial_scalars,
            sparse,
        })
    }

    /// The permutation, in place.
    pub fn permute(&self, state: &mut [Fr; WIDTH]) {
        let first_partial = FULL_ROUNDS / 2;
        for round in 0..first_partial {
            let matrix = if round + 1 == first_partial { &self.pre_partial_matrix } else { &self.mds };
            self.full_round(state, round, matrix);
        }
        for (element, constant) in state.iter_mut().zip(&self.first_partial_constants) {
            *element += constant;
        }
        for (scalar, sparse) in self.partial_scalars.iter().zip(&self.sparse) {
            state[0] = sbox(state[0]) + scalar;
            let s0 = state[0];
            state[0] = Fr::sum_of_products(&sparse.row, state);
            for (element, w) in state.iter_mut().skip(1).zip(&sparse.w) {
                *element += *w * s0;
            }
        }
        for round in first_partial + PARTIAL_ROUNDS..ROUNDS {
            self.full_round(state, round, &self.mds);
        }
    }

    fn full_round(&self, state: &mut [Fr; WIDTH], round: usize, matrix: &Matrix) {
        debug_assert!(is_full_round(round));
        for (element, constant) in state.iter_mut().zip(&self.round_constants[round]) {
            *element = sbox(*element + constant);
        }
        *state = apply(matrix, state);
    }
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

fn apply(matrix: &Matrix, v: &[Fr; WIDTH]) -> [Fr; WIDTH] {
    core::array::from_fn(|i| Fr::sum_of_products(&matrix[i], v))
}

fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    core::array::from_fn(|i| core::array::from_fn(|j| (0..WIDTH).map(|k| a[i][k] * b[k][j]).sum()))
}

/// `D = S·B` with `B = [[1, 0], [0, A]]`, `A = D[1..][1..]`.
fn factor(dense: &Matrix) -> Option<(Sparse, Matrix)> {
    let mut a = [[Fr::zero(); WIDTH - 1]; WIDTH - 1];
    for (row_a, row_d) in a.iter_mut().zip(dense.iter().skip(1)) {
        row_a.copy_from_slice(&row_d[1..]);
    }
    let a_inverse = invert(&a)?;
    let mut row = [Fr::zero(); WIDTH];
    row[0] = dense[0][0];
    for (j, slot) in row.iter_mut().enumerate().skip(1) {
        *slot = (0..WIDTH - 1).map(|k| dense[0][1 + k] * a_inverse[k][j - 1]).sum();
    }
    let w = core::array::from_fn(|i| dense[1 + i][0]);
    let mut block = [[Fr::zero(); WIDTH]; WIDTH];
    block[0][0] = Fr::from(1u64);
    for (row_b, row_a) in block.iter_mut().skip(1).zip(&a) {
        row_b[1..].copy_from_slice(row_a);
    }
    Some((Sparse { row, w }, block))
}

/// The inverse of a square matrix by Gauss-Jordan elimination, `None` if singular.
fn invert<const N: usize>(matrix: &[[Fr; N]; N]) -> Option<[[Fr; N]; N]> {
    let mut m = *matrix;
    let mut inverse: [[Fr; N]; N] =
        core::array::from_fn(|i| core::array::from_fn(|j| if i == j { Fr::from(1u64) } else { Fr::zero() }));
    for column in 0..N {
        let pivot = (column..N).find(|&row| !m[row][column].is_zero())?;
        m.swap(column, pivot);
        inverse.swap(column, pivot);
        let scale = m[column][column].inverse()?;
        for j in 0..N {
            m[column][j] *= scale;
            inverse[column][j] *= scale;
        }
        for row in 0..N {
            if row != column {
                let factor = m[row][column];
                if !factor.is_zero() {
                    for j in 0..N {
                        let (a, b) = (m[column][j], inverse[column][j]);
                        m[row][j] -= factor * a;
                        inverse[row][j] -= factor * b;
                    }
                }
            }
        }
    }
    Some(inverse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn inverse_of_the_mds_matrix() {
        let mds = super::super::params::params().mds;
        let inverse = invert(&mds).unwrap_or_else(|| panic!("MDS singular"));
        let product = multiply(&mds, &inverse);
        for (i, row) in product.iter().enumerate() {
            for (j, entry) in row.iter().enumerate() {
                assert_eq!(*entry, Fr::from(u64::from(i == j)));
            }
        }
        assert!(invert(&[[Fr::from(1u64), Fr::from(2u64)], [Fr::from(2u64), Fr::from(4u64)]]).is_none());
    }

    #[test]
    fn fast_permutation_equals_the_textbook_one() {
        let params = super::super::params::params();
        let fast = FastParams::new(params).unwrap_or_else(|| panic!("singular block"));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            let state: [Fr; WIDTH] = core::array::from_fn(|_| Fr::rand(&mut rng));
            let mut textbook = state;
            super::super::permute_textbook(&mut textbook);
            let mut rewritten = state;
            fast.permute(&mut rewritten);
            assert_eq!(rewritten, textbook);
        }
    }
}
