//! The configuration of one Sightline node: every section, with its defaults.
//!
//! [`Config`] is the root that `sightline.toml` deserialises into. Each section is a serde struct
//! with `deny_unknown_fields` and a default for every key, so an empty file is a valid config
//! and a misspelt key is an error. Loading (file, `SIGHTLINE_*` environment, CLI flags) happens
//! in the binary; [`Config::validate`] checks what types alone cannot, and names the key.
//!
//! Sections for later listeners and stores join this root as they arrive, each defined beside
//! the code it configures.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use model::{ByteSize, HumanDuration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::dashboards::UiConfig;
pub use crate::ingest::carbon::CarbonConfig;
pub use crate::ingest::logs::LogsConfig;
pub use crate::ingest::net::{Cidr, ListenAddr};
pub use crate::ingest::statsd::StatsdConfig;
pub use tsdb::TsdbConfig;

/// The whole configuration of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where every store and the control-plane database live.
    pub data_dir: PathBuf,
    /// How long a graceful shutdown may take before connections are cut.
    pub shutdown_grace: HumanDuration,
    /// How often the maintenance task applies the retentions (`[events]`, `[issues]`); also
    /// once at start.
    pub maintenance_interval: HumanDuration,
    /// The free space kept on the data directory's file system: below it ingest pauses (HTTP
    /// answers "retry later" in each protocol's shape, TCP reads wait, UDP drops and counts)
    /// until space returns. 0 turns the floor off.
    pub min_free_disk: ByteSize,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub carbon: CarbonConfig,
    pub statsd: StatsdConfig,
    pub logs: LogsConfig,
    pub events: EventsConfig,
    pub issues: IssuesConfig,
    pub query: QueryConfig,
    pub tsdb: TsdbConfig,
    pub ui: UiConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            shutdown_grace: HumanDuration::from_secs(10),
            maintenance_interval: HumanDuration::from_secs(3600),
            min_free_disk: ByteSize::mib(256),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            carbon: CarbonConfig::default(),
            logs: LogsConfig::default(),
            events: EventsConfig::default(),
            issues: IssuesConfig::default(),
            query: QueryConfig::default(),
            statsd: StatsdConfig::default(),
            tsdb: TsdbConfig::default(),
            ui: UiConfig::default(),
        }
    }
}

/// Logging, applied by the binary at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A level (`error`, `warn`, `info`, `debug`, `trace`) or a filter such as `info,server=debug`.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The HTTP listener: API, ingest routes and UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `IP:port`, or `name:port` (resolved at start: `localhost:8080`).
    #[serde(deserialize_with = "crate::ingest::net::deserialize_addr")]
    pub addr: SocketAddr,
    /// The URL users and SDKs reach this server at (scheme, host, port, and a path prefix
    /// behind a reverse proxy), used in DSNs. Unset: `http://` and `addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The largest request body accepted on any route, before decompression.
    pub max_body_size: ByteSize,
    /// The largest body after gzip, deflate or br decoding (at most half of
    /// `max_inflight_ingest`); a bigger one is answered 413.
    pub max_decompressed_size: ByteSize,
    /// The bytes ingest requests (NDJSON, `_bulk`, OTLP, Sentry) hold at once, read,
    /// decompressed and being stored; past it a request is answered 429 with Retry-After,
    /// before anything is written.
    pub max_inflight_ingest: ByteSize,
    /// A request that takes longer than this is answered 408 and its connection closed.
    pub request_timeout: HumanDuration,
    /// A connection whose request headers take longer than this to arrive is closed.
    pub header_read_timeout: HumanDuration,
    /// Connections served at once; more wait in the kernel's queue until one closes.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_body_size: ByteSize::mib(16),
            max_decompressed_size: ByteSize::mib(16),
            max_inflight_ingest: ByteSize::mib(32),
            request_timeout: HumanDuration::from_secs(30),
            header_read_timeout: HumanDuration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Memory for queries (Graphite renders, event searches and aggregations): each is charged
/// for what it will hold before it reads, and past a budget it is answered with an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// The most one query may hold; past it the query is refused (400), as too large.
    pub memory_per_query: ByteSize,
    /// What all queries in flight may hold together; past it a query is refused (503) until
    /// others finish.
    pub memory_total: ByteSize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            memory_per_query: ByteSize::mib(256),
            memory_total: ByteSize::mib(1024),
        }
    }
}

/// The event store: how long it keeps events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events older than this are dropped, a whole day at a time once all of the day is older,
    /// and new ones that old are refused. `0s` keeps everything.
    pub retention: HumanDuration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            retention: HumanDuration::from_secs(30 * 86_400),
        }
    }
}

/// Error tracking: how long sample events are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuesConfig {
    /// Sample events (and their attachments) received longer ago than this are removed; the
    /// issues, their counts, tags and histories stay. `0s` keeps them all.
    pub sample_retention: HumanDuration,
}

