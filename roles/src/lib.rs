//! The node roles.
//!
//! One component per role: sequencer, prover, controller, signer, vigilante and
//! backup (`../shared/design/ARCHITECTURE.md`). A component is a plain struct with
//! synchronous methods; [`start`] hands one per enabled role to the actor runtime,
//! which loads it from the node database at start and after every failure.
//!
//! Until each role's own logic lands (sequencer: the L2 state machine issue; prover:
//! the proving issues; controller: DA and claims; signer, vigilante and backup: the
//! contract and high-availability issues), every role runs the same
//! [`RoleComponent`]: it keeps a durable per-role record (how many times the role was
//! loaded), reports health and answers [`DescribeRole`]. That exercises the whole
//! start, restart-from-storage and shutdown path the real roles will use.

mod component;
pub mod controller;
pub mod prover;
pub mod sequencer;

pub use component::{
    genesis_of, start, DescribeRole, RoleComponent, RoleRecord, RoleRecords, StartRolesError, StartedRoles,
};
