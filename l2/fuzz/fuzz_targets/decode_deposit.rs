//! `Deposit::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the encoding is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{Deposit, Encode};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = Deposit::decode(data) else { return };
    assert_eq!(value.encode(), data, "{value:?} decoded from bytes it does not encode to");
});
