//! Sightline's Graphite query engine: what graphite-web does between a `/render` request and
//! its answer, without knowing how series are stored.
//!
//! - [`grammar`] parses graphite-web's target language into an [`grammar::Expr`], with byte
//!   positions in every error.
//! - [`attime`] reads `from`, `until` and `now` (`-6h`, `04:00_20240301`, `noon+yesterday`) and
//!   the interval strings functions take, in the request's time zone.
//! - [`eval`] evaluates targets against a [`eval::Source`], and [`functions`] holds the function
//!   library with its declared parameters (which also answer `/functions`). A source finds
//!   series before it reads them, so a request is charged for its memory first, and the
//!   aggregations that can (`sumSeries`, `countSeries`, `groupByNode`…) fold series one at a
//!   time instead of holding them all (`fold`).
//! - [`catalog`] is the store's series index as the engine sees it, with what path patterns
//!   ([`glob`]) and tag expressions mean: `find`, `expand`, the tags API and the targets' paths
//!   all go through it.
//! - [`series`] is the series model; [`aggfunc`] and [`tagexpr`] the aggregation names and
//!   `seriesByTag` expressions; [`render`] turns results into JSON, CSV and raw text with
//!   graphite-web's `maxDataPoints` consolidation; [`chart`] draws the `svg` and `png` graphs;
//!   [`pyfmt`] formats numbers as Python does.
//!
//! **Boundary:** this crate performs no I/O and knows nothing of the store's internals; series
//! reach it through a source trait, and HTTP stays in `server`.

pub mod aggfunc;
pub mod attime;
pub mod catalog;
pub mod chart;
pub mod eval;
mod fold;
pub mod functions;
pub mod glob;
pub mod grammar;
pub mod pyfmt;
pub mod render;
pub mod series;
pub mod tagexpr;
