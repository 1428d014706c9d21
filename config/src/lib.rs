//! Typed configuration of the rollup node.
//!
//! A configuration is made from layers, lowest precedence first: built-in defaults
//! ([`Config::default`]), a TOML file, a shipped profile (a `[roles]` table from
//! `config/profiles/`), `ROLLUP__SECTION__KEY` environment variables and command-line
//! flags. [`load`] merges them, reads the result into [`Config`] and validates it,
//! reporting every problem at once ([`LoadConfigError::Invalid`]), each with its key,
//! the offending value and where that value came from. Unknown keys are errors.
//!
//! ```
//! let sources = rollup_config::ConfigSources {
//!     profile: Some("operator".to_owned()),
//!     ..Default::default()
//! };
//! let config = rollup_config::load(&sources)?;
//! assert!(config.roles.sequencer && config.roles.prover && config.roles.controller);
//! # Ok::<(), rollup_config::LoadConfigError>(())
//! ```

mod error;
mod load;
mod model;
pub mod profiles;
mod validate;

pub use error::{ConfigIssue, LoadConfigError};
pub use load::{load, to_toml, ConfigSources, ENV_PREFIX};
pub use model::{
    BitcoinConfig, BitcoinNetwork, Config, ControllerConfig, DaPosterConfig, DebugConfig, DevnetConfig,
    Groth16Config, LogConfig, LogFormat, NodeConfig, ProverConfig, Role, RolesConfig, RpcConfig,
    SequencerConfig, SupervisorConfig, VigilanteConfig, DEFAULT_CHAIN_ID,
};
