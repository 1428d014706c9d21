//! Log output: `tracing` events with a target per subsystem (`rollup::node`,
//! `rollup::supervisor`, `rollup::rpc`, `rollup::storage`, `rollup::roles`, ...),
//! written to stderr as pretty lines or JSON objects.

use rollup_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// plonky2 logs (through the `log` crate) one warning from its circuit builder:
/// "The expected circuit data passed to cyclic recursion method did not match the
/// actual circuit". The aggregation family's build (`rollup_circuits::batch`) meets
/// it by design: it builds the recursion circuit against a guessed shape, compares
/// the shapes itself and builds again until they settle, and fails with its own
/// error if they never do. The warning is therefore always expected, and reads as
/// a fault; it is filtered out unless the filter names plonky2 itself.
const EXPECTED_PLONKY2_WARNING: &str = "plonky2::plonk::circuit_builder=error";

/// The log filter: `text`, plus [`EXPECTED_PLONKY2_WARNING`] unless `text` says
/// what to do with plonky2.
fn filter(text: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let filter = EnvFilter::builder().parse(text)?;
    match text.contains("plonky2") {
        true => Ok(filter),
        false => Ok(filter.add_directive(EXPECTED_PLONKY2_WARNING.parse()?)),
    }
}

/// Installs the global subscriber and a panic hook that logs panics as events.
///
/// `RUST_LOG`, when set, replaces `log.filter`.
pub(crate) fn init(config: &LogConfig) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.is_empty() => {
            filter(&text).map_err(|error| format!("invalid RUST_LOG {text:?}: {error}"))?
        }
        _ => filter(&config.filter)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What `filter_text` lets through of one warning from plonky2's circuit
    /// builder, one from elsewhere in plonky2, and one of ours.
    fn shown(filter_text: &str) -> String {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(filter_text).unwrap())
            .with_ansi(false)
            .without_time()
            .with_writer(move || SharedWriter(writer.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "plonky2::plonk::circuit_builder", "expected shape warning");
            tracing::warn!(target: "plonky2::fri", "other plonky2 warning");
            tracing::warn!(target: "rollup::prover", "our warning");
        });
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_expected_plonky2_warning_is_filtered_unless_plonky2_is_named() {
        assert_eq!(
            shown("info"),
            " WARN plonky2::fri: other plonky2 warning\n WARN rollup::prover: our warning\n"
        );
        assert_eq!(
            shown("warn,plonky2=warn"),
            " WARN plonky2::plonk::circuit_builder: expected shape warning\n WARN plonky2::fri: other plonky2 \
             warning\n WARN rollup::prover: our warning\n"
        );
        assert!(filter("rollup=loud").is_err());
    }
}
