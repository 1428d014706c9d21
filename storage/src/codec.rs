//! Byte encodings of table keys and values.

/// A type stored as a table key or value.
///
/// Keys must encode so that byte order is key order: integers are big-endian and
/// fixed-width. Values should carry a version byte when their layout may change.
pub trait Codec: Sized {
    /// The canonical bytes of `self`.
    fn encode(&self) -> Vec<u8>;
    /// Reads a value from exactly `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Stored bytes that do not decode as the table's type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes have the wrong length for a fixed-width type.
    #[error("expected {expected} bytes, found {found}")]
    Length {
        /// Bytes the type needs.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// A string is not UTF-8.
    #[error("not valid UTF-8")]
    Utf8,
    /// The bytes are malformed in a type-specific way.
    #[error("{0}")]
    Invalid(String),
}

macro_rules! big_endian_codec {
    ($($ty:ty),*) => {$(
        impl Codec for $ty {
            fn encode(&self) -> Vec<u8> {
                self.to_be_bytes().to_vec()
            }

            fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let array = bytes.try_into().map_err(|_| DecodeError::Length {
                    expected: std::mem::size_of::<$ty>(),
                    found: bytes.len(),
                })?;
                Ok(<$ty>::from_be_bytes(array))
            }
        }
    )*};
}

big_endian_codec!(u8, u16, u32, u64, u128);

impl Codec for bool {
    fn encode(&self) -> Vec<u8> {
        vec![u8::from(*self)]
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes {
            [0] => Ok(false),
            [1] => Ok(true),
            [other] => Err(DecodeError::Invalid(format!("boolean byte {other}"))),
            _ => Err(DecodeError::Length { expected: 1, found: bytes.len() }),
        }
    }
}

impl Codec for Vec<u8> {
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

impl<const N: usize> Codec for [u8; N] {
    fn encode(&self) -> Vec<u8> {
        self.to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        bytes.try_into().map_err(|_| DecodeError::Length { expected: N, found: bytes.len() })
    }
}

impl Codec for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Codec + PartialEq + std::fmt::Debug>(value: T) {
        assert_eq!(T::decode(&value.encode()), Ok(value));
    }

    #[test]
    fn values_round_trip() {
        round_trip(0u8);
        round_trip(u16::MAX);
        round_trip(0xdead_beef_u32);
        round_trip(u64::MAX - 1);
        round_trip(u128::MAX);
        round_trip(true);
        round_trip(vec![1u8, 2, 3]);
        round_trip([7u8; 32]);
        round_trip("chain".to_owned());
    }

    #[test]
    fn integer_keys_sort_like_their_bytes() {
        let values = [0u64, 1, 255, 256, 65_535, 1 << 40, u64::MAX];
        for pair in values.windows(2) {
            assert!(pair[0].encode() < pair[1].encode(), "{pair:?}");
        }
    }

    #[test]
    fn malformed_bytes_are_rejected_with_the_reason() {
        assert_eq!(u64::decode(&[1, 2, 3]), Err(DecodeError::Length { expected: 8, found: 3 }));
        assert_eq!(<[u8; 4]>::decode(&[0; 5]), Err(DecodeError::Length { expected: 4, found: 5 }));
        assert_eq!(bool::decode(&[2]), Err(DecodeError::Invalid("boolean byte 2".to_owned())));
        assert_eq!(bool::decode(&[]), Err(DecodeError::Length { expected: 1, found: 0 }));
        assert_eq!(String::decode(&[0xff, 0xfe]), Err(DecodeError::Utf8));
    }
}
