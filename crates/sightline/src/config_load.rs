//! Loading the configuration: defaults, then `sightline.toml`, then `SIGHTLINE_*` environment
//! variables, then CLI flags; later sources win.
//!
//! Every layer is merged into one TOML table before a single typed deserialisation, so all
//! three sources share the same validation. Each key remembers which source set it, and an
//! error names that source, the dotted key and the reason:
//!
//! ```text
//! config file /etc/sightline.toml: key `http.addr`: invalid socket address syntax
//! environment variable SIGHTLINE_HTTP_ADDR (key `http.addr`): invalid socket address syntax
//! ```
//!
//! Environment names map to keys by lowercasing and matching a section prefix:
//! `SIGHTLINE_HTTP_MAX_BODY_SIZE` is `http.max_body_size`, `SIGHTLINE_DATA_DIR` is `data_dir`.
//! `__` separates sections explicitly (`SIGHTLINE_AUTH__LOGIN_WINDOW`). A variable that names no
//! key is an error, like an unknown key in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use server::Config;
use toml::{Table, Value};

/// Environment variables that are not config keys.
const NOT_CONFIG: &[&str] = &["SIGHTLINE_CONFIG", "SIGHTLINE_URL", "SIGHTLINE_TOKEN"];
/// Short names the issue tracker and README promise, for keys deeper than their name says.
const ALIASES: &[(&str, &str)] = &[("SIGHTLINE_ADMIN_PASSWORD", "auth.admin_password")];

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

/// A configuration error, naming the source, the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) origin: Option<Origin>,
    pub(crate) key: Option<String>,
    pub(crate) reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, &self.key) {
            (Some(Origin::File(p)), Some(k)) => {
                write!(f, "config file {}: key `{k}`: ", p.display())?
            }
            (Some(Origin::File(p)), None) => write!(f, "config file {}: ", p.display())?,
            (Some(Origin::Env(v)), Some(k)) => write!(f, "environment variable {v} (key `{k}`): ")?,
            (Some(Origin::Env(v)), None) => write!(f, "environment variable {v}: ")?,
            (Some(Origin::Flag(flag)), _) => write!(f, "flag {flag}: ")?,
            (None, Some(k)) => write!(f, "config key `{k}`: ")?,
            (None, None) => f.write_str("config: ")?,
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Settings given as CLI flags, which override everything else.
#[derive(Debug, Default, Clone)]
pub(crate) struct FlagOverrides {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) http_addr: Option<String>,
    pub(crate) log_level: Option<String>,
}

/// The merged settings and the source of each key.
struct Layers {
    table: Table,
    origins: BTreeMap<String, Origin>,
    file: Option<PathBuf>,
}

/// Loads and validates the configuration.
///
/// `file` is the explicit `--config` path; without one, `./sightline.toml` is read if present.
pub(crate) fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &FlagOverrides,
) -> Result<(Config, Option<PathBuf>), ConfigError> {
    let mut layers = read_file(file)?;
    apply_env(&mut layers, env)?;
    apply_flags(&mut layers, flags);
    let config = deserialize(&layers)?;
    config
        .validate()
        .map_err(|e| layers.error_at(e.key, e.reason))?;
    validate_log_level(&config.log.level).map_err(|reason| layers.error_at("log.level", reason))?;
    Ok((config, layers.file))
}

fn read_file(explicit: Option<&Path>) -> Result<Layers, ConfigError> {
    let default_path = Path::new("sightline.toml");
    let path = match explicit {
        Some(p) => p.to_owned(),
        None if default_path.is_file() => default_path.to_owned(),
        None => {
            return Ok(Layers {
                table: Table::new(),
                origins: BTreeMap::new(),
                file: None,
            });
        }
    };
    let origin = Some(Origin::File(path.clone()));
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        origin: origin.clone(),
        key: None,
        reason: format!("cannot read: {e}"),
    })?;
    let table: Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
        origin,
        key: None,
        reason: syntax_error(&text, &e),
    })?;
    let mut origins = BTreeMap::new();
    record_origins(&table, "", &Origin::File(path.clone()), &mut origins);
    Ok(Layers {
        table,
        origins,
        file: Some(path),
    })
}

fn record_origins(
    table: &Table,
    prefix: &str,
    origin: &Origin,
    out: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let Value::Table(inner) = value {
            record_origins(inner, &dotted, origin, out);
        } else {
            out.insert(dotted, origin.clone());
        }
    }
}

