//! The tapscript toolkit of the settlement contract.
//!
//! - [`Script`]: a fragment builder with minimal pushes; gadgets are functions that
//!   return fragments, and a leaf is their concatenation.
//! - [`exec`]: runs a leaf under Bitcoin Core's interpreter (libbitcoinkernel).
//! - [`limbs`]: limb arithmetic within script's number rules, u32 words as nibbles.
//! - [`blake3`]: BLAKE3 (compression and one-chunk hash) in script.

pub mod blake3;
mod builder;
pub mod exec;
pub mod limbs;

pub use builder::{decode_num, encode_num, Script, MAX_ELEMENT_BYTES, MAX_SCRIPT_NUM, MAX_STACK_ITEMS};
