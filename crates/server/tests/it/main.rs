//! Integration tests for the server: the real server on port 0, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod clients;
mod collectd;
mod compat;
mod events;
mod events_questions;
mod first_steps;
mod graphite_golden;
mod graphite_grafana;
mod graphite_graph;
mod graphite_memory;
mod metrics;
mod ops;
mod otlp_metrics;
mod peers;
mod projects;
mod rsyslog;
mod sentry;
mod statsd_etsy;
mod ui;
mod whisper;
