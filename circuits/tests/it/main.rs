//! Integration tests of the circuits crate.

mod block;
