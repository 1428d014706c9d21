//! `UserTx::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the encoding is canonical).
//! The signing message of the decoded transaction is also computed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{Encode, UserTx};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = UserTx::decode(data) else { return };
    assert_eq!(value.encode(), data, "{value:?} decoded from bytes it does not encode to");
    // Decoded transactions are hashed for signature checks: that must not panic either.
    let _ = value.signing_message(0);
    let _ = value.signing_message(u64::MAX);
});
