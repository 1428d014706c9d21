//! The tapscript toolkit of the settlement contract.
//!
//! - [`Script`]: a fragment builder with minimal pushes; gadgets are functions that
//!   return fragments, and a leaf is their concatenation.
//! - [`exec`]: runs a leaf under Bitcoin Core's interpreter (libbitcoinkernel).
//! - [`interpreter`]: our own tapscript interpreter, which explains a verdict (Core's
//!   error, the failing opcode, the peak stack depth, the final stack).
//! - [`winternitz`]: Winternitz one-time signatures over hash160, natively and in
//!   script.
//! - [`limbs`]: limb arithmetic within script's number rules, u32 words as nibbles.
//! - [`blake3`]: BLAKE3 (compression and one-chunk hash) in script.
//! - [`bigint`]: unsigned integers as n limbs of b bits (add, subtract, compare,
//!   range checks, a hinted modular multiply).
//! - [`fq`]: BLS12-381 base-field arithmetic (Fq and Fq2) on those limbs.

pub mod bigint;
pub mod blake3;
mod builder;
pub mod exec;
pub mod fq;
pub mod interpreter;
pub mod limbs;
pub mod winternitz;

pub use builder::{
    decode_num, encode_num, read_operand, Script, MAX_ELEMENT_BYTES, MAX_SCRIPT_NUM, MAX_STACK_ITEMS,
};
pub use interpreter::{diagnose_input, run_tapscript, ScriptError, ScriptFailure, Trace};
