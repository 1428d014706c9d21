//! EcGFp5 and the rollup's Schnorr signatures over it (native, non-circuit code).
//!
//! # The curve
//!
//! EcGFp5 (Thomas Pornin, "EcGFp5: a Specialized Elliptic Curve", 2022, with the reference
//! implementation at <https://github.com/pornin/ecgfp5>) is defined over the degree-5 extension
//! [`Gfp5`] = GF(p)\[z\]/(z^5 - 3) of the Goldilocks field, p = 2^64 - 2^32 + 1, whose elements are
//! five plonky2 [`GoldilocksField`](plonky2::field::goldilocks_field::GoldilocksField)
//! coefficients (lowest degree first). The curve is the double-odd curve
//!
//! ```text
//!     y^2 = x (x^2 + 2 x + 263 z)
//! ```
//!
//! of order 2n for the 319-bit prime
//! n = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241.
//! The group used for cryptography ([`Point`]) is the set of curve points that are *not* of
//! n-torsion, with the law P (+) Q = P + Q + N and the point N = (0, 0) as neutral; it has prime
//! order n, so there is no cofactor to deal with. [`Scalar`] is the ring of integers modulo n.
//! The conventional generator [`Point::GENERATOR`] is the element encoded as w = 4.
//!
//! # Encodings
//!
//! * A [`Gfp5`] element is five canonical Goldilocks elements, or 40 bytes: each coefficient as 8
//!   little-endian bytes, lowest degree first. Strict decoders reject coefficients >= p.
//! * A [`Point`] is encoded as the single field element w = y/x (w = 0 for the neutral), i.e. 5
//!   Goldilocks elements or 40 bytes. Encoding is injective and decoding is strict: w decodes iff
//!   w = 0 or (w^2 - 2)^2 - 4 * 263 z is a non-zero square, and every group element has exactly one
//!   encoding (see [`Point::decode`]).
//! * A [`Scalar`] is 40 bytes, little-endian; the strict decoder rejects integers >= n.
//!
//! # Signatures
//!
//! Keys and signatures follow this exact specification:
//!
//! * A [`SecretKey`] is a non-zero scalar x; its [`PublicKey`] is P = x G, encoded as its w
//!   (5 Goldilocks elements / 40 bytes). The neutral element is not a valid public key.
//!   [`SecretKey::from_seed`] sets x = SHA-512(`b"rollup/ecgfp5/keygen"` || seed) mod n (the 64-byte
//!   digest read little-endian); should that be zero, the hash is recomputed with one counter byte
//!   1, 2, ... appended.
//! * A [`Message`] is `[GoldilocksField; 4]`, a Poseidon digest produced by the caller.
//! * The challenge ([`challenge`]) is e = Poseidon `hash_n_to_hash_no_pad` over the 15 elements
//!   `[TAG, R.w (5), P.w (5), m (4)]`, where TAG = [`CHALLENGE_TAG`] = 0x7363686e6f7272 (ASCII
//!   `"schnorr"`); the 4-element output is a 256-bit little-endian integer (element i is limb i),
//!   which is below n and is used as the scalar e without reduction.
//! * Signing is deterministic: k = SHA-512(`b"rollup/ecgfp5/nonce"` || x (40 bytes LE) ||
//!   m (4 x 8 bytes LE, canonical)) mod n (non-zero, same counter rule), R = k G, e as above and
//!   s = k - e x mod n. The [`Signature`] is (s, e), 80 bytes: s then e, each a canonical 40-byte
//!   little-endian scalar; the decoder rejects non-canonical halves.
//! * Verification computes R' = s G + e P, rejects if R' is the neutral, and accepts iff
//!   challenge(R'.w, P.w, m) = e ([`PublicKey::verify`]).
//!
//! # Implementation notes
//!
//! GF(p^5) products accumulate in 128-bit integers with one reduction per coefficient; points use
//! the fractional (x, u) coordinates recommended by the paper (complete 10M additions, 2M+5S per
//! doubling in runs); scalar multiplication uses signed 5-bit windows of affine points, and
//! multiplication of the generator eight precomputed tables. Secret-dependent operations (key
//! derivation, signing, [`Point::mulgen`], `Point * Scalar`) use branch-free arithmetic and
//! full-table scans; verification works on public data and is variable-time.

mod curve;
mod error;
mod field;
mod scalar;
mod schnorr;

/// Five `u64` words as 40 little-endian bytes: the layout of field elements and scalars.
fn words_to_le_bytes(words: [u64; 5]) -> [u8; 40] {
    let mut out = [0u8; 40];
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// The five little-endian `u64` words of 40 bytes (the caller checks the length).
fn le_bytes_to_words(bytes: &[u8]) -> [u64; 5] {
    let mut words = [0u64; 5];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    words
}

pub use curve::Point;
pub use error::DecodeError;
pub use field::Gfp5;
pub use scalar::Scalar;
pub use schnorr::{challenge, Message, PublicKey, SecretKey, Signature, CHALLENGE_TAG};
