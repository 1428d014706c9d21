//! The node roles.
//!
//! One component per role: sequencer, prover, controller, signer, vigilante and
//! backup (`../shared/design/ARCHITECTURE.md`). A component is a plain struct with
//! synchronous methods; [`start`] hands one per enabled role to the actor runtime,
//! which loads it from the node database at start and after every failure.
//!
//! The sequencer ([`sequencer`]: mempool, blocks, L1 messages and forced inclusion,
//! JSON-RPC), the prover ([`prover`]: block proofs, batch aggregation and recursion,
//! the Groth16 wrapping), the controller ([`controller`]: batch cutting and posting
//! batch data to Bitcoin; claims come later) and the vigilante ([`vigilante`]:
//! rebuilding the chain from Bitcoin alone, with [`da`]; challenges come with the
//! contract) run their own components. Until their logic lands (the contract and
//! high-availability issues), the signer and backup run [`RoleComponent`]: it keeps a
//! durable per-role record (how many times the role was loaded), reports health and
//! answers [`DescribeRole`], exercising the start, restart-from-storage and shutdown
//! path the real roles use.

mod component;
pub mod controller;
pub mod da;
pub mod prover;
pub mod sequencer;
pub mod vigilante;

pub use component::{
    genesis_of, start, DescribeRole, RoleComponent, RoleRecord, RoleRecords, StartRolesError, StartedRoles,
};
