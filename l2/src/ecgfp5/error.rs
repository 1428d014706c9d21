//! Decoding errors shared by the field, scalar, curve and signature encodings.

use super::field::Gfp5;

/// Why a byte string or a list of base-field elements was rejected by one of the strict decoders
/// of this module.
///
/// Every decoder in [`crate::ecgfp5`] accepts exactly one encoding per value; anything else
/// (wrong length, an integer that is not reduced, a field element that is not the encoding of a
/// group element, a degenerate key) is reported with one of these variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input does not have the length of the encoding.
    #[error("invalid {what} length: expected {expected} bytes, got {actual}")]
    InvalidLength {
        /// What was being decoded (e.g. `"signature"`).
        what: &'static str,
        /// The length of the encoding.
        expected: usize,
        /// The length of the input.
        actual: usize,
    },
    /// A base-field coefficient is not in canonical form (it is not below p = 2^64 - 2^32 + 1).
    #[error("non-canonical base field element at index {index}: {value:#018x} is not below p")]
    NonCanonicalElement {
        /// Index of the offending coefficient (0 to 4, lowest degree first).
        index: usize,
        /// The offending 64-bit value.
        value: u64,
    },
    /// A scalar is not in canonical form (the 320-bit integer is not below the group order n).
    #[error("non-canonical scalar {}: not below the group order", limbs_hex(.limbs))]
    NonCanonicalScalar {
        /// The offending integer, as five 64-bit limbs in little-endian order.
        limbs: [u64; 5],
    },
    /// The field element is not the encoding of any element of the group.
    #[error("field element {w} does not encode a curve point")]
    InvalidPoint {
        /// The offending field element.
        w: Gfp5,
    },
    /// The neutral element was given as a public key.
    #[error("the neutral point is not a valid public key")]
    NeutralPublicKey,
    /// The zero scalar was given as a secret key.
    #[error("the zero scalar is not a valid secret key")]
    ZeroSecretKey,
}

/// Formats a 320-bit little-endian limb array as one big-endian hexadecimal integer.
fn limbs_hex(limbs: &[u64; 5]) -> String {
    let mut s = String::with_capacity(2 + 80);
    s.push_str("0x");
    for limb in limbs.iter().rev() {
        s.push_str(&format!("{limb:016x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_and_carry_values() {
        let e = DecodeError::InvalidLength { what: "signature", expected: 80, actual: 79 };
        assert_eq!(e.to_string(), "invalid signature length: expected 80 bytes, got 79");
        let e = DecodeError::NonCanonicalElement { index: 2, value: u64::MAX };
        assert_eq!(
            e.to_string(),
            "non-canonical base field element at index 2: 0xffffffffffffffff is not below p"
        );
        let e = DecodeError::NonCanonicalScalar { limbs: [1, 0, 0, 0, 0x8000_0000_0000_0000] };
        assert_eq!(
            e.to_string(),
            "non-canonical scalar 0x8000000000000000000000000000000000000000000000000000000000000000\
             0000000000000001: not below the group order"
        );
        let e = DecodeError::InvalidPoint { w: Gfp5::from_u64(5) };
        assert_eq!(e.to_string(), "field element [5, 0, 0, 0, 0] does not encode a curve point");
    }
}
