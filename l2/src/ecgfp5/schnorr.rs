//! Schnorr signatures over EcGFp5 with a Poseidon challenge (the scheme is specified in the
//! documentation of [`crate::ecgfp5`]).

use core::fmt;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::Hasher;
use sha2::{Digest as _, Sha512};

use super::curve::Point;
use super::error::DecodeError;
use super::field::Gfp5;
use super::scalar::Scalar;

/// A signed message: a Poseidon digest computed by the caller.
pub type Message = [GoldilocksField; 4];

/// First element of every challenge hash: the ASCII bytes of `"schnorr"` read as a big-endian
/// integer (0x73_63_68_6e_6f_72_72).
pub const CHALLENGE_TAG: u64 = 0x0073_6368_6e6f_7272;

/// Domain separation prefix of key derivation from a seed.
const KEYGEN_DOMAIN: &[u8] = b"rollup/ecgfp5/keygen";

/// Domain separation prefix of nonce derivation.
const NONCE_DOMAIN: &[u8] = b"rollup/ecgfp5/nonce";

/// The challenge e = H(TAG, R.w, P.w, m) as a scalar: Poseidon (`hash_n_to_hash_no_pad`) over
/// the 15 elements `[CHALLENGE_TAG, r (5), public_key (5), message (4)]`, whose 4-element output is
/// read as a 256-bit little-endian integer (element i is limb i). That integer is below 2^256 < n.
pub fn challenge(r: &Gfp5, public_key: &Gfp5, message: &Message) -> Scalar {
    let mut input = [GoldilocksField::ZERO; 15];
    input[0] = GoldilocksField::from_canonical_u64(CHALLENGE_TAG);
    input[1..6].copy_from_slice(&r.to_elements());
    input[6..11].copy_from_slice(&public_key.to_elements());
    for (slot, m) in input[11..].iter_mut().zip(message) {
        *slot = GoldilocksField::from_canonical_u64(m.to_canonical_u64());
    }
    Scalar::from_digest(&PoseidonHash::hash_no_pad(&input).elements)
}

/// SHA-512(domain || parts... [|| counter]) mod n, rehashing with a counter byte 1, 2, ... appended
/// until the result is not zero (the first attempt has no counter byte; a zero result has
/// probability about 2^-319 per attempt).
fn hash_to_nonzero_scalar(domain: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut counter: u8 = 0;
    loop {
        let mut h = Sha512::new();
        h.update(domain);
        for part in parts {
            h.update(part);
        }
        if counter != 0 {
            h.update([counter]);
        }
        let s = Scalar::from_bytes_reduce(&h.finalize());
        if !s.is_zero() {
            return s;
        }
        counter = counter.wrapping_add(1);
    }
}

/// A public key: the group element P = x G, encoded as its canonical w (5 Goldilocks elements).
///
/// The neutral element is rejected (it has no secret key and anyone could sign for it).
#[derive(Clone, Copy)]
pub struct PublicKey {
    point: Point,
    w: Gfp5,
}

impl PublicKey {
    /// Number of bytes of [`PublicKey::to_bytes`].
    pub const ENCODED_LEN: usize = 40;

    /// The public key of a group element (which must not be the neutral).
    pub fn from_point(point: Point) -> Result<Self, DecodeError> {
        if point.is_neutral() {
            return Err(DecodeError::NeutralPublicKey);
        }
        Ok(Self { point, w: point.encode() })
    }

    /// Strictly decodes the encoding w given as five Goldilocks elements (canonical, a valid
    /// group element, not the neutral).
    pub fn from_elements(elements: &[GoldilocksField; 5]) -> Result<Self, DecodeError> {
        Self::from_point(Point::from_elements(elements)?)
    }