impl Default for IssuesConfig {
    fn default() -> Self {
        IssuesConfig {
            sample_retention: HumanDuration::from_secs(90 * 86_400),
        }
    }
}

/// Users, sessions and tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The name of the admin user created on first start.
    pub admin_user: String,
    /// The first admin's password. Unset, one is generated and printed once to stderr.
    /// `SIGHTLINE_ADMIN_PASSWORD` sets it without writing it into a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
    /// How long a login session lasts.
    pub session_ttl: HumanDuration,
    /// Mark the session cookie `Secure`; turn on when a TLS proxy fronts Sightline.
    pub cookie_secure: bool,
    /// Failed logins allowed from one IP address within `login_window` before it must wait.
    pub login_max_failures: u32,
    pub login_window: HumanDuration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            admin_user: "admin".to_owned(),
            admin_password: None,
            session_ttl: HumanDuration::from_secs(7 * 86_400),
            cookie_secure: false,
            login_max_failures: 10,
            login_window: HumanDuration::from_secs(300),
        }
    }
}

/// A configuration value that must never be printed: its `Debug`, `Display` and `Serialize`
/// forms are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A setting that is well-typed but unusable, and which key it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub key: &'static str,
    pub reason: String,
}

impl Config {
    /// The base URL of DSNs: `http.public_url`, or `http://` and the listen address (loopback
    /// when it listens on every interface).
    pub fn public_url(&self) -> String {
        if let Some(url) = &self.http.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let mut addr = self.http.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// Checks the rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |key, reason: &str| {
            Err(InvalidSetting {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty");
        }
        if self.http.max_body_size < ByteSize::kib(1) {
            return invalid("http.max_body_size", "must be at least 1KiB");
        }
        if let Some(url) = &self.http.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("http.public_url", "must start with http:// or https://");
        }
        if self.query.memory_per_query < ByteSize::mib(1) {
            return invalid("query.memory_per_query", "must be at least 1MiB");
        }
        if self.query.memory_total < self.query.memory_per_query {
            return invalid(
                "query.memory_total",
                "must be at least query.memory_per_query",
            );
        }
        if self.maintenance_interval.get().is_zero() {
            return invalid("maintenance_interval", "must be greater than zero");
        }
        if self.http.header_read_timeout.get().is_zero() {
            return invalid("http.header_read_timeout", "must be greater than zero");
        }
        if self.http.max_connections == 0 {
            return invalid("http.max_connections", "must be at least 1");
        }
        if self.http.request_timeout.get().is_zero() {
            return invalid("http.request_timeout", "must be greater than zero");
        }
        if self.auth.admin_user.trim().is_empty() {
            return invalid("auth.admin_user", "must not be empty");
        }
        let short = |p: &Secret| p.expose().chars().count() < crate::auth::MIN_PASSWORD_CHARS;
        if self.auth.admin_password.as_ref().is_some_and(short) {
            return invalid("auth.admin_password", "must be at least 8 characters");
        }
        if self.auth.session_ttl.get().as_secs() < 60 {
            return invalid("auth.session_ttl", "must be at least 1m");
        }
        if self.auth.login_max_failures == 0 {
            return invalid("auth.login_max_failures", "must be at least 1");
        }
        if self.auth.login_window.get().is_zero() {
            return invalid("auth.login_window", "must be greater than zero");
        }
        if self.logs.max_record_size < ByteSize::bytes(64) {
            return invalid("logs.max_record_size", "must be at least 64B");
        }
        if self.logs.max_connections == 0 {
            return invalid("logs.max_connections", "must be at least 1");
        }
        if jiff::tz::db().get(&self.logs.syslog_timezone).is_err() {
            return invalid(
                "logs.syslog_timezone",
                "is not an IANA time zone name (such as UTC or Europe/Paris)",
            );
        }
        if self.carbon.max_line_length < ByteSize::bytes(64) {
            return invalid("carbon.max_line_length", "must be at least 64B");
        }
        if self.carbon.max_connections == 0 || self.statsd.max_connections == 0 {
            return invalid("carbon.max_connections", "must be at least 1");
        }
        self.statsd
            .validate()
            .map_err(|(key, reason)| InvalidSetting { key, reason })?;
        self.tsdb
            .validate()
            .map_err(|(key, reason)| InvalidSetting { key, reason })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_loopback() {
        let config = Config::default();
        config.validate().unwrap();
        assert!(config.http.addr.ip().is_loopback());
    }

    #[test]
    fn secrets_never_print() {
        let mut config = Config::default();
        config.auth.admin_password = Some(Secret::new("hunter2-hunter2"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let json = serde_json::to_string(&config).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }

    #[test]
    fn validation_names_the_key() {
        let mut config = Config::default();
        config.auth.admin_password = Some(Secret::new("short"));
        assert_eq!(config.validate().unwrap_err().key, "auth.admin_password");
        let mut config = Config::default();
        config.auth.login_max_failures = 0;
        assert_eq!(
            config.validate().unwrap_err().key,
            "auth.login_max_failures"
        );
    }
}
