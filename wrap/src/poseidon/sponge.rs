//! The hash functions and the transcript permutation built on Poseidon over `Fr`,
//! written once over [`Backend`] so that plonky2's native hasher
//! ([`super::PoseidonBls12Hash`]) and the R1CS verifier run the same code.
//!
//! The state is five scalars `[s0, s1, s2, s3, s4]`. `s0` is the capacity: it is
//! never overwritten by inputs nor read as output. `s1..s4` are the rate.
//!
//! # Domain separation
//!
//! The initial capacity separates the uses of the permutation:
//!
//! | use | initial `s0` |
//! | --- | --- |
//! | [`hash_no_pad`] of `n` Goldilocks values | `n` (`< 2^64`) |
//! | [`two_to_one`] | [`TWO_TO_ONE_TAG`] `= 2^64` |
//! | plonky2's transcript ([`permute_view`] from a fresh `Challenger`) | `0` initially, then the previous `s0'` |
//!
//! A slice length is below `2^64`, so no `hash_no_pad` starts like `two_to_one`.
//! The transcript starts from the all-zero state, like plonky2's `Challenger` over
//! its own Poseidon; its capacity is carried whole from one permutation to the next.

use ark_bls12_381::Fr;

use crate::algebra::Backend;

/// Goldilocks values per scalar (crate docs, "Packing").
pub const VALUES_PER_SCALAR: usize = 3;
/// Scalars absorbed per permutation: the rate, `s1..s4`.
pub const RATE: usize = 4;
/// Goldilocks values absorbed per permutation.
pub const VALUES_PER_BLOCK: usize = VALUES_PER_SCALAR * RATE;
/// The Goldilocks view of the rate that plonky2's transcript reads and writes.
pub const VIEW_WIDTH: usize = VALUES_PER_BLOCK;

/// The initial capacity of [`two_to_one`]: `2^64`, distinct from every
/// [`hash_no_pad`] initial capacity (an input length, below `2^64`).
pub const TWO_TO_ONE_TAG: u128 = 1 << 64;

/// Hashes Goldilocks values to one scalar.
///
/// The inputs are packed three per scalar (the last scalar zero-padded by packing),
/// the scalars are absorbed four per permutation in overwrite mode into `s1..s4`
/// (a short last block is zero-padded), and the output is `s1` after the last
/// permutation. The initial state is `[n, 0, 0, 0, 0]` for `n` inputs, so inputs of
/// different lengths are separated and zero padding is unambiguous. The empty input
/// is one permutation of `[0, 0, 0, 0, 0]`: every input, empty or not, costs
/// `max(1, ⌈n / 12⌉)` permutations.
pub fn hash_no_pad<B: Backend>(b: &mut B, inputs: &[B::Base]) -> B::Fr {
    // A slice never holds 2^64 elements on the platforms we support (usize ≤ 64 bits).
    let length = Fr::from(inputs.len() as u64);
    let zero = b.fr_constant(Fr::from(0u64));
    let mut state: [B::Fr; 5] = core::array::from_fn(|_| zero.clone());
    state[0] = b.fr_constant(length);

    let mut blocks: Vec<&[B::Base]> = inputs.chunks(VALUES_PER_BLOCK).collect();
    if blocks.is_empty() {
        blocks.push(&[]);
    }
    for block in blocks {
        let mut scalars = block.chunks(VALUES_PER_SCALAR);
        for slot in state.iter_mut().skip(1) {
            *slot = match scalars.next() {
                Some(chunk) => b.pack(chunk),
                None => zero.clone(),
            };
        }
        state = b.permute(&state);
    }
    let [_, out, ..] = state;
    out
}

/// plonky2's `hash_or_noop`: up to three values are packed into one scalar without
/// hashing (crate docs, "Packing"); more are hashed with [`hash_no_pad`].
///
/// plonky2 uses it for Merkle leaves, whose length is fixed per tree; as in plonky2,
/// a packed leaf and a hashed leaf of different lengths are not separated.
pub fn hash_or_noop<B: Backend>(b: &mut B, inputs: &[B::Base]) -> B::Fr {
    if inputs.len() <= VALUES_PER_SCALAR {
        b.pack(inputs)
    } else {
        hash_no_pad(b, inputs)
    }
}

/// Compresses two digests: `s1` of the permutation of `[2^64, left, right, 0, 0]`.
pub fn two_to_one<B: Backend>(b: &mut B, left: &B::Fr, right: &B::Fr) -> B::Fr {
    let tag = b.fr_constant(Fr::from(TWO_TO_ONE_TAG));
    let zero = b.fr_constant(Fr::from(0u64));
    let state = [tag, left.clone(), right.clone(), zero.clone(), zero];
    let [_, out, ..] = b.permute(&state);
    out
}

/// The permutation as plonky2's transcript sees it: twelve Goldilocks values and a
/// hidden capacity.
///
/// The state `[capacity, pack(view[0..3]), pack(view[3..6]), pack(view[6..9]),
/// pack(view[9..12])]` is permuted; the new view is `unpack(s'_{1+i})` for `i = 0..4`
/// (chunks 0, 1, 2 of each rate scalar, each reduced modulo the Goldilocks prime;
/// chunk 3 is dropped) and the new capacity is `s'_0`, kept whole.
///
/// The view must hold canonical Goldilocks values, as plonky2's do; the R1CS backend
/// checks it when packing.
pub fn permute_view<B: Backend>(
    b: &mut B,
    view: &[B::Base; VIEW_WIDTH],
    capacity: &B::Fr,
) -> ([B::Base; VIEW_WIDTH], B::Fr) {
    let [c0, c1, c2, c3] = [0, 1, 2, 3].map(|i| &view[VALUES_PER_SCALAR * i..VALUES_PER_SCALAR * (i + 1)]);
    let state = [capacity.clone(), b.pack(c0), b.pack(c1), b.pack(c2), b.pack(c3)];
    let [capacity, s1, s2, s3, s4] = b.permute(&state);
    let [a0, a1, a2] = b.unpack(&s1);
    let [a3, a4, a5] = b.unpack(&s2);
    let [a6, a7, a8] = b.unpack(&s3);
    let [a9, a10, a11] = b.unpack(&s4);
    ([a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11], capacity)
}