    /// Strictly decodes the 40-byte encoding of [`PublicKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_point(Point::from_bytes(bytes)?)
    }

    /// The encoding w as five canonical Goldilocks elements.
    pub fn to_elements(&self) -> [GoldilocksField; 5] {
        self.w.to_elements()
    }

    /// The 40-byte encoding of w.
    pub fn to_bytes(&self) -> [u8; 40] {
        self.w.to_bytes()
    }

    /// The encoding w.
    pub fn encoding(&self) -> Gfp5 {
        self.w
    }

    /// The group element P.
    pub fn point(&self) -> Point {
        self.point
    }

    /// Verifies `signature` on `message`: computes R' = s G + e P, rejects if R' is the neutral,
    /// and accepts iff `challenge(R'.w, P.w, message) == e`.
    pub fn verify(&self, message: &Message, signature: &Signature) -> bool {
        let r = self.point.mul_add_generator_vartime(&signature.e, &signature.s);
        if r.is_neutral() {
            return false;
        }
        challenge(&r.encode(), &self.w, message) == signature.e
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.w == other.w
    }
}

impl Eq for PublicKey {}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.w.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.w)
    }
}

/// A secret key: a non-zero scalar x (with its public key cached).
#[derive(Clone)]
pub struct SecretKey {
    x: Scalar,
    public: PublicKey,
}

impl SecretKey {
    /// Number of bytes of [`SecretKey::to_bytes`].
    pub const ENCODED_LEN: usize = 40;

    /// The key x = SHA-512(b"rollup/ecgfp5/keygen" || seed) mod n; if that is zero, the hash is
    /// recomputed with a counter byte (1, 2, ...) appended after the seed.
    pub fn from_seed(seed: &[u8]) -> Self {
        let x = hash_to_nonzero_scalar(KEYGEN_DOMAIN, &[seed]);
        Self::with_scalar(x)
    }

    /// `x` must be non-zero.
    fn with_scalar(x: Scalar) -> Self {
        let point = Point::mulgen(&x);
        // x != 0 and G has prime order n, so x G is not the neutral.
        Self { x, public: PublicKey { point, w: point.encode() } }
    }

    /// The secret key with scalar `x`, which must not be zero.
    pub fn from_scalar(x: Scalar) -> Result<Self, DecodeError> {
        if x.is_zero() {
            return Err(DecodeError::ZeroSecretKey);
        }
        Ok(Self::with_scalar(x))
    }

    /// Strictly decodes the 40-byte encoding of [`SecretKey::to_bytes`] (canonical, non-zero).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_scalar(Scalar::from_bytes(bytes)?)
    }

    /// The scalar x as 40 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 40] {
        self.x.to_bytes()
    }

    /// The scalar x.
    pub fn scalar(&self) -> Scalar {
        self.x
    }

    /// The public key x G.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// Signs `message` (deterministic): k = SHA-512(b"rollup/ecgfp5/nonce" || x (40 bytes LE) ||
    /// m (4 x 8 bytes LE)) mod n (non-zero, with the same counter rule as key derivation),
    /// R = k G, e = challenge(R.w, P.w, m), s = k - e x.
    pub fn sign(&self, message: &Message) -> Signature {
        let mut m_bytes = [0u8; 32];
        for (chunk, m) in m_bytes.chunks_exact_mut(8).zip(message) {
            chunk.copy_from_slice(&m.to_canonical_u64().to_le_bytes());
        }
        let k = hash_to_nonzero_scalar(NONCE_DOMAIN, &[&self.x.to_bytes(), &m_bytes]);
        let r = Point::mulgen(&k);
        let e = challenge(&r.encode(), &self.public.w, message);
        Signature { s: k - e * self.x, e }
    }
}

impl fmt::Debug for SecretKey {
    /// Shows only the public key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public = {})", self.public.w)
    }
}

/// A signature (s, e), encoded as 80 bytes: s then e, each as a canonical 40-byte little-endian
/// scalar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Signature {
    s: Scalar,
    e: Scalar,
}

impl Signature {
    /// Number of bytes of [`Signature::to_bytes`].
    pub const ENCODED_LEN: usize = 80;

    /// A signature from its two scalars.
    pub fn from_parts(s: Scalar, e: Scalar) -> Self {
        Self { s, e }
    }

