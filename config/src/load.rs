//! Layering of the configuration sources and their typed reading.
//!
//! Precedence, lowest first: built-in defaults, the config file, the profile's
//! `[roles]`, `ROLLUP__SECTION__KEY` environment variables, command-line flags. The
//! merged tree is read into [`Config`]; a key that cannot be read is recorded as an
//! issue, pruned (its default takes its place) and the reading starts again, so one
//! run reports every unknown key and every badly typed value, not only the first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{ConfigError, FileFormat, Map, Source, Value, ValueKind};

use crate::error::{ConfigIssue, LoadConfigError};
use crate::model::Config;
use crate::profiles;
use crate::validate;

/// Prefix of the environment variables read as configuration.
pub const ENV_PREFIX: &str = "ROLLUP";

/// Origin recorded for values given as command-line flags.
const CLI_ORIGIN: &str = "the command line";

/// Origin recorded for values from a profile.
const PROFILE_ORIGIN: &str = "profile";

/// A bound on the prune-and-retry loop; far above the number of keys.
const MAX_READ_ATTEMPTS: usize = 256;

/// Everything a configuration is made from.
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// The TOML config file, if any.
    pub file: Option<PathBuf>,
    /// A shipped profile name (`operator`, `backup`, ...), if any.
    pub profile: Option<String>,
    /// The process environment; only `ROLLUP__*` variables are read.
    pub env: HashMap<String, String>,
    /// Command-line overrides as `(dotted key, value)` pairs.
    pub overrides: Vec<(String, String)>,
}

impl ConfigSources {
    /// Sources with the current process environment.
    pub fn from_process_env() -> Self {
        Self { env: std::env::vars().collect(), ..Self::default() }
    }
}

/// Loads, merges, reads and validates a configuration, reporting every problem at once.
pub fn load(sources: &ConfigSources) -> Result<Config, LoadConfigError> {
    let tree = merge(sources)?;
    let (config, mut issues) = read_typed(tree.clone());
    // A pruned key was replaced by its default: checks of it, of the table around it
    // or of keys under it would report that default, not what the user wrote.
    let pruned: Vec<String> = issues.iter().map(|issue| issue.key.clone()).collect();
    let related = |key: &str| {
        pruned.iter().any(|bad| {
            bad == key || bad.starts_with(&format!("{key}.")) || key.starts_with(&format!("{bad}."))
        })
    };
    issues.extend(
        validate::validate(&config)
            .into_iter()
            .filter(|issue| !related(&issue.key))
            .map(|issue| locate(issue, &tree)),
    );
    if issues.is_empty() {
        Ok(config)
    } else {
        issues.sort_by(|a, b| a.key.cmp(&b.key));
        Err(LoadConfigError::Invalid(issues))
    }
}

/// Renders a configuration as TOML, as `rollup config dump` prints it.
pub fn to_toml(config: &Config) -> Result<String, LoadConfigError> {
    toml::to_string_pretty(config).map_err(|error| LoadConfigError::Merge(error.to_string()))
}

fn merge(sources: &ConfigSources) -> Result<Value, LoadConfigError> {
    let merge_error = |error: ConfigError| LoadConfigError::Merge(error.to_string());
    let defaults = config::Config::try_from(&Config::default()).map_err(merge_error)?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = &sources.file {
        builder = builder.add_source(read_file(path)?);
    }
    if let Some(name) = &sources.profile {
        let text = profiles::get(name).ok_or_else(|| LoadConfigError::UnknownProfile {
            name: name.clone(),
            available: profiles::names(),
        })?;
        builder = builder.add_source(with_origin(
            config::File::from_str(text, FileFormat::Toml).collect().map_err(merge_error)?,
            &format!("{PROFILE_ORIGIN} `{name}`"),
        ));
    }
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(Some(sources.env.clone().into_iter().collect())),
    );
    for (key, value) in &sources.overrides {
        let value = Value::new(Some(&CLI_ORIGIN.to_owned()), value.as_str());
        builder = builder.set_override(key.as_str(), value).map_err(merge_error)?;
    }
    let merged = builder.build().map_err(merge_error)?;
    let table = merged.collect().map_err(merge_error)?;
    Ok(Value::new(None, ValueKind::Table(table)))
}

/// Reads a TOML file as a source whose values remember the file's path.
fn read_file(path: &Path) -> Result<Layer, LoadConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| LoadConfigError::ReadFile { path: path.to_owned(), source })?;
    // The toml parser's message carries the line and column; the config crate's does not.
    if let Err(error) = text.parse::<toml::Table>() {
        return Err(LoadConfigError::Syntax {
            path: path.to_owned(),
            message: error.to_string().trim_end().replace('\n', " "),
        });
    }
    let table = config::File::from_str(&text, FileFormat::Toml)
        .collect()
        .map_err(|error| LoadConfigError::Syntax { path: path.to_owned(), message: error.to_string() })?;
    Ok(with_origin(table, &path.display().to_string()))
}

