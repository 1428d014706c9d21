//! `cargo xtask`: the two commands a newcomer runs on a fresh machine, and what CI
//! runs through them.
//!
//! - `cargo xtask devnet [ARGS]` builds the `rollup` binary (release) and runs
//!   `rollup devnet ARGS`: Bitcoin regtest plus a rollup network on localhost.
//! - `cargo xtask test [--serial] [CARGO ARGS] [-- TEST ARGS]` runs every test tier
//!   of the workspace (below).
//! - `cargo xtask e2e-reference [-- TEST ARGS]` runs the e2e suite (`rollup-e2e`) on a
//!   real Bitcoin Core and electrs: `../shared/reference/regtest` beside the
//!   repository starts them. CI runs it after `test`, which ran the suite on the
//!   embedded devnet. (`../shared/reference/regtest cargo test -p rollup-e2e` does the
//!   same, but builds with that package's features alone: a second build.)
//! - `cargo xtask setup` only installs what the build needs.
//!
//! `devnet` and `test` first make sure (and `setup` does only this) that the machine
//! has what the build needs besides Rust: the
//! `bitcoinkernel` crate compiles Bitcoin Core's consensus library with CMake, a C++
//! compiler and Boost's headers. What is missing is installed with `apt-get` (as
//! root, or through `sudo` where it needs no password); where that cannot be done,
//! the command says exactly what to install, and stops.
//!
//! # Test tiers
//!
//! Unit tests, each crate's integration binary (`tests/it/`) and the doc tests form
//! the fast tier.
//! The slow tier is the tests marked `#[ignore = "slow tier: ..."]`: full-size
//! proving that takes many minutes (today one test, the full-size stage 4 on a
//! running node). `cargo test --workspace` alone lists them as ignored, with their
//! reason; `cargo xtask test` builds everything once and then runs both tiers, the
//! slow one beside the fast one (its tests mostly wait on processes and sockets, so
//! the slow tier's proving uses the otherwise idle cores), or one after the other
//! with `--serial`. Nothing is skipped: the command fails if either tier fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The Debian packages the build needs, and what each provides.
const PACKAGES: [(&str, &str); 3] = [
    ("cmake", "CMake 3.22 or later, to build Bitcoin Core's consensus library"),
    ("g++", "a C++20 compiler for it"),
    ("libboost-dev", "the Boost headers it includes"),
];

/// The oldest CMake that Bitcoin Core's build accepts.
const MIN_CMAKE: (u32, u32) = (3, 22);

const USAGE: &str = "\
usage:
  cargo xtask devnet [ARGS]                          build rollup (release) and run `rollup devnet ARGS`
  cargo xtask test [--serial] [CARGO ARGS] [-- TEST ARGS]
                                                     run every test tier of the workspace
  cargo xtask e2e-reference [-- TEST ARGS]           run the e2e suite on ../shared/reference's bitcoind and electrs
  cargo xtask setup                                  install what the build needs, and nothing else";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_deref() {
        Some("devnet") => setup().and_then(|()| devnet(&rest)),
        Some("test") => setup().and_then(|()| test(&rest)),
        Some("e2e-reference") => setup().and_then(|()| e2e_reference(&rest)),
        Some("setup") => setup(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (this crate's parent folder).
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_owned()
}

/// The cargo that runs us (`$CARGO`), else `cargo` from the path.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace());
    command
}

/// Whether `program args` runs and exits with success, its output discarded.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The version `cmake --version` prints, if cmake runs.
fn cmake_version() -> Option<(u32, u32)> {
    let output = Command::new("cmake").arg("--version").stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.lines().next()?.rsplit(' ').next()?;
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// The C++ compiler the `cc` crate will use: `$CXX`, else `c++`.
fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned())
}

