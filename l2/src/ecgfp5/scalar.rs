//! Integers modulo the EcGFp5 group order n (a 319-bit prime).
//!
//! Scalars are five 64-bit little-endian limbs, always fully reduced (below n). Products use
//! Montgomery multiplication (CIOS) with R = 2^320, but values are kept in plain (non-Montgomery)
//! form so that encoding, decoding and window recoding cost nothing. Every operation is
//! branch-free.

use core::fmt;
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::PrimeField64;

use super::error::DecodeError;

/// The group order, as little-endian limbs (from the EcGFp5 paper and its reference implementation):
/// n = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241.
const N: [u64; 5] = [
    0xE80F_D996_948B_FFE1,
    0xE888_5C39_D724_A09C,
    0x7FFF_FFE6_CFB8_0639,
    0x7FFF_FFF1_0000_0016,
    0x7FFF_FFFD_8000_0007,
];

/// -1/n mod 2^64 (Newton iteration on the low limb).
const N0_INV: u64 = {
    let n0 = N[0];
    let mut inv: u64 = 1;
    let mut i = 0;
    // Each step doubles the number of correct low bits: 1 -> 2 -> ... -> 64.
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
};

/// 2^640 mod n (R^2 for R = 2^320), by repeated modular doubling of 1.
const R2: [u64; 5] = {
    let mut r = [1u64, 0, 0, 0, 0];
    let mut i = 0;
    while i < 640 {
        // r < n < 2^319, so 2r fits in 320 bits.
        let mut j = 4;
        while j > 0 {
            r[j] = (r[j] << 1) | (r[j - 1] >> 63);
            j -= 1;
        }
        r[0] <<= 1;
        r = reduce_once(r);
        i += 1;
    }
    r
};

/// Little-endian 320-bit subtraction; returns (a - b mod 2^320, borrow).
#[inline(always)]
const fn sub_limbs(a: &[u64; 5], b: &[u64; 5]) -> ([u64; 5], bool) {
    let mut r = [0u64; 5];
    let mut borrow = false;
    let mut i = 0;
    while i < 5 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow as u64);
        r[i] = d;
        borrow = b1 | b2;
        i += 1;
    }
    (r, borrow)
}

/// Little-endian 320-bit addition; returns (a + b mod 2^320, carry).
#[inline(always)]
const fn add_limbs(a: &[u64; 5], b: &[u64; 5]) -> ([u64; 5], bool) {
    let mut r = [0u64; 5];
    let mut carry = false;
    let mut i = 0;
    while i < 5 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(carry as u64);
        r[i] = s;
        carry = c1 | c2;
        i += 1;
    }
    (r, carry)
}

/// `c ? b : a` for an all-zeros / all-ones mask.
#[inline(always)]
const fn select(c: u64, a: &[u64; 5], b: &[u64; 5]) -> [u64; 5] {
    [
        a[0] ^ (c & (a[0] ^ b[0])),
        a[1] ^ (c & (a[1] ^ b[1])),
        a[2] ^ (c & (a[2] ^ b[2])),
        a[3] ^ (c & (a[3] ^ b[3])),
        a[4] ^ (c & (a[4] ^ b[4])),
    ]
}

/// For a < 2n: a mod n.
#[inline(always)]
const fn reduce_once(a: [u64; 5]) -> [u64; 5] {
    let (d, borrow) = sub_limbs(&a, &N);
    select(0u64.wrapping_sub(borrow as u64), &d, &a)
}

/// Montgomery product a b / 2^320 mod n, for a, b < n.
#[inline]
fn montgomery_mul(a: &[u64; 5], b: &[u64; 5]) -> [u64; 5] {
    // CIOS: t < 2n holds after every outer iteration; t[5] catches the carries in between.
    let mut t = [0u64; 6];
    for &bi in b {
        let mut carry = 0u64;
        for j in 0..5 {
            let z = t[j] as u128 + (a[j] as u128) * (bi as u128) + carry as u128;
            t[j] = z as u64;
            carry = (z >> 64) as u64;
        }
        let z = t[5] as u128 + carry as u128;
        t[5] = z as u64;
        let top = (z >> 64) as u64;

        let m = t[0].wrapping_mul(N0_INV);
        let z = t[0] as u128 + (m as u128) * (N[0] as u128);
        let mut carry = (z >> 64) as u64;
        for j in 1..5 {
            let z = t[j] as u128 + (m as u128) * (N[j] as u128) + carry as u128;
            t[j - 1] = z as u64;
            carry = (z >> 64) as u64;
        }
        let z = t[5] as u128 + carry as u128;
        t[4] = z as u64;
        t[5] = top + (z >> 64) as u64;
    }
    // t < 2n < 2^320, so t[5] = 0 here.
    reduce_once([t[0], t[1], t[2], t[3], t[4]])
}

