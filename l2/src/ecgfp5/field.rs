//! GF(p^5) = GF(p)\[z\]/(z^5 - 3) over the Goldilocks prime p = 2^64 - 2^32 + 1.
//!
//! Base-field coefficients are plonky2 [`GoldilocksField`] elements, but all the arithmetic below
//! works directly on their 64-bit representations, which this module keeps *canonical* (strictly
//! below p) at all times: equality is then a plain comparison and exported elements are always
//! canonical. A GF(p^5) product accumulates the 25 partial products of each coefficient in 128-bit
//! integers (low and high halves separately) and reduces each coefficient once, as in the EcGFp5
//! paper's "Out-of-VM Implementation" section. Inversion, the Legendre symbol and the square root
//! use the Frobenius operator to fall back to a single GF(p) operation (Itoh-Tsujii).
//!
//! Addition, subtraction, multiplication, squaring and inversion are branch-free; the square root
//! (Tonelli-Shanks in GF(p)) branches on its input and is meant for public data (point decoding).

use core::fmt;
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::PrimeField64;

use super::error::DecodeError;

/// The Goldilocks prime p = 2^64 - 2^32 + 1.
pub(crate) const P: u64 = 0xFFFF_FFFF_0000_0001;

/// 2^64 mod p = 2^32 - 1 (also -p mod 2^64).
const EPSILON: u64 = 0xFFFF_FFFF;

// ------------------------------------------------------------------------------------------------
// GF(p) on canonical u64 values (private helpers).

/// All-ones if `bit` is 1, zero if it is 0.
#[inline(always)]
const fn mask(bit: bool) -> u64 {
    0u64.wrapping_sub(bit as u64)
}

/// Reduces x in [0, 2^64) to [0, p).
#[inline(always)]
const fn fp_canonical(x: u64) -> u64 {
    let (r, borrow) = x.overflowing_sub(P);
    // On borrow x < p already: add p back (the wrapping sum is x).
    r.wrapping_add(P & mask(borrow))
}

#[inline(always)]
const fn fp_add(a: u64, b: u64) -> u64 {
    // a + b - p = a - (p - b); if that borrows, a + b < p and adding p back modulo 2^64 is the
    // same as subtracting 2^32 - 1.
    let (r, borrow) = a.overflowing_sub(P - b);
    r.wrapping_sub(EPSILON & mask(borrow))
}

#[inline(always)]
const fn fp_sub(a: u64, b: u64) -> u64 {
    let (r, borrow) = a.overflowing_sub(b);
    r.wrapping_sub(EPSILON & mask(borrow))
}

#[inline(always)]
const fn fp_neg(a: u64) -> u64 {
    fp_sub(0, a)
}

/// x / 2 mod p.
#[inline(always)]
const fn fp_half(a: u64) -> u64 {
    // Odd a: (a + p) / 2 = (a >> 1) + (p + 1) / 2.
    (a >> 1).wrapping_add(((P >> 1) + 1) & mask(a & 1 == 1))
}

/// Reduces any 128-bit integer to a canonical GF(p) value.
#[inline(always)]
const fn fp_reduce128(x: u128) -> u64 {
    let lo = x as u64;
    let hi = (x >> 64) as u64;
    let hi_hi = hi >> 32;
    let hi_lo = hi & EPSILON;
    // x = lo + 2^64 hi_lo + 2^96 hi_hi, with 2^96 = -1 and 2^64 = 2^32 - 1 modulo p.
    let (t0, borrow) = lo.overflowing_sub(hi_hi);
    // On borrow t0 >= 2^64 - 2^32 + 1, so this cannot wrap.
    let t0 = t0.wrapping_sub(EPSILON & mask(borrow));
    // hi_lo * (2^32 - 1) <= (2^32 - 1)^2 fits in 64 bits.
    let t1 = hi_lo * EPSILON;
    let (t2, carry) = t0.overflowing_add(t1);
    // On carry t2 < t1 <= 2^64 - 2^33 + 1, so this cannot wrap.
    let t2 = t2.wrapping_add(EPSILON & mask(carry));
    fp_canonical(t2)
}

#[inline(always)]
const fn fp_mul(a: u64, b: u64) -> u64 {
    fp_reduce128((a as u128) * (b as u128))
}

#[inline(always)]
const fn fp_square(a: u64) -> u64 {
    fp_mul(a, a)
}

