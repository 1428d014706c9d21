//! Log output: `tracing` events with a target per subsystem (`rollup::node`,
//! `rollup::supervisor`, `rollup::rpc`, `rollup::storage`, `rollup::roles`, ...),
//! written to stderr as pretty lines or JSON objects.

use rollup_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber and a panic hook that logs panics as events.
///
/// `RUST_LOG`, when set, replaces `log.filter`.
pub(crate) fn init(config: &LogConfig) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(filter) if !filter.is_empty() => EnvFilter::builder()
            .parse(&filter)
            .map_err(|error| format!("invalid RUST_LOG {filter:?}: {error}"))?,
        _ => EnvFilter::builder()
            .parse(&config.filter)
            .map_err(|error| format!("invalid log.filter {:?}: {error}", config.filter))?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Pretty => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init()
        }
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
    installed.map_err(|error| format!("cannot install the logger: {error}"))?;

    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|location| location.to_string()).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        tracing::error!(target: "rollup::panic", %location, %thread, "panic: {message}");
    }));
    Ok(())
}
