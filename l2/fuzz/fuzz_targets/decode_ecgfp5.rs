//! The strict EcGFp5 decoders (`Gfp5`, `Scalar`, `Point`, `PublicKey`, `Signature`
//! `::from_bytes`) on the same arbitrary bytes: none panics, whatever decodes re-encodes to
//! exactly the input, and the decoders agree with each other:
//!
//! * a point decodes only from a canonical field element w, exactly when
//!   `Point::is_valid_encoding(w)`;
//! * a public key decodes exactly when the point does and is not the neutral;
//! * a signature decodes exactly when both 40-byte halves are canonical scalars;
//! * the group is closed: the double of a decoded point encodes to bytes that decode back to
//!   that double.
//!
//! The decoders take exact lengths (40 or 80 bytes), so they are run on the whole input (which
//! also checks that other lengths are refused) and on its first 40 and 80 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::ecgfp5::{Gfp5, Point, PublicKey, Scalar, Signature};

fn check(bytes: &[u8]) {
    let field = Gfp5::from_bytes(bytes);
    if let Ok(w) = field {
        assert_eq!(w.to_bytes(), bytes, "Gfp5 {w:?}");
    }

    if let Ok(scalar) = Scalar::from_bytes(bytes) {
        assert_eq!(scalar.to_bytes(), bytes, "Scalar {scalar:?}");
    }

    let point = Point::from_bytes(bytes);
    match (&field, &point) {
        (Ok(w), point) => assert_eq!(
            Point::is_valid_encoding(w),
            point.is_ok(),
            "Point::is_valid_encoding and Point::from_bytes disagree on {w:?}"
        ),
        (Err(_), Ok(point)) => panic!("{point:?} decoded from a non-canonical field element"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(point) = point {
        assert_eq!(point.to_bytes(), bytes, "Point {point:?}");
        let double = point.double();
        match Point::from_bytes(&double.to_bytes()) {
            Ok(again) => assert_eq!(again, double, "the double of {point:?}"),
            Err(error) => panic!("the double {double:?} of {point:?} does not decode: {error}"),
        }
    }

    let public_key = PublicKey::from_bytes(bytes);
    assert_eq!(
        public_key.is_ok(),
        point.as_ref().is_ok_and(|point| !point.is_neutral()),
        "PublicKey::from_bytes and Point::from_bytes disagree"
    );
    if let Ok(public_key) = public_key {
        assert_eq!(public_key.to_bytes(), bytes, "PublicKey {public_key:?}");
    }

    let signature = Signature::from_bytes(bytes);
    if bytes.len() == Signature::ENCODED_LEN {
        let halves = Scalar::from_bytes(&bytes[..40]).is_ok() && Scalar::from_bytes(&bytes[40..]).is_ok();
        assert_eq!(signature.is_ok(), halves, "Signature::from_bytes and Scalar::from_bytes disagree");
    }
    if let Ok(signature) = signature {
        assert_eq!(signature.to_bytes(), bytes, "Signature {signature:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    for len in [Gfp5::ENCODED_LEN, Signature::ENCODED_LEN] {
        if data.len() > len {
            check(&data[..len]);
        }
    }
});
