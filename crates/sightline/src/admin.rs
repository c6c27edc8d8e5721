//! Administration from the shell: tokens, users and config, straight on the data directory.
//!
//! These commands open the control database directly, so they work whether or not the server
//! runs (SQLite serialises the writers) and they are the way in before any token exists. They
//! do not take the data directory lock. Secrets go to stdout alone, so that
//! `TOKEN=$(sightline token create ci)` captures exactly the token; everything else goes to
//! stderr.

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use model::{Clock, SystemClock};
use server::auth::{self, Role, TokenKind, store};
use server::db::ControlDb;
use server::{Secret, control_db_path};

use crate::ConfigArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token and print it once to stdout.
    Create {
        /// A name that says who uses it, such as `grafana` or `filebeat-web1`.
        name: String,
        /// `api` for the query and admin APIs, `ingest` for the HTTP ingest endpoints.
        #[arg(long, value_enum, default_value_t = KindArg::Api)]
        kind: KindArg,
        /// The role of an API token (default viewer); ingest tokens take none.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List tokens (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        /// The token's id, as `sightline token list` shows it.
        id: i64,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user; the password is generated and printed unless --password-stdin is given.
    Add {
        /// The name they log in with.
        username: String,
        /// What they may do.
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Set a new password and end the user's sessions.
    Passwd {
        /// The user whose password to set.
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectCommand {
    /// Create an error-tracking project and print its DSN, for `sentry_sdk.init(dsn=...)`.
    Create {
        /// A name for the application, such as `shop` or `billing-api`.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List projects and their DSNs.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Load and validate the configuration; exit 1 with the reason if it is wrong.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print the effective configuration as TOML, secrets redacted.
    Show {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Api,
    Ingest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// Everything, including users, tokens and projects.
    Admin,
    /// Read everything; resolve and ignore issues, edit dashboards, silence alerts.
    Editor,
    /// Read everything.
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Editor => Role::Editor,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

fn open_db(args: &ConfigArgs) -> anyhow::Result<ControlDb> {
    let config = args.load(None)?;
    Ok(ControlDb::open_existing(&control_db_path(
        &config.data_dir,
    ))?)
}

fn now() -> i64 {
    SystemClock.now().as_secs()
}

pub(crate) fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            name,
            kind,
            role,
            config,
        } => {
            let db = open_db(&config)?;
            let kind = match kind {
                KindArg::Api => TokenKind::Api,
                KindArg::Ingest => TokenKind::Ingest,
            };
            let role = role.map(Role::from);
            let created = db.call_blocking(|conn| {
                Ok(auth::create_token(conn, now(), &name, kind, role, None))
            })?;
            let (info, secret) = created?;
            let role = info
                .role
                .map_or(String::new(), |r| format!(", role {}", r.as_str()));
            eprintln!(
                "created {} token {} `{}`{role}; it is shown only once:",
                kind.as_str(),
                info.id,
                info.name
            );
            print_secret(&secret)
        }
        TokenCommand::List { json, config } => {
            let tokens = open_db(&config)?.call_blocking(|conn| Ok(store::list_tokens(conn)?))?;
            if json {
                return print_line(&serde_json::to_string_pretty(&tokens)?);
            }
            print_line(&format!(
                "{:>4}  {:<24} {:<7} {:<7} {:<14} {}",
                "ID", "NAME", "KIND", "ROLE", "TOKEN", "STATE"
            ))?;
            for t in tokens {
                let role = t.role.map_or("-", Role::as_str);
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                print_line(&format!(
                    "{:>4}  {:<24} {:<7} {:<7} {:<14} {state}",
                    t.id,
                    t.name,
                    t.kind.as_str(),
                    role,
                    t.hint
                ))?;
            }
            Ok(())
        }
        TokenCommand::Revoke { id, config } => {
            let revoked = open_db(&config)?
                .call_blocking(|conn| Ok(store::revoke_token(conn, id, now())?))?;
            if !revoked {
                bail!("no live token with id {id}");
            }
            eprintln!("revoked token {id}");
            Ok(())
        }
    }
}

pub(crate) fn user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            username,
            role,
            password_stdin,
            config,
        } => {
            let db = open_db(&config)?;
            let (password, generated) = choose_password(password_stdin)?;
            let user = db.call_blocking(|conn| {
                Ok(auth::create_user(
                    conn,
                    now(),
                    &username,
                    &password,
                    role.into(),
                ))
            })??;
            eprintln!(
                "added {} user `{}` (id {})",
                user.role.as_str(),
                user.username,
                user.id
            );
            if generated {
                eprintln!("their password, shown only once:");
                print_secret(&password)?;
            }
            Ok(())
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            config,
        } => {
            let db = open_db(&config)?;
            let (password, generated) = choose_password(password_stdin)?;
            let hash = auth::password::hash(password.expose())?;
            let changed =
                db.call_blocking(|conn| Ok(store::set_password(conn, &username, &hash)?))?;
            if !changed {
                bail!("no user `{username}`");
            }
            eprintln!("set a new password for `{username}` and ended their sessions");
            if generated {
                print_secret(&password)?;
            }
            Ok(())
        }
        UserCommand::List { config } => {
            let users = open_db(&config)?.call_blocking(|conn| Ok(store::list_users(conn)?))?;
            for u in users {
                print_line(&format!(
                    "{:>4}  {:<24} {}",
                    u.id,
                    u.username,
                    u.role.as_str()
                ))?;
            }
            Ok(())
        }
    }
}