/// Whether the C++ compiler finds Boost's headers.
fn has_boost(cxx: &str) -> bool {
    let Ok(mut child) = Command::new(cxx)
        .args(["-x", "c++", "-E", "-", "-o", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let written = child
        .stdin
        .take()
        .is_some_and(|mut stdin| stdin.write_all(b"#include <boost/version.hpp>\n").is_ok());
    child.wait().is_ok_and(|status| status.success()) && written
}

/// The packages of [`PACKAGES`] whose part is missing on this machine.
fn missing_packages() -> Vec<&'static str> {
    let mut missing = Vec::new();
    match cmake_version() {
        Some(version) if version >= MIN_CMAKE => {}
        _ => missing.push("cmake"),
    }
    let cxx = cxx();
    if !succeeds(&cxx, &["--version"]) {
        missing.push("g++");
    }
    if !has_boost(&cxx) {
        missing.push("libboost-dev");
    }
    missing
}

/// Makes sure the build's system packages are there, installing them with apt-get
/// where this process may.
fn setup() -> Result<(), String> {
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    let described: Vec<String> = PACKAGES
        .iter()
        .filter(|(name, _)| missing.contains(name))
        .map(|(name, what)| format!("  {name}: {what}"))
        .collect();
    eprintln!("xtask: this machine lacks what the build needs besides Rust:\n{}", described.join("\n"));
    let list = missing.join(" ");
    if !succeeds("apt-get", &["--version"]) {
        return Err(format!(
            "no apt-get here: install {list} (or your system's equivalents: CMake {}.{}+, a C++20 compiler, \
             the Boost headers) and run this again",
            MIN_CMAKE.0, MIN_CMAKE.1
        ));
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
    let prefix: &[&str] = match (root, succeeds("sudo", &["-n", "true"])) {
        (true, _) => &[],
        (false, true) => &["sudo", "-n"],
        (false, false) => {
            return Err(format!(
            "install them with `sudo apt-get install {list}` (this process is not root and sudo asks for a \
                 password), then run this again"
        ))
        }
    };
    eprintln!("xtask: installing with apt-get: {list}");
    for step in [
        vec!["apt-get", "update", "-qq"],
        [vec!["apt-get", "install", "-y", "-qq"], missing.clone()].concat(),
    ] {
        let argv: Vec<&str> = prefix.iter().copied().chain(step.iter().copied()).collect();
        // apt's own chatter (debconf notes and the like) is shown only if it fails.
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cannot run {}: {error}", argv.join(" ")))?;
        if !output.status.success() {
            return Err(format!(
                "`{}` failed ({}): install {list} by hand, then run this again\n{}{}",
                argv.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let still = missing_packages();
    if !still.is_empty() {
        return Err(format!("still missing after apt-get: {}", still.join(" ")));
    }
    eprintln!("xtask: installed {list}");
    Ok(())
}

/// `cargo xtask devnet ARGS`.
fn devnet(args: &[String]) -> Result<(), String> {
    eprintln!(
        "xtask: building rollup (release). The first build compiles Bitcoin Core's consensus library and every \
         dependency: about 7 minutes on 2 cores; later builds take seconds."
    );
    let status = cargo()
        .args(["run", "--release", "--locked", "-p", "rollup-node", "--bin", "rollup", "--", "devnet"])
        .args(args)
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("rollup devnet ended with {status}")),
    }
}

/// The arguments of `cargo xtask test`.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestArgs {
    /// Run the tiers one after the other.
    serial: bool,
    /// Arguments for `cargo test`.
    cargo: Vec<String>,
    /// Arguments for the test binaries (after `--`).
    harness: Vec<String>,
}

impl TestArgs {
    fn parse(args: &[String]) -> Self {
        let mut parsed = TestArgs::default();
        let mut rest = args.iter();
        for arg in rest.by_ref() {
            match arg.as_str() {
                "--" => break,
                "--serial" => parsed.serial = true,
                _ => parsed.cargo.push(arg.clone()),
            }
        }
        parsed.harness = rest.cloned().collect();
        parsed
    }

    /// `cargo test` with our arguments, `--workspace` unless packages are named;
    /// with `harness`, the test binaries' arguments after `--`.
    fn cargo_test(&self, extra_cargo: &[&str], harness: Option<&[&str]>) -> Command {
        let mut command = cargo();
        command.arg("test").arg("--locked");
        let names_packages = self.cargo.iter().any(|arg| arg == "-p" || arg.starts_with("--package"));
        if !names_packages {
            command.arg("--workspace");
        }
        command.args(extra_cargo).args(&self.cargo);
        if let Some(extra) = harness {
            command.arg("--").args(extra).args(&self.harness);
        }
        command
    }
}

/// `cargo xtask test`.
fn test(args: &[String]) -> Result<(), String> {
    let args = TestArgs::parse(args);
    let started = Instant::now();
    eprintln!("xtask: building every test (the first build compiles Bitcoin Core's consensus library too)");
    run_to_end("the test build", args.cargo_test(&["--no-run"], None))?;
    let built = started.elapsed();

    // The slow tier: the ignored tests (`--tests`: no doc tests, which have none).
    let mut slow = args.cargo_test(&["--tests"], Some(&["--ignored"]));
    let fast = args.cargo_test(&[], Some(&[]));
    let (fast, slow) = if args.serial {
        let fast = run_timed("fast tier", fast);
        let slow = run_timed("slow tier", slow);
        (fast, slow)
    } else {
        eprintln!("xtask: running the slow tier beside the fast tier; its lines start with `slow tier |`");
        slow.stdout(Stdio::piped()).stderr(Stdio::piped());
        let slow_started = Instant::now();
        let mut child = slow.spawn().map_err(|error| format!("cannot run cargo test: {error}"))?;
        let relays: Vec<_> = [
            child.stdout.take().map(|out| Box::new(out) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|err| Box::new(err) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("slow tier | {line}");
                }
            })
        })
        .collect();
        // Its own thread waits for it, so that its time is its own, not the fast tier's.
        let waiter = std::thread::spawn(move || {
            let status = child.wait().map_err(|error| format!("cannot wait for the slow tier: {error}"));
            status.map(|status| (status.success(), slow_started.elapsed()))
        });
        let fast = run_timed("fast tier", fast);
        let slow =
            waiter.join().unwrap_or_else(|_| Err("the slow tier's waiting thread panicked".to_owned()));
        for relay in relays {
            let _ = relay.join();
        }
        (fast, slow)
    };
    let mut failed = Vec::new();
    eprintln!("xtask: build {}", minutes(built));
    for (tier, outcome) in [("fast tier", fast), ("slow tier", slow)] {
        match outcome {
            Ok((true, took)) => eprintln!("xtask: {tier} passed in {}", minutes(took)),
            Ok((false, took)) => {
                eprintln!("xtask: {tier} FAILED after {}", minutes(took));
                failed.push(tier);
            }
            Err(error) => {
                eprintln!("xtask: {tier}: {error}");
                failed.push(tier);
            }
        }
    }
    eprintln!("xtask: {} in all", minutes(started.elapsed()));
    match failed.is_empty() {
        true => Ok(()),
        false => Err(format!("failed: {}", failed.join(", "))),
    }
}

