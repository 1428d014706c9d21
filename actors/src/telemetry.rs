//! Health of the roles and the node's Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Where a role is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleStatus {
    /// Loading its state for the first time.
    Starting,
    /// Loaded and serving.
    Ready,
    /// Failed; waits `retry_in_ms` before loading again.
    Restarting {
        /// Consecutive failures so far.
        failures: u32,
        /// Backoff before the next load, in milliseconds.
        retry_in_ms: u64,
    },
    /// Shut down.
    Stopped,
    /// Enabled, but the role's logic does not exist yet: nothing runs for it, and
    /// it never counts as ready work.
    NotImplemented,
}

impl RoleStatus {
    /// A short lower-case name: `starting`, `ready`, `restarting`, `stopped`,
    /// `not implemented`.
    pub fn name(&self) -> &'static str {
        match self {
            RoleStatus::Starting => "starting",
            RoleStatus::Ready => "ready",
            RoleStatus::Restarting { .. } => "restarting",
            RoleStatus::Stopped => "stopped",
            RoleStatus::NotImplemented => "not implemented",
        }
    }
}

/// Called once, when the node first becomes ready.
type ReadyHook = Box<dyn FnOnce() + Send + Sync>;

/// The status of every role of the node, shared by the actors and the API server.
#[derive(Clone, Default)]
pub struct Health {
    roles: Arc<RwLock<BTreeMap<&'static str, RoleStatus>>>,
    shutting_down: Arc<AtomicBool>,
    on_ready: Arc<Mutex<Option<ReadyHook>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("roles", &self.snapshot())
            .field("shutting_down", &self.is_shutting_down())
            .finish_non_exhaustive()
    }
}

/// Whether `roles` make a ready node: at least one role that does work, and every
/// such role ready.
fn roles_ready(roles: &BTreeMap<&'static str, RoleStatus>) -> bool {
    let working = || roles.values().filter(|status| **status != RoleStatus::NotImplemented);
    working().next().is_some() && working().all(|status| *status == RoleStatus::Ready)
}

impl Health {
    /// Records the status of `role`. If that makes the node ready for the first
    /// time, the hook of [`Health::when_ready`] runs before anyone can see it ready.
    pub fn set(&self, role: &'static str, status: RoleStatus) {
        let mut roles = self.roles.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        roles.insert(role, status);
        if roles_ready(&roles) && !self.is_shutting_down() {
            self.fire_ready_hook();
        }
    }

    /// Runs `hook` once, when the node is first ready (at once if it is ready now).
    ///
    /// The hook runs while the status table is locked for writing: [`Health::is_ready`]
    /// cannot answer `true` to anyone before it has returned. The node logs its
    /// `node ready` event from here, so that a client that saw `/ready` answer 200
    /// always finds that event in the log. Keep the hook short.
    pub fn when_ready(&self, hook: impl FnOnce() + Send + Sync + 'static) {
        let roles = self.roles.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *self.on_ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(hook));
        if roles_ready(&roles) && !self.is_shutting_down() {
            self.fire_ready_hook();
        }
    }

    /// Takes and runs the ready hook, if one is waiting. Called with the status
    /// table locked for writing. The hook must not call back into this `Health`.
    fn fire_ready_hook(&self) {
        let hook = self.on_ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// The status of every role, by name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, RoleStatus> {
        self.roles.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Marks the node as shutting down: it is no longer ready.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether the node is shutting down.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Ready: not shutting down, at least one role that does work, and every such
    /// role [`RoleStatus::Ready`]. Roles that are [`RoleStatus::NotImplemented`] do
    /// no work and never count: a node that runs only such roles is never ready.
    pub fn is_ready(&self) -> bool {
        let roles = self.roles.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        !self.is_shutting_down() && roles_ready(&roles)
    }
}

/// The node's metrics registry and the metrics every role shell records.
///
/// Names follow Prometheus conventions: base units, `_total` for counters.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `rollup_role_ready{role}`: 1 while the role is loaded and serving.
    pub role_ready: IntGaugeVec,
    /// `rollup_role_restarts_total{role}`: restarts of the role's actor.
    pub role_restarts: IntCounterVec,
    /// `rollup_role_failures_total{role,kind}`: failures by kind (`panic`, `error`, `load`).
    pub role_failures: IntCounterVec,
    /// `rollup_role_loads_total{role}`: successful loads of the role's state from storage.
    pub role_loads: IntCounterVec,
    /// `rollup_role_requests_total{role}`: requests the role answered.
    pub role_requests: IntCounterVec,
    /// `rollup_role_ticks_total{role}`: periodic work runs of the role.
    pub role_ticks: IntCounterVec,
}