fn apply_env(
    layers: &mut Layers,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let defaults = default_table();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with("SIGHTLINE_"))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        if NOT_CONFIG.contains(&name.as_str()) {
            continue;
        }
        let Some(key) = env_key(&name, &defaults) else {
            return Err(ConfigError {
                origin: Some(Origin::Env(name)),
                key: None,
                reason: "names no configuration key".into(),
            });
        };
        let value = typed_value(&key, &raw, &defaults);
        set_dotted(&mut layers.table, &key, value);
        layers.origins.insert(key, Origin::Env(name));
    }
    Ok(())
}

/// The dotted key an environment variable names, if any.
fn env_key(name: &str, defaults: &Table) -> Option<String> {
    if let Some((_, key)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("SIGHTLINE_")?.to_ascii_lowercase();
    if rest.contains("__") {
        return Some(rest.replace("__", "."));
    }
    if defaults.contains_key(&rest) && !defaults[&rest].is_table() {
        return Some(rest);
    }
    defaults
        .iter()
        .filter(|(_, v)| v.is_table())
        .find_map(|(section, _)| {
            let key = rest.strip_prefix(section.as_str())?.strip_prefix('_')?;
            Some(format!("{section}.{key}"))
        })
}

/// An environment value typed like the default at its key: strings stay strings (so a numeric
/// password is not turned into an integer), anything else is read as a TOML value.
fn typed_value(key: &str, raw: &str, defaults: &Table) -> Value {
    match lookup(defaults, key) {
        Some(Value::String(_)) | None => Value::String(raw.to_owned()),
        Some(_) => format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(raw.to_owned())),
    }
}

fn lookup<'a>(table: &'a Table, key: &str) -> Option<&'a Value> {
    let (section, rest) = match key.split_once('.') {
        Some((section, rest)) => (section, Some(rest)),
        None => (key, None),
    };
    let value = table.get(section)?;
    match rest {
        Some(rest) => lookup(value.as_table()?, rest),
        None => Some(value),
    }
}

fn apply_flags(layers: &mut Layers, flags: &FlagOverrides) {
    let pairs = [
        (
            "data_dir",
            "--data-dir",
            flags.data_dir.as_ref().map(|p| p.display().to_string()),
        ),
        ("http.addr", "--http-addr", flags.http_addr.clone()),
        ("log.level", "--log-level", flags.log_level.clone()),
    ];
    for (key, flag, value) in pairs {
        if let Some(value) = value {
            set_dotted(&mut layers.table, key, Value::String(value));
            layers.origins.insert(key.to_owned(), Origin::Flag(flag));
        }
    }
}

fn set_dotted(table: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part)
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(inner) = entry else { return };
        current = inner;
    }
    current.insert(last.to_owned(), value);
}

fn deserialize(layers: &Layers) -> Result<Config, ConfigError> {
    let value = Value::Table(layers.table.clone());
    serde_path_to_error::deserialize::<_, Config>(value).map_err(|e| {
        let mut path = e.path().to_string();
        let mut reason = one_line(e.inner().message());
        // The toml deserialiser names the key itself; ours goes in front, so drop its copy.
        if let Some(at) = reason.rfind(" in `") {
            reason.truncate(at);
        }
        if let Some(field) = unknown_field(&reason) {
            if path == "." {
                path = field.clone();
            } else if !path.ends_with(&format!(".{field}")) && path != field {
                path = format!("{path}.{field}");
            }
            let expected = reason.split_once(", ").map_or("", |(_, r)| r);
            reason = if expected.is_empty() {
                "unknown key".into()
            } else {
                format!("unknown key; {expected}")
            };
        }
        layers.error_at_owned(path, reason)
    })
}

/// The field named by serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

impl Layers {
    fn error_at(&self, key: &str, reason: String) -> ConfigError {
        self.error_at_owned(key.to_owned(), reason)
    }

    fn error_at_owned(&self, key: String, reason: String) -> ConfigError {
        let origin = self.origins.get(&key).cloned().or_else(|| {
            // A key that was not set (say, a whole section) belongs to the file, if there is one.
            self.file.clone().map(Origin::File)
        });
        ConfigError {
            origin,
            key: Some(key),
            reason,
        }
    }
}

fn default_table() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(t)) => t,
        _ => Table::new(),
    }
}

fn validate_log_level(level: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| ())
        .map_err(|e| format!("invalid log filter `{level}`: {e}"))
}

/// A TOML syntax error as one line: where it is and what is wrong.
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let message = one_line(e.message());
    let Some(span) = e.span() else { return message };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
