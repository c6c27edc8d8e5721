//! Sightline's log event store: one tantivy index per UTC day, searched and counted across the
//! days a query's range overlaps.
//!
//! - [`schema`]: the typed core fields (`timestamp`, `message`, `level`, `service`, `host`) and
//!   one dynamic JSON field, `fields`, holding everything the sender wrote (raw-tokenised,
//!   stored, fast, dots expanded), so any field can be searched without a mapping and numeric
//!   fields aggregate.
//! - [`store`]: [`EventStore`]: day partitions opened on demand, a cap on distinct field names
//!   per partition, commits on request (the server calls them on a timer), search newest first
//!   with a time range, counts, and retention that drops whole days.
//!
//! - `wal`: events are fsynced to a write-ahead log before `add` returns, and replayed after a
//!   crash; a commit seals a generation, recorded in every partition's commit payload.
//!
//! **Boundary:** no HTTP, no tokio; listeners and APIs live elsewhere.

pub mod aggregate;
pub mod query;
pub mod schema;
pub mod store;
mod wal;

pub use aggregate::{Aggregate, AggregateResult, Interval, Metric, MetricKind, Row};
pub use store::{EventQuery, EventStore, EventsError, Hit, Search, SearchResult, StoreConfig};
