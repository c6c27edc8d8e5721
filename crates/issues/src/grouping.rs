//! Grouping, version [`VERSION`]: which issue an event belongs to, and why.
//!
//! Rules, first that applies:
//! 1. **fingerprint**: the client's `fingerprint`, with `{{ default }}` replaced by the
//!    components the rules below give.
//! 2. **stacktrace**: for each exception of the chain (cause first), its `type` (unless the
//!    SDK marked it synthetic) and its last [`APP_FRAMES`] in-app frames (all frames when none
//!    is in-app; the SDK's own frames never), each as `module` (or the file's base name) and the
//!    normalised function.
//! 3. **exception**: the main exception's `type` and its value with variable parts replaced.
//! 4. **message**: the message template (`logentry.message`), or the message with numbers,
//!    ids, hex, UUIDs, URLs, IPs and e-mail addresses replaced by placeholders. An event whose
//!    only exception is synthetic (JS `captureMessage`) groups by its message.
//!
//! The hash covers the version and the components, so a new version is a new set of keys.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::normalize::{self, Exception};

pub const VERSION: &str = "v1";
/// In-app frames of each exception that count, nearest the crash.
pub const APP_FRAMES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Fingerprint,
    Stacktrace,
    Exception,
    Message,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Fingerprint => "fingerprint",
            Rule::Stacktrace => "stacktrace",
            Rule::Exception => "exception",
            Rule::Message => "message",
        }
    }
}

/// An event's group: the key, the rule that made it, and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub hash: String,
    pub rule: Rule,
    pub components: Vec<String>,
}

pub fn group(event: &Value) -> Grouping {
    let (default_rule, default) = default_components(event);
    let (rule, components) = match event.get("fingerprint").and_then(Value::as_array) {
        Some(parts) if !parts.is_empty() => {
            let mut out = Vec::new();
            for p in parts {
                let text = match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if is_default_placeholder(&text) {
                    out.extend(default.iter().cloned());
                } else {
                    out.push(text);
                }
            }
            (Rule::Fingerprint, out)
        }
        _ => (default_rule, default),
    };
    let mut hasher = Sha256::new();
    hasher.update(VERSION.as_bytes());
    for c in &components {
        hasher.update([0]);
        hasher.update(c.as_bytes());
    }
    let digest = hasher.finalize();
    Grouping {
        hash: hex::encode(&digest[..16]),
        rule,
        components,
    }
}

fn is_default_placeholder(text: &str) -> bool {
    let inner: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    inner.eq_ignore_ascii_case("{{default}}")
}

fn default_components(event: &Value) -> (Rule, Vec<String>) {
    let exceptions = normalize::exceptions(event);
    let message = normalize::message_template(event);
    // JS `captureMessage` attaches a synthetic exception: such an event is a message.
    let is_message =
        exceptions.is_empty() || (exceptions.iter().all(|e| e.synthetic) && message.is_some());
    if !is_message {
        let mut components = Vec::new();
        let mut frames_used = false;
        for e in &exceptions {
            if !e.synthetic
                && let Some(t) = &e.ty
            {
                components.push(t.clone());
            }
            for frame in app_frames(e) {
                components.push(frame);
                frames_used = true;
            }
        }
        if frames_used {
            return (Rule::Stacktrace, components);
        }
        if let Some(main) = exceptions.last() {
            let mut components = Vec::new();
            if let Some(t) = main.ty.as_ref().filter(|_| !main.synthetic) {
                components.push(t.clone());
            }
            if let Some(v) = &main.value {
                components.push(parameterize(v));
            }
            if !components.is_empty() {
                return (Rule::Exception, components);
            }
        }
    }
    let text = message.unwrap_or_default();
    (Rule::Message, vec![parameterize(&text)])
}

/// The frames of one exception that identify it: `module:function`, nearest the crash last.
fn app_frames(e: &Exception) -> Vec<String> {
    let own: Vec<&normalize::Frame> = e.frames.iter().filter(|f| !f.is_noise()).collect();
    let in_app: Vec<&normalize::Frame> = own.iter().copied().filter(|f| f.in_app).collect();
    let chosen = if in_app.is_empty() { own } else { in_app };
    let skip = chosen.len().saturating_sub(APP_FRAMES);
    chosen
        .into_iter()
        .skip(skip)
        .filter_map(|f| {
            let place = f.module.clone().or_else(|| {
                f.filename
                    .as_deref()
                    .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_lowercase())
            });
            let function = f.function.as_deref().map(normalize_function);
            match (place, function) {
                (None, None) => None,
                (p, func) => Some(format!(
                    "{}:{}",
                    p.unwrap_or_default(),
                    func.unwrap_or_default()
                )),
            }
        })
        .collect()
}

/// A function name without what changes between builds: Rust's `::h<hash>` suffix, closure
/// and lambda numbering, addresses.
pub fn normalize_function(name: &str) -> String {
    static RULES: OnceLock<[(Regex, &'static str); 3]> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let r = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        [
            (r(r"::h[0-9a-f]{16}$"), ""),
            (r(r"0x[0-9a-fA-F]+"), "<addr>"),
            (r(r"(lambda|closure|anon)(\$|_)?\d+"), "$1"),
        ]
    });
    let mut out = name.to_owned();
    for (re, with) in rules {
        out = re.replace_all(&out, *with).into_owned();
    }
    out
}

/// Text with its variable parts replaced: `order 1234 for bob@x.io` → `order <int> for <email>`.
pub fn parameterize(text: &str) -> String {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let r = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        vec![
            (r(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\x22<>]+"), "<url>"),
            (r(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
            (
                r(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"),
                "<uuid>",
            ),
            (r(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "<ip>"),
            (r(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
            (r(r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b"), "<hex>"),
            (r(r"-?\b\d+\.\d+\b"), "<float>"),
            (r(r"-?\b\d+\b"), "<int>"),
        ]
    });
    let mut out = text.to_owned();
    for (re, with) in rules {
        out = re.replace_all(&out, *with).into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_become_placeholders() {
        assert_eq!(
            parameterize("timeout for order 1234 after 2.5 s"),
            "timeout for order <int> after <float> s"
        );
        assert_eq!(
            parameterize("user bob@example.com from 10.0.0.7 at https://x.io/a?b=1"),
            "user <email> from <ip> at <url>"
        );
        assert_eq!(
            parameterize(
                "job 9ec79c33-ec99-42ab-8353-589fcb2e04dc and 9ec79c33ec9942ab8353589fcb2e04dc"
            ),
            "job <uuid> and <uuid>"
        );
        assert_eq!(
            parameterize("ptr 0x7ffd1 id a3f9c2e1"),
            "ptr <hex> id <hex>"
        );
        assert_eq!(parameterize("cache miss"), "cache miss");
        assert_eq!(
            normalize_function("app::main::h0123456789abcdef"),
            "app::main"
        );
        assert_eq!(normalize_function("<lambda>"), "<lambda>");
    }
}
