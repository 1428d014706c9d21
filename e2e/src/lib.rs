//! End-to-end test environment: real `rollup` processes, driven only through their
//! public interfaces (command line, signals, HTTP).
//!
//! [`NodeProcess::start`] runs `rollup node` (or `rollup devnet`, with
//! [`NodeOptions::devnet`]) in a fresh data directory on a free port and waits until
//! the node has written its bound address; the test then talks
//! JSON-RPC ([`NodeProcess::rpc`]) and HTTP ([`NodeProcess::get`]) to it, and ends it
//! with a signal ([`NodeProcess::terminate`]) or a SIGKILL ([`NodeProcess::kill`]).
//! A node's log (stderr) is kept in its data directory and included in every
//! failure message.
//!
//! [`TestEnv`] is the Bitcoin side: the embedded devnet, or an external regtest
//! bitcoind and Esplora when `ROLLUP_E2E_ESPLORA_URL` and `ROLLUP_E2E_BITCOIND_RPC`
//! are both set; it mines, funds and reorganises through either.
//!
//! The binary is `$ROLLUP_BIN` if set, else `rollup` in the cargo target directory of
//! the running test (built by `cargo test --workspace`; built on first use when
//! missing, see [`rollup_bin`]).

// A test harness: a failed step is a failed test, reported by panicking with context.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

mod bitcoin_env;

pub use bitcoin_env::{Backend, TestEnv};

/// How long a node may take to start or stop before the test fails.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The `rollup` binary under test: `$ROLLUP_BIN` if set, else `rollup` in the cargo
/// target directory of the running test. `cargo test --workspace` builds it; when it
/// is missing (`cargo test -p rollup-e2e` builds only this package), it is built once,
/// with `cargo build -p rollup-node --bin rollup` in the same target directory and
/// profile.
pub fn rollup_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(path) = std::env::var_os("ROLLUP_BIN") {
        return PathBuf::from(path);
    }
    BUILT.get_or_init(find_or_build_rollup).clone()
}

fn find_or_build_rollup() -> PathBuf {
    // A test binary lives in `<target>/<profile>/deps/`; the node binary in `<target>/<profile>/`.
    let exe = std::env::current_exe().expect("current test executable");
    let profile_dir =
        exe.parent().and_then(Path::parent).expect("test binary inside a cargo target directory");
    let bin = profile_dir.join("rollup");
    if bin.exists() {
        return bin;
    }
    let (Some(cargo), Some(target_dir), Some(profile)) = (
        std::env::var_os("CARGO"),
        profile_dir.parent(),
        profile_dir.file_name().and_then(|name| name.to_str()),
    ) else {
        panic!(
            "{} does not exist: build it with `cargo build -p rollup-node`, or set ROLLUP_BIN",
            bin.display()
        );
    };
    eprintln!(
        "rollup-e2e: {} is missing; building it (cargo build -p rollup-node --bin rollup)",
        bin.display()
    );
    let mut command = Command::new(cargo);
    command.args(["build", "-p", "rollup-node", "--bin", "rollup"]).env("CARGO_TARGET_DIR", target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command.status().expect("run cargo build");
    assert!(status.success() && bin.exists(), "building {} failed ({status})", bin.display());
    bin
}

/// Runs `rollup ARGS` to completion with extra environment variables.
pub fn run_rollup(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(rollup_bin());
    command.args(args).env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run rollup")
}

/// How to start a node.
#[derive(Clone, Debug, Default)]
pub struct NodeOptions {
    /// `--profile`.
    pub profile: Option<String>,
    /// Contents of a config file passed with `--config`.
    pub config_toml: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Reuse this data directory instead of a fresh one.
    pub data_dir: Option<PathBuf>,
    /// Run `rollup devnet` instead of `rollup node` (no profile or config file then).
    pub devnet: bool,
    /// Further command-line arguments.
    pub args: Vec<String>,
}

impl NodeOptions {
    /// A node with the shipped profile `name`.
    pub fn profile(name: &str) -> Self {
        Self { profile: Some(name.to_owned()), ..Self::default() }
    }

    /// `rollup devnet`, its Esplora API on a free port.
    pub fn devnet() -> Self {
        Self {
            devnet: true,
            args: vec!["--esplora-listen".to_owned(), "127.0.0.1:0".to_owned()],
            ..Self::default()
        }
    }

    /// Adds a config file with `toml`.
    pub fn config(mut self, toml: &str) -> Self {
        self.config_toml = Some(toml.to_owned());
        self
    }

    /// Runs in `dir` (e.g. the data directory of a previous node).
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }
}

