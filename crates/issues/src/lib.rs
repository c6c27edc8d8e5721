//! Sightline's error tracker: the Sentry events SDKs send, kept durably, normalised and grouped
//! into issues with states and regressions.
//!
//! - [`store`]: [`IssueStore`], its own SQLite database (WAL, `synchronous=FULL`, so an
//!   acknowledged event survives `kill -9` and power loss): received events by project and
//!   event id (a duplicate id is kept once, as Sentry does) and their attachments.
//! - [`normalize`]: lenient, Relay-style reading of event payloads (wrapped or bare lists,
//!   tags as objects or pairs, timestamps as text or numbers, levels as names or numbers,
//!   messages as strings or `logentry`), titles, culprits and user keys.
//! - [`grouping`]: which issue an event belongs to (fingerprint, stack, exception, message),
//!   versioned, with the components that made the key.
//!
//! - [`lifecycle`]: the issue's states and what a change or a new event does to them, as a
//!   typed state machine.
//!
//! Issues are unresolved, resolved (now, or in the next release) or ignored (forever, until a
//! time, until N more events). A regression is an event received after the resolution whose
//! release is not older than the last one seen then (newer than it, for "in the next
//! release"; release order is the order they were first seen); every change is recorded.
//!
//! **Boundary:** no HTTP, no tokio; the envelope endpoint lives in `server`.

pub mod grouping;
pub mod lifecycle;
pub mod normalize;
pub mod store;

pub use store::{
    Attachment, Change, CheckIn, GroupingInfo, Issue, IssueFilter, IssueQuery, IssueStore,
    IssuesError, NewEvent, StatusChange, StoredEvent,
};