    /// The response s = k - e x.
    pub fn s(&self) -> Scalar {
        self.s
    }

    /// The challenge e.
    pub fn e(&self) -> Scalar {
        self.e
    }

    /// The 80-byte encoding: s then e, each canonical 40-byte little-endian.
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut out = [0u8; 80];
        out[..40].copy_from_slice(&self.s.to_bytes());
        out[40..].copy_from_slice(&self.e.to_bytes());
        out
    }

    /// Strictly decodes the 80-byte encoding (both halves must be canonical scalars).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DecodeError::InvalidLength {
                what: "signature",
                expected: Self::ENCODED_LEN,
                actual: bytes.len(),
            });
        }
        Ok(Self { s: Scalar::from_bytes(&bytes[..40])?, e: Scalar::from_bytes(&bytes[40..])? })
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::field::P;
    use super::*;

    fn random_message(rng: &mut ChaCha8Rng) -> Message {
        [0; 4].map(|_: u8| GoldilocksField::from_canonical_u64(rng.gen_range(0..P)))
    }

    fn flip_bit_in_message(m: &Message, bit: usize) -> Message {
        let mut m = *m;
        let i = bit / 64;
        let v = m[i].to_canonical_u64() ^ (1 << (bit % 64));
        // Keep the element canonical (the top bits of a canonical value can overflow p).
        m[i] = GoldilocksField::from_noncanonical_u64(v);
        m
    }

    #[test]
    fn sign_verify_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for i in 0..6u8 {
            let sk = SecretKey::from_seed(&[i; 7]);
            let pk = sk.public_key();
            assert_eq!(pk.point(), Point::GENERATOR * sk.scalar());
            for _ in 0..3 {
                let m = random_message(&mut rng);
                let sig = sk.sign(&m);
                assert!(pk.verify(&m, &sig));
                // Deterministic.
                assert_eq!(sk.sign(&m), sig);
                // e is a digest: below 2^256.
                assert_eq!(sig.e().to_limbs()[4], 0);
                // Encodings round-trip and still verify.
                let sig2 = Signature::from_bytes(&sig.to_bytes()).unwrap();
                assert_eq!(sig2, sig);
                let pk2 = PublicKey::from_elements(&pk.to_elements()).unwrap();
                assert_eq!(pk2, pk);
                assert!(pk2.verify(&m, &sig2));
                let pk3 = PublicKey::from_bytes(&pk.to_bytes()).unwrap();
                assert!(pk3.verify(&m, &sig));
                let sk2 = SecretKey::from_bytes(&sk.to_bytes()).unwrap();
                assert_eq!(sk2.public_key(), pk);
            }
        }
    }

    #[test]
    fn tampering_is_rejected() {
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        let sk = SecretKey::from_seed(b"tamper");
        let pk = sk.public_key();
        let other = SecretKey::from_seed(b"other").public_key();
        let m = random_message(&mut rng);
        let sig = sk.sign(&m);
        assert!(pk.verify(&m, &sig));
        assert!(!other.verify(&m, &sig));
        let bytes = sig.to_bytes();
        for _ in 0..12 {
            // A flipped bit in the message.
            let bit = rng.gen_range(0..256);
            let m2 = flip_bit_in_message(&m, bit);
            assert_ne!(m2, m);
            assert!(!pk.verify(&m2, &sig));

            // A flipped bit in the public key encoding. The expected outcome is derived
            // independently: a non-canonical coefficient, else an invalid encoding, else a
            // different key under which the signature does not verify.
            let mut w = pk.to_elements().map(|e| e.to_canonical_u64());
            let bit = rng.gen_range(0..320);
            let index = bit / 64;
            w[index] ^= 1 << (bit % 64);
            let result = PublicKey::from_elements(&w.map(GoldilocksField));
            if w[index] >= P {
                assert_eq!(result, Err(DecodeError::NonCanonicalElement { index, value: w[index] }));
            } else {
                let w2 = Gfp5::from_canonical_u64s(w).unwrap();
                if Point::is_valid_encoding(&w2) {
                    let pk2 = result.unwrap();
                    assert_eq!(pk2.encoding(), w2);
                    assert!(!pk2.verify(&m, &sig));
                } else {
                    assert_eq!(result, Err(DecodeError::InvalidPoint { w: w2 }));
                }
            }

            // A flipped bit in s (first half) or e (second half) of the signature: rejected by
            // the decoder when the half is no longer below n, by verification otherwise.
            for half in [0usize, 1] {
                let bit = rng.gen_range(0..320) + 320 * half;
                let mut b = bytes;
                b[bit / 8] ^= 1 << (bit % 8);
                let mut limbs = [0u64; 5];
                for (j, limb) in limbs.iter_mut().enumerate() {
                    let start = 40 * half + 8 * j;
                    *limb = u64::from_le_bytes(b[start..start + 8].try_into().unwrap());
                }
                let result = Signature::from_bytes(&b);
                // Lexicographic comparison from the top limb.
                if limbs.iter().rev().ge(Scalar::MODULUS.iter().rev()) {
                    assert_eq!(result, Err(DecodeError::NonCanonicalScalar { limbs }));
                } else {
                    let sig2 = result.unwrap();
                    assert_ne!(sig2, sig);
                    assert!(!pk.verify(&m, &sig2));
                }
            }
        }
        // Low bits of e (a digest, below 2^256) always stay canonical, and so do these low bits of
        // this s: the exact outcome is "decodes, does not verify".
        for bit in [0usize, 1, 100, 255, 320, 321, 500, 575] {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            let sig2 = Signature::from_bytes(&b).unwrap();
            assert!(!pk.verify(&m, &sig2));
        }
        // Flipping the top bit of either half makes it non-canonical (>= 2^319 > n).
        for bit in [319usize, 639] {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            let half = bit / 320;
            let limbs = [0, 1, 2, 3, 4].map(|j| {
                let start = 40 * half + 8 * j;
                u64::from_le_bytes(b[start..start + 8].try_into().unwrap())
            });
            assert_eq!(Signature::from_bytes(&b), Err(DecodeError::NonCanonicalScalar { limbs }));
        }
        // Message bit 0 flipped.
        assert!(!pk.verify(&flip_bit_in_message(&m, 0), &sig));
    }

    #[test]
    fn degenerate_inputs() {
        let sk = SecretKey::from_seed(b"degenerate");
        let pk = sk.public_key();
        let m = [GoldilocksField::ONE; 4];
        // A signature with s G + e P = neutral is rejected.
        let e = Scalar::from_u64(5);
        let s = -(e * sk.scalar());
        assert!(!pk.verify(&m, &Signature::from_parts(s, e)));
        // The all-zero signature.
        assert!(!pk.verify(&m, &Signature::from_parts(Scalar::ZERO, Scalar::ZERO)));
        // Neutral public key and zero secret key are refused.
        assert_eq!(PublicKey::from_point(Point::NEUTRAL).unwrap_err(), DecodeError::NeutralPublicKey);
        assert_eq!(
            PublicKey::from_elements(&[GoldilocksField::ZERO; 5]).unwrap_err(),
            DecodeError::NeutralPublicKey
        );
        assert_eq!(SecretKey::from_bytes(&[0u8; 40]).unwrap_err(), DecodeError::ZeroSecretKey);
        assert_eq!(SecretKey::from_scalar(Scalar::ZERO).unwrap_err(), DecodeError::ZeroSecretKey);
        assert_eq!(
            Signature::from_bytes(&[0u8; 79]).unwrap_err(),
            DecodeError::InvalidLength { what: "signature", expected: 80, actual: 79 }
        );
        let mut nc = [0u8; 80];
        nc[40..].copy_from_slice(&[0xFF; 40]);
        assert_eq!(
            Signature::from_bytes(&nc).unwrap_err(),
            DecodeError::NonCanonicalScalar { limbs: [u64::MAX; 5] }
        );
        // A secret key's debug output does not show the scalar.
        let dbg = format!("{sk:?}");
        assert!(dbg.starts_with("SecretKey(public = ["));
    }

    #[test]
    fn key_and_nonce_derivation_follow_the_specification() {
        let seed = b"some seed";
        let mut h = Sha512::new();
        h.update(b"rollup/ecgfp5/keygen");
        h.update(seed);
        let x = Scalar::from_bytes_reduce(&h.finalize());
        let sk = SecretKey::from_seed(seed);
        assert_eq!(sk.scalar(), x);
        assert_eq!(sk.public_key().point(), Point::mulgen(&x));

        let m: Message = [1u64, 2, 3, 0xFFFF_FFFF_0000_0000].map(GoldilocksField::from_canonical_u64);
        let sig = sk.sign(&m);
        let mut h = Sha512::new();
        h.update(b"rollup/ecgfp5/nonce");
        h.update(x.to_bytes());
        for v in [1u64, 2, 3, 0xFFFF_FFFF_0000_0000] {
            h.update(v.to_le_bytes());
        }
        let k = Scalar::from_bytes_reduce(&h.finalize());
        let r = Point::mulgen(&k);
        // The challenge is Poseidon over [TAG, R.w, P.w, m].
        let mut input = vec![GoldilocksField::from_canonical_u64(0x0073_6368_6e6f_7272)];
        input.extend(r.to_elements());
        input.extend(sk.public_key().to_elements());
        input.extend(m);
        let digest = PoseidonHash::hash_no_pad(&input).elements;
        let e = Scalar::from_digest(&digest);
        assert_eq!(sig.e(), e);
        assert_eq!(sig.s(), k - e * x);
        assert_eq!(challenge(&r.encode(), &sk.public_key().encoding(), &m), e);
        // The tag is "schnorr" in ASCII.
        assert_eq!(CHALLENGE_TAG.to_be_bytes()[1..].to_vec(), b"schnorr".to_vec());
        // Non-canonical message representations sign and verify as their canonical values.
        let m_nc = [
            GoldilocksField(1 + 0xFFFF_FFFF_0000_0001),
            GoldilocksField::from_canonical_u64(2),
            GoldilocksField::from_canonical_u64(3),
            GoldilocksField::from_canonical_u64(0xFFFF_FFFF_0000_0000),
        ];
        assert_eq!(sk.sign(&m_nc), sig);
        assert!(sk.public_key().verify(&m_nc, &sig));
    }

    /// Regression vector generated by this implementation (not an external test vector): it pins
    /// the exact key derivation, nonce derivation, challenge and encodings.
    #[test]
    fn regression_vector() {
        let sk = SecretKey::from_seed(b"rollup regression seed");
        let m: Message = [10u64, 20, 30, 40].map(GoldilocksField::from_canonical_u64);
        let sig = sk.sign(&m);
        let pk_hex: String = sk.public_key().to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let sig_hex: String = sig.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            pk_hex,
            "f8120f6c33ed74fa53fcb2bd16856c62298d7f6d77633d536920169be1445376f517e17bce9877f2"
        );
        assert_eq!(
            sig_hex,
            "595460cfc45a3b3d2b8dbf6d56c5c1df805d1144a74e56df0f9a0d7527d8fb2c6c3dfdf9a4ef647d\
             a237f6d851317d62aac7d70bd7d78e8fa15c3b196576b3a3bef696155242e8850000000000000000"
        );
        assert!(sk.public_key().verify(&m, &sig));
    }

    #[test]
    fn random_keys() {
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        for _ in 0..4 {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let sk = SecretKey::from_seed(&seed);
            let m = random_message(&mut rng);
            let sig = sk.sign(&m);
            assert!(sk.public_key().verify(&m, &sig));
            let m2 = random_message(&mut rng);
            assert!(!sk.public_key().verify(&m2, &sig));
        }
    }
}
