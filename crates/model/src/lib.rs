//! Sightline's shared vocabulary: the types every other crate speaks.
//!
//! This crate owns the wall clock abstraction ([`Clock`], with [`SystemClock`] for production and
//! [`ManualClock`] for tests), the [`Timestamp`] type, and the human-readable units that
//! configuration uses ([`HumanDuration`] such as `10s` or `7d`, and [`ByteSize`] such as `16MiB`).
//! The normalised records: [`PointBatch`] of [`MetricPoint`]s and [`LogEvent`]s; error events
//! join them with the issue that produces them. [`suggest`] finds the known name closest to a
//! misspelt one, for the "did you mean" of every error that refuses a name. [`budget`] holds
//! the memory budgets queries draw from before they use memory.
//!
//! **Invariant:** nothing here performs I/O or reads the system time except [`SystemClock`].

pub mod budget;
pub mod civil;
mod clock;
pub mod event;
mod metric;
pub mod suggest;
mod units;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock, Timestamp};
pub use event::LogEvent;
pub use metric::{MetricPoint, PointBatch};
pub use units::{ByteSize, HumanDuration, UnitError};
