//! Small gadgets shared by the circuits: domain-separated Poseidon hashing that
//! matches `rollup_l2::hash` exactly, Merkle paths of the account tree, and range
//! checks and comparisons on integers held in field elements.

mod hash;
mod merkle;
mod range;

pub use hash::{constant_digest, digest_target, hash_in_domain, select_digest, DigestTarget};
pub use merkle::{merkle_root, MerklePathTarget};
pub use range::{greater_or_equal, less_than_power_of_two};
