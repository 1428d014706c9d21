//! The actix actor around a role component: forwards requests, catches failures,
//! reloads the component from storage with backoff.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, Supervised};

use crate::component::{Component, ComponentError, Handles, Request};
use crate::sender::CallError;
use crate::telemetry::{RoleStatus, Telemetry};

/// When and how fast failed roles are restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Delay before the first restart.
    pub initial_backoff: Duration,
    /// Longest delay; the delay doubles per consecutive failure up to this.
    pub max_backoff: Duration,
    /// A role that ran this long since its last load starts over at `initial_backoff`.
    pub reset_after: Duration,
}

impl RestartPolicy {
    /// The delay before loading again after `failures` consecutive failures (at least 1).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_backoff.saturating_mul(1u32 << doublings).min(self.max_backoff)
    }
}

/// The `kind` label values of `rollup_role_failures_total`.
const FAILURE_KINDS: [&str; 3] = ["panic", "error", "load"];

/// Builds a component, reading its state from storage. Called at start and after
/// every failure.
pub type Loader<C> = Box<dyn FnMut() -> Result<C, ComponentError> + Send>;

/// The actor shell of one role.
pub struct RoleActor<C: Component> {
    name: &'static str,
    loader: Loader<C>,
    component: Option<C>,
    failures: u32,
    loaded_at: Option<Instant>,
    stopped: bool,
    policy: RestartPolicy,
    telemetry: Telemetry,
}

impl<C: Component> RoleActor<C> {
    pub(crate) fn new(
        name: &'static str,
        loader: Loader<C>,
        policy: RestartPolicy,
        telemetry: Telemetry,
    ) -> Self {
        telemetry.health.set(name, RoleStatus::Starting);
        // Every series exists from the start, at zero, so that dashboards and alerts
        // see the role before anything happened to it.
        let metrics = &telemetry.metrics;
        metrics.role_ready.with_label_values(&[name]).set(0);
        for counter in
            [&metrics.role_restarts, &metrics.role_loads, &metrics.role_requests, &metrics.role_ticks]
        {
            counter.with_label_values(&[name]);
        }
        for kind in FAILURE_KINDS {
            metrics.role_failures.with_label_values(&[name, kind]);
        }
        Self {
            name,
            loader,
            component: None,
            failures: 0,
            loaded_at: None,
            stopped: false,
            policy,
            telemetry,
        }
    }

    fn load(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        match catch_unwind(AssertUnwindSafe(|| (self.loader)())) {
            Ok(Ok(component)) => {
                if let Some(interval) = component.tick_interval() {
                    ctx.run_interval(interval, |actor, ctx| actor.tick(ctx));
                }
                self.component = Some(component);
                self.loaded_at = Some(Instant::now());
                self.telemetry.health.set(self.name, RoleStatus::Ready);
                self.telemetry.metrics.role_ready.with_label_values(&[self.name]).set(1);
                self.telemetry.metrics.role_loads.with_label_values(&[self.name]).inc();
                tracing::info!(target: "rollup::supervisor", role = self.name, "role ready");
            }
            Ok(Err(error)) => self.fail(ctx, "load", &error.to_string()),
            Err(panic) => self.fail(ctx, "panic", &panic_message(panic.as_ref())),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.telemetry.metrics.role_ticks.with_label_values(&[self.name]).inc();
        if let Ok(Err(error)) = self.guarded(ctx, |component| component.tick()) {
            self.fail(ctx, "error", &error.to_string());
        }
    }

    /// Runs `f` on the loaded component; a panic drops the component and restarts the role.
    fn guarded<R>(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut C) -> R) -> Result<R, CallError> {
        let Some(component) = self.component.as_mut() else {
            let status = self.telemetry.health.snapshot().get(self.name).map_or("stopped", RoleStatus::name);
            return Err(CallError::Unavailable { role: self.name, status });
        };
        match catch_unwind(AssertUnwindSafe(|| f(component))) {
            Ok(result) => Ok(result),
            Err(panic) => {
                self.fail(ctx, "panic", &panic_message(panic.as_ref()));
                Err(CallError::Failed { role: self.name })
            }
        }
    }

