//! [`Script`]: a tapscript fragment, built by appending opcodes, minimal pushes and
//! other fragments.

use std::fmt;

use bitcoin::opcodes::all::{OP_PUSHBYTES_0, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHNUM_1, OP_PUSHNUM_NEG1};
use bitcoin::opcodes::Opcode;
use bitcoin::ScriptBuf;

/// The largest element a script may push (`MAX_SCRIPT_ELEMENT_SIZE`).
pub const MAX_ELEMENT_BYTES: usize = 520;

/// The most elements the main and alt stacks may hold together (`MAX_STACK_SIZE`).
pub const MAX_STACK_ITEMS: usize = 1000;

/// The widest number script arithmetic accepts as an operand: 4 bytes, so
/// `[-(2^31 - 1), 2^31 - 1]`.
pub const MAX_SCRIPT_NUM: i64 = (1 << 31) - 1;

/// A fragment of tapscript.
///
/// Gadgets are functions returning fragments; a leaf is the concatenation of its
/// gadgets. Every push is encoded minimally (`OP_0`, `OP_1NEGATE`, `OP_1`..`OP_16`,
/// then the shortest data push), as Bitcoin Core's standardness rules require.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Script {
    bytes: Vec<u8>,
}

impl Script {
    /// The empty fragment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an opcode.
    ///
    /// Push opcodes must not be appended this way (their data would be missing):
    /// use [`Script::num`] or [`Script::data`].
    pub fn op(mut self, opcode: Opcode) -> Self {
        self.bytes.push(opcode.to_u8());
        self
    }

    /// Appends the same opcode `count` times.
    pub fn ops(mut self, opcode: Opcode, count: usize) -> Self {
        self.bytes.extend(std::iter::repeat_n(opcode.to_u8(), count));
        self
    }

    /// Appends a minimal push of the number `n`.
    pub fn num(mut self, n: i64) -> Self {
        match n {
            0 => self.bytes.push(OP_PUSHBYTES_0.to_u8()),
            -1 => self.bytes.push(OP_PUSHNUM_NEG1.to_u8()),
            1..=16 => {
                // OP_1..OP_16 are consecutive; 1..=16 fits a u8.
                self.bytes.push(OP_PUSHNUM_1.to_u8() + (n - 1) as u8);
            }
            _ => self = self.data(&encode_num(n)),
        }
        self
    }

    /// Appends a minimal push of `data` (at most [`MAX_ELEMENT_BYTES`] for a script
    /// that can run; longer pushes are encoded but fail at execution).
    pub fn data(mut self, data: &[u8]) -> Self {
        match data {
            [] => self.bytes.push(OP_PUSHBYTES_0.to_u8()),
            [byte @ 1..=16] => self.bytes.push(OP_PUSHNUM_1.to_u8() + byte - 1),
            [0x81] => self.bytes.push(OP_PUSHNUM_NEG1.to_u8()),
            _ => {
                let len = data.len();
                if len < usize::from(OP_PUSHDATA1.to_u8()) {
                    // Direct pushes: the opcode is the length (1..=75).
                    self.bytes.push(len as u8);
                } else if let Ok(len) = u8::try_from(len) {
                    self.bytes.push(OP_PUSHDATA1.to_u8());
                    self.bytes.push(len);
                } else {
                    // Elements over 65535 bytes cannot run anywhere; clamp the prefix.
                    let len = u16::try_from(len).unwrap_or(u16::MAX);
                    self.bytes.push(OP_PUSHDATA2.to_u8());
                    self.bytes.extend_from_slice(&len.to_le_bytes());
                }
                self.bytes.extend_from_slice(data);
            }
        }
        self
    }

    /// Appends another fragment.
    pub fn then(mut self, other: Script) -> Self {
        self.bytes.extend_from_slice(&other.bytes);
        self
    }

    /// Appends `make(i)` for every `i` in `0..count`.
    pub fn for_each(mut self, count: usize, mut make: impl FnMut(usize) -> Script) -> Self {
        for i in 0..count {
            self.bytes.extend_from_slice(&make(i).bytes);
        }
        self
    }

    /// Appends `fragment` `count` times.
    pub fn repeat(mut self, fragment: &Script, count: usize) -> Self {
        for _ in 0..count {
            self.bytes.extend_from_slice(&fragment.bytes);
        }
        self
    }

    /// The fragment's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the fragment is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded script.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded script as rust-bitcoin's type.
    pub fn to_script_buf(&self) -> ScriptBuf {
        ScriptBuf::from_bytes(self.bytes.clone())
    }

    /// Wraps already encoded script bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }
}

impl FromIterator<Script> for Script {
    fn from_iter<I: IntoIterator<Item = Script>>(iter: I) -> Self {
        let mut bytes = Vec::new();
        for fragment in iter {
            bytes.extend_from_slice(&fragment.bytes);
        }
        Self { bytes }
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Script({} bytes: {})", self.bytes.len(), self.to_script_buf().to_asm_string())
    }
}

