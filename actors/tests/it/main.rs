//! The role shell and root supervisor, driven with a component whose state lives in
//! the real node database.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollup_actors::{
    CallError, Component, ComponentError, Control, ControlRoleError, Handles, Request, RestartPolicy,
    RoleStatus, Runtime, Sender, Telemetry,
};
use rollup_storage::{Store, Table};

struct Counts;
impl Table for Counts {
    const NAME: &'static str = "counts";
    type Key = String;
    type Value = u64;
}

const COMMITTED: &str = "committed";
const SHUT_DOWN: &str = "shut_down";

/// Keeps a committed counter in the store and a volatile one in memory.
struct CounterComponent {
    store: Arc<Store>,
    committed: u64,
    volatile: u64,
    tick_every: Option<Duration>,
    fail_next_tick: bool,
}

fn read(store: &Store, key: &str) -> u64 {
    store.read(|tx| tx.get::<Counts>(&key.to_owned())).unwrap().unwrap_or(0)
}

impl CounterComponent {
    fn load(store: Arc<Store>, tick_every: Option<Duration>) -> Result<Self, ComponentError> {
        let committed = store.read(|tx| tx.get::<Counts>(&COMMITTED.to_owned()))?.unwrap_or(0);
        Ok(Self { store, committed, volatile: 0, tick_every, fail_next_tick: false })
    }
}

impl Component for CounterComponent {
    fn tick_interval(&self) -> Option<Duration> {
        self.tick_every
    }

    fn tick(&mut self) -> Result<(), ComponentError> {
        if self.fail_next_tick {
            return Err("tick failed on purpose".into());
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        self.store.write(|tx| tx.put::<Counts>(&SHUT_DOWN.to_owned(), &1)).unwrap();
    }
}

/// Adds to the committed counter (durably) and the volatile one; answers both.
struct Add(u64);
impl Request for Add {
    type Response = (u64, u64);
}
impl Handles<Add> for CounterComponent {
    fn handle(&mut self, Add(n): Add) -> (u64, u64) {
        let committed = self.committed + n;
        self.store.write(|tx| tx.put::<Counts>(&COMMITTED.to_owned(), &committed)).unwrap();
        self.committed = committed;
        self.volatile += n;
        (self.committed, self.volatile)
    }
}

struct Crash;
impl Request for Crash {
    type Response = ();
}
impl Handles<Crash> for CounterComponent {
    fn handle(&mut self, _: Crash) {
        panic!("crash requested");
    }
}

struct FailNextTick;
impl Request for FailNextTick {
    type Response = ();
}
impl Handles<FailNextTick> for CounterComponent {
    fn handle(&mut self, _: FailNextTick) {
        self.fail_next_tick = true;
    }
}

fn policy(initial_ms: u64) -> RestartPolicy {
    RestartPolicy {
        initial_backoff: Duration::from_millis(initial_ms),
        max_backoff: Duration::from_secs(5),
        reset_after: Duration::from_secs(600),
    }
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

fn counter(telemetry: &Telemetry, metric: &str, labels: &[&str]) -> u64 {
    let metrics = &telemetry.metrics;
    match metric {
        "restarts" => metrics.role_restarts.with_label_values(labels).get(),
        "failures" => metrics.role_failures.with_label_values(labels).get(),
        "loads" => metrics.role_loads.with_label_values(labels).get(),
        "requests" => metrics.role_requests.with_label_values(labels).get(),
        other => panic!("unknown metric {other}"),
    }
}

fn status(telemetry: &Telemetry, role: &str) -> Option<RoleStatus> {
    telemetry.health.snapshot().get(role).cloned()
}

#[test]
fn a_panicking_role_restarts_from_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), 1).unwrap());
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let mut runtime = Runtime::new(telemetry.clone(), policy(300));
        let loader_store = store.clone();
        let addr =
            runtime.spawn("counter", Box::new(move || CounterComponent::load(loader_store.clone(), None)));
        let add = Sender::<Add>::new("counter", &addr);
        let crash = Sender::<Crash>::new("counter", &addr);

        wait_for("ready", || telemetry.health.is_ready()).await;
        assert_eq!(add.call(Add(2)).await, Ok((2, 2)));
        assert_eq!(add.call(Add(3)).await, Ok((5, 5)));

        assert_eq!(crash.call(Crash).await, Err(CallError::Failed { role: "counter" }));
        assert_eq!(
            status(&telemetry, "counter"),
            Some(RoleStatus::Restarting { failures: 1, retry_in_ms: 300 })
        );
        assert!(!telemetry.health.is_ready());
        // During the backoff the role answers that it is unavailable, and loses nothing.
        assert_eq!(
            add.call(Add(1)).await,
            Err(CallError::Unavailable { role: "counter", status: "restarting" })
        );

        wait_for("ready after restart", || telemetry.health.is_ready()).await;
        // Committed state was reloaded; the volatile counter started over.
        assert_eq!(add.call(Add(1)).await, Ok((6, 1)));
        assert_eq!(counter(&telemetry, "restarts", &["counter"]), 1);
        assert_eq!(counter(&telemetry, "failures", &["counter", "panic"]), 1);
        assert_eq!(counter(&telemetry, "loads", &["counter"]), 2);
        assert_eq!(counter(&telemetry, "requests", &["counter"]), 3);
        let rendered = telemetry.metrics.render();
        assert!(rendered.contains("rollup_role_restarts_total{role=\"counter\"} 1\n"), "{rendered}");
        assert!(rendered.contains("rollup_role_ready{role=\"counter\"} 1\n"), "{rendered}");

        runtime.shutdown(Duration::from_secs(5)).await;
    });
}

