//! The actix runtime of the node: no protocol logic lives here.
//!
//! Each role is a plain [`Component`] with synchronous methods. The [`Runtime`] (the
//! root supervisor) starts one [`RoleActor`] shell per enabled role that is
//! implemented ([`Runtime::declare_not_implemented`] records the others), on its own
//! arbiter thread, under actix supervision. The shell builds the component with a
//! [`Loader`] that reads its state from storage, forwards requests to it
//! ([`Handles`]), runs its periodic work, and catches its failures: a panic or an
//! error drops the component and reloads it after an exponential backoff
//! ([`RestartPolicy`]), so a role only ever resumes from committed state. Callers
//! reach a role through a typed [`Sender`], never through its actor type.
//!
//! [`Telemetry`] carries the role [`Health`] behind `/ready` (with a one-shot hook,
//! [`Health::when_ready`], that runs before anyone can see the node ready) and the
//! Prometheus [`Metrics`] behind `/metrics` (readiness, restarts, failures, loads,
//! requests, ticks per role).

mod component;
mod runtime;
mod sender;
mod shell;
mod telemetry;

pub use component::{Component, ComponentError, Handles, Request};
pub use runtime::{ControlRoleError, RoleControls, Runtime};
pub use sender::{CallError, Sender};
pub use shell::{Control, Envelope, Loader, RestartPolicy, RoleActor};
pub use telemetry::{Health, Metrics, RoleStatus, Telemetry};
