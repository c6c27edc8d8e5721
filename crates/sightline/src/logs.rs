//! `sightline logs search` and `sightline logs tail`: the events API from a shell, against a
//! running server, with an API token.
//!
//! Events print one per line (`time level service message key=value…`), or as NDJSON with
//! `--json`; a piped query (`… | stats sum(amount) by currency`) prints its table. Results go to
//! stdout, everything else to stderr.

use std::io::Write;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

#[derive(Debug, Subcommand)]
pub(crate) enum LogsCommand {
    /// Search events (newest first), or aggregate them with a `| stats …` pipe.
    Search {
        /// The query, such as `level:error AND service:billing` or
        /// `event:payment.succeeded | stats sum(amount) by currency`. A bare word or phrase
        /// (`alice@example.com`) matches the message's words and the whole value of any field;
        /// `field:value` matches that field exactly.
        query: String,
        /// How far back: `24h`, `7d`, `30m`, or any time `from=` takes (`2026-11-25T00:00:00Z`).
        #[arg(long, default_value = "24h")]
        since: String,
        /// The end of the range (default now).
        #[arg(long)]
        until: Option<String>,
        /// The most events to print.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Oldest first.
        #[arg(long)]
        reverse: bool,
        /// Print the API's JSON (NDJSON events, or the aggregation's answer).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print events matching a query as they arrive, until interrupted.
    Tail {
        /// The query (empty for everything).
        #[arg(default_value = "")]
        query: String,
        /// Print each event as a line of the API's JSON (NDJSON).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "SIGHTLINE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API token; without it, the command stops and says how to make one
    /// (`sightline token create NAME`).
    #[arg(long, env = "SIGHTLINE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl ServerArgs {
    /// The token, or an error saying how to get one.
    fn token(&self) -> anyhow::Result<&str> {
        match self.token.as_deref() {
            Some(t) if !t.trim().is_empty() => Ok(t.trim()),
            _ => bail!(
                "no API token: set SIGHTLINE_TOKEN or pass --token; make one on the server's machine with\n  export SIGHTLINE_TOKEN=$(sightline token create $USER)"
            ),
        }
    }
}

pub(crate) fn run(cmd: LogsCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        match cmd {
            LogsCommand::Search {
                query,
                since,
                until,
                limit,
                reverse,
                json,
                server,
            } => {
                search(
                    &server,
                    &query,
                    &since,
                    until.as_deref(),
                    limit,
                    reverse,
                    json,
                )
                .await
            }
            LogsCommand::Tail {
                query,
                json,
                server,
            } => tail(&server, &query, json).await,
        }
    })
}

/// A duration (`30m`, `24h`, `1h30m`: the grammar of the config and the API) becomes `-30m`;
/// anything else is passed on as a time.
fn since_param(since: &str) -> String {
    if since.parse::<model::HumanDuration>().is_ok() {
        format!("-{since}")
    } else {
        since.to_owned()
    }
}

async fn get(
    server: &ServerArgs,
    path: &str,
    params: &[(&str, String)],
) -> anyhow::Result<reqwest::Response> {
    let url = format!(
        "{}{path}?{}",
        server.url.trim_end_matches('/'),
        serde_urlencoded::to_string(params).context("encoding the query")?
    );
    let token = server.token()?;
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| {
            format!(
                "cannot reach {}; is `sightline serve` running there?",
                server.url
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        if let Some(position) = body["error"]["position"].as_u64() {
            let query = params
                .iter()
                .find(|(k, _)| *k == "q")
                .map_or("", |(_, v)| v.as_str());
            bail!(
                "{message}\n  {query}\n  {}^",
                " ".repeat(
                    query[..(position as usize).min(query.len())]
                        .chars()
                        .count()
                )
            );
        }
        bail!("{status}: {message}");
    }
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
async fn search(
    server: &ServerArgs,
    query: &str,
    since: &str,
    until: Option<&str>,
    limit: usize,
    reverse: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut params = vec![
        ("q", query.to_owned()),
        ("from", since_param(since)),
        ("limit", limit.to_string()),
        ("sort", if reverse { "asc" } else { "desc" }.to_owned()),
    ];
    if let Some(u) = until {
        params.push(("until", u.to_owned()));
    }
    let answer: Value = get(server, "/api/v1/events/search", &params)
        .await?
        .json()
        .await
        .context("reading the answer")?;
    let mut out = std::io::stdout().lock();
    if answer.get("rows").is_some() {
        if json {
            writeln!(out, "{answer}")?;
        } else {
            print_table(&mut out, &answer)?;
        }
        return Ok(());
    }
    let events = answer["events"].as_array().cloned().unwrap_or_default();
    for e in &events {
        print_event(&mut out, e, json)?;
    }
    let total = answer["total"].as_u64().unwrap_or(0);
    eprintln!("{} of {total} matching events", events.len());
    Ok(())
}

async fn tail(server: &ServerArgs, query: &str, json: bool) -> anyhow::Result<()> {
    let mut response = get(server, "/api/v1/events/tail", &[("q", query.to_owned())]).await?;
    eprintln!("tailing; ^C to stop");
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await.context("reading the stream")? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut kind = "message";
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = if k == "event" { "event" } else { "other" };
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if data.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            if kind == "event" {
                let mut out = std::io::stdout().lock();
                print_event(&mut out, &value, json)?;
                out.flush()?;
            } else {
                eprintln!("{data}");
            }
        }
    }
    bail!("the server closed the stream")
}

