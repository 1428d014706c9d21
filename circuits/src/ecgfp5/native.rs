//! Native (out-of-circuit) EcGFp5 arithmetic in affine (x, u) coordinates, used by the witness
//! generators of the gates.
//!
//! It mirrors `rollup_l2::ecgfp5` (whose points keep their coordinates private) and is checked
//! against it through encodings in the tests: the affine point (x, u) of a group element has
//! u = 1/w for its encoding w (u = 0 for the neutral N = (0, 0)).

use plonky2::field::extension::quintic::QuinticExtension;
use plonky2::field::types::Field;
use rollup_l2::ecgfp5::Gfp5;

use crate::F;

/// GF(p^5) = GF(p)\[z\]/(z^5 - W).
pub(crate) const W: u64 = 3;

/// The curve constant b = B1 z.
pub(crate) const B1: u64 = 263;

/// A fixed non-square of GF(p^5): 7 generates the multiplicative group of GF(p), so it is not a
/// square in GF(p), nor in its odd-degree extension GF(p^5).
pub(crate) const NON_SQUARE: u64 = 7;

/// x of the conventional generator (encoded as w = 4), from `rollup_l2::ecgfp5::Point::GENERATOR`.
const GENERATOR_X: [u64; 5] = [
    12883135586176881569,
    4356519642755055268,
    5248930565894896907,
    2165973894480315022,
    2448410071095648785,
];

/// 1/4 in GF(p): u of the generator.
const QUARTER: u64 = 13835058052060938241;

/// GF(p^5), plonky2's quintic extension of Goldilocks (W = 3).
pub(crate) type Q5 = QuinticExtension<F>;

/// The element with coefficients `c` (lowest degree first).
pub(crate) fn q5(c: [F; 5]) -> Q5 {
    QuinticExtension(c)
}

/// The curve constant b = 263 z.
pub(crate) fn curve_b() -> Q5 {
    q5([F::ZERO, F::from_canonical_u64(B1), F::ZERO, F::ZERO, F::ZERO])
}

/// The coefficients of the generator's affine coordinates (x, u).
pub(crate) fn generator_coordinates() -> ([F; 5], [F; 5]) {
    (
        GENERATOR_X.map(F::from_canonical_u64),
        [F::from_canonical_u64(QUARTER), F::ZERO, F::ZERO, F::ZERO, F::ZERO],
    )
}

/// 1/x, or 0 for x = 0.
pub(crate) fn inverse_or_zero(x: Q5) -> Q5 {
    x.try_inverse().unwrap_or(Q5::ZERO)
}

fn to_gfp5(x: Q5) -> Gfp5 {
    Gfp5::new(x.0)
}

fn from_gfp5(x: Gfp5) -> Q5 {
    q5(x.to_elements())
}

/// A square root, if `x` is a square.
pub(crate) fn sqrt(x: Q5) -> Option<Q5> {
    to_gfp5(x).sqrt().map(from_gfp5)
}

/// Whether `x` is a square (zero included).
pub(crate) fn is_square(x: Q5) -> bool {
    to_gfp5(x).is_square()
}

/// A point of the group in affine (x, u) coordinates; (0, 0) is the neutral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AffinePoint {
    pub(crate) x: Q5,
    pub(crate) u: Q5,
}

impl AffinePoint {
    /// The neutral element N = (0, 0).
    pub(crate) const NEUTRAL: Self =
        Self { x: QuinticExtension([F::ZERO; 5]), u: QuinticExtension([F::ZERO; 5]) };

    /// The conventional generator (w = 4).
    pub(crate) fn generator() -> Self {
        let (x, u) = generator_coordinates();
        Self { x: q5(x), u: q5(u) }
    }

    /// The point with coordinates scaled by a base-field value (`(s x, s u)`): the point itself
    /// for s = 1 and the neutral for s = 0.
    pub(crate) fn scaled(&self, s: F) -> Self {
        Self { x: self.x * Q5::from(s), u: self.u * Q5::from(s) }
    }