impl Metrics {
    /// A registry holding the role metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
            let metric = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
            let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        Ok(Self {
            role_ready: gauge("rollup_role_ready", "1 while the role is loaded and serving.", &["role"])?,
            role_restarts: counter("rollup_role_restarts_total", "Restarts of the role's actor.", &["role"])?,
            role_failures: counter(
                "rollup_role_failures_total",
                "Failures of the role by kind (panic, error, load).",
                &["role", "kind"],
            )?,
            role_loads: counter(
                "rollup_role_loads_total",
                "Successful loads of the role's state from storage.",
                &["role"],
            )?,
            role_requests: counter("rollup_role_requests_total", "Requests the role answered.", &["role"])?,
            role_ticks: counter("rollup_role_ticks_total", "Periodic work runs of the role.", &["role"])?,
            registry,
        })
    }

    /// The registry, for other subsystems to add their metrics to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail on I/O; a metric family error would be a bug.
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(target: "rollup::metrics", %error, "cannot encode metrics");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// Health and metrics, handed to every part of the node.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// Role health.
    pub health: Health,
    /// Metrics.
    pub metrics: Metrics,
}

impl Telemetry {
    /// Fresh health and metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        Ok(Self { health: Health::default(), metrics: Metrics::new()? })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    /// A hook that counts its calls.
    fn counting_hook(health: &Health) -> Arc<AtomicU32> {
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        health.when_ready(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        calls
    }

    #[test]
    fn the_ready_hook_runs_once_when_the_last_role_becomes_ready() {
        let health = Health::default();
        health.set("sequencer", RoleStatus::Starting);
        health.set("prover", RoleStatus::Starting);
        let calls = counting_hook(&health);
        health.set("sequencer", RoleStatus::Ready);
        assert_eq!((calls.load(Ordering::SeqCst), health.is_ready()), (0, false));
        health.set("prover", RoleStatus::Ready);
        assert_eq!((calls.load(Ordering::SeqCst), health.is_ready()), (1, true));
        // A restart and a second readiness do not run it again.
        health.set("prover", RoleStatus::Restarting { failures: 1, retry_in_ms: 10 });
        assert!(!health.is_ready());
        health.set("prover", RoleStatus::Ready);
        assert_eq!((calls.load(Ordering::SeqCst), health.is_ready()), (1, true));
    }

    #[test]
    fn a_hook_set_on_a_ready_node_runs_at_once_and_never_while_shutting_down() {
        let health = Health::default();
        health.set("vigilante", RoleStatus::Ready);
        assert_eq!(counting_hook(&health).load(Ordering::SeqCst), 1);

        let stopping = Health::default();
        stopping.set("vigilante", RoleStatus::Starting);
        let calls = counting_hook(&stopping);
        stopping.begin_shutdown();
        stopping.set("vigilante", RoleStatus::Ready);
        assert_eq!((calls.load(Ordering::SeqCst), stopping.is_ready()), (0, false));
    }

    #[test]
    fn roles_that_are_not_implemented_never_count_as_ready_work() {
        let health = Health::default();
        let calls = counting_hook(&health);
        health.set("signer", RoleStatus::NotImplemented);
        health.set("backup", RoleStatus::NotImplemented);
        // Nothing does work: never ready.
        assert_eq!((calls.load(Ordering::SeqCst), health.is_ready()), (0, false));
        health.set("vigilante", RoleStatus::Starting);
        assert!(!health.is_ready());
        health.set("vigilante", RoleStatus::Ready);
        assert_eq!((calls.load(Ordering::SeqCst), health.is_ready()), (1, true));
        assert_eq!(RoleStatus::NotImplemented.name(), "not implemented");
        assert!(!roles_ready(&BTreeMap::new()));
    }

    #[test]
    fn no_reader_sees_the_node_ready_before_the_hook_has_run() {
        // A reader polls from another thread while the last role becomes ready; the
        // hook sleeps, so a reader that could see `ready` early would do so.
        for _ in 0..20 {
            let health = Health::default();
            health.set("sequencer", RoleStatus::Starting);
            let hook_done = Arc::new(AtomicBool::new(false));
            let done = hook_done.clone();
            health.when_ready(move || {
                std::thread::sleep(std::time::Duration::from_millis(5));
                done.store(true, Ordering::SeqCst);
            });
            let reader = {
                let (health, hook_done) = (health.clone(), hook_done.clone());
                std::thread::spawn(move || loop {
                    if health.is_ready() {
                        return hook_done.load(Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                })
            };
            health.set("sequencer", RoleStatus::Ready);
            assert!(reader.join().unwrap(), "a reader saw the node ready before the hook ran");
        }
    }
}