/// a^(2^k).
const fn fp_msquare(mut a: u64, k: u32) -> u64 {
    let mut i = 0;
    while i < k {
        a = fp_square(a);
        i += 1;
    }
    a
}

/// a^e by square-and-multiply (not constant-time in `e`, which is always a public constant).
const fn fp_pow(a: u64, e: u64) -> u64 {
    let mut result = 1u64;
    let mut i = 64;
    while i > 0 {
        i -= 1;
        result = fp_square(result);
        if (e >> i) & 1 == 1 {
            result = fp_mul(result, a);
        }
    }
    result
}

/// a^(2^32 - 1), with the addition chain 1 -> 2 -> 4 -> 8 -> 16 -> 32 (ones).
#[inline]
const fn fp_pow_2_32_minus_1(a: u64) -> u64 {
    let t2 = fp_mul(fp_square(a), a);
    let t4 = fp_mul(fp_msquare(t2, 2), t2);
    let t8 = fp_mul(fp_msquare(t4, 4), t4);
    let t16 = fp_mul(fp_msquare(t8, 8), t8);
    fp_mul(fp_msquare(t16, 16), t16)
}

/// 1/a in GF(p), or 0 if a = 0 (Fermat: a^(p-2)).
#[inline]
const fn fp_inverse_or_zero(a: u64) -> u64 {
    fp_pow(a, P - 2)
}

/// Legendre symbol as a GF(p) value: a^((p-1)/2) is 0, 1 or p - 1.
#[inline]
const fn fp_legendre(a: u64) -> u64 {
    // (p - 1)/2 = (2^32 - 1) * 2^31.
    fp_msquare(fp_pow_2_32_minus_1(a), 31)
}

/// g = 7^(2^32 - 1), a primitive 2^32-th root of unity (7 generates GF(p)*); `ROOTS[i]` = g^(2^i).
const ROOTS_OF_UNITY: [u64; 32] = {
    let mut t = [0u64; 32];
    t[0] = fp_pow(7, EPSILON);
    let mut i = 1;
    while i < 32 {
        t[i] = fp_square(t[i - 1]);
        i += 1;
    }
    t
};

/// Square root in GF(p) (Tonelli-Shanks with a fixed schedule of squarings, variable time):
/// `None` if `a` is not a square.
const fn fp_sqrt(a: u64) -> Option<u64> {
    // p - 1 = q * 2^32 with q = 2^32 - 1. Start from r = a^((q+1)/2), v = a^q, so r^2 = a v, and
    // walk v down the 2-power roots of unity, keeping r^2 = a v, until v = 1 (or v = 0 if a = 0).
    let mut r = fp_msquare(a, 31);
    let mut v = fp_pow_2_32_minus_1(a);
    let mut i = 31;
    while i >= 1 {
        let w = fp_msquare(v, i - 1);
        if w == P - 1 {
            v = fp_mul(v, ROOTS_OF_UNITY[32 - i as usize]);
            r = fp_mul(r, ROOTS_OF_UNITY[31 - i as usize]);
        }
        i -= 1;
    }
    if v == 0 || v == 1 {
        Some(r)
    } else {
        None
    }
}

/// omega = 3^((p-1)/5), so that z^p = omega z; `FROB[i]` = omega^i.
const FROB: [u64; 5] = {
    let w = fp_pow(3, (P - 1) / 5);
    [1, w, fp_mul(w, w), fp_mul(fp_mul(w, w), w), fp_mul(fp_mul(w, w), fp_mul(w, w))]
};

// ------------------------------------------------------------------------------------------------
// GF(p^5).

/// An element of GF(p^5) = GF(p)\[z\]/(z^5 - 3): five Goldilocks coefficients, lowest degree first.
///
/// The coefficients are always stored in canonical form (below p), so the derived equality and
/// hashing are those of the field element. Arithmetic is available through the usual operators;
/// [`Gfp5::try_inverse`] returns `None` for zero while [`Gfp5::inverse_or_zero`] maps zero to zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Gfp5([GoldilocksField; 5]);

impl Gfp5 {
    /// The zero element.
    pub const ZERO: Self = Self::from_raw([0; 5]);

    /// The unit element.
    pub const ONE: Self = Self::from_raw([1, 0, 0, 0, 0]);

    /// Number of bytes of [`Gfp5::to_bytes`].
    pub const ENCODED_LEN: usize = 40;

