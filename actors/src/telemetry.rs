//! Health of the roles and the node's Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

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
}

impl RoleStatus {
    /// A short lower-case name: `starting`, `ready`, `restarting`, `stopped`.
    pub fn name(&self) -> &'static str {
        match self {
            RoleStatus::Starting => "starting",
            RoleStatus::Ready => "ready",
            RoleStatus::Restarting { .. } => "restarting",
            RoleStatus::Stopped => "stopped",
        }
    }
}

/// The status of every role of the node, shared by the actors and the API server.
#[derive(Clone, Debug, Default)]
pub struct Health {
    roles: Arc<RwLock<BTreeMap<&'static str, RoleStatus>>>,
    shutting_down: Arc<AtomicBool>,
}

impl Health {
    /// Records the status of `role`.
    pub fn set(&self, role: &'static str, status: RoleStatus) {
        let mut roles = self.roles.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        roles.insert(role, status);
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

    /// Ready: not shutting down, and every role is [`RoleStatus::Ready`].
    pub fn is_ready(&self) -> bool {
        let roles = self.snapshot();
        !self.is_shutting_down()
            && !roles.is_empty()
            && roles.values().all(|status| *status == RoleStatus::Ready)
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