    /// 2 self, through the fractional formulas with Z = T = 1.
    pub(crate) fn double(&self) -> Self {
        let b = curve_b();
        let two = Q5::TWO;
        let u2 = self.u * self.u;
        let w1 = Q5::ONE - two * (self.x + Q5::ONE) * u2;
        let big_x = Q5::from(F::from_canonical_u64(4)) * b * u2;
        let big_z = w1 * w1;
        let big_u = two * w1 * self.u;
        let big_t = two - Q5::from(F::from_canonical_u64(4)) * u2 - big_z;
        Self { x: big_x * inverse_or_zero(big_z), u: big_u * inverse_or_zero(big_t) }
    }

    /// self + q (complete formulas with Z1 = T1 = Z2 = T2 = 1).
    pub(crate) fn add(&self, q: &Self) -> Self {
        let b = curve_b();
        let two = Q5::TWO;
        let t1 = self.x * q.x;
        let t3 = self.u * q.u;
        let t5 = self.x + q.x;
        let t7 = t1 + b;
        let t9 = t3 * (two * b * t5 + two * t7);
        let t10 = (Q5::ONE + two * t3) * (t5 + t7);
        let big_x = b * (t10 - t7);
        let big_z = t7 - t9;
        let big_u = (self.u + q.u) * (b - t1);
        let big_t = t7 + t9;
        Self { x: big_x * inverse_or_zero(big_z), u: big_u * inverse_or_zero(big_t) }
    }

    /// The encoding w = 1/u (0 for the neutral).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Q5 {
        inverse_or_zero(self.u)
    }

    /// Decodes w as `rollup_l2::ecgfp5::Point::decode` does: `None` unless w is the encoding of a
    /// group element (w = 0 is the neutral).
    #[cfg(test)]
    pub(crate) fn decode(w: Q5) -> Option<Self> {
        if w == Q5::ZERO {
            return Some(Self::NEUTRAL);
        }
        let d = decode_witness(w);
        d.q.then_some(Self { x: d.x, u: d.winv })
    }
}

/// Everything the decoding gate needs for a public key w (see `gates::decode`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DecodeWitness {
    /// The non-square root of x^2 - (w^2 - 2) x + b if the discriminant is a square, else 0.
    pub(crate) x: Q5,
    /// sqrt(NS x) if q, else sqrt(NS delta).
    pub(crate) t: Q5,
    /// 1/w (0 for w = 0).
    pub(crate) winv: Q5,
    /// Whether the discriminant delta = (w^2 - 2)^2 - 4 b is a square.
    pub(crate) q: bool,
    /// Whether w = 0.
    pub(crate) zw: bool,
}

impl DecodeWitness {
    /// Whether w is a valid public key: a group element other than the neutral.
    pub(crate) fn valid(&self) -> bool {
        self.q && !self.zw
    }

    /// The decoded point if valid, else the generator.
    pub(crate) fn point(&self) -> AffinePoint {
        if self.valid() {
            AffinePoint { x: self.x, u: self.winv }
        } else {
            AffinePoint::generator()
        }
    }
}

/// The discriminant delta = (w^2 - 2)^2 - 4 b of x^2 - (w^2 - 2) x + b.
pub(crate) fn discriminant(w: Q5) -> Q5 {
    let e = w * w - Q5::TWO;
    e * e - Q5::from(F::from_canonical_u64(4)) * curve_b()
}

