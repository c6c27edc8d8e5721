//! `seriesByTag` expressions: `tag=value`, `tag!=value`, `tag=~regex`, `tag!=~regex`.
//!
//! As graphite-web's tag databases do: a regex is anchored at the start only (Python's
//! `re.match`), a series without the tag is judged as if its value were empty (so `dc=` matches
//! series with no `dc`, and `dc!=east` matches them too), and a query needs at least one
//! expression that an empty value fails, so it can never mean "every series".

use regex::Regex;

use crate::series::Tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Match,
    NotMatch,
}

#[derive(Debug, Clone)]
pub struct TagExpr {
    pub tag: String,
    pub op: Op,
    pub value: String,
    regex: Option<Regex>,
}

impl TagExpr {
    /// Parses one expression; the error names it.
    pub fn parse(text: &str) -> Result<TagExpr, String> {
        let bad = || {
            format!(
                "invalid tag expression `{text}`: want tag=value, tag!=value, tag=~regex or tag!=~regex"
            )
        };
        let at = text.find(['!', '=']).ok_or_else(bad)?;
        let (tag, rest) = text.split_at(at);
        if tag.is_empty() || tag.contains(';') {
            return Err(bad());
        }
        let (op, value) = if let Some(v) = rest.strip_prefix("!=~") {
            (Op::NotMatch, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (Op::NotEq, v)
        } else if let Some(v) = rest.strip_prefix("=~") {
            (Op::Match, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (Op::Eq, v)
        } else {
            return Err(bad());
        };
        if value.contains(';') {
            return Err(bad());
        }
        let regex = match op {
            Op::Match | Op::NotMatch => Some(
                Regex::new(&format!("^(?:{value})"))
                    .map_err(|e| format!("invalid regex in tag expression `{text}`: {e}"))?,
            ),
            Op::Eq | Op::NotEq => None,
        };
        Ok(TagExpr {
            tag: tag.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// Whether a tag value (empty when the series lacks the tag) satisfies the expression.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Eq, _) => value == self.value,
            (Op::NotEq, _) => value != self.value,
            (Op::Match, Some(re)) => re.is_match(value),
            (Op::NotMatch, Some(re)) => !re.is_match(value),
            (_, None) => false,
        }
    }

    pub fn matches(&self, tags: &Tags) -> bool {
        self.matches_value(tags.get(&self.tag).map_or("", String::as_str))
    }

    /// Whether a series lacking the tag would match.
    pub fn matches_missing(&self) -> bool {
        self.matches_value("")
    }
}

/// Parses a whole query; an empty one, or one that every series would match, is an error.
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<TagExpr>, String> {
    let exprs = texts
        .iter()
        .map(|t| TagExpr::parse(t.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    if exprs.is_empty() {
        return Err("seriesByTag needs at least one tag expression".into());
    }
    if exprs.iter().all(TagExpr::matches_missing) {
        return Err("at least one tag expression must require a non-empty value".into());
    }
    Ok(exprs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tags_of;

    #[test]
    fn operators() {
        let t = tags_of("disk.used;dc=east;server=web1");
        assert!(TagExpr::parse("name=disk.used").unwrap().matches(&t));
        assert!(TagExpr::parse("dc!=west").unwrap().matches(&t));
        assert!(TagExpr::parse("server=~web").unwrap().matches(&t));
        assert!(
            !TagExpr::parse("server=~eb").unwrap().matches(&t),
            "anchored at the start"
        );
        assert!(TagExpr::parse("server!=~db").unwrap().matches(&t));
        assert!(
            TagExpr::parse("rack=").unwrap().matches(&t),
            "missing tag is empty"
        );
        assert!(TagExpr::parse("rack!=r1").unwrap().matches(&t));
        assert!(TagExpr::parse("nonsense").is_err());
        assert!(TagExpr::parse("=x").is_err());
        assert!(parse_all(&["rack="]).is_err());
        assert!(parse_all(&["rack=", "dc=east"]).is_ok());
        assert!(TagExpr::parse("a=~(").is_err());
    }
}
