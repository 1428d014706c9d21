//! The node roles.
//!
//! One component per role (`docs/architecture.md`). A component is a plain struct
//! with synchronous methods; [`start`] hands one per enabled role to the actor
//! runtime, which loads it from the node database at start and after every failure.
//! Every role keeps a durable [`RoleRecord`] (how many times it was loaded) and
//! answers [`DescribeRole`].
//!
//! Four roles are built: the sequencer ([`sequencer`]: mempool, blocks, L1 messages
//! and forced inclusion, JSON-RPC), the prover ([`prover`]: block proofs, batch
//! aggregation and recursion, the Groth16 wrapping), the controller ([`controller`]:
//! batch cutting and posting batch data to Bitcoin; claims come with the contract)
//! and the vigilante ([`vigilante`]: rebuilding the chain from Bitcoin alone, with
//! [`da`]; challenges come with the contract).
//!
//! The signer and the backup are **not implemented**: enabling one starts nothing.
//! The node logs a warning, lists the role as `not implemented` (`rollup_roles`,
//! `/ready`) and never counts it as ready work ([`StartedRoles::not_implemented`]).

mod component;
pub mod controller;
pub mod da;
pub mod prover;
pub mod sequencer;
pub mod vigilante;

pub use component::{
    genesis_of, start, DescribeRole, RoleRecord, RoleRecords, StartRolesError, StartedRoles,
};
