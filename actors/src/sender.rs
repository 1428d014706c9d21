//! Typed senders: how roles and the API server call a role without knowing its actor type.

use actix::{Addr, Recipient};

use crate::component::{Handles, Request};
use crate::shell::{Envelope, RoleActor};

/// Why a call to a role got no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The role is not loaded (starting, restarting after a failure, or stopped).
    #[error("role {role} is unavailable ({status})")]
    Unavailable {
        /// The role.
        role: &'static str,
        /// Its status name.
        status: &'static str,
    },
    /// The role failed while answering; it is being restarted.
    #[error("role {role} failed while handling the request and is restarting")]
    Failed {
        /// The role.
        role: &'static str,
    },
    /// The role's actor is gone (the node is shutting down).
    #[error("role {role} is stopped")]
    Stopped {
        /// The role.
        role: &'static str,
    },
}

/// Sends requests of type `M` to one role.
pub struct Sender<M: Request> {
    role: &'static str,
    recipient: Recipient<Envelope<M>>,
}

impl<M: Request> Clone for Sender<M> {
    fn clone(&self) -> Self {
        Self { role: self.role, recipient: self.recipient.clone() }
    }
}

impl<M: Request> std::fmt::Debug for Sender<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("role", &self.role).finish_non_exhaustive()
    }
}

impl<M: Request> Sender<M> {
    /// A sender to the role behind `addr`.
    pub fn new<C: Handles<M>>(role: &'static str, addr: &Addr<RoleActor<C>>) -> Self {
        Self { role, recipient: addr.clone().recipient() }
    }

    /// The role this sender reaches.
    pub fn role(&self) -> &'static str {
        self.role
    }

    /// Sends `request` and waits for the answer.
    pub async fn call(&self, request: M) -> Result<M::Response, CallError> {
        match self.recipient.send(Envelope(request)).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Stopped { role: self.role }),
        }
    }
}
