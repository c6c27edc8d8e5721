//! Graphite series names: plain paths and Graphite 1.1 tagged names, made canonical.
//!
//! A plain path is stored as sent, except that runs of `.` collapse to one and leading or
//! trailing dots are dropped (`.a..b.` is `a.b`), as carbon's files on disk make them. A tagged
//! name is `path;k1=v1;k2=v2`: each segment splits at its first `=`; a key is non-empty and
//! free of `;!^=`; a value is non-empty and does not start with `~`; a repeated key keeps its
//! last value; and the canonical form sorts the tags by key. `name` is itself a tag whose value
//! is the path, so a `name=` segment in the input is ignored, as carbon overrides it.
//!
//! Unlike carbon, which stores a name with a malformed tag under its raw text, we refuse it:
//! a raw name with tags that cannot be queried helps nobody.

use std::borrow::Cow;

/// The longest name we accept, in bytes.
pub const MAX_NAME_BYTES: usize = 4096;

/// Why a series name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty series name")]
    Empty,
    #[error("series name is {0} bytes, over the {MAX_NAME_BYTES}-byte limit")]
    TooLong(usize),
    #[error("series name contains a control character or whitespace")]
    BadCharacter,
    #[error("bad tag `{0}`: {1}")]
    BadTag(String, &'static str),
}

/// The canonical form of `raw`, borrowed when `raw` is already canonical.
pub fn canonical(raw: &str) -> Result<Cow<'_, str>, NameError> {
    if raw.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong(raw.len()));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NameError::BadCharacter);
    }
    let (path, tags) = match raw.split_once(';') {
        Some((path, tags)) => (path, Some(tags)),
        None => (raw, None),
    };
    let path = normalize_path(path)?;
    let Some(tags) = tags else {
        return Ok(path);
    };
    let tags = parse_tags(tags)?;
    let mut out = String::with_capacity(raw.len());
    out.push_str(&path);
    for (key, value) in &tags {
        out.push(';');
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    if out == raw {
        Ok(Cow::Borrowed(raw))
    } else {
        Ok(Cow::Owned(out))
    }
}

fn normalize_path(path: &str) -> Result<Cow<'_, str>, NameError> {
    let trimmed = path.trim_matches('.');
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if !trimmed.contains("..") {
        return Ok(Cow::Borrowed(trimmed));
    }
    let mut out = String::with_capacity(trimmed.len());
    for part in trimmed.split('.').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(part);
    }
    Ok(Cow::Owned(out))
}

/// Tags sorted by key, the last of a repeated key winning, `name` dropped.
fn parse_tags(text: &str) -> Result<Vec<(&str, &str)>, NameError> {
    let mut tags: Vec<(&str, &str)> = Vec::new();
    for segment in text.split(';') {
        let bad = |why| NameError::BadTag(segment.to_owned(), why);
        let (key, value) = segment
            .split_once('=')
            .ok_or_else(|| bad("expected key=value"))?;
        if key.is_empty() {
            return Err(bad("empty key"));
        }
        if key.contains(['!', '^']) {
            return Err(bad("a key may not contain `!` or `^`"));
        }
        if value.is_empty() {
            return Err(bad("empty value"));
        }
        if value.starts_with('~') {
            return Err(bad("a value may not start with `~`"));
        }
        if key == "name" {
            continue;
        }
        tags.retain(|(k, _)| *k != key);
        tags.push((key, value));
    }
    tags.sort_by(|a, b| a.0.cmp(b.0));
    Ok(tags)
}

/// Splits a canonical name into its path and its `(key, value)` tags.
pub fn split_tags(canonical: &str) -> (&str, impl Iterator<Item = (&str, &str)>) {
    let (path, rest) = canonical.split_once(';').unwrap_or((canonical, ""));
    let tags = rest
        .split(';')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.split_once('='));
    (path, tags)
}

/// Whether a canonical name carries tags.
pub fn is_tagged(canonical: &str) -> bool {
    canonical.contains(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, &str>) {
        let got = canonical(input)
            .map(|c| c.into_owned())
            .map_err(|e| e.to_string());
        assert_eq!(
            got.as_deref(),
            expect.map_err(str::to_owned).as_deref(),
            "input {input:?}"
        );
    }

    #[test]
    fn paths() {
        check("a.b.c", Ok("a.b.c"));
        check(".a..b...c.", Ok("a.b.c"));
        check(
            "servers.web-1.cpu_user:p95",
            Ok("servers.web-1.cpu_user:p95"),
        );
        check("t.utf8é", Ok("t.utf8é"));
        check("...", Err("empty series name"));
        check(
            "a\u{7}b",
            Err("series name contains a control character or whitespace"),
        );
        check(
            "a b",
            Err("series name contains a control character or whitespace"),
        );
        check(
            &"x".repeat(MAX_NAME_BYTES + 1),
            Err("series name is 4097 bytes, over the 4096-byte limit"),
        );
    }

    #[test]
    fn tags() {
        check(
            "disk.used;rack=a1;datacenter=dc1;server=web01",
            Ok("disk.used;datacenter=dc1;rack=a1;server=web01"),
        );
        check("a;k=v=w", Ok("a;k=v=w"));
        check("a;k=1;k=2", Ok("a;k=2"));
        check("a;name=other;z=1", Ok("a;z=1"));
        check("a..b;k=v", Ok("a.b;k=v"));
        check("a;k=", Err("bad tag `k=`: empty value"));
        check("a;=v", Err("bad tag `=v`: empty key"));
        check("a;k", Err("bad tag `k`: expected key=value"));
        check(
            "a;k=~v",
            Err("bad tag `k=~v`: a value may not start with `~`"),
        );
        check(
            "a;k!=v",
            Err("bad tag `k!=v`: a key may not contain `!` or `^`"),
        );
        check("a;k=v;", Err("bad tag ``: expected key=value"));
        check(";k=v", Err("empty series name"));
    }

    #[test]
    fn canonical_names_are_borrowed_and_split_back() {
        assert!(matches!(canonical("a.b;k=v").unwrap(), Cow::Borrowed(_)));
        let (path, tags) = split_tags("cpu;dc=x;host=h1");
        assert_eq!(path, "cpu");
        assert_eq!(tags.collect::<Vec<_>>(), vec![("dc", "x"), ("host", "h1")]);
        assert!(is_tagged("a;b=c") && !is_tagged("a.b"));
    }
}
