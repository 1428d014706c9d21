//! The L1 message payload decoders on arbitrary bytes: `DepositPayload::decode` and
//! `decode_forced_payload` never panic, and whatever decodes re-encodes to exactly the
//! input (one message, one encoding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{decode_forced_payload, encode_forced_payload, DepositPayload};

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = DepositPayload::decode(data) {
        assert_eq!(payload.encode(), data, "{payload:?} decoded from bytes it does not encode to");
    }
    if let Ok(signed) = decode_forced_payload(data) {
        assert_eq!(encode_forced_payload(&signed), data, "{signed:?} decoded from bytes it does not encode to");
    }
});
