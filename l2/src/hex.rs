//! Lower-case hex, as the API, the wallet and JSON forms write bytes.

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The bytes of a hex string (either case); `None` unless it is ASCII hex of whole bytes.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    // `from_str_radix` alone would also take a sign ("+1"); only hex digits are hex.
    if text.len() % 2 != 0 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Serde adapter writing bytes as a lower-case hex string (`#[serde(with = ...)]`).
pub mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `bytes` as hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode(bytes))
    }

    /// Reads a hex string of whole bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode(&text).ok_or_else(|| serde::de::Error::custom("not a hex string of whole bytes"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(super::encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(super::decode("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(super::decode(""), Some(vec![]));
        assert_eq!(super::decode("abc"), None);
        assert_eq!(super::decode("zz"), None);
        assert_eq!(super::decode("é1"), None);
        assert_eq!(super::decode("+1"), None);
    }
}