    /// Builds an element from coefficients that are known to be canonical (below p).
    #[inline(always)]
    pub(crate) const fn from_raw(c: [u64; 5]) -> Self {
        Self([
            GoldilocksField(c[0]),
            GoldilocksField(c[1]),
            GoldilocksField(c[2]),
            GoldilocksField(c[3]),
            GoldilocksField(c[4]),
        ])
    }

    #[inline(always)]
    pub(crate) const fn raw(&self) -> [u64; 5] {
        [self.0[0].0, self.0[1].0, self.0[2].0, self.0[3].0, self.0[4].0]
    }

    /// The element of the base field GF(p) with integer value `v mod p`.
    pub const fn from_u64(v: u64) -> Self {
        Self::from_raw([fp_canonical(v), 0, 0, 0, 0])
    }

    /// Builds an element from five coefficients (lowest degree first), reducing any
    /// non-canonical representation. Use [`Gfp5::from_canonical_elements`] to reject those.
    pub fn new(coefficients: [GoldilocksField; 5]) -> Self {
        Self::from_raw(coefficients.map(|c| c.to_canonical_u64()))
    }

    /// Strictly decodes five coefficients: every one must be canonical (below p).
    pub fn from_canonical_elements(coefficients: &[GoldilocksField; 5]) -> Result<Self, DecodeError> {
        Self::from_canonical_u64s(coefficients.map(|c| c.0))
    }

    /// Strictly decodes five integer coefficients: every one must be below p.
    pub fn from_canonical_u64s(coefficients: [u64; 5]) -> Result<Self, DecodeError> {
        for (index, &value) in coefficients.iter().enumerate() {
            if value >= P {
                return Err(DecodeError::NonCanonicalElement { index, value });
            }
        }
        Ok(Self::from_raw(coefficients))
    }

    /// The five coefficients (lowest degree first), each canonical.
    pub fn to_elements(&self) -> [GoldilocksField; 5] {
        self.0
    }

    /// The five coefficients as integers in `[0, p)`, lowest degree first.
    pub const fn to_canonical_u64s(&self) -> [u64; 5] {
        self.raw()
    }

