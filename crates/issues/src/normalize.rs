//! Lenient reading of Sentry event payloads, as Relay reads them: lists arrive wrapped in
//! `{"values": […]}`, bare, or as a single object; tags as an object or as pairs; timestamps
//! as RFC 3339 or as float seconds; levels as names or Python's numbers; the message as a
//! string or as `logentry`. Nothing here rejects an event: what cannot be read is absent.

use serde_json::{Map, Value};

/// `{"values": [...]}`, a bare array, or one object, as a list.
pub fn values(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(_) => Vec::new(),
            None => vec![v.unwrap_or(&Value::Null)],
        },
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// A JSON value as text, whatever its type (Relay's "lenient string").
pub fn lenient_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key)
        .and_then(lenient_string)
        .filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub module: Option<String>,
    pub filename: Option<String>,
    pub abs_path: Option<String>,
    pub function: Option<String>,
    pub package: Option<String>,
    pub in_app: bool,
    pub lineno: Option<i64>,
}

impl Frame {
    /// Whether the frame is the Sentry SDK's own (its capture machinery on the stack): Python's
    /// `sentry_sdk` package, Rust's `sentry`/`sentry_*` crates, JS's `@sentry/` packages. A
    /// user's own `sentry_….py` or `sentry_….js` is not.
    pub fn is_sdk(&self) -> bool {
        let rust_crate = |s: &str| {
            let s = s.trim_start_matches(['<', '&']);
            s.split_once("::").is_some_and(|(krate, _)| {
                krate == "sentry"
                    || krate.strip_prefix("sentry_").is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
            })
        };
        let python_sdk = |s: &str| s == "sentry_sdk" || s.starts_with("sentry_sdk.");
        let module = self.module.as_deref().unwrap_or("");
        let function = self.function.as_deref().unwrap_or("");
        let package = self.package.as_deref().unwrap_or("");
        let file = self.filename.as_deref().unwrap_or("");
        // Rust frames of a debug build name functions without their crate: the source path
        // says (`…/registry/src/…/sentry-core-0.49.5/src/hub.rs`).
        let sdk_crate_dir = self.abs_path.as_deref().is_some_and(|p| {
            p.split(['/', '\\']).any(|segment| {
                segment.strip_prefix("sentry").is_some_and(|rest| {
                    rest.starts_with('-')
                        && rest.bytes().any(|b| b.is_ascii_digit())
                        && rest.contains('.')
                })
            })
        });
        sdk_crate_dir
            || python_sdk(module)
            || rust_crate(module)
            || rust_crate(function)
            || package.contains("@sentry/")
            || module.starts_with("@sentry/")
            || file.contains("/sentry_sdk/")
            || file.starts_with("sentry_sdk/")
            || file.contains("@sentry/")
    }

