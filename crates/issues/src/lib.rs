//! Sightline's error tracker: the Sentry events SDKs send, kept durably, then (as issue 6 grows
//! this crate) normalised and grouped into issues with states and regressions.
//!
//! - [`store`]: [`IssueStore`], its own SQLite database (WAL, `synchronous=FULL`, so an
//!   acknowledged event survives `kill -9` and power loss): received events by project and
//!   event id (a duplicate id is kept once, as Sentry does) and their attachments.
//!
//! **Boundary:** no HTTP, no tokio; the envelope endpoint lives in `server`.

pub mod store;

pub use store::{Attachment, IssueStore, IssuesError, StoredEvent};