    /// Drops the component (its in-memory state may be inconsistent) and stops the
    /// actor; the actix supervisor then restarts it, and `started` reloads after backoff.
    fn fail(&mut self, ctx: &mut Context<Self>, kind: &'static str, detail: &str) {
        self.component = None;
        if self.loaded_at.is_some_and(|loaded| loaded.elapsed() >= self.policy.reset_after) {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.loaded_at = None;
        let retry_in = self.policy.backoff(self.failures);
        let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
        tracing::error!(
            target: "rollup::supervisor",
            role = self.name,
            kind,
            failures = self.failures,
            retry_in_ms,
            "role failed: {detail}"
        );
        self.telemetry.metrics.role_failures.with_label_values(&[self.name, kind]).inc();
        self.telemetry.metrics.role_ready.with_label_values(&[self.name]).set(0);
        self.telemetry.health.set(self.name, RoleStatus::Restarting { failures: self.failures, retry_in_ms });
        ctx.stop();
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        format!("panicked: {message}")
    } else if let Some(message) = panic.downcast_ref::<String>() {
        format!("panicked: {message}")
    } else {
        "panicked".to_owned()
    }
}

impl<C: Component> Actor for RoleActor<C> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.failures == 0 {
            self.load(ctx);
        } else {
            ctx.run_later(self.policy.backoff(self.failures), |actor, ctx| actor.load(ctx));
        }
    }
}

impl<C: Component> Supervised for RoleActor<C> {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.telemetry.metrics.role_restarts.with_label_values(&[self.name]).inc();
        tracing::info!(target: "rollup::supervisor", role = self.name, failures = self.failures, "restarting role");
    }
}

/// A request wrapped for the actix mailbox.
pub struct Envelope<M>(pub M);

impl<M: Request> Message for Envelope<M> {
    type Result = Result<M::Response, CallError>;
}

impl<C, M> Handler<Envelope<M>> for RoleActor<C>
where
    C: Handles<M>,
    M: Request,
{
    type Result = Result<M::Response, CallError>;

    fn handle(&mut self, Envelope(request): Envelope<M>, ctx: &mut Context<Self>) -> Self::Result {
        let response = self.guarded(ctx, |component| component.handle(request));
        if response.is_ok() {
            self.telemetry.metrics.role_requests.with_label_values(&[self.name]).inc();
        }
        response
    }
}

/// Lifecycle commands every role shell understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Finish in-flight work, commit it and stop for good.
    Shutdown,
    /// Make the component panic, as a crash would (fault injection for tests).
    InjectFault,
}

impl Message for Control {
    type Result = Result<(), CallError>;
}

impl<C: Component> Handler<Control> for RoleActor<C> {
    type Result = Result<(), CallError>;

    fn handle(&mut self, control: Control, ctx: &mut Context<Self>) -> Self::Result {
        match control {
            Control::Shutdown => {
                let result = self.guarded(ctx, Component::shutdown);
                self.stopped = true;
                self.component = None;
                self.telemetry.health.set(self.name, RoleStatus::Stopped);
                self.telemetry.metrics.role_ready.with_label_values(&[self.name]).set(0);
                tracing::info!(target: "rollup::supervisor", role = self.name, "role stopped");
                // A role that was restarting has nothing in flight to finish.
                result.or(Ok(()))
            }
            Control::InjectFault => {
                tracing::warn!(target: "rollup::supervisor", role = self.name, "injecting a fault");
                self.guarded(ctx, Component::inject_fault)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1_000),
            reset_after: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (1..=6).map(|n| policy.backoff(n).as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(policy.backoff(0), Duration::from_millis(100));
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(1_000));
    }
}
