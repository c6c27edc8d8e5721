//! The write side: one bounded sink per store. Listeners and HTTP handlers decode with `wire`
//! and hand typed records to a sink; no handler or listener writes a store (the others that
//! do are the maintenance task, which applies the retentions, and shutdown).
//!
//! - [`metrics`]: points into the TSDB through one queue and writer thread, acknowledged by WAL
//!   commit sequence; OTLP metrics are translated into points here.
//! - [`events`]: events into the event store, its commit timer, read-after-write (`refresh`)
//!   and the live-tail feed.
//! - [`errors`]: Sentry events into the issue store in group commits, their copies into the
//!   event store, check-ins, and issue status changes.

pub mod errors;
pub mod events;
pub mod metrics;
pub mod refresh;

pub use errors::ErrorSink;
pub use events::EventSink;
pub use metrics::{MetricSink, SinkClosed, start_writer};

/// One sink per store.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub metrics: MetricSink,
    pub events: EventSink,
    pub errors: ErrorSink,
}