    /// The 40-byte encoding: the five canonical coefficients, lowest degree first, each as 8
    /// little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 40] {
        super::words_to_le_bytes(self.raw())
    }

    /// Strictly decodes the 40-byte encoding of [`Gfp5::to_bytes`] (every coefficient below p).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DecodeError::InvalidLength {
                what: "field element",
                expected: Self::ENCODED_LEN,
                actual: bytes.len(),
            });
        }
        Self::from_canonical_u64s(super::le_bytes_to_words(bytes))
    }

    /// Whether this is the zero element.
    pub fn is_zero(&self) -> bool {
        self.raw() == [0; 5]
    }

    /// `c ? b : a` for a mask `c` that is all-zeros or all-ones (branch-free).
    #[inline(always)]
    pub(crate) fn select(c: u64, a: &Self, b: &Self) -> Self {
        let (a, b) = (a.raw(), b.raw());
        Self::from_raw([
            a[0] ^ (c & (a[0] ^ b[0])),
            a[1] ^ (c & (a[1] ^ b[1])),
            a[2] ^ (c & (a[2] ^ b[2])),
            a[3] ^ (c & (a[3] ^ b[3])),
            a[4] ^ (c & (a[4] ^ b[4])),
        ])
    }

    /// 2 * self.
    #[inline(always)]
    pub fn double(&self) -> Self {
        *self + *self
    }

    /// self / 2.
    #[inline(always)]
    pub fn half(&self) -> Self {
        Self::from_raw(self.raw().map(fp_half))
    }

    /// self * k for a small integer k (k < 2^32).
    #[inline(always)]
    pub(crate) fn mul_small(&self, k: u32) -> Self {
        let k = k as u128;
        Self::from_raw(self.raw().map(|c| fp_reduce128(c as u128 * k)))
    }

    /// self * (k z) for a small integer k (k < 2^32); z^5 = 3 wraps the top coefficient.
    #[inline(always)]
    pub(crate) fn mul_small_z(&self, k: u32) -> Self {
        let a = self.raw();
        let k = k as u128;
        Self::from_raw([
            fp_reduce128(a[4] as u128 * (3 * k)),
            fp_reduce128(a[0] as u128 * k),
            fp_reduce128(a[1] as u128 * k),
            fp_reduce128(a[2] as u128 * k),
            fp_reduce128(a[3] as u128 * k),
        ])
    }

    /// self * c for c in the base field (canonical).
    #[inline(always)]
    fn mul_base_raw(&self, c: u64) -> Self {
        Self::from_raw(self.raw().map(|a| fp_mul(a, c)))
    }

    /// self * c for c in the base field.
    pub fn mul_base(&self, c: GoldilocksField) -> Self {
        self.mul_base_raw(c.to_canonical_u64())
    }

    /// self^2 (15 base-field products instead of 25).
    #[inline]
    pub fn square(&self) -> Self {
        let a = self.raw();
        let p = |i: usize, j: usize| (a[i] as u128) * (a[j] as u128);
        let mut c0 = Acc::default();
        c0.add(p(0, 0), 1);
        c0.add(p(1, 4), 6);
        c0.add(p(2, 3), 6);
        let mut c1 = Acc::default();
        c1.add(p(0, 1), 2);
        c1.add(p(2, 4), 6);
        c1.add(p(3, 3), 3);
        let mut c2 = Acc::default();
        c2.add(p(0, 2), 2);
        c2.add(p(1, 1), 1);
        c2.add(p(3, 4), 6);
        let mut c3 = Acc::default();
        c3.add(p(0, 3), 2);
        c3.add(p(1, 2), 2);
        c3.add(p(4, 4), 3);
        let mut c4 = Acc::default();
        c4.add(p(0, 4), 2);
        c4.add(p(1, 3), 2);
        c4.add(p(2, 2), 1);
        Self::from_raw([c0.reduce(), c1.reduce(), c2.reduce(), c3.reduce(), c4.reduce()])
    }

    /// self^(2^k).
    #[inline]
    pub fn msquare(&self, k: u32) -> Self {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }

    /// Frobenius: self^p. Since z^p = omega z with omega = 3^((p-1)/5), coefficient i is
    /// multiplied by omega^i.
    #[inline]
    fn frobenius(&self) -> Self {
        let a = self.raw();
        Self::from_raw([
            a[0],
            fp_mul(a[1], FROB[1]),
            fp_mul(a[2], FROB[2]),
            fp_mul(a[3], FROB[3]),
            fp_mul(a[4], FROB[4]),
        ])
    }

    /// Frobenius twice: self^(p^2) (coefficient i times omega^(2i)).
    #[inline]
    fn frobenius2(&self) -> Self {
        let a = self.raw();
        Self::from_raw([
            a[0],
            fp_mul(a[1], FROB[2]),
            fp_mul(a[2], FROB[4]),
            fp_mul(a[3], FROB[1]),
            fp_mul(a[4], FROB[3]),
        ])
    }

    /// The constant coefficient of self * rhs (enough when the product is known to be in GF(p)).
    #[inline]
    fn mul_to_base(&self, rhs: &Self) -> u64 {
        let (a, b) = (self.raw(), rhs.raw());
        let p = |i: usize, j: usize| (a[i] as u128) * (b[j] as u128);
        let mut c0 = Acc::default();
        c0.add(p(0, 0), 1);
        c0.add(p(1, 4), 3);
        c0.add(p(2, 3), 3);
        c0.add(p(3, 2), 3);
        c0.add(p(4, 1), 3);
        c0.reduce()
    }

    /// Returns (x^(r-1), x^r) for r = 1 + p + p^2 + p^3 + p^4; x^r (the norm) lies in GF(p).
    #[inline]
    fn norm_parts(&self) -> (Self, u64) {
        let t0 = self.frobenius(); // x^p
        let t1 = t0 * t0.frobenius(); // x^(p + p^2)
        let t2 = t1 * t1.frobenius2(); // x^(p + p^2 + p^3 + p^4)
        (t2, self.mul_to_base(&t2))
    }

    /// 1/self, or zero when self is zero (x^(-1) = x^(r-1) / x^r, with x^r in GF(p)).
    pub fn inverse_or_zero(&self) -> Self {
        let (t, norm) = self.norm_parts();
        t.mul_base_raw(fp_inverse_or_zero(norm))
    }

    /// 1/self, or `None` when self is zero.
    pub fn try_inverse(&self) -> Option<Self> {
        if self.is_zero() {
            None
        } else {
            Some(self.inverse_or_zero())
        }
    }

    /// Legendre symbol: 0 for zero, 1 for a non-zero square, -1 for a non-square.
    ///
    /// x is a square in GF(p^5) exactly when its norm x^r is a square in GF(p).
    pub fn legendre(&self) -> i8 {
        let (_, norm) = self.norm_parts();
        match fp_legendre(norm) {
            0 => 0,
            1 => 1,
            _ => -1,
        }
    }

    /// Whether self is a square (zero included).
    pub fn is_square(&self) -> bool {
        self.legendre() >= 0
    }

    /// A square root of self, or `None` if self is not a square. Which of the two roots is
    /// returned is unspecified (but deterministic).
    pub fn sqrt(&self) -> Option<Self> {
        // sqrt(x) = sqrt(x^r) / x^((r-1)/2), where x^r is in GF(p) and
        // (r-1)/2 = p (1 + p^2) (p+1)/2, with (p+1)/2 = (2^32 - 1) 2^31 + 1.
        let x = *self;
        let t2 = x.square() * x; // 2^2 - 1
        let t4 = t2.msquare(2) * t2;
        let t8 = t4.msquare(4) * t4;
        let t16 = t8.msquare(8) * t8;
        let t32 = t16.msquare(16) * t16; // x^(2^32 - 1)
        let d = t32.msquare(31) * x; // x^((p+1)/2)
        let e = (d * d.frobenius2()).frobenius(); // x^((r-1)/2)
        let norm = x.mul_to_base(&e.square()); // x^r
        let s = fp_sqrt(norm)?;
        Some(e.inverse_or_zero().mul_base_raw(s))
    }
}

