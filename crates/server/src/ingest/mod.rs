//! The listeners: from their sockets to the pipeline's sinks.
//!
//! Path of a metric point: a listener task reads bytes, frames and decodes them with `wire`,
//! and packs the good records into a `PointBatch`; it counts every record it received, every
//! parse error and every drop in its `ListenerStats`. The batch goes to the bounded
//! [`crate::pipeline::MetricSink`]: TCP listeners wait for room (so reads pause and the
//! sender's kernel buffer fills: backpressure), UDP listeners drop the batch and count it when
//! there is none. Log listeners hand events to the [`crate::pipeline::EventSink`] the same way.
//! No listener holds a store.

pub mod carbon;
pub mod logs;
pub mod net;
pub mod statsd;
mod statsd_agg;
pub mod tcp;
pub mod udp;

pub use crate::pipeline::{MetricSink, SinkClosed};
