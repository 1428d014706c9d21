//! The tapscript toolkit of the settlement contract.
//!
//! - [`Script`]: a fragment builder with minimal pushes; gadgets are functions that
//!   return fragments, and a leaf is their concatenation.
//! - [`exec`]: runs a leaf under Bitcoin Core's interpreter (libbitcoinkernel).

pub mod bigint;
mod builder;
pub mod exec;
pub mod fq;

pub use builder::{decode_num, encode_num, Script, MAX_ELEMENT_BYTES, MAX_SCRIPT_NUM, MAX_STACK_ITEMS};