/// Accumulator for one coefficient of a product: weighted sums of the low and high 64-bit halves of
/// 128-bit partial products, kept separately so that nothing overflows (total weight <= 13).
#[derive(Default, Clone, Copy)]
struct Acc {
    lo: u128,
    hi: u128,
}

impl Acc {
    #[inline(always)]
    fn add(&mut self, product: u128, weight: u128) {
        self.lo += weight * (product as u64 as u128);
        self.hi += weight * (product >> 64);
    }

    #[inline(always)]
    fn reduce(self) -> u64 {
        // lo + 2^64 hi = lo + (2^32 - 1) hi mod p; both sums are below 13 * 2^64 so this is
        // below 2^100.
        fp_reduce128(self.lo + self.hi * (EPSILON as u128))
    }
}

impl Add for Gfp5 {
    type Output = Self;

    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        let (a, b) = (self.raw(), rhs.raw());
        Self::from_raw([
            fp_add(a[0], b[0]),
            fp_add(a[1], b[1]),
            fp_add(a[2], b[2]),
            fp_add(a[3], b[3]),
            fp_add(a[4], b[4]),
        ])
    }
}

impl Sub for Gfp5 {
    type Output = Self;

    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        let (a, b) = (self.raw(), rhs.raw());
        Self::from_raw([
            fp_sub(a[0], b[0]),
            fp_sub(a[1], b[1]),
            fp_sub(a[2], b[2]),
            fp_sub(a[3], b[3]),
            fp_sub(a[4], b[4]),
        ])
    }
}

impl Neg for Gfp5 {
    type Output = Self;

    #[inline(always)]
    fn neg(self) -> Self {
        Self::from_raw(self.raw().map(fp_neg))
    }
}

impl Mul for Gfp5 {
    type Output = Self;

    /// Schoolbook product modulo z^5 - 3 with one reduction per output coefficient.
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        let (a, b) = (self.raw(), rhs.raw());
        let p = |i: usize, j: usize| (a[i] as u128) * (b[j] as u128);
        // Coefficient k collects a_i b_j for i + j = k, plus 3 a_i b_j for i + j = k + 5.
        let mut c0 = Acc::default();
        c0.add(p(0, 0), 1);
        c0.add(p(1, 4), 3);
        c0.add(p(2, 3), 3);
        c0.add(p(3, 2), 3);
        c0.add(p(4, 1), 3);
        let mut c1 = Acc::default();
        c1.add(p(0, 1), 1);
        c1.add(p(1, 0), 1);
        c1.add(p(2, 4), 3);
        c1.add(p(3, 3), 3);
        c1.add(p(4, 2), 3);
        let mut c2 = Acc::default();
        c2.add(p(0, 2), 1);
        c2.add(p(1, 1), 1);
        c2.add(p(2, 0), 1);
        c2.add(p(3, 4), 3);
        c2.add(p(4, 3), 3);
        let mut c3 = Acc::default();
        c3.add(p(0, 3), 1);
        c3.add(p(1, 2), 1);
        c3.add(p(2, 1), 1);
        c3.add(p(3, 0), 1);
        c3.add(p(4, 4), 3);
        let mut c4 = Acc::default();
        c4.add(p(0, 4), 1);
        c4.add(p(1, 3), 1);
        c4.add(p(2, 2), 1);
        c4.add(p(3, 1), 1);
        c4.add(p(4, 0), 1);
        Self::from_raw([c0.reduce(), c1.reduce(), c2.reduce(), c3.reduce(), c4.reduce()])
    }
}

