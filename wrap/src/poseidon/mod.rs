//! Poseidon over the BLS12-381 scalar field `Fr`, the hash of the wrapper proof.
//!
//! # The permutation
//!
//! Poseidon (Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: A New
//! Hash Function for Zero-Knowledge Proof Systems", USENIX Security 2021, ePrint
//! 2019/458) with the S-box `x^5`, width `t = 5`, `R_F = 8` full rounds and
//! `R_P = 60` partial rounds over `Fr`: the paper's 128-bit instance for a 255-bit
//! field and `t = 5`, named `poseidonperm_x5_255_5` in the reference implementation
//! (HadesHash, <https://extgit.iaik.tugraz.at/krypto/hadeshash>). The round
//! constants and the MDS matrix come from the reference Grain LFSR ([`mod@params`]).
//!
//! Round `r` (of 68) adds the round constants, applies the S-box to every element
//! (rounds 0..4 and 64..68) or to element 0 only (the 60 partial rounds in between),
//! then multiplies by the MDS matrix. The implementation is checked against the
//! reference test vector for `poseidonperm_x5_255_5` (HadesHash
//! `code/test_vectors.txt`): the permutation of `[0, 1, 2, 3, 4]`.
//!
//! # Its uses
//!
//! - [`sponge`]: the hash functions and the transcript permutation, written once
//!   over [`crate::algebra::Backend`];
//! - [`config`]: plonky2's [`PoseidonBls12Config`] built on them;
//! - [`r1cs`]: the permutation as constraints (300 per permutation).

use ark_bls12_381::Fr;
use ark_ff::Field;
use std::sync::OnceLock;

pub mod config;
pub mod fast;
pub mod params;
pub mod r1cs;
pub mod sponge;

pub use config::{Digest, PoseidonBls12Config, PoseidonBls12Hash, PoseidonBls12Permutation};

use params::{params, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

/// Whether round `round` (`0..68`) is a full round.
pub fn is_full_round(round: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&round)
}

/// The Poseidon permutation, in place.
///
/// Computed with cheap partial rounds ([`fast`]); the same permutation as
/// [`permute_textbook`].
pub fn permute(state: &mut [Fr; WIDTH]) {
    static FAST: OnceLock<Option<fast::FastParams>> = OnceLock::new();
    match FAST.get_or_init(|| fast::FastParams::new(params())) {
        Some(fast) => fast.permute(state),
        None => permute_textbook(state),
    }
}

/// The Poseidon permutation in place, round by round as specified (a dense MDS
/// product in every round): the form the R1CS gadget follows.
pub fn permute_textbook(state: &mut [Fr; WIDTH]) {
    let params = params();
    for (round, constants) in params.round_constants.iter().enumerate() {
        for (element, constant) in state.iter_mut().zip(constants) {
            *element += constant;
        }
        if is_full_round(round) {
            for element in state.iter_mut() {
                *element = sbox(*element);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let previous = *state;
        for (element, row) in state.iter_mut().zip(&params.mds) {
            *element = Fr::sum_of_products(row, &previous);
        }
    }
}

/// `x^5`.
fn sbox(x: Fr) -> Fr {
    let x2 = x * x;
    let x4 = x2 * x2;
    x4 * x
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::MontFp;

    /// HadesHash `code/test_vectors.txt`, `poseidonperm_x5_255_5`.
    #[test]
    fn reference_test_vector() {
        let input = [0u64, 1, 2, 3, 4].map(Fr::from);
        let mut state = input;
        permute(&mut state);
        let mut textbook = input;
        permute_textbook(&mut textbook);
        let expected: [Fr; 5] = [
            MontFp!("0x2a918b9c9f9bd7bb509331c81e297b5707f6fc7393dcee1b13901a0b22202e18"),
            MontFp!("0x65ebf8671739eeb11fb217f2d5c5bf4a0c3f210e3f3cd3b08b5db75675d797f7"),
            MontFp!("0x2cc176fc26bc70737a696a9dfd1b636ce360ee76926d182390cdb7459cf585ce"),
            MontFp!("0x4dc4e29d283afd2a491fe6aef122b9a968e74eff05341f3cc23fda1781dcb566"),
            MontFp!("0x03ff622da276830b9451b88b85e6184fd6ae15c8ab3ee25a5667be8592cce3b1"),
        ];
        assert_eq!(state, expected);
        assert_eq!(textbook, expected);
    }
}
