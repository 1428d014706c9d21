//! `L2Tx::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the encoding is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{Encode, L2Tx};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = L2Tx::decode(data) else { return };
    assert_eq!(value.encode(), data, "{value:?} decoded from bytes it does not encode to");
});