impl AddAssign for Gfp5 {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl SubAssign for Gfp5 {
    #[inline(always)]
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl MulAssign for Gfp5 {
    #[inline(always)]
    fn mul_assign(&mut self, rhs: Self) {
        *self = *self * rhs;
    }
}

impl From<GoldilocksField> for Gfp5 {
    fn from(c: GoldilocksField) -> Self {
        Self::from_raw([c.to_canonical_u64(), 0, 0, 0, 0])
    }
}

impl fmt::Display for Gfp5 {
    /// `[c0, c1, c2, c3, c4]` with decimal canonical coefficients, lowest degree first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.raw();
        write!(f, "[{}, {}, {}, {}, {}]", c[0], c[1], c[2], c[3], c[4])
    }
}

impl fmt::Debug for Gfp5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gfp5({self})")
    }
}

/// Inverts every element of `values` in place with one field inversion (Montgomery's trick).
/// Zero entries are not supported (every output would be zero).
pub(crate) fn batch_inverse(values: &mut [Gfp5]) {
    let n = values.len();
    if n == 0 {
        return;
    }
    let mut prefix = Vec::with_capacity(n);
    let mut acc = Gfp5::ONE;
    for v in values.iter() {
        acc *= *v;
        prefix.push(acc);
    }
    let mut inv = acc.inverse_or_zero();
    for i in (1..n).rev() {
        let v = values[i];
        values[i] = inv * prefix[i - 1];
        inv *= v;
    }
    values[0] = inv;
}

#[cfg(test)]
mod tests {
    use plonky2::field::extension::quintic::QuinticExtension;
    use plonky2::field::types::Field;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    type F = GoldilocksField;
    type Ext = QuinticExtension<F>;

    fn gf(c: [u64; 5]) -> Gfp5 {
        Gfp5::from_canonical_u64s(c).unwrap()
    }

    fn random(rng: &mut ChaCha8Rng) -> Gfp5 {
        Gfp5::from_raw([0; 5].map(|_: u64| rng.gen_range(0..P)))
    }

    fn to_ext(x: &Gfp5) -> Ext {
        QuinticExtension(x.to_elements())
    }