/// An integer modulo the prime order n of the EcGFp5 group, always fully reduced.
///
/// The canonical encoding ([`Scalar::to_bytes`]) is 40 bytes, little-endian; the strict decoder
/// [`Scalar::from_bytes`] rejects integers that are not below n, while
/// [`Scalar::from_bytes_reduce`] reduces any byte string (e.g. a 64-byte hash output) modulo n.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scalar([u64; 5]);

impl Scalar {
    /// Zero.
    pub const ZERO: Self = Self([0; 5]);

    /// One.
    pub const ONE: Self = Self([1, 0, 0, 0, 0]);

    /// Number of bytes of [`Scalar::to_bytes`].
    pub const ENCODED_LEN: usize = 40;

    /// The group order n as little-endian limbs (not itself a valid scalar).
    pub const MODULUS: [u64; 5] = N;

    /// The scalar with value `v` (always below n).
    pub const fn from_u64(v: u64) -> Self {
        Self([v, 0, 0, 0, 0])
    }

    /// Strictly decodes five little-endian limbs: the integer must be below n.
    pub fn from_limbs(limbs: [u64; 5]) -> Result<Self, DecodeError> {
        let (_, borrow) = sub_limbs(&limbs, &N);
        if borrow {
            Ok(Self(limbs))
        } else {
            Err(DecodeError::NonCanonicalScalar { limbs })
        }
    }

    /// The value as five little-endian 64-bit limbs.
    pub const fn to_limbs(&self) -> [u64; 5] {
        self.0
    }

    /// The canonical 40-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 40] {
        super::words_to_le_bytes(self.0)
    }

    /// Strictly decodes a 40-byte little-endian encoding (the integer must be below n).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DecodeError::InvalidLength {
                what: "scalar",
                expected: Self::ENCODED_LEN,
                actual: bytes.len(),
            });
        }
        Self::from_limbs(super::le_bytes_to_words(bytes))
    }

    /// Interprets `bytes` (any length, e.g. a 64-byte hash) as a little-endian integer and
    /// reduces it modulo n.
    pub fn from_bytes_reduce(bytes: &[u8]) -> Self {
        // Horner's rule on 256-bit chunks, most significant first: acc = acc * 2^256 + chunk.
        // Each chunk is below 2^256 < n, hence already a scalar.
        const TWO_256: Scalar = Scalar([0, 0, 0, 0, 1]);
        let mut acc = Self::ZERO;
        let chunks = bytes.len().div_ceil(32);
        for c in (0..chunks).rev() {
            let chunk = &bytes[32 * c..bytes.len().min(32 * c + 32)];
            let mut limbs = [0u64; 5];
            for (i, &byte) in chunk.iter().enumerate() {
                limbs[i / 8] |= (byte as u64) << (8 * (i % 8));
            }
            acc = acc * TWO_256 + Self(limbs);
        }
        acc
    }

    /// The scalar whose value is the 256-bit little-endian integer made of the canonical values of
    /// four Goldilocks elements (element `i` is limb `i`), e.g. a Poseidon digest. Such an integer
    /// is below 2^256 < n, so no reduction happens: distinct digests give distinct scalars.
    pub fn from_digest(digest: &[GoldilocksField; 4]) -> Self {
        let d = digest.map(|e| e.to_canonical_u64());
        Self([d[0], d[1], d[2], d[3], 0])
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 5]
    }

    /// self^2.
    pub fn square(&self) -> Self {
        *self * *self
    }

    /// Signed base-2^5 digits d_0..d_63 with self = sum d_i 2^(5i), each d_i in [-15, 16] and the
    /// top digit non-negative (branch-free).
    pub(crate) fn recode_signed_5(&self) -> [i32; 64] {
        let mut digits = [0i32; 64];
        let mut carry = 0u32;
        for (i, d) in digits.iter_mut().enumerate() {
            let bit = 5 * i;
            let (limb, off) = (bit / 64, bit % 64);
            let mut chunk = self.0[limb] >> off;
            if off > 59 && limb < 4 {
                chunk |= self.0[limb + 1] << (64 - off);
            }
            let v = (chunk as u32 & 31) + carry;
            // v in [0, 32]: above 16, use v - 32 and carry one into the next digit.
            carry = 16u32.wrapping_sub(v) >> 31;
            *d = v as i32 - ((carry << 5) as i32);
        }
        digits
    }
}