/// An already-read table used as a configuration layer.
#[derive(Clone, Debug)]
struct Layer(Map<String, Value>);

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.0.clone())
    }
}

/// Sets the origin of every value in `table`, so that issues can say where a value came from.
fn with_origin(table: Map<String, Value>, origin: &str) -> Layer {
    fn mark(value: Value, origin: &String) -> Value {
        let kind = match value.kind {
            ValueKind::Table(table) => {
                ValueKind::Table(table.into_iter().map(|(key, value)| (key, mark(value, origin))).collect())
            }
            ValueKind::Array(items) => {
                ValueKind::Array(items.into_iter().map(|value| mark(value, origin)).collect())
            }
            other => other,
        };
        Value::new(Some(origin), kind)
    }
    let origin = origin.to_owned();
    Layer(table.into_iter().map(|(key, value)| (key, mark(value, &origin))).collect())
}

/// Reads the merged tree into a [`Config`], pruning every key that fails.
fn read_typed(mut tree: Value) -> (Config, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    for _ in 0..MAX_READ_ATTEMPTS {
        match serde_path_to_error::deserialize::<_, Config>(tree.clone()) {
            Ok(config) => return (config, issues),
            Err(error) => {
                let key = error.path().to_string();
                let issue = describe(&key, error.into_inner(), &tree);
                issues.push(issue);
                if key == "." || !remove(&mut tree, &key) {
                    break;
                }
            }
        }
    }
    (Config::default(), issues)
}

fn describe(key: &str, error: ConfigError, tree: &Value) -> ConfigIssue {
    let problem = match error {
        ConfigError::At { error, .. } => return describe(key, *error, tree),
        ConfigError::Type { unexpected, expected, .. } => format!("expected {expected}, found {unexpected}"),
        ConfigError::Message(message) => unknown_field_hint(key, &message).unwrap_or(message),
        other => other.to_string(),
    };
    let found = lookup(tree, key);
    ConfigIssue {
        key: key.to_owned(),
        value: found.and_then(scalar_text),
        origin: found.and_then(origin_of),
        problem,
    }
}

/// Where a value came from; a table, which merging re-creates, answers for its first value.
fn origin_of(value: &Value) -> Option<String> {
    match (&value.kind, value.origin()) {
        (_, Some(origin)) => Some(origin.to_owned()),
        (ValueKind::Table(table), None) => table.values().find_map(origin_of),
        _ => None,
    }
}

/// Turns serde's "unknown field `x`, expected one of ..." into "unknown key" with a
/// suggestion of the closest known key.
fn unknown_field_hint(key: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let parent = key.rsplit_once('.').map(|(parent, _)| format!("{parent}.")).unwrap_or_default();
    let closest = known
        .iter()
        .map(|candidate| (edit_distance(field, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min();
    Some(match closest {
        Some((_, candidate)) => format!("unknown key (did you mean `{parent}{candidate}`?)"),
        None if known.is_empty() => "unknown key".to_owned(),
        None => format!("unknown key (known keys here: {})", known.join(", ")),
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Attaches the value and origin found at the issue's key.
fn locate(mut issue: ConfigIssue, tree: &Value) -> ConfigIssue {
    if let Some(value) = lookup(tree, &issue.key) {
        issue.value = issue.value.or_else(|| scalar_text(value));
        issue.origin = issue.origin.or_else(|| origin_of(value));
    }
    issue
}

fn lookup<'a>(tree: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(tree, |node, segment| match &node.kind {
        ValueKind::Table(table) => table.get(segment),
        _ => None,
    })
}

fn scalar_text(value: &Value) -> Option<String> {
    match &value.kind {
        ValueKind::Table(_) | ValueKind::Array(_) | ValueKind::Nil => None,
        kind => Some(kind.to_string()),
    }
}

/// Removes `key` from the tree; false if it is not there.
fn remove(tree: &mut Value, key: &str) -> bool {
    let (parent, last) = match key.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, key),
    };
    let mut node = tree;
    for segment in parent.into_iter().flat_map(|parent| parent.split('.')) {
        node = match &mut node.kind {
            ValueKind::Table(table) => match table.get_mut(segment) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match &mut node.kind {
        ValueKind::Table(table) => table.remove(last).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("listn", "listen"), 1);
        assert_eq!(edit_distance("lsiten", "listen"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
