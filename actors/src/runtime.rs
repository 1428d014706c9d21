//! The root supervisor: one supervised actor per role, each on its own arbiter thread.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Arbiter, Recipient, Supervisor};

use crate::component::Component;
use crate::sender::CallError;
use crate::shell::{Control, Loader, RestartPolicy, RoleActor};
use crate::telemetry::{RoleStatus, Telemetry};

/// A lifecycle command could not be delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlRoleError {
    /// No role of that name runs in this node.
    #[error("no role {0:?} runs in this node")]
    UnknownRole(String),
    /// The role did not take the command.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The role did not answer in time.
    #[error("role {role} did not answer within {timeout_ms} ms")]
    Timeout {
        /// The role.
        role: &'static str,
        /// The time it was given.
        timeout_ms: u64,
    },
}

/// Lifecycle handles of the running roles; cheap to clone and share with the API server.
#[derive(Clone, Default)]
pub struct RoleControls {
    roles: Arc<BTreeMap<&'static str, Recipient<Control>>>,
}

impl std::fmt::Debug for RoleControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.roles.keys()).finish()
    }
}

impl RoleControls {
    /// Names of the running roles, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.roles.keys().copied().collect()
    }

    /// Sends `control` to the role `name` and waits up to `timeout` for it to be done.
    pub async fn send(
        &self,
        name: &str,
        control: Control,
        timeout: Duration,
    ) -> Result<(), ControlRoleError> {
        let (role, recipient) =
            self.roles.get_key_value(name).ok_or_else(|| ControlRoleError::UnknownRole(name.to_owned()))?;
        match recipient.send(control).timeout(timeout).await {
            Ok(result) => Ok(result?),
            Err(actix::MailboxError::Timeout) => Err(ControlRoleError::Timeout {
                role,
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(actix::MailboxError::Closed) => Err(CallError::Stopped { role }.into()),
        }
    }
}

/// Starts role actors under actix supervision and shuts them down in reverse order.
pub struct Runtime {
    telemetry: Telemetry,
    policy: RestartPolicy,
    started: Vec<(&'static str, Recipient<Control>, Arbiter)>,
}

impl Runtime {
    /// A runtime with no roles yet.
    pub fn new(telemetry: Telemetry, policy: RestartPolicy) -> Self {
        Self { telemetry, policy, started: Vec::new() }
    }

    /// The health and metrics the role shells report to.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Starts the role `name` on its own arbiter thread, as a supervised actor.
    /// `loader` builds the component from storage, at start and after every failure.
    ///
    /// Must be called from inside a running actix `System`.
    pub fn spawn<C: Component>(&mut self, name: &'static str, loader: Loader<C>) -> Addr<RoleActor<C>> {
        let arbiter = Arbiter::new();
        let (policy, telemetry) = (self.policy, self.telemetry.clone());
        let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
            RoleActor::new(name, loader, policy, telemetry)
        });
        self.started.push((name, addr.clone().recipient(), arbiter));
        addr
    }

    /// Records that the enabled role `name` is not implemented: nothing is started
    /// for it, its health is [`RoleStatus::NotImplemented`] (never ready work) and
    /// `rollup_role_ready{role}` stays 0. A warning says so in the log.
    pub fn declare_not_implemented(&mut self, name: &'static str) {
        self.telemetry.health.set(name, RoleStatus::NotImplemented);
        self.telemetry.metrics.role_ready.with_label_values(&[name]).set(0);
        tracing::warn!(
            target: "rollup::supervisor",
            role = name,
            "role {name} is enabled but not implemented yet: nothing runs for it, and it is not counted as ready"
        );
    }

    /// Handles for sending lifecycle commands to the started roles.
    pub fn controls(&self) -> RoleControls {
        let roles = self.started.iter().map(|(name, recipient, _)| (*name, recipient.clone())).collect();
        RoleControls { roles: Arc::new(roles) }
    }

    /// Shuts every role down, last started first, giving each `timeout` to commit its
    /// in-flight work, then stops their threads.
    pub async fn shutdown(self, timeout: Duration) {
        self.telemetry.health.begin_shutdown();
        let controls = self.controls();
        for (name, _, _) in self.started.iter().rev() {
            if let Err(error) = controls.send(name, Control::Shutdown, timeout).await {
                tracing::warn!(target: "rollup::supervisor", role = *name, %error, "role did not shut down cleanly");
            }
        }
        for (_, _, arbiter) in self.started {
            arbiter.stop();
            // Joining waits for the thread to finish what it is running; it is quick
            // now that every role has answered its shutdown.
            let joined = actix_rt::task::spawn_blocking(move || arbiter.join()).await;
            if joined.is_err() {
                tracing::warn!(target: "rollup::supervisor", "a role thread panicked while stopping");
            }
        }
    }
}
