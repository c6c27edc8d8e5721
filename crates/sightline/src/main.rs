//! `sightline`: the command line of one self-hosted binary for errors, events, metrics and alerts.
//!
//! `serve` runs the node; `token`, `user` and `config` administer a data directory directly
//! (SQLite coordinates with a running server); `demo` sends realistic traffic to a running
//! server. Every failure ends in one line on stderr and exit code 1, never a backtrace.

mod admin;
mod bench;
mod bench_sentry;
mod config_load;
mod demo;
mod logging;
mod logs;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the ingest paths allocate and free many small strings
/// per event, and glibc's free lists took a tenth of the event ingest CPU (measured with perf
/// while `bench/events.py` ran).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One self-hosted binary for errors, events, metrics and alerts.
#[derive(Debug, Parser)]
#[command(name = "sightline", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the HTTP API and UI, and every enabled listener.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API tokens (for scripts) and ingest tokens (for shippers).
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Add and list users, and reset their passwords.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Create and list error-tracking projects (Sentry DSNs).
    #[command(subcommand)]
    Project(admin::ProjectCommand),
    /// Check the configuration, or print the effective one.
    #[command(subcommand)]
    Config(admin::ConfigCommand),
    /// Search, aggregate and tail events on a running server (with an API token).
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Send realistic traffic (metrics, and more as listeners arrive) to a running server.
    Demo(demo::DemoArgs),
    /// Send synthetic load to a running server (ours or a peer) to measure it.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Where the configuration comes from; shared by every subcommand that reads it.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArgs {
    /// The config file; without it, ./sightline.toml is read if it exists.
    #[arg(long, short = 'c', env = "SIGHTLINE_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The data directory (config key `data_dir`; default ./data).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Log level or filter, such as `debug` or `info,server=debug` (config key `log.level`;
    /// default info).
    #[arg(long, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

impl ConfigArgs {
    /// Loads the configuration from file, environment and these flags.
    pub(crate) fn load(&self, http_addr: Option<String>) -> anyhow::Result<server::Config> {
        let flags = config_load::FlagOverrides {
            data_dir: self.data_dir.clone(),
            http_addr,
            log_level: self.log_level.clone(),
        };
        let (config, _) = config_load::load(self.config.as_deref(), std::env::vars(), &flags)?;
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(cmd) => admin::token(cmd),
        Command::User(cmd) => admin::user(cmd),
        Command::Project(cmd) => admin::project(cmd),
        Command::Config(cmd) => admin::config(cmd),
        Command::Logs(cmd) => logs::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Bench(cmd) => bench::run(cmd),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every option and argument of every command says what it is, and what happens without
    /// it: a default shown by clap, or words saying so.
    #[test]
    fn every_option_is_described_with_its_default() {
        let mut problems = Vec::new();
        let mut command = super::Cli::command();
        command.build();
        check(&command, "sightline", &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    fn check(command: &clap::Command, path: &str, problems: &mut Vec<String>) {
        if command.get_about().is_none() && path != "sightline" {
            problems.push(format!("{path}: no description"));
        }
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") || arg.is_hide_set() {
                continue;
            }
            let help = arg
                .get_help()
                .or(arg.get_long_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            if help.is_empty() {
                problems.push(format!("{path} {id}: no description"));
                continue;
            }
            let takes_value = arg.get_action().takes_values();
            let optional = !arg.is_required_set();
            let has_default = !arg.get_default_values().is_empty();
            let says = ["default", "without it", "Without it", "unset"]
                .iter()
                .any(|w| help.contains(w));
            if takes_value && optional && !has_default && !says {
                problems.push(format!(
                    "{path} {id}: optional with no default shown and no word on what its absence means"
                ));
            }
        }
        for sub in command.get_subcommands() {
            check(sub, &format!("{path} {}", sub.get_name()), problems);
        }
    }
}