    /// Whether the frame is the SDK's or Rust's runtime (`std`, `core`, `alloc`, the panic
    /// machinery), which the Rust SDK reports as in-app but says nothing about where the error is.
    pub fn is_noise(&self) -> bool {
        let function = self.function.as_deref().unwrap_or("");
        let std_path = |f: &str| {
            let f = f.trim_start_matches(['<', '&']).trim_start_matches("dyn ");
            ["std::", "core::", "alloc::", "__rustc::"]
                .iter()
                .any(|p| f.starts_with(p))
        };
        // `<T as Trait>::f`: the runtime's when the trait is std's and T a primitive or std's.
        let rust_runtime = std_path(function)
            || function
                .strip_prefix('<')
                .and_then(|f| f.split_once(" as "))
                .is_some_and(|(ty, tr)| std_path(tr) && (!ty.contains("::") || std_path(ty)));
        let std_source = self.abs_path.as_deref().is_some_and(|p| {
            p.starts_with("/rustc/")
                || ["/library/std/", "/library/core/", "/library/alloc/"]
                    .iter()
                    .any(|l| p.contains(l))
        });
        self.is_sdk() || rust_runtime || std_source
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub ty: Option<String>,
    pub value: Option<String>,
    pub module: Option<String>,
    /// The SDK made it up (JS `captureMessage` attaches a stack to a synthetic exception).
    pub synthetic: bool,
    /// Oldest first; the crashing frame last.
    pub frames: Vec<Frame>,
}

/// The exception chain, cause first and the raised exception last, as SDKs send it.
pub fn exceptions(event: &Value) -> Vec<Exception> {
    let mut out = Vec::new();
    for e in values(event.get("exception")) {
        let Some(o) = e.as_object() else { continue };
        let stack = o.get("stacktrace").or_else(|| {
            // A single exception may come with the legacy top-level stacktrace.
            event.get("stacktrace")
        });
        let frames = stack
            .and_then(|s| s.get("frames"))
            .and_then(Value::as_array)
            .map(|frames| {
                frames
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|f| Frame {
                        module: text(f, "module"),
                        filename: text(f, "filename").or_else(|| text(f, "abs_path")),
                        abs_path: text(f, "abs_path"),
                        function: text(f, "function"),
                        package: text(f, "package"),
                        in_app: f.get("in_app").and_then(Value::as_bool).unwrap_or(false),
                        lineno: f.get("lineno").and_then(Value::as_i64),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Exception {
            ty: text(o, "type"),
            value: text(o, "value"),
            module: text(o, "module"),
            synthetic: o
                .get("mechanism")
                .and_then(|m| m.get("synthetic"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            frames,
        });
    }
    out
}

/// The message as a template when there is one (`logentry.message` with params), else the
/// message text.
pub fn message_template(event: &Value) -> Option<String> {
    for key in ["logentry", "message"] {
        match event.get(key) {
            Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
            Some(Value::Object(o)) => {
                if let Some(m) = text(o, "message").or_else(|| text(o, "formatted")) {
                    return Some(m);
                }
            }
            _ => {}
        }
    }
    None
}

/// The message as shown: `logentry.formatted`, else the message or template.
pub fn message_formatted(event: &Value) -> Option<String> {
    for key in ["logentry", "message"] {
        match event.get(key) {
            Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
            Some(Value::Object(o)) => {
                if let Some(m) = text(o, "formatted").or_else(|| text(o, "message")) {
                    return Some(m);
                }
            }
            _ => {}
        }
    }
    None
}

/// The level: a name (`warning`, `fatal`…; `warn`, `critical`, `log` mapped) or Python's
/// numeric levels; `error` when absent.
pub fn level(event: &Value) -> &'static str {
    match event.get("level") {
        Some(Value::Number(n)) => match n.as_i64().unwrap_or(40) {
            i64::MIN..=10 => "debug",
            11..=20 => "info",
            21..=30 => "warning",
            31..=40 => "error",
            _ => "fatal",
        },
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => "debug",
            "info" | "log" => "info",
            "warning" | "warn" => "warning",
            "fatal" | "critical" => "fatal",
            _ => "error",
        },
        _ => "error",
    }
}

/// Tags from an object or from `[key, value]` pairs.
pub fn tags(event: &Value) -> Vec<(String, String)> {
    match event.get("tags") {
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), lenient_string(v)?)))
            .collect(),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .filter_map(|p| {
                let p = p.as_array()?;
                Some((lenient_string(p.first()?)?, lenient_string(p.get(1)?)?))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The event's time in seconds: RFC 3339 text or float seconds.
pub fn timestamp(event: &Value) -> Option<f64> {
    match event.get("timestamp")? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| rfc3339_seconds(s)),
        _ => None,
    }
}

fn rfc3339_seconds(s: &str) -> Option<f64> {
    // A naive time (no zone) is UTC, as Relay reads it.
    let with_zone = if s.ends_with('Z')
        || s[s.len().saturating_sub(6)..].contains(['+', '-']) && s.len() > 19
    {
        s.to_owned()
    } else {
        format!("{s}Z")
    };
    let ts: jiff::Timestamp = with_zone.parse().ok()?;
    Some(ts.as_nanosecond() as f64 / 1e9)
}

/// Who the event happened to, as one key: the id, else the username, e-mail or IP address.
pub fn user_key(event: &Value) -> Option<String> {
    let user = event.get("user")?.as_object()?;
    for (key, prefix) in [
        ("id", "id"),
        ("username", "username"),
        ("email", "email"),
        ("ip_address", "ip"),
    ] {
        if let Some(v) = text(user, key).filter(|v| v != "{{auto}}") {
            return Some(format!("{prefix}:{v}"));
        }
    }
    None
}

/// The issue title: `Type: first line of the value`, or the message.
pub fn title(event: &Value) -> String {
    let exceptions = exceptions(event);
    if let Some(main) = exceptions.last().filter(|e| !e.synthetic) {
        let value = main
            .value
            .as_deref()
            .and_then(|v| v.lines().next())
            .unwrap_or("");
        return match (&main.ty, value) {
            (Some(t), "") => t.clone(),
            (Some(t), v) => format!("{t}: {v}"),
            (None, v) if !v.is_empty() => v.to_owned(),
            _ => message_formatted(event).unwrap_or_else(|| "<unknown error>".into()),
        };
    }
    message_formatted(event)
        .map(|m| m.lines().next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "<no message>".into())
}

/// Where it happened: the transaction, else the last in-app frame's `module in function`.
pub fn culprit(event: &Value) -> Option<String> {
    if let Some(t) = event.get("transaction").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    let exceptions = exceptions(event);
    let frame = exceptions
        .last()?
        .frames
        .iter()
        .rev()
        .find(|f| f.in_app && !f.is_noise())?;
    let place = frame.module.clone().or_else(|| frame.filename.clone())?;
    Some(match &frame.function {
        Some(func) => format!("{place} in {func}"),
        None => place,
    })
}

/// The event as a log event for the event store, so "what did this user do" shows errors
/// beside everything else: the title as the message, the level, the release's name as the
/// service, `server_name` as the host, and the user, tags, environment, release, issue and
/// event ids as fields (under `error.` and `user.`).
pub fn log_event(
    event: &Value,
    project_id: i64,
    issue_id: i64,
    event_id: &str,
    received_ns: i64,
) -> model::LogEvent {
    let mut fields = Map::new();
    let mut error = Map::new();
    error.insert("project_id".into(), Value::from(project_id));
    error.insert("issue_id".into(), Value::from(issue_id));
    error.insert("event_id".into(), Value::from(event_id));
    if let Some(e) = exceptions(event).last().filter(|e| !e.synthetic) {
        if let Some(t) = &e.ty {
            error.insert("type".into(), Value::from(t.as_str()));
        }
        if let Some(v) = &e.value {
            error.insert("value".into(), Value::from(v.as_str()));
        }
    }
    if let Some(c) = culprit(event) {
        error.insert("culprit".into(), Value::from(c));
    }
    fields.insert("error".into(), Value::Object(error));
    if let Some(user) = event.get("user").and_then(Value::as_object) {
        let mut u = user.clone();
        u.retain(|k, v| !v.is_null() && k != "data" && k != "geo");
        fields.insert("user".into(), Value::Object(u));
    }
    for key in [
        "release",
        "environment",
        "logger",
        "transaction",
        "platform",
    ] {
        if let Some(v) = event.get(key).and_then(Value::as_str) {
            fields.insert(key.into(), Value::from(v));
        }
    }
    let tags = tags(event);
    if !tags.is_empty() {
        let map: Map<String, Value> = tags.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
        fields.insert("tags".into(), Value::Object(map));
    }
    let release = event.get("release").and_then(Value::as_str);
    model::LogEvent {
        timestamp_ns: timestamp(event)
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(received_ns, |t| (t * 1e9) as i64),
        message: title(event),
        level: Some(level(event).to_owned()),
        service: release.map(|r| r.split('@').next().unwrap_or(r).to_owned()),
        host: event
            .get("server_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sdk_frames_are_recognised_and_user_files_are_not() {
        let frame = |module: &str, function: &str, file: &str| Frame {
            module: Some(module.into()).filter(|m: &String| !m.is_empty()),
            filename: Some(file.into()),
            abs_path: Some(file.into()),
            function: Some(function.into()),
            package: None,
            in_app: true,
            lineno: None,
        };
        assert!(frame("sentry_sdk.api", "capture", "api.py").is_sdk());
        assert!(frame("", "sentry_panic::panic_handler::{{closure}}", "lib.rs").is_sdk());
        assert!(frame("", "sentry::capture_error", "lib.rs").is_sdk());
        assert!(frame("x", "f", "/app/node_modules/@sentry/core/build/x.js").is_sdk());
        assert!(!frame("sentry_node", "parseOrder", "/app/sentry_node.js").is_sdk());
        assert!(!frame("__main__", "divide", "sentry_sender.py").is_sdk());
        assert!(!frame("", "myapp::sentry_setup", "main.rs").is_sdk());
        assert!(
            frame(
                "",
                "<sentry_panic::PanicIntegration as sentry_core::Integration>::setup",
                "lib.rs"
            )
            .is_sdk()
        );
        assert!(
            frame(
                "",
                "<usize as core::slice::index::SliceIndex<[T]>>::index",
                "index.rs"
            )
            .is_noise()
        );
        assert!(frame("", "__rustc::rust_begin_unwind", "panicking.rs").is_noise());
        assert!(!frame("", "rustdrv::main", "main.rs").is_noise());
        let debug_build = |function: &str, path: &str| frame("", function, path).is_noise();
        assert!(debug_build(
            "with_active<…>",
            "/home/u/.cargo/registry/src/index.crates.io-1/sentry-core-0.49.5/src/hub.rs"
        ));
        assert!(debug_build(
            "index<u8, usize>",
            "/rustc/5980761/library/core/src/slice/index.rs"
        ));
        assert!(
            !debug_build("handler", "/app/src/sentry-glue/main.rs"),
            "no version: the user's"
        );
    }

    #[test]
    fn lenient_shapes() {
        let wrapped = json!({"exception": {"values": [{"type": "E"}]}});
        let bare = json!({"exception": [{"type": "E"}]});
        let single = json!({"exception": {"type": "E"}});
        for e in [wrapped, bare, single] {
            assert_eq!(exceptions(&e)[0].ty.as_deref(), Some("E"), "{e}");
        }
        assert_eq!(
            tags(&json!({"tags": [["a", "1"], ["b", 2]]})),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            tags(&json!({"tags": {"a": "1"}})),
            [("a".into(), "1".into())]
        );
        assert_eq!(level(&json!({"level": 30})), "warning");
        assert_eq!(level(&json!({"level": "critical"})), "fatal");
        assert_eq!(level(&json!({})), "error");
        assert_eq!(
            timestamp(&json!({"timestamp": 1795575494.72})),
            Some(1795575494.72)
        );
        let t = timestamp(&json!({"timestamp": "2026-11-25T02:52:22.318086Z"})).unwrap_or(0.0);
        assert!((t - 1_795_575_142.318_086).abs() < 1e-3, "{t}");
        let naive = timestamp(&json!({"timestamp": "2026-11-25T02:52:22"})).unwrap_or(0.0);
        assert!((naive - 1_795_575_142.0).abs() < 1e-3, "{naive}");
        assert_eq!(
            message_template(
                &json!({"logentry": {"message": "order %s", "params": [1], "formatted": "order 1"}})
            )
            .as_deref(),
            Some("order %s")
        );
        assert_eq!(
            message_formatted(&json!({"message": {"formatted": "x"}})).as_deref(),
            Some("x")
        );
        assert_eq!(
            user_key(&json!({"user": {"email": "a@b.c", "ip_address": "1.2.3.4"}})).as_deref(),
            Some("email:a@b.c")
        );
        assert_eq!(user_key(&json!({"user": {"ip_address": "{{auto}}"}})), None);
    }
}
