//! Sightline's Graphite query engine: what graphite-web does between a `/render` request and
//! its answer, without knowing how series are stored.
//!
//! - [`grammar`] parses graphite-web's target language into an [`grammar::Expr`], with byte
//!   positions in every error.
//! - [`attime`] reads `from`, `until` and `now` (`-6h`, `04:00_20240301`, `noon+yesterday`) and
//!   the interval strings functions take, in the request's time zone.
//!
//! **Boundary:** this crate performs no I/O and knows nothing of the store's internals; series
//! reach it through a source trait, and HTTP stays in `server`.

pub mod attime;
pub mod grammar;
