//! Errors of loading and validating a configuration.

use std::fmt;
use std::path::PathBuf;

/// One problem with one configuration key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The dotted key, e.g. `rpc.listen`; `roles` for a problem of the whole table.
    pub key: String,
    /// The offending value as it was given, if there is one.
    pub value: Option<String>,
    /// Where the value came from (a file path, `the environment`, `the command line`).
    pub origin: Option<String>,
    /// What is wrong, in lower case.
    pub problem: String,
}

impl ConfigIssue {
    /// An issue with `key` and no particular value.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { key: key.into(), value: None, origin: None, problem: problem.into() }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key)?;
        if let Some(value) = &self.value {
            write!(f, " = {value:?}")?;
        }
        if let Some(origin) = &self.origin {
            write!(f, " (from {origin})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadConfigError {
    /// The config file does not exist or cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        /// The file named on the command line.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid TOML.
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// `--profile` names no shipped profile.
    #[error("unknown profile {name:?} (available: {})", available.join(", "))]
    UnknownProfile {
        /// The requested profile.
        name: String,
        /// The shipped profiles.
        available: Vec<&'static str>,
    },
    /// The sources could not be merged (a key given as both a table and a value).
    #[error("cannot merge configuration sources: {0}")]
    Merge(String),
    /// The merged configuration has problems: all of them, in key order.
    #[error("{}", Invalid(.0))]
    Invalid(Vec<ConfigIssue>),
}

struct Invalid<'a>(&'a [ConfigIssue]);

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(f, "invalid configuration ({count} {}):", if count == 1 { "error" } else { "errors" })?;
        for issue in self.0 {
            write!(f, "\n  - {issue}")?;
        }
        Ok(())
    }
}