/// A password from stdin, or a generated one; says which.
fn choose_password(from_stdin: bool) -> anyhow::Result<(Secret, bool)> {
    if !from_stdin {
        return Ok((Secret::new(auth::password::generate()), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    auth::password::check_strength(&password).map_err(anyhow::Error::msg)?;
    Ok((Secret::new(password), false))
}

pub(crate) fn project(cmd: ProjectCommand) -> anyhow::Result<()> {
    match cmd {
        ProjectCommand::Create { name, config } => {
            let base = dsn_base(&config.load(None)?);
            let created = open_db(&config)?
                .call_blocking(|conn| Ok(server::projects::create(conn, now(), &name)))?;
            let project = created?;
            eprintln!(
                "created project {} `{}`; its DSN:",
                project.id, project.name
            );
            let key = project.keys.first().context("the new project has no key")?;
            print_line(&server::projects::dsn(&base, key, project.id))
        }
        ProjectCommand::List { json, config } => {
            let base = dsn_base(&config.load(None)?);
            let all = open_db(&config)?.call_blocking(|conn| Ok(server::projects::list(conn)?))?;
            if json {
                let shown: Vec<serde_json::Value> = all
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "id": p.id,
                            "name": p.name,
                            "dsns": p.keys.iter().map(|k| server::projects::dsn(&base, k, p.id)).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                return print_line(&serde_json::to_string_pretty(&shown)?);
            }
            print_line(&format!("{:>4}  {:<24} DSN", "ID", "NAME"))?;
            for p in all {
                for key in &p.keys {
                    print_line(&format!(
                        "{:>4}  {:<24} {}",
                        p.id,
                        p.name,
                        server::projects::dsn(&base, key, p.id)
                    ))?;
                }
            }
            Ok(())
        }
    }
}

/// The base URL of DSNs: the running server's (it knows the address it bound, whatever flag
/// started it), or `http.public_url`, or the configured `http.addr`, saying which on stderr
/// when it is a guess.
/// The DSN of the `demo-shop` project, made if it is missing, for `sightline demo`.
pub(crate) fn demo_project_dsn(args: &ConfigArgs) -> anyhow::Result<String> {
    const NAME: &str = "demo-shop";
    let config = args.load(None)?;
    let db = open_db(args)?;
    let existing = db.call_blocking(|conn| Ok(server::projects::list(conn)?))?;
    let project = match existing.into_iter().find(|p| p.name == NAME) {
        Some(p) => p,
        None => db.call_blocking(|conn| Ok(server::projects::create(conn, now(), NAME)))??,
    };
    let key = project
        .keys
        .first()
        .context("the demo project has no key")?;
    Ok(server::projects::dsn(&dsn_base(&config), key, project.id))
}

fn dsn_base(config: &server::Config) -> String {
    if let Some(url) = server::running_server_url(&config.data_dir) {
        return url;
    }
    let base = config.public_url();
    if config.http.public_url.is_none() {
        eprintln!(
            "note: no server is running on {}; the DSN assumes SDKs reach it at {base} (from http.addr); set http.public_url (or SIGHTLINE_HTTP__PUBLIC_URL) if they reach it elsewhere",
            config.data_dir.display()
        );
    }
    base
}

pub(crate) fn config(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check { config } => {
            config.load(None)?;
            eprintln!("configuration is valid");
            Ok(())
        }
        ConfigCommand::Show { config } => {
            let loaded = config.load(None)?;
            print_line(toml::to_string_pretty(&loaded)?.trim_end())
        }
    }
}

fn print_secret(secret: &Secret) -> anyhow::Result<()> {
    print_line(secret.expose())
}

fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").context("cannot write to stdout")
}
