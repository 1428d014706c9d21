//! Integration tests of the circuits crate.

// Tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch;
mod block;