    #[test]
    fn base_field_helpers() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let edge = [0, 1, 2, EPSILON, EPSILON + 1, P - 2, P - 1, 1 << 63, (1 << 32) + 5];
        let mut values: Vec<u64> = edge.to_vec();
        values.extend((0..500).map(|_| rng.gen_range(0..P)));
        for &a in &values {
            for &b in edge.iter().chain(values.iter().take(40)) {
                let (wa, wb, wp) = (a as u128, b as u128, P as u128);
                assert_eq!(fp_add(a, b) as u128, (wa + wb) % wp);
                assert_eq!(fp_sub(a, b) as u128, (wa + wp - wb) % wp);
                assert_eq!(fp_mul(a, b) as u128, (wa * wb) % wp);
            }
            assert_eq!(fp_neg(a) as u128, (P as u128 - a as u128) % P as u128);
            assert_eq!(fp_add(fp_half(a), fp_half(a)), a);
            if a != 0 {
                assert_eq!(fp_mul(a, fp_inverse_or_zero(a)), 1);
            }
        }
        // Full 128-bit reduction, including the extremes.
        for x in [0u128, u128::MAX, (P as u128) << 64, u128::MAX - 12345, (1u128 << 96) - 1] {
            assert_eq!(fp_reduce128(x) as u128, x % P as u128);
        }
        for _ in 0..1000 {
            let x = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
            assert_eq!(fp_reduce128(x) as u128, x % P as u128);
        }
        assert_eq!(fp_inverse_or_zero(0), 0);
        assert_eq!(fp_canonical(P), 0);
        assert_eq!(fp_canonical(u64::MAX), EPSILON - 1);
    }

    #[test]
    fn base_field_roots_and_legendre() {
        // g^(2^31) = -1 and g^(2^32) = 1: g is a primitive 2^32-th root of unity.
        assert_eq!(ROOTS_OF_UNITY[31], P - 1);
        assert_eq!(fp_square(ROOTS_OF_UNITY[31]), 1);
        // First entry of the table in the reference implementation (rust/src/field.rs, GFp::GG).
        assert_eq!(ROOTS_OF_UNITY[0], 1_753_635_133_440_165_772);
        // omega = 3^((p-1)/5) is plonky2's DTH_ROOT for the quintic extension.
        assert_eq!(FROB[1], 1_041_288_259_238_279_555);
        assert_eq!(fp_pow(FROB[1], 5), 1);
        // Frobenius constants of the reference implementation (rust/src/field.rs, set_frob1).
        assert_eq!(FROB[2], 15_820_824_984_080_659_046);
        assert_eq!(FROB[3], 211_587_555_138_949_697);
        assert_eq!(FROB[4], 1_373_043_270_956_696_022);

        assert_eq!(fp_sqrt(0), Some(0));
        assert_eq!(fp_legendre(0), 0);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..200 {
            let x = fp_square(rng.gen_range(1..P));
            assert_eq!(fp_legendre(x), 1);
            let r = fp_sqrt(x).unwrap();
            assert_eq!(fp_square(r), x);
            // 7 is not a square modulo p.
            let y = fp_mul(x, 7);
            assert_eq!(fp_legendre(y), P - 1);
            assert_eq!(fp_sqrt(y), None);
        }
    }

    /// Known-answer vectors from the reference implementation: rust/src/field.rs (test
    /// `gfp5_ops`) and python/ecGFp5.py (`TestGFp5`) in github.com/pornin/ecgfp5 ("generated
    /// with Sage").
    #[test]
    fn known_answers() {
        let a = gf([
            9788683869780751860,
            18176307314149915536,
            17581807048943060475,
            16706651231658143014,
            424516324638612383,
        ]);
        let b = gf([
            1541862605911742196,
            5168181287870979863,
            10854086836664484156,
            11043707160649157424,
            943499178011708365,
        ]);
        let a_plus_b = gf([
            11330546475692494056,
            4897744532606311078,
            9989149816192960310,
            9303614322892716117,
            1368015502650320748,
        ]);
        let a_minus_b = gf([
            8246821263869009664,
            13008126026278935673,
            6727720212278576319,
            5662944071008985590,
            17927761216041488339,
        ]);
        let a_times_b = gf([
            5924286846078684570,
            12564682493825924142,
            17116577152380521223,
            5260948460973948760,
            15673927150284637712,
        ]);
        let a_div_b = gf([
            6854214528917216670,
            4676163378868226016,
            7338977912708396522,
            9922012834063967541,
            11413717840889184601,
        ]);
        assert_eq!(a + b, a_plus_b);
        assert_eq!(a - b, a_minus_b);
        assert_eq!(a * b, a_times_b);
        assert_eq!(a * b.inverse_or_zero(), a_div_b);
        assert_eq!(a * b.try_inverse().unwrap(), a_div_b);
        assert_eq!(a.square(), a * a);
        assert_eq!(b.square(), b * b);
        assert_eq!(a_div_b * b, a);
    }

    #[test]
    fn field_axioms() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..300 {
            let (a, b, c) = (random(&mut rng), random(&mut rng), random(&mut rng));
            assert_eq!(a + b, b + a);
            assert_eq!(a * b, b * a);
            assert_eq!((a + b) + c, a + (b + c));
            assert_eq!((a * b) * c, a * (b * c));
            assert_eq!(a * (b + c), a * b + a * c);
            assert_eq!(a + Gfp5::ZERO, a);
            assert_eq!(a * Gfp5::ONE, a);
            assert_eq!(a * Gfp5::ZERO, Gfp5::ZERO);
            assert_eq!(a + (-a), Gfp5::ZERO);
            assert_eq!(a - b, a + (-b));
            assert_eq!(a.double(), a + a);
            assert_eq!(a.half().double(), a);
            assert_eq!(a.square(), a * a);
            assert_eq!(a.msquare(3), a * a * a * a * a * a * a * a);
            assert_eq!(a.mul_small(263), a * Gfp5::from_u64(263));
            assert_eq!(a.mul_small_z(263), a * gf([0, 263, 0, 0, 0]));
            assert_eq!(a.mul_base(F::from_canonical_u64(77)), a * Gfp5::from_u64(77));
            if !a.is_zero() {
                let inv = a.try_inverse().unwrap();
                assert_eq!(a * inv, Gfp5::ONE);
                assert_eq!(a.inverse_or_zero(), inv);
            }
            // Frobenius is x^p.
            assert_eq!(a.frobenius(), pow_p(&a));
            assert_eq!(a.frobenius2(), a.frobenius().frobenius());
        }
        assert_eq!(Gfp5::ZERO.inverse_or_zero(), Gfp5::ZERO);
        assert_eq!(Gfp5::ZERO.try_inverse(), None);
        assert_eq!(Gfp5::ONE.try_inverse(), Some(Gfp5::ONE));
        // z^5 = 3.
        let z = gf([0, 1, 0, 0, 0]);
        assert_eq!(z * z * z * z * z, Gfp5::from_u64(3));
    }

    /// x^p by square-and-multiply, independent of the Frobenius constants.
    fn pow_p(x: &Gfp5) -> Gfp5 {
        let mut r = Gfp5::ONE;
        for i in (0..64).rev() {
            r = r.square();
            if (P >> i) & 1 == 1 {
                r *= *x;
            }
        }
        r
    }

    #[test]
    fn plonky2_cross_check() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..500 {
            let (a, b) = (random(&mut rng), random(&mut rng));
            let (ea, eb) = (to_ext(&a), to_ext(&b));
            assert_eq!(to_ext(&(a * b)), ea * eb);
            assert_eq!(to_ext(&a.square()), ea * ea);
            assert_eq!(to_ext(&(a + b)), ea + eb);
            assert_eq!(to_ext(&(a - b)), ea - eb);
            assert_eq!(to_ext(&a.inverse_or_zero()), ea.inverse());
        }
        // Extreme coefficients (all p - 1) stress the accumulators.
        let m = gf([P - 1; 5]);
        assert_eq!(to_ext(&(m * m)), to_ext(&m) * to_ext(&m));
        assert_eq!(to_ext(&m.square()), to_ext(&m) * to_ext(&m));
    }

    #[test]
    fn sqrt_and_legendre() {
        assert_eq!(Gfp5::ZERO.legendre(), 0);
        assert_eq!(Gfp5::ZERO.sqrt(), Some(Gfp5::ZERO));
        let seven = Gfp5::from_u64(7);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..100 {
            let x = random(&mut rng).square();
            assert_eq!(x.legendre(), 1);
            assert!(x.is_square());
            let r = x.sqrt().unwrap();
            assert_eq!(r.square(), x);
            // 7 is not a square in GF(p), hence not in GF(p^5) (odd degree).
            let y = x * seven;
            assert_eq!(y.legendre(), -1);
            assert!(!y.is_square());
            assert_eq!(y.sqrt(), None);
        }
    }

    #[test]
    fn encodings() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for _ in 0..100 {
            let a = random(&mut rng);
            assert_eq!(Gfp5::from_bytes(&a.to_bytes()), Ok(a));
            assert_eq!(Gfp5::from_canonical_elements(&a.to_elements()), Ok(a));
            assert_eq!(Gfp5::new(a.to_elements()), a);
        }
        // Non-canonical coefficient: 5 + p represents 5 but is rejected by the strict decoders.
        let mut bytes = Gfp5::from_u64(5).to_bytes();
        bytes[16..24].copy_from_slice(&P.to_le_bytes());
        assert_eq!(Gfp5::from_bytes(&bytes), Err(DecodeError::NonCanonicalElement { index: 2, value: P }));
        let elems = [F::from_canonical_u64(1), F::ZERO, F::ZERO, F::ZERO, GoldilocksField(5 + P)];
        assert_eq!(
            Gfp5::from_canonical_elements(&elems),
            Err(DecodeError::NonCanonicalElement { index: 4, value: 5 + P })
        );
        assert_eq!(Gfp5::new(elems), gf([1, 0, 0, 0, 5]));
        assert_eq!(
            Gfp5::from_bytes(&[0u8; 39]),
            Err(DecodeError::InvalidLength { what: "field element", expected: 40, actual: 39 })
        );
    }

    #[test]
    fn batch_inversion() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in 0..6 {
            let v: Vec<Gfp5> = (0..n).map(|_| random(&mut rng)).collect();
            let mut w = v.clone();
            batch_inverse(&mut w);
            for (a, b) in v.iter().zip(&w) {
                assert_eq!(*a * *b, Gfp5::ONE);
            }
        }
    }
}