/// `cargo xtask e2e-reference`: the e2e test binary, built as `cargo xtask test` builds
/// it (the whole workspace's features: no second build), run by the reference
/// `regtest` script, which starts bitcoind and electrs and points the suite at them.
fn e2e_reference(args: &[String]) -> Result<(), String> {
    let harness: Vec<&String> = args.iter().skip_while(|arg| *arg != "--").skip(1).collect();
    if let Some(unknown) = args.iter().take_while(|arg| *arg != "--").next() {
        return Err(format!(
            "e2e-reference takes no cargo arguments, only test arguments after `--`: {unknown:?}"
        ));
    }
    let regtest = workspace().join("../shared/reference/regtest");
    if !regtest.exists() {
        return Err(format!(
            "no reference Bitcoin Core and electrs: {} does not exist (CI places `shared/` beside the repository)",
            regtest.display()
        ));
    }
    eprintln!("xtask: building the e2e suite as `cargo xtask test` does");
    let output = cargo()
        .args(["test", "--locked", "--workspace", "--no-run", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run the test build: {error}"))?;
    if !output.status.success() {
        return Err(format!("the test build failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let binary = e2e_binary(&stdout).ok_or("the test build listed no rollup-e2e `it` binary")?;
    eprintln!("xtask: running {} on the reference bitcoind and electrs", binary.display());
    let mut command = Command::new(&regtest);
    command.arg(&binary).args(harness).current_dir(workspace().join("e2e"));
    run_to_end("the e2e suite on the reference backend", command)
}

/// The executable of rollup-e2e's `it` test in cargo's `--message-format=json` output.
fn e2e_binary(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
        .filter(|line| line.contains("/e2e#") || line.contains("rollup-e2e"))
        .filter(|line| line.contains(r#""kind":["test"]"#) && line.contains(r#""name":"it""#))
        .find_map(|line| {
            let (_, rest) = line.split_once(r#""executable":""#)?;
            let (path, _) = rest.split_once('"')?;
            Some(PathBuf::from(path))
        })
}

/// Runs `command` with inherited output; an error unless it succeeds.
fn run_to_end(what: &str, mut command: Command) -> Result<(), String> {
    let status = command.status().map_err(|error| format!("cannot run {what}: {error}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{what} failed ({status})")),
    }
}

/// Runs `command` with inherited output: whether it succeeded, and how long it took.
fn run_timed(what: &str, mut command: Command) -> Result<(bool, Duration), String> {
    let started = Instant::now();
    let status = command.status().map_err(|error| format!("cannot run the {what}: {error}"))?;
    Ok((status.success(), started.elapsed()))
}

/// `12 min 03 s`.
fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn test_arguments_split_at_the_double_dash() {
        assert_eq!(
            TestArgs::parse(&strings(&["--serial", "-p", "rollup-l2", "--", "--skip", "slow"])),
            TestArgs {
                serial: true,
                cargo: strings(&["-p", "rollup-l2"]),
                harness: strings(&["--skip", "slow"])
            }
        );
        assert_eq!(TestArgs::parse(&[]), TestArgs::default());
    }

    #[test]
    fn the_workspace_is_tested_unless_packages_are_named() {
        let args = |command: Command| -> Vec<String> {
            command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect()
        };
        let all = TestArgs::parse(&strings(&["--", "--exact", "x"]));
        assert_eq!(
            args(all.cargo_test(&["--tests"], Some(&["--ignored"]))),
            strings(&["test", "--locked", "--workspace", "--tests", "--", "--ignored", "--exact", "x"])
        );
        let one = TestArgs::parse(&strings(&["-p", "rollup-l2"]));
        assert_eq!(
            args(one.cargo_test(&[], Some(&[]))),
            strings(&["test", "--locked", "-p", "rollup-l2", "--"])
        );
        assert_eq!(
            args(one.cargo_test(&["--no-run"], None)),
            strings(&["test", "--locked", "--no-run", "-p", "rollup-l2"])
        );
    }

    #[test]
    fn the_e2e_binary_is_found_in_cargos_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/l2#rollup-l2@0.1.0","target":{"kind":["test"],"name":"it"},"executable":"/t/debug/deps/it-aaaa"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/e2e#rollup-e2e@0.1.0","target":{"kind":["lib"],"name":"rollup_e2e"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/e2e#rollup-e2e@0.1.0","target":{"kind":["test"],"name":"it"},"executable":"/t/debug/deps/it-e2e0"}"#,
        );
        assert_eq!(e2e_binary(messages), Some(PathBuf::from("/t/debug/deps/it-e2e0")));
        assert_eq!(e2e_binary(messages.lines().next().unwrap()), None);
    }

    #[test]
    fn durations_read_in_minutes_and_seconds() {
        assert_eq!(minutes(Duration::from_secs(723)), "12 min 03 s");
        assert_eq!(minutes(Duration::from_millis(59_999)), "0 min 59 s");
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap_or_default();
        assert!(manifest.contains("[workspace]"), "{}", workspace().display());
    }
}