#[test]
fn a_role_that_ran_long_enough_starts_over_at_the_initial_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), 1).unwrap());
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let policy = RestartPolicy { reset_after: Duration::from_millis(500), ..policy(30) };
        let mut runtime = Runtime::new(telemetry.clone(), policy);
        let loader_store = store.clone();
        let addr =
            runtime.spawn("counter", Box::new(move || CounterComponent::load(loader_store.clone(), None)));
        let crash = Sender::<Crash>::new("counter", &addr);
        wait_for("ready", || telemetry.health.is_ready()).await;

        // Two crashes in quick succession: the second waits twice as long.
        crash.call(Crash).await.unwrap_err();
        wait_for("ready", || telemetry.health.is_ready()).await;
        crash.call(Crash).await.unwrap_err();
        assert_eq!(
            status(&telemetry, "counter"),
            Some(RoleStatus::Restarting { failures: 2, retry_in_ms: 60 })
        );
        wait_for("ready", || telemetry.health.is_ready()).await;

        // After running longer than `reset_after`, a crash counts as the first again.
        actix_rt::time::sleep(Duration::from_millis(600)).await;
        crash.call(Crash).await.unwrap_err();
        assert_eq!(
            status(&telemetry, "counter"),
            Some(RoleStatus::Restarting { failures: 1, retry_in_ms: 30 })
        );
        wait_for("ready", || telemetry.health.is_ready()).await;
        runtime.shutdown(Duration::from_secs(5)).await;
    });
}

#[test]
fn a_failing_tick_restarts_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), 1).unwrap());
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let mut runtime = Runtime::new(telemetry.clone(), policy(10));
        let loader_store = store.clone();
        let addr = runtime.spawn(
            "ticker",
            Box::new(move || CounterComponent::load(loader_store.clone(), Some(Duration::from_millis(5)))),
        );
        wait_for("ready", || telemetry.health.is_ready()).await;
        Sender::<FailNextTick>::new("ticker", &addr).call(FailNextTick).await.unwrap();
        wait_for("a tick failure", || counter(&telemetry, "failures", &["ticker", "error"]) == 1).await;
        wait_for("ready after restart", || telemetry.health.is_ready()).await;
        // The reloaded component no longer fails: no further failures pile up.
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(counter(&telemetry, "failures", &["ticker", "error"]), 1);
        assert_eq!(counter(&telemetry, "restarts", &["ticker"]), 1);
        runtime.shutdown(Duration::from_secs(5)).await;
    });
}

