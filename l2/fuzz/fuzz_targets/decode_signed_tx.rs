//! `SignedTx::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the encoding is canonical).
//!
//! A decoded transaction is then checked the way a node checks one: its signing message is
//! computed and the (arbitrary) signature is verified against the transfer's receiver key, which
//! exercises the public-key and signature decoders and verification on hostile input. Only the
//! absence of panics is asserted there, not the outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::{verify, Encode, SignedTx, UserTx};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = SignedTx::decode(data) else { return };
    assert_eq!(value.encode(), data, "{value:?} decoded from bytes it does not encode to");
    let message = value.tx.signing_message(0);
    if let UserTx::Transfer(transfer) = &value.tx {
        let _ = verify(&transfer.to_pubkey, &message, &value.signature);
    }
});