/// A running `rollup node` process.
pub struct NodeProcess {
    options: NodeOptions,
    child: Option<Child>,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    url: String,
}

impl NodeProcess {
    /// Starts a node and waits until its API is bound.
    pub fn start(mut options: NodeOptions) -> NodeProcess {
        let (temp, data_dir) = match &options.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::tempdir().expect("temporary data dir");
                let dir = temp.path().join("data");
                (Some(temp), dir)
            }
        };
        options.data_dir = Some(data_dir.clone());
        let child = Self::spawn(&options, &data_dir);
        let mut node = NodeProcess { options, child: Some(child), data_dir, _temp: temp, url: String::new() };
        node.url = format!("http://{}", node.wait_for_address());
        node
    }

    /// Stops the node with SIGTERM (it must exit with code 0) and starts it again with
    /// the same options and data directory.
    pub fn restart(&mut self) {
        let status = self.terminate();
        assert_eq!(status.code(), Some(0), "node did not stop cleanly\n{}", self.log());
        self.child = Some(Self::spawn(&self.options, &self.data_dir));
        self.url = format!("http://{}", self.wait_for_address());
    }

    fn spawn(options: &NodeOptions, data_dir: &Path) -> Child {
        std::fs::create_dir_all(data_dir).expect("create data dir");
        // A node killed with SIGKILL leaves its address files behind.
        let _ = std::fs::remove_file(data_dir.join("rpc.addr"));
        let _ = std::fs::remove_file(data_dir.join("esplora.addr"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("node.log"))
            .expect("open node log");
        let mut command = Command::new(rollup_bin());
        assert!(
            !(options.devnet && (options.profile.is_some() || options.config_toml.is_some())),
            "rollup devnet takes no profile or config file"
        );
        command
            .arg(if options.devnet { "devnet" } else { "node" })
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--rpc-listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        command.args(&options.args);
        if let Some(profile) = &options.profile {
            command.args(["--profile", profile]);
        }
        if let Some(toml) = &options.config_toml {
            let path = data_dir.join("node.toml");
            std::fs::write(&path, toml).expect("write config file");
            command.arg("--config").arg(path);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        command.spawn().expect("spawn rollup node")
    }

    fn wait_for_address(&mut self) -> String {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        let addr_file = self.data_dir.join("rpc.addr");
        loop {
            if let Ok(addr) = std::fs::read_to_string(&addr_file) {
                return addr;
            }
            if let Some(status) = self.child_mut().try_wait().expect("poll node") {
                panic!("node exited with {status} before serving\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "node did not bind its API in time\n{}", self.log());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("node process already ended")
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The Esplora API base URL of a `rollup devnet` process.
    pub fn esplora_url(&self) -> String {
        let addr =
            std::fs::read_to_string(self.data_dir.join("esplora.addr")).expect("esplora.addr of a devnet");
        format!("http://{addr}")
    }

    /// The node's API base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("node.log")).unwrap_or_default()
    }

    /// Status code and body of `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        read(ureq::get(&format!("{}{path}", self.url)).call())
    }

    /// Status code and body of `POST /` with `body`.
    pub fn post(&self, body: &str) -> (u16, String) {
        read(ureq::post(&format!("{}/", self.url)).set("content-type", "application/json").send_string(body))
    }

    /// Calls `method` and returns the whole JSON-RPC response object.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let (status, body) =
            self.post(&json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": 1 }).to_string());
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON-RPC response")
    }

    /// Calls `method` and returns its result, failing the test on an error response.
    pub fn rpc_ok(&self, method: &str, params: Value) -> Value {
        let response = self.rpc(method, params);
        match response.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {response}\n{}", self.log()),
        }
    }

    /// Waits until `GET /ready` answers 200.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        while self.get("/ready").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "node not ready in time: {}\n{}",
                self.get("/ready").1,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The value of the metric line `name{labels}`, if present.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|value| value.trim().parse().ok())
    }

    /// Sends `signal` and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self.child.take().expect("node process already ended");
        kill(Pid::from_raw(i32::try_from(child.id()).expect("pid")), signal).expect("send signal");
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("poll node") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("node did not exit after {signal}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal_and_wait(Signal::SIGTERM)
    }

    /// SIGKILL: the node gets no chance to clean up.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal_and_wait(Signal::SIGKILL)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Status code and body of `GET url`.
pub fn http_get(url: &str) -> (u16, String) {
    read(ureq::get(url).call())
}

pub(crate) fn read(response: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match response {
        Ok(response) => (response.status(), response.into_string().expect("response body")),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().expect("response body"))
        }
        Err(error) => panic!("HTTP transport error: {error}"),
    }
}
