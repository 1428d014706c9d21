//! `BlockHeader::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the encoding is canonical). The header hash of a decoded header is also
//! computed.
//!
//! The same input also drives `Digest::from_bytes` (the 32-byte digest encoding): on the first
//! 32 bytes, where it must agree with `to_bytes`, and on the four digest fields of a decoded
//! header, which must decode to the header's digests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{BlockHeader, Digest, Encode};

/// Offsets of the four digests in a header encoding: version, number, parent hash,
/// timestamp, previous state root, state root, transaction commitment.
const DIGEST_OFFSETS: [usize; 4] = [1 + 8, 1 + 8 + 32 + 8, 1 + 8 + 32 + 8 + 32, 1 + 8 + 32 + 8 + 64];

fn digest_at(data: &[u8], offset: usize) -> Option<Digest> {
    let bytes: &[u8; 32] = data.get(offset..offset + 32)?.try_into().ok()?;
    let digest = Digest::from_bytes(bytes)?;
    assert_eq!(&digest.to_bytes(), bytes, "{digest:?} decoded from bytes it does not encode to");
    Some(digest)
}

fuzz_target!(|data: &[u8]| {
    let _ = digest_at(data, 0);
    let Ok(header) = BlockHeader::decode(data) else { return };
    assert_eq!(header.encode(), data, "{header:?} decoded from bytes it does not encode to");
    let digests = DIGEST_OFFSETS.map(|offset| digest_at(data, offset));
    assert_eq!(
        digests,
        [
            Some(header.parent_hash),
            Some(header.prev_state_root),
            Some(header.state_root),
            Some(header.tx_commitment)
        ],
        "digest fields of {header:?}"
    );
    assert!(header.l1_cursor_before <= header.l1_cursor_after);
    let _ = header.hash();
});
