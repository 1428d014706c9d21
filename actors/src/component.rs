//! What a role component offers its actor shell.

use std::time::Duration;

/// An error a component reports from loading or from periodic work.
pub type ComponentError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A role's logic: a plain struct with synchronous methods, driven by its actor shell.
///
/// The shell builds the component with a loader closure that reads its state from
/// storage; after a failure (a panic, or an error from [`Component::tick`]) the
/// component is dropped and loaded again, so only committed state survives.
pub trait Component: Sized + Unpin + 'static {
    /// How often [`Component::tick`] runs; `None` for never.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic work. An error makes the shell restart the component.
    fn tick(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Called once on graceful shutdown: finish and commit what is in flight.
    fn shutdown(&mut self) {}

    /// Simulates a crash of the component, for tests of the supervisor; it is only
    /// reachable when fault injection is enabled in the configuration.
    fn inject_fault(&mut self) {
        panic!("fault injected on request");
    }
}

/// A request to a component, and the type of its answer.
pub trait Request: Send + 'static {
    /// The answer.
    type Response: Send + 'static;
}

/// A component that answers requests of type `M`.
pub trait Handles<M: Request>: Component {
    /// Answers `request`.
    fn handle(&mut self, request: M) -> M::Response;
}
