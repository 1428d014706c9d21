//! Boot-to-ready and shutdown time of `rollup node --profile all`.
//!
//! Run with `cargo bench -p rollup-node --bench boot` (release build). Each run spawns
//! the real binary on a free port and polls `GET /ready` every 200 µs from the spawn
//! until it answers 200, then sends SIGTERM and times the exit. Runs alternate between
//! a fresh data directory (the database is created) and an existing one (reopened).
//! `ROLLUP_BENCH_RUNS` sets the number of runs of each kind (default 25).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

struct Run {
    ready: Duration,
    shutdown: Duration,
}

fn run_once(data_dir: &Path) -> Run {
    let _ = std::fs::remove_file(data_dir.join("rpc.addr"));
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollup"))
        .args(["node", "--profile", "all", "--rpc-listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = loop {
        if let Ok(addr) = std::fs::read_to_string(data_dir.join("rpc.addr")) {
            if let Ok(response) = ureq::get(&format!("http://{addr}/ready")).call() {
                if response.status() == 200 {
                    break started.elapsed();
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "node not ready in 30 s");
        std::thread::sleep(Duration::from_micros(200));
    };
    let stopping = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "node exited with {status}");
    Run { ready, shutdown: stopping.elapsed() }
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<40} n={:<3} min {:>7.2} ms  median {:>7.2} ms  p90 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        ms(samples[0]),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(samples[samples.len() - 1])
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a quick pass.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let runs: usize = match std::env::var("ROLLUP_BENCH_RUNS") {
        Ok(runs) => runs.parse().expect("ROLLUP_BENCH_RUNS must be a number"),
        Err(_) if benching => 25,
        Err(_) => 1,
    };
    let existing = tempfile::tempdir().unwrap();
    run_once(existing.path()); // create the database once
    let (mut fresh_ready, mut fresh_shutdown, mut reopen_ready, mut reopen_shutdown) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let fresh = tempfile::tempdir().unwrap();
        let run = run_once(fresh.path());
        fresh_ready.push(run.ready);
        fresh_shutdown.push(run.shutdown);
        let run = run_once(existing.path());
        reopen_ready.push(run.ready);
        reopen_shutdown.push(run.shutdown);
    }
    summary("boot to ready, fresh data dir", fresh_ready);
    summary("boot to ready, existing data dir", reopen_ready);
    summary("SIGTERM to exit, fresh data dir", fresh_shutdown);
    summary("SIGTERM to exit, existing data dir", reopen_shutdown);
}
