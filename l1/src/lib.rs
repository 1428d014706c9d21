//! Everything the rollup writes to or reads from Bitcoin.
//!
//! Today this is the tapscript toolkit of the BitVM-style settlement contract
//! (`PROTOCOL.md` section 7), in [`script`]: a fragment builder, the execution of a
//! leaf under Bitcoin Core's own interpreter (libbitcoinkernel), and the gadgets
//! the contract's claim, assert and disprove scripts are made of.

pub mod script;