/// The witness of the decoding of w.
pub(crate) fn decode_witness(w: Q5) -> DecodeWitness {
    let ns = Q5::from(F::from_canonical_u64(NON_SQUARE));
    let zw = w == Q5::ZERO;
    let winv = inverse_or_zero(w);
    let e = w * w - Q5::TWO;
    let delta = discriminant(w);
    // delta is never zero (b is not a square), so "square" means a non-zero square here.
    let root = if is_square(delta) { sqrt(delta) } else { None };
    match root {
        Some(r) => {
            let half = Q5::from(F::TWO.inverse());
            let x1 = (e + r) * half;
            let x2 = (e - r) * half;
            // The roots multiply to b, a non-square: exactly one of them is a non-square.
            let x = if is_square(x1) { x2 } else { x1 };
            let t = sqrt(ns * x).unwrap_or(Q5::ZERO);
            DecodeWitness { x, t, winv, q: true, zw }
        }
        None => {
            let t = sqrt(ns * delta).unwrap_or(Q5::ZERO);
            DecodeWitness { x: Q5::ZERO, t, winv, q: false, zw }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use plonky2::field::types::Sample;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::ecgfp5::{Point, Scalar};

    use super::*;

    /// The affine form of an l2 point.
    pub(crate) fn affine_of(p: &Point) -> AffinePoint {
        AffinePoint::decode(from_gfp5(p.encode())).expect("group elements decode")
    }

    /// A random scalar (below n).
    pub(crate) fn random_scalar(rng: &mut ChaCha8Rng) -> Scalar {
        let mut bytes = [0u8; 64];
        rng.fill(&mut bytes[..]);
        Scalar::from_bytes_reduce(&bytes)
    }

    /// A random group element.
    pub(crate) fn random_point(rng: &mut ChaCha8Rng) -> Point {
        Point::mulgen(&random_scalar(rng))
    }

    fn encode(p: &AffinePoint) -> Gfp5 {
        to_gfp5(p.encode())
    }

    /// y^2 = x (x^2 + 2 x + b) with y = x / u, i.e. x = u^2 (x^2 + 2 x + b) (or the neutral).
    fn on_curve(p: &AffinePoint) -> bool {
        if *p == AffinePoint::NEUTRAL {
            return true;
        }
        p.x == p.u * p.u * (p.x * p.x + Q5::TWO * p.x + curve_b()) && p.u != Q5::ZERO
    }

    #[test]
    fn constants() {
        assert_eq!(F::from_canonical_u64(QUARTER) * F::from_canonical_u64(4), F::ONE);
        let ns = Gfp5::from(F::from_canonical_u64(NON_SQUARE));
        assert_eq!(ns.legendre(), -1);
        assert_eq!(to_gfp5(curve_b()).legendre(), -1);
        let g = AffinePoint::generator();
        assert_eq!(encode(&g), Point::GENERATOR.encode());
        assert_eq!(AffinePoint::decode(Q5::from(F::from_canonical_u64(4))), Some(g));
        assert!(on_curve(&g));
    }

    #[test]
    fn affine_formulas_match_l2() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut points: Vec<Point> = (0..10).map(|_| random_point(&mut rng)).collect();
        points.push(Point::NEUTRAL);
        points.push(Point::GENERATOR);
        points.push(-Point::GENERATOR);
        points.push(points[0]);
        points.push(-points[0]);
        for p in &points {
            let pa = affine_of(p);
            assert!(on_curve(&pa));
            assert_eq!(encode(&pa.double()), p.double().encode());
            for q in &points {
                let qa = affine_of(q);
                let sum = pa.add(&qa);
                assert!(on_curve(&sum));
                assert_eq!(encode(&sum), (*p + *q).encode());
                assert_eq!(sum, affine_of(&(*p + *q)));
            }
            assert_eq!(pa.scaled(F::ONE), pa);
            assert_eq!(pa.scaled(F::ZERO), AffinePoint::NEUTRAL);
        }
    }

    #[test]
    fn decoding_matches_l2() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut valid = 0;
        for i in 0..120 {
            let w =
                if i % 3 == 0 { from_gfp5(random_point(&mut rng).encode()) } else { Q5::sample(&mut rng) };
            let expected = Point::decode(&to_gfp5(w));
            let d = decode_witness(w);
            assert_eq!(d.q, expected.is_some(), "w = {w:?}");
            assert_eq!(d.valid(), expected.is_some());
            match expected {
                Some(p) => {
                    valid += 1;
                    assert_eq!(d.point(), affine_of(&p));
                    assert_eq!(AffinePoint::decode(w), Some(d.point()));
                    assert_eq!(d.t * d.t, Q5::from(F::from_canonical_u64(NON_SQUARE)) * d.x);
                }
                None => {
                    assert_eq!(d.point(), AffinePoint::generator());
                    assert_eq!(AffinePoint::decode(w), None);
                    assert_eq!(d.t * d.t, Q5::from(F::from_canonical_u64(NON_SQUARE)) * discriminant(w));
                }
            }
        }
        assert!(valid > 40, "{valid}");
        // w = 0: the neutral, which is not a valid public key.
        let d = decode_witness(Q5::ZERO);
        assert!(d.zw && !d.valid());
        assert_eq!(d.point(), AffinePoint::generator());
    }
}
