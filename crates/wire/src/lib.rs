//! Pure codecs for every protocol Sightline speaks, in and out.
//!
//! Each codec takes bytes and yields one `Result<record, ParseError>` per line, frame or
//! element, so one bad record never fails its batch. Framing ([`framing`]: newline, length
//! prefix) is separate from decoding, so the same decoder serves TCP, UDP and files.
//!
//! - [`graphite_name`]: canonical Graphite series names, plain and tagged.
//! - [`bulk`]: Elasticsearch `_bulk` bodies: actions paired with their documents.
//! - [`carbon`]: carbon plaintext lines.
//! - [`pickle`]: carbon's pickle protocol, with a decoder that only builds data.
//! - [`statsd`]: statsd lines, with etsy's rules and DogStatsD's extensions.
//! - [`jsonlog`]: JSON log events (NDJSON, arrays) and syslog messages as `model::LogEvent`s.
//! - [`otlp`]: OTLP/HTTP log export requests, protobuf and JSON, as `LogEvent`s.
//! - [`otlp_metrics`]: OTLP/HTTP metric export requests, protobuf and JSON, as typed metrics,
//!   and their translation into Graphite points.
//! - [`sentry`]: Sentry DSNs, credentials, envelopes, check-ins, attachments and rate-limit
//!   headers.
//! - [`syslog`]: RFC 5424 and 3164 messages as real senders emit them, and RFC 6587 framing.
//!
//! **Invariant:** `wire` performs no I/O, spawns nothing, reads no clock; it does not depend on
//! tokio or on any store.

pub mod bulk;
pub mod carbon;
mod error;
pub mod framing;
pub mod fuzz;
pub mod graphite_name;
pub mod jsonlog;
pub mod otlp;
mod otlp_common;
pub mod otlp_metrics;
pub mod pickle;
mod protobuf;
pub mod sentry;
pub mod statsd;
pub mod syslog;

pub use error::ParseError;