impl Add for Scalar {
    type Output = Self;

    #[inline]
    fn add(self, rhs: Self) -> Self {
        // Both below n < 2^319: the sum fits in 320 bits and is below 2n.
        let (s, _) = add_limbs(&self.0, &rhs.0);
        Self(reduce_once(s))
    }
}

impl Sub for Scalar {
    type Output = Self;

    #[inline]
    fn sub(self, rhs: Self) -> Self {
        let (d, borrow) = sub_limbs(&self.0, &rhs.0);
        let (d_plus_n, _) = add_limbs(&d, &N);
        Self(select(0u64.wrapping_sub(borrow as u64), &d, &d_plus_n))
    }
}

impl Neg for Scalar {
    type Output = Self;

    #[inline]
    fn neg(self) -> Self {
        Self::ZERO - self
    }
}

impl Mul for Scalar {
    type Output = Self;

    #[inline]
    fn mul(self, rhs: Self) -> Self {
        // (a b / R) * R^2 / R = a b.
        Self(montgomery_mul(&montgomery_mul(&self.0, &rhs.0), &R2))
    }
}

impl AddAssign for Scalar {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl SubAssign for Scalar {
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl MulAssign for Scalar {
    fn mul_assign(&mut self, rhs: Self) {
        *self = *self * rhs;
    }
}

impl fmt::Debug for Scalar {
    /// Big-endian hexadecimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar(0x")?;
        for limb in self.0.iter().rev() {
            write!(f, "{limb:016x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Field;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Test-only big integers: little-endian u64 limbs of arbitrary length.
    fn big_mul_small_add(a: &mut Vec<u64>, m: u64, c: u64) {
        let mut carry = c as u128;
        for limb in a.iter_mut() {
            let z = (*limb as u128) * (m as u128) + carry;
            *limb = z as u64;
            carry = z >> 64;
        }
        if carry != 0 {
            a.push(carry as u64);
        }
    }

    fn from_decimal(s: &str) -> Vec<u64> {
        let mut v = vec![0u64];
        for ch in s.bytes() {
            big_mul_small_add(&mut v, 10, (ch - b'0') as u64);
        }
        v
    }

    /// a mod n by schoolbook bit-serial reduction (independent of the Montgomery code).
    fn big_mod_n(a: &[u64]) -> [u64; 5] {
        let mut r = [0u64; 5];
        for i in (0..a.len() * 64).rev() {
            let bit = (a[i / 64] >> (i % 64)) & 1;
            for j in (1..5).rev() {
                r[j] = (r[j] << 1) | (r[j - 1] >> 63);
            }
            r[0] = (r[0] << 1) | bit;
            r = reduce_once(r);
        }
        r
    }

    fn big_mul(a: &[u64; 5], b: &[u64; 5]) -> Vec<u64> {
        let mut r = vec![0u64; 10];
        for i in 0..5 {
            let mut carry = 0u128;
            for j in 0..5 {
                let z = (a[i] as u128) * (b[j] as u128) + r[i + j] as u128 + carry;
                r[i + j] = z as u64;
                carry = z >> 64;
            }
            r[i + 5] = carry as u64;
        }
        r
    }

    fn random(rng: &mut ChaCha8Rng) -> Scalar {
        let mut b = [0u8; 64];
        rng.fill_bytes(&mut b);
        Scalar::from_bytes_reduce(&b)
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn constants() {
        // The decimal n of the paper (doc/ecgfp5.tex) and python/ecGFp5.py.
        let n = from_decimal(concat!(
            "10679935167171469510414849165717927027450577405817272301591396851857620825541",
            "98619328292418486241",
        ));
        assert_eq!(n, N.to_vec());
        // Montgomery constants of the reference implementation (rust/src/scalar.rs, N0I and R2).
        assert_eq!(N0_INV, 0xD78B_EF72_057B_7BDF);
        assert_eq!(
            R2,
            [
                0xA010_01DC_E33D_C739,
                0x6C32_28D3_3F62_ACCF,
                0xD1D7_96CC_91CF_8525,
                0xAADF_FF5D_1574_C1D8,
                0x4ACA_13B2_8CA2_51F5
            ]
        );
        assert_eq!(N[0].wrapping_mul(N0_INV), u64::MAX);
    }

    /// Known answers from the reference implementation, rust/src/scalar.rs (test `scalar_ops`),
    /// github.com/pornin/ecgfp5.
    #[test]
    fn known_answers() {
        // buf1 = n - 1 (accepted), buf2 = n (rejected).
        let n_minus_1 =
            hex_bytes("e0ff8b9496d90fe89ca024d7395c88e83906b8cfe6ffff7f16000000f1ffff7f07000080fdffff7f");
        let n_bytes =
            hex_bytes("e1ff8b9496d90fe89ca024d7395c88e83906b8cfe6ffff7f16000000f1ffff7f07000080fdffff7f");
        let s1 = Scalar::from_bytes(&n_minus_1).unwrap();
        assert_eq!(s1.to_bytes().to_vec(), n_minus_1);
        assert_eq!(s1 + Scalar::ONE, Scalar::ZERO);
        assert_eq!(-Scalar::ONE, s1);
        assert_eq!(Scalar::from_bytes(&n_bytes), Err(DecodeError::NonCanonicalScalar { limbs: N }));
        assert_eq!(Scalar::from_bytes_reduce(&n_bytes), Scalar::ZERO);

        // buf4: a random 512-bit integer; buf5 = buf4 mod n; buf6 = buf5^(2^8) mod n.
        let buf4 = hex_bytes(
            "b5dd28b8d29b6ff815653f89db7ba9de337da8278226b4d69e1ffa973d9e019c77c9635cb834d81a\
             4dcb034862cdeec98ec8c9a7b36edace18751bdd4f9467b5",
        );
        let buf5 =
            hex_bytes("89017a52bddf4560ce5bbae55d25965a0a4f0a271a7ae81d7dbfe3e3fa5e17e044d9a5379bf83874");
        let buf6 =
            hex_bytes("277e2cab6dad8da01544020ffad54f15bf6d1d762273cdda23fe5aedca75d7040566873d375b2413");
        let s4 = Scalar::from_bytes_reduce(&buf4);
        assert_eq!(s4.to_bytes().to_vec(), buf5);
        assert_eq!(Scalar::from_bytes(&buf5), Ok(s4));
        let mut s6 = s4;
        for _ in 0..8 {
            s6 = s6.square();
        }
        assert_eq!(s6.to_bytes().to_vec(), buf6);

        // buf6 recoded in signed 5-bit digits.
        let ref5: [i32; 64] = [
            7, -15, 0, -7, -13, -10, -9, 14, 13, 13, 3, 1, -6, 11, 16, 8, 2, -8, 4, -12, 0, 11, -1, 10, -11,
            -7, 16, -5, -9, 15, -8, 15, 2, -7, -3, -5, 13, 13, 15, 4, -2, -8, -9, -5, 15, 5, -9, 15, -9, 7,
            1, 10, 0, -13, -2, -15, -2, -6, 14, -10, 6, -14, 13, 2,
        ];
        assert_eq!(s6.recode_signed_5(), ref5);
    }

    #[test]
    fn arithmetic_against_big_integers() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let edge = [Scalar::ZERO, Scalar::ONE, -Scalar::ONE, -Scalar::from_u64(2), Scalar([0, 0, 0, 0, 1])];
        let mut values: Vec<Scalar> = edge.to_vec();
        values.extend((0..100).map(|_| random(&mut rng)));
        for a in &values {
            for b in values.iter().take(12) {
                let prod = big_mul(&a.0, &b.0);
                assert_eq!((*a * *b).0, big_mod_n(&prod));
                let (sum, carry) = add_limbs(&a.0, &b.0);
                assert!(!carry);
                assert_eq!((*a + *b).0, big_mod_n(&sum));
                assert_eq!(*a - *b + *b, *a);
                assert_eq!(*a + -*a, Scalar::ZERO);
            }
        }
    }

    #[test]
    fn algebraic_laws() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for _ in 0..200 {
            let (a, b, c) = (random(&mut rng), random(&mut rng), random(&mut rng));
            assert_eq!(a * b, b * a);
            assert_eq!((a * b) * c, a * (b * c));
            assert_eq!(a * (b + c), a * b + a * c);
            assert_eq!((a + b) + c, a + (b + c));
            assert_eq!(a * Scalar::ONE, a);
            assert_eq!(a - a, Scalar::ZERO);
        }
    }

    #[test]
    fn wide_reduction() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for len in [0usize, 1, 31, 32, 33, 39, 40, 41, 48, 63, 64, 65, 100, 128] {
            for _ in 0..10 {
                let mut bytes = vec![0u8; len];
                rng.fill_bytes(&mut bytes);
                let mut limbs = vec![0u64; len.div_ceil(8).max(1)];
                for (i, &b) in bytes.iter().enumerate() {
                    limbs[i / 8] |= (b as u64) << (8 * (i % 8));
                }
                assert_eq!(Scalar::from_bytes_reduce(&bytes).0, big_mod_n(&limbs));
            }
        }
        let all_ones = [0xFFu8; 64];
        let limbs = [u64::MAX; 8];
        assert_eq!(Scalar::from_bytes_reduce(&all_ones).0, big_mod_n(&limbs));
    }

