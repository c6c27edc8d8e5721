//! Graphite names for OTLP series: the sanitised path, the tags from the attributes, and the
//! canonical names of the series derived from them (see "the mapping" in `otlp_metrics`).

use std::collections::BTreeMap;

use crate::graphite_name;

/// A point's series, before a suffix or an extra tag makes it one of the series we emit.
pub(super) struct Series<'a> {
    path: &'a str,
    /// `;key=value` for each tag, in key order.
    tags: String,
}

impl<'a> Series<'a> {
    /// The series of a point at `path` with these resource, then point, attributes.
    pub(super) fn new(
        path: &'a str,
        resource: &[(String, String)],
        point: &[(String, String)],
    ) -> Self {
        let mut tags = BTreeMap::new();
        for (key, value) in resource.iter().chain(point) {
            tags.insert(tag_key(key), tag_value(value));
        }
        let mut text = String::new();
        for (key, value) in &tags {
            if key.is_empty() || value.is_empty() {
                continue;
            }
            text.push(';');
            text.push_str(key);
            text.push('=');
            text.push_str(value);
        }
        Series { path, tags: text }
    }

    /// The canonical name of the series itself, or `None` if Graphite would refuse it.
    pub(super) fn base(&self) -> Option<String> {
        canonical(format!("{}{}", self.path, self.tags))
    }

    /// The canonical name of `<path>.<suffix>` with the same tags and `tag` (which wins).
    pub(super) fn derived(&self, suffix: &str, tag: Option<(&str, &str)>) -> Option<String> {
        let mut raw = format!("{}.{suffix}{}", self.path, self.tags);
        if let Some((key, value)) = tag {
            raw.push(';');
            raw.push_str(key);
            raw.push('=');
            raw.push_str(value);
        }
        canonical(raw)
    }
}

fn canonical(raw: String) -> Option<String> {
    match graphite_name::canonical(&raw).ok()? {
        std::borrow::Cow::Borrowed(_) => Some(raw),
        std::borrow::Cow::Owned(name) => Some(name),
    }
}

/// A metric name as a Graphite path: `.` separates nodes, everything outside
/// `[A-Za-z0-9_.-]` becomes `_`, empty nodes go.
pub(super) fn graphite_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for node in name.split('.') {
        if node.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.extend(node.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        }));
    }
    out
}

fn unprintable(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// A Graphite tag key: no `;`, `!`, `^`, `=`, whitespace or control characters.
fn tag_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if matches!(c, ';' | '!' | '^' | '=') || unprintable(c) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A Graphite tag value: no `;`, whitespace or control characters, no leading `~`.
fn tag_value(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| if c == ';' || unprintable(c) { '_' } else { c })
        .collect();
    if out.starts_with('~') {
        out.replace_range(..1, "_");
    }
    out
}

/// A bucket bound as a tag value: `f64`'s shortest round-trip text, `inf` for the open end.
pub(super) fn bound_text(bound: f64) -> String {
    if bound == f64::INFINITY {
        "inf".to_owned()
    } else {
        bound.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paths() {
        assert_eq!(
            graphite_path("http.server.request/duration"),
            "http.server.request_duration"
        );
        assert_eq!(graphite_path(".a..b c.é."), "a.b_c._");
        assert_eq!(graphite_path("..."), "");
    }

    #[test]
    fn tags_are_sanitised_sorted_and_the_point_wins() {
        let resource = pairs(&[("service.name", "shop"), ("host", "web 1"), ("empty", "")]);
        let point = pairs(&[("host", "web;2"), ("a=b", "~x"), ("", "v"), ("name", "n")]);
        let s = Series::new("cpu", &resource, &point);
        assert_eq!(
            s.base().as_deref(),
            Some("cpu;a_b=_x;host=web_2;service.name=shop")
        );
        assert_eq!(
            s.derived("bucket", Some(("le", "inf"))).as_deref(),
            Some("cpu.bucket;a_b=_x;host=web_2;le=inf;service.name=shop")
        );
        let clash = Series::new("h", &[], &pairs(&[("le", "user")]));
        assert_eq!(
            clash.derived("bucket", Some(("le", "5"))).as_deref(),
            Some("h.bucket;le=5")
        );
        assert_eq!(Series::new("", &[], &[]).base(), None);
        let long = "x".repeat(5000);
        assert_eq!(Series::new(&long, &[], &[]).base(), None);
    }

    #[test]
    fn bounds() {
        assert_eq!(bound_text(0.005), "0.005");
        assert_eq!(bound_text(10.0), "10");
        assert_eq!(bound_text(f64::INFINITY), "inf");
    }
}
