//! The bridge between L2 types and EcGFp5 Schnorr: keys as [`PubKey`] elements,
//! messages as [`Digest`]s, signatures as their 80-byte encoding.

use crate::ecgfp5::{PublicKey, SecretKey, Signature};
use crate::hash::Digest;
use crate::types::PubKey;

/// Whether `signature` (80 bytes) is `pubkey`'s signature of `message`. Undecodable
/// keys or signatures do not verify.
pub fn verify(pubkey: &PubKey, message: &Digest, signature: &[u8]) -> bool {
    let Ok(key) = PublicKey::from_elements(&pubkey.elements()) else { return false };
    let Ok(signature) = Signature::from_bytes(signature) else { return false };
    key.verify(&message.elements(), &signature)
}

/// The [`PubKey`] of a secret key.
pub fn pubkey_of(secret: &SecretKey) -> PubKey {
    pubkey_from(&secret.public_key())
}

/// The [`PubKey`] of a public key.
pub fn pubkey_from(public: &PublicKey) -> PubKey {
    PubKey(
        public.to_elements().map(|element| plonky2::field::types::PrimeField64::to_canonical_u64(&element)),
    )
}

/// Signs `message` with `secret`; the 80-byte encoding.
pub fn sign(secret: &SecretKey, message: &Digest) -> Vec<u8> {
    secret.sign(&message.elements()).to_bytes().to_vec()
}