fn print_event(out: &mut impl Write, e: &Value, json: bool) -> std::io::Result<()> {
    if json {
        let mut e = e.clone();
        if let Some(o) = e.as_object_mut() {
            o.remove("highlight");
        }
        return writeln!(out, "{e}");
    }
    let text = |k: &str| e[k].as_str().unwrap_or("-").to_owned();
    let mut line = format!(
        "{}  {:<7} {:<10} {}",
        text("timestamp"),
        text("level"),
        text("service"),
        text("message")
    );
    let mut flat = Vec::new();
    if let Some(fields) = e["fields"].as_object() {
        flatten("", fields, &mut flat);
    }
    for (k, v) in flat {
        if shown_already(e, &k, &v) {
            continue;
        }
        line.push_str(&format!("  {k}={v}"));
    }
    writeln!(out, "{line}")
}

/// Whether sender field `key` holds what the line shows already: structlog's `event` (kept as
/// a field to count by) is the message, and a sender's `level`, `service` or `host` is the
/// column of that name (the level as normalised, so `WARN` is `warning`).
fn shown_already(e: &Value, key: &str, value: &str) -> bool {
    use wire::jsonlog::{HOST_KEYS, LEVEL_KEYS, MESSAGE_KEYS, SERVICE_KEYS};
    let core = |name: &str| e[name].as_str().unwrap_or("\u{0}");
    if MESSAGE_KEYS.contains(&key) {
        return value == core("message");
    }
    if SERVICE_KEYS.contains(&key) {
        return value == core("service");
    }
    if HOST_KEYS.contains(&key) {
        return value == core("host");
    }
    if LEVEL_KEYS.contains(&key) {
        let normalised = model::event::normalize_level(&Value::String(value.to_owned()));
        return value == core("level") || normalised.as_deref() == Some(core("level"));
    }
    false
}

fn flatten(prefix: &str, obj: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in obj {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => flatten(&key, inner, out),
            Value::String(s) => out.push((key, s.clone())),
            other => out.push((key, other.to_string())),
        }
    }
}

/// An aggregation's rows as aligned columns.
fn print_table(out: &mut impl Write, answer: &Value) -> std::io::Result<()> {
    let columns: Vec<String> = answer["columns"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() != 0.0 => format!("{x:.2}"),
            Some(x) if x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    // Group-by columns come before `count`; a null key is the bucket of events without it.
    let keys = columns.iter().position(|c| c == "count").unwrap_or(0);
    let mut rows: Vec<Vec<String>> = vec![columns.clone()];
    for row in answer["rows"].as_array().into_iter().flatten() {
        rows.push(
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| match &row[c] {
                    Value::Null if i < keys && c != "time" => "(missing)".to_owned(),
                    v => cell(v),
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_shown_once() {
        let e = serde_json::json!({
            "timestamp": "2026-11-25T00:00:00Z", "level": "warning", "service": "auth",
            "host": "web-1", "message": "user.signed_up",
            "fields": {"event": "user.signed_up", "level": "WARN", "service": "auth",
                       "host": "web-1", "plan": "pro", "user": {"id": 7}}
        });
        let mut out = Vec::new();
        print_event(&mut out, &e, false).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line.trim_end(),
            "2026-11-25T00:00:00Z  warning auth       user.signed_up  plan=pro  user.id=7"
        );
    }

    #[test]
    fn since_reads_durations_and_times() {
        assert_eq!(since_param("24h"), "-24h");
        assert_eq!(since_param("7d"), "-7d");
        assert_eq!(since_param("2026-11-25T00:00:00Z"), "2026-11-25T00:00:00Z");
        assert_eq!(since_param("1795618800"), "1795618800");
        assert_eq!(since_param("-1h"), "-1h");
        assert_eq!(since_param("30m"), "-30m");
        assert_eq!(since_param("1h30m"), "-1h30m");
        assert_eq!(since_param("midnight"), "midnight");
    }
}