    #[test]
    fn encodings() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for _ in 0..100 {
            let a = random(&mut rng);
            assert_eq!(Scalar::from_bytes(&a.to_bytes()), Ok(a));
            assert_eq!(Scalar::from_limbs(a.to_limbs()), Ok(a));
            // a + n and a + 2^319 are not canonical (they fit in 320 bits).
            let (plus_n, carry) = add_limbs(&a.0, &N);
            assert!(!carry);
            assert_eq!(Scalar::from_limbs(plus_n), Err(DecodeError::NonCanonicalScalar { limbs: plus_n }));
            let mut high = a.0;
            high[4] |= 1 << 63;
            assert!(Scalar::from_limbs(high).is_err());
        }
        assert_eq!(
            Scalar::from_bytes(&[0u8; 41]),
            Err(DecodeError::InvalidLength { what: "scalar", expected: 40, actual: 41 })
        );
        assert_eq!(
            Scalar::from_limbs([u64::MAX; 5]),
            Err(DecodeError::NonCanonicalScalar { limbs: [u64::MAX; 5] })
        );
    }

    #[test]
    fn digest_conversion() {
        let d = [
            GoldilocksField::from_canonical_u64(1),
            GoldilocksField::from_canonical_u64(2),
            GoldilocksField::from_canonical_u64(3),
            GoldilocksField::from_canonical_u64(0xFFFF_FFFF_0000_0000),
        ];
        assert_eq!(Scalar::from_digest(&d).to_limbs(), [1, 2, 3, 0xFFFF_FFFF_0000_0000, 0]);
        // Non-canonical representations map to their canonical value.
        let nc = [
            GoldilocksField(super::super::field::P + 7),
            GoldilocksField::ZERO,
            GoldilocksField::ZERO,
            GoldilocksField::ZERO,
        ];
        assert_eq!(Scalar::from_digest(&nc), Scalar::from_u64(7));
    }

    #[test]
    fn recoding_reconstructs_the_scalar() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let mut values =
            vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE, Scalar::from_u64(16), Scalar::from_u64(17)];
        values.extend((0..100).map(|_| random(&mut rng)));
        let two_5 = Scalar::from_u64(32);
        for s in values {
            let digits = s.recode_signed_5();
            assert!(digits.iter().all(|&d| (-15..=16).contains(&d)));
            assert!(digits[63] >= 0);
            let mut acc = Scalar::ZERO;
            for &d in digits.iter().rev() {
                let dd = if d >= 0 { Scalar::from_u64(d as u64) } else { -Scalar::from_u64((-d) as u64) };
                acc = acc * two_5 + dd;
            }
            assert_eq!(acc, s);
        }
    }
}
