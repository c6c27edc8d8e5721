//! Sightline's metric store: carbon's retention and rollup semantics on a compressed,
//! log-structured engine.
//!
//! The store keeps Graphite series: a canonical name, and per series the schema (tiers such as
//! `10s:6h,1m:30d,10m:5y`) and aggregation (xFilesFactor and method) that the first matching
//! rule gave it when it was created, as whisper fixes them when it creates a file. Answers match
//! what whisper would hold for the same input (see `read`); storage does not: instead of one
//! preallocated ring file per series rewritten on every point, points go to a write-ahead log
//! and an in-memory head of Gorilla-compressed chunks, then to immutable segment files per
//! tier class and time partition, merged and rolled up in the background, and dropped a whole
//! partition at a time.
//!
//! Entry point: [`Tsdb`] (`engine`). Layout of a store directory:
//!
//! ```text
//! FORMAT                      layout version
//! series.log                  every series definition (wal)
//! wal/<generation>.wal        points not yet in segments (wal)
//! data/s<step>-r<retention>/<partition start>/<generation>-<nonce>.seg   (catalog, segment)
//! ```
//!
//! **Boundary:** no HTTP, no tokio, no tantivy. Callers run it from blocking contexts; its own
//! threads do the fsyncs and compaction.
//! **Invariant:** every point acknowledged by [`Tsdb::wait_durable`] is in the WAL or in a
//! segment file, and a crash at any moment loses nothing that was acknowledged.

mod catalog;
mod config;
mod engine;
mod error;
pub mod gorilla;
mod head;
mod index;
mod maintenance;
mod read;
pub mod schema;
mod segment;
mod wal;

pub use config::{AggregationRule, SchemaRule, TsdbConfig};
pub use engine::{FORMAT_VERSION, Tsdb, TsdbStats, Usage, WriteOutcome};
pub use error::{Error, Result};
pub use index::{PathEntry, SeriesId};
pub use read::{Fetched, FetchedNan, ReadWindow, SeriesInfo};