/// The minimal script-number encoding of `n` (little-endian magnitude, sign in the
/// top bit of the last byte; zero is the empty string), as a witness element or a push.
pub fn encode_num(n: i64) -> Vec<u8> {
    if n == 0 {
        return Vec::new();
    }
    let negative = n < 0;
    let mut magnitude = n.unsigned_abs();
    let mut bytes = Vec::with_capacity(9);
    while magnitude > 0 {
        bytes.push((magnitude & 0xff) as u8);
        magnitude >>= 8;
    }
    // `bytes` is non-empty because n != 0.
    let last = bytes.len() - 1;
    if bytes[last] & 0x80 != 0 {
        bytes.push(if negative { 0x80 } else { 0 });
    } else if negative {
        bytes[last] |= 0x80;
    }
    bytes
}

/// Decodes a script number of at most 8 bytes (`None` for longer or non-minimal
/// encodings).
pub fn decode_num(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 8 {
        return None;
    }
    let last = bytes[bytes.len() - 1];
    // Minimal: the last byte carries magnitude bits unless it is only the sign byte
    // needed because the previous byte's top bit is set.
    if last & 0x7f == 0 && (bytes.len() == 1 || bytes[bytes.len() - 2] & 0x80 == 0) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for (i, byte) in bytes.iter().enumerate() {
        let byte = if i == bytes.len() - 1 { byte & 0x7f } else { *byte };
        magnitude |= u64::from(byte) << (8 * i);
    }
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(if last & 0x80 != 0 { -magnitude } else { magnitude })
}

/// A stack element read as script arithmetic reads an operand under tapscript's
/// consensus rules: at most 4 bytes, any encoding (a padded `[5, 0]` is 5, `[0x80]`
/// is zero). `None` for a longer element, which makes arithmetic fail.
///
/// Watchers parse witnesses with this, so that they read exactly what a script
/// accepted.
pub fn read_operand(bytes: &[u8]) -> Option<i64> {
    let Some((last, _)) = bytes.split_last() else {
        return Some(0);
    };
    if bytes.len() > 4 {
        return None;
    }
    let magnitude = bytes.iter().enumerate().fold(0i64, |value, (i, byte)| {
        let byte = if i + 1 == bytes.len() { byte & 0x7f } else { *byte };
        value | (i64::from(byte) << (8 * i))
    });
    Some(if last & 0x80 != 0 { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use bitcoin::opcodes::all::{OP_ADD, OP_DUP};

    use super::*;

    #[test]
    fn numbers_encode_minimally_and_round_trip() {
        assert_eq!(encode_num(0), Vec::<u8>::new());
        assert_eq!(encode_num(1), vec![1]);
        assert_eq!(encode_num(-1), vec![0x81]);
        assert_eq!(encode_num(127), vec![0x7f]);
        assert_eq!(encode_num(128), vec![0x80, 0]);
        assert_eq!(encode_num(-128), vec![0x80, 0x80]);
        assert_eq!(encode_num(255), vec![0xff, 0]);
        assert_eq!(encode_num(256), vec![0, 1]);
        assert_eq!(encode_num(MAX_SCRIPT_NUM), vec![0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(encode_num(-MAX_SCRIPT_NUM), vec![0xff, 0xff, 0xff, 0xff]);
        for n in [0, 1, -1, 16, 17, 127, 128, -129, 1 << 30, MAX_SCRIPT_NUM, -MAX_SCRIPT_NUM, 1 << 40] {
            assert_eq!(decode_num(&encode_num(n)), Some(n), "{n}");
        }
        assert_eq!(decode_num(&[1, 0]), None, "padded with a zero byte");
        assert_eq!(decode_num(&[0x80]), None, "negative zero");
        // Operands: any encoding of at most 4 bytes.
        assert_eq!(read_operand(&[5, 0]), Some(5));
        assert_eq!(read_operand(&[0x80]), Some(0));
        assert_eq!(read_operand(&[1, 0x80]), Some(-1));
        assert_eq!(read_operand(&[0xff, 0xff, 0xff, 0x7f]), Some(MAX_SCRIPT_NUM));
        assert_eq!(read_operand(&[0, 0, 0, 0, 1]), None);
    }

    #[test]
    fn pushes_are_minimal() {
        assert_eq!(Script::new().num(0).as_bytes(), &[0x00]);
        assert_eq!(Script::new().num(-1).as_bytes(), &[0x4f]);
        assert_eq!(Script::new().num(16).as_bytes(), &[0x60]);
        assert_eq!(Script::new().num(17).as_bytes(), &[0x01, 17]);
        assert_eq!(Script::new().num(-2).as_bytes(), &[0x01, 0x82]);
        assert_eq!(Script::new().data(&[5]).as_bytes(), &[0x55]);
        assert_eq!(Script::new().data(&[0x81]).as_bytes(), &[0x4f]);
        assert_eq!(Script::new().data(&[0; 75]).len(), 76);
        assert_eq!(&Script::new().data(&[0; 76]).as_bytes()[..2], &[0x4c, 76]);
        assert_eq!(&Script::new().data(&[0; 300]).as_bytes()[..3], &[0x4d, 0x2c, 0x01]);
        let fragment = Script::new().op(OP_DUP).num(3).op(OP_ADD);
        let joined: Script = [fragment.clone(), fragment.clone()].into_iter().collect();
        assert_eq!(joined, Script::new().repeat(&fragment, 2));
        assert_eq!(joined.len(), 6);
    }
}
