//! The DA layer's decoders on arbitrary bytes: `BatchBlob::decode`,
//! `CompactBlock::from_bytes` and `decompress` never panic; whatever decodes
//! re-encodes to exactly the input (one blob, one encoding), a decoded blob's
//! `headers` does not panic, and `decompress` never returns more than its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{decompress, BatchBlob, BlockHeader, CompactBlock};

/// What a rebuilding node allows a posted blob to inflate to, scaled down.
const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(blob) = BatchBlob::decode(data) {
        assert_eq!(blob.encode(), data, "{blob:?} decoded from bytes it does not encode to");
        let _ = blob.headers(&BlockHeader::default());
        let _ = blob.l1_messages();
    }
    if let Ok(block) = CompactBlock::from_bytes(data) {
        assert_eq!(block.to_bytes(), data, "{block:?} decoded from bytes it does not encode to");
    }
    if let Ok(inflated) = decompress(data, LIMIT) {
        assert!(inflated.len() <= LIMIT, "decompress gave {} bytes over its limit", inflated.len());
    }
});
