//! Graphite path patterns: `a.*.c`, `{web,db}-[0-9]?`, one pattern per dot-separated segment.
//!
//! Within a segment, `*` matches any run of characters, `?` one character, `[a-z0-9]` one of a
//! set (`[!…]` or `[^…]` negates it), and `{x,y}` any of its alternatives, which may themselves
//! hold wildcards. A segment with none of these is a literal, and the path tree looks it up
//! directly instead of scanning children. Segments never match across a dot.

use regex::Regex;

/// One compiled segment.
#[derive(Debug, Clone)]
pub enum Segment {
    Literal(String),
    Pattern(Regex),
}

impl Segment {
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Segment::Literal(l) => l == text,
            Segment::Pattern(re) => re.is_match(text),
        }
    }
}

/// The most patterns a brace expansion may produce.
const MAX_EXPANSIONS: usize = 1024;

/// A compiled path pattern: one or more sequences of segments (more than one only when a
/// brace alternative holds a dot, as in `a.{b.c,d}`).
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub branches: Vec<Vec<Segment>>,
}

impl PathPattern {
    /// Compiles `pattern`; an unbalanced `[` or `{` is an error.
    pub fn parse(pattern: &str) -> Result<PathPattern, String> {
        let mut branches = Vec::new();
        for expanded in expand_dotted_braces(pattern)? {
            let mut segments = Vec::new();
            for part in split_segments(&expanded) {
                segments.push(compile_segment(part)?);
            }
            branches.push(segments);
        }
        Ok(PathPattern { branches })
    }

    /// Whether a whole dotted path matches.
    pub fn matches(&self, path: &str) -> bool {
        self.branches.iter().any(|segments| {
            let mut parts = path.split('.');
            let all = segments
                .iter()
                .all(|segment| parts.next().is_some_and(|part| segment.matches(part)));
            all && parts.next().is_none()
        })
    }
}

/// Expands every `{…}` group whose alternatives hold a dot; other groups stay for the regex.
fn expand_dotted_braces(pattern: &str) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    let mut work = vec![pattern.to_owned()];
    while let Some(p) = work.pop() {
        let Some((start, end)) = dotted_group(&p)? else {
            done.push(p);
            continue;
        };
        for alternative in split_alternatives(&p[start + 1..end]) {
            work.push(format!("{}{alternative}{}", &p[..start], &p[end + 1..]));
        }
        if done.len() + work.len() > MAX_EXPANSIONS {
            return Err(format!(
                "`{pattern}` expands to more than {MAX_EXPANSIONS} patterns"
            ));
        }
    }
    done.reverse();
    Ok(done)
}

/// The byte range of the first top-level `{…}` group that contains a dot.
fn dotted_group(p: &str) -> Result<Option<(usize, usize)>, String> {
    let (mut depth, mut start) = (0, 0);
    for (i, c) in p.char_indices() {
        match c {
            '{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 && p[start..i].contains('.') {
                    return Ok(Some((start, i)));
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unclosed `{{` in `{p}`"));
    }
    Ok(None)
}

/// Splits at dots that are not inside `{}` or `[]`.
fn split_segments(pattern: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in pattern.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '.' if depth <= 0 => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&pattern[start..]);
    parts
}

fn compile_segment(part: &str) -> Result<Segment, String> {
    if !part.contains(['*', '?', '[', '{']) {
        return Ok(Segment::Literal(part.to_owned()));
    }
    let mut regex = String::from("^(?:");
    translate(part, &mut regex)?;
    regex.push_str(")$");
    Regex::new(&regex)
        .map(Segment::Pattern)
        .map_err(|e| format!("bad pattern `{part}`: {e}"))
}

/// Appends the regex for a glob fragment.
fn translate(glob: &str, out: &mut String) -> Result<(), String> {
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                out.push('[');
                if matches!(chars.peek(), Some('!' | '^')) {
                    chars.next();
                    out.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if matches!(c, '\\' | '[' | '&' | '~') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                if !closed {
                    return Err(format!("unclosed `[` in `{glob}`"));
                }
                out.push(']');
            }
            '{' => {
                let mut depth = 1;
                let mut inner = String::new();
                for c in chars.by_ref() {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        break;
                    }
                    inner.push(c);
                }
                if depth != 0 {
                    return Err(format!("unclosed `{{` in `{glob}`"));
                }
                out.push_str("(?:");
                for (i, alternative) in split_alternatives(&inner).into_iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    translate(alternative, out)?;
                }
                out.push(')');
            }
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    Ok(())
}

/// Splits `a,b{c,d}` at top-level commas.
fn split_alternatives(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).unwrap().matches(path)
    }

    #[test]
    fn wildcards() {
        assert!(m("a.b.c", "a.b.c"));
        assert!(!m("a.b", "a.b.c"));
        assert!(!m("a.b.c", "a.b"));
        assert!(m("a.*.c", "a.anything.c"));
        assert!(!m("a.*", "a.b.c"), "* does not cross a dot");
        assert!(m("a.b*", "a.b"));
        assert!(m("web-?", "web-1"));
        assert!(!m("web-?", "web-10"));
        assert!(m("web-[0-9]", "web-7"));
        assert!(m("web-[!0-9]", "web-x"));
        assert!(!m("web-[!0-9]", "web-7"));
        assert!(m("{web,db}-1", "db-1"));
        assert!(m("servers.{web-*,db}.cpu", "servers.web-12.cpu"));
        assert!(m("a.{b.c,d}", "a.b.c"), "braces may hold dots");
        assert!(m("x{a,b{c,d}}", "xbd"));
        assert!(m("a+b.(c)", "a+b.(c)"), "regex characters are literal");
    }

    #[test]
    fn literals_are_not_regexes() {
        let p = PathPattern::parse("a.b*.c").unwrap();
        assert!(matches!(p.branches[0][0], Segment::Literal(_)));
        assert!(matches!(p.branches[0][1], Segment::Pattern(_)));
        assert_eq!(PathPattern::parse("a.{b.c,d}").unwrap().branches.len(), 2);
        assert!(PathPattern::parse("a.[bc").is_err());
        assert!(PathPattern::parse("a.{b,c").is_err());
    }
}