#[test]
fn a_failing_loader_is_retried_with_growing_backoff() {
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let mut runtime = Runtime::new(telemetry.clone(), policy(40));
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 1).unwrap());
        let mut attempts = 0;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen_by_loader = seen.clone();
        let health = telemetry.health.clone();
        runtime.spawn(
            "flaky",
            Box::new(move || {
                attempts += 1;
                seen_by_loader.lock().unwrap().push(health.snapshot().get("flaky").cloned());
                if attempts <= 3 {
                    Err(format!("storage unavailable (attempt {attempts})").into())
                } else {
                    CounterComponent::load(store.clone(), None)
                }
            }),
        );
        wait_for("ready", || telemetry.health.is_ready()).await;
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Some(RoleStatus::Starting),
                Some(RoleStatus::Restarting { failures: 1, retry_in_ms: 40 }),
                Some(RoleStatus::Restarting { failures: 2, retry_in_ms: 80 }),
                Some(RoleStatus::Restarting { failures: 3, retry_in_ms: 160 }),
            ]
        );
        assert_eq!(counter(&telemetry, "failures", &["flaky", "load"]), 3);
        assert_eq!(counter(&telemetry, "loads", &["flaky"]), 1);
        runtime.shutdown(Duration::from_secs(5)).await;
    });
}

#[test]
fn injected_faults_restart_only_the_target_role() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), 1).unwrap());
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let mut runtime = Runtime::new(telemetry.clone(), policy(10));
        for name in ["first", "second"] {
            let store = store.clone();
            runtime.spawn(name, Box::new(move || CounterComponent::load(store.clone(), None)));
        }
        wait_for("ready", || telemetry.health.is_ready()).await;
        let controls = runtime.controls();
        assert_eq!(controls.names(), ["first", "second"]);
        assert_eq!(
            controls.send("second", Control::InjectFault, Duration::from_secs(5)).await,
            Err(ControlRoleError::Call(CallError::Failed { role: "second" }))
        );
        assert_eq!(
            controls.send("third", Control::InjectFault, Duration::from_secs(5)).await,
            Err(ControlRoleError::UnknownRole("third".to_owned()))
        );
        wait_for("ready after restart", || telemetry.health.is_ready()).await;
        assert_eq!(counter(&telemetry, "restarts", &["second"]), 1);
        assert_eq!(counter(&telemetry, "restarts", &["first"]), 0);
        runtime.shutdown(Duration::from_secs(5)).await;
    });
}

#[test]
fn shutdown_lets_roles_commit_and_reports_them_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), 1).unwrap());
    let checked = store.clone();
    actix_rt::System::new().block_on(async move {
        let telemetry = Telemetry::new().unwrap();
        let mut runtime = Runtime::new(telemetry.clone(), policy(10));
        let addr = runtime.spawn("counter", Box::new(move || CounterComponent::load(store.clone(), None)));
        wait_for("ready", || telemetry.health.is_ready()).await;
        let add = Sender::<Add>::new("counter", &addr);
        assert_eq!(add.call(Add(4)).await, Ok((4, 4)));
        let controls = runtime.controls();
        runtime.shutdown(Duration::from_secs(5)).await;
        assert!(telemetry.health.is_shutting_down());
        assert!(!telemetry.health.is_ready());
        assert_eq!(status(&telemetry, "counter"), Some(RoleStatus::Stopped));
        assert!(add.call(Add(1)).await.is_err());
        assert_eq!(
            controls.send("counter", Control::Shutdown, Duration::from_secs(1)).await,
            Err(ControlRoleError::Call(CallError::Stopped { role: "counter" }))
        );
    });
    assert_eq!(read(&checked, COMMITTED), 4);
    assert_eq!(read(&checked, SHUT_DOWN), 1);
}
