//! Integration tests for the `sightline` binary: the real process, over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod diskfull;
mod durability;
mod fsync;
mod hostile;
mod logs;
mod process;
mod projects;
mod readme;
mod serve;
mod ui;

pub use process::{RawAnswer, Serve, cli, create_project, raw_request, sightline};
