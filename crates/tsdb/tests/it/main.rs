//! Integration tests of the metric store through its public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compat;
mod model;
mod store;
