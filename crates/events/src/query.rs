//! The query language: Lucene/KQL style, parsed here (so errors carry their position) and
//! compiled to tantivy queries over the schema.
//!
//! - `word` and `"a phrase"` search the message (words are lower-cased tokens, as indexed) and,
//!   as Kibana's default field does, the whole value of `level`, `service`, `host` and every
//!   field the sender wrote: `alice@example.com` finds her events whether she is named in the
//!   message or only in `user.email`;
//! - `field:value` and `field:"value"` match a field exactly; `user.email:...` is a nested path.
//!   `level`, `service`, `host`, `message` and `timestamp` are the core fields, any other name is
//!   a field the sender wrote (`fields.` may be written explicitly). A number or boolean value
//!   also matches numbers and booleans;
//! - `field:*` matches events that have the field; `field:(a OR b)` groups values;
//! - wildcards `*` and `?` inside a value (`event:payment.*`, `host:web?`), and in a message word;
//! - ranges `amount:[100 TO *]`, `{` `}` for exclusive bounds, and `amount:>=100`,
//!   `amount > 100`; numeric when the bounds are numbers, by text otherwise, and by time on
//!   `timestamp` (RFC 3339 or epoch seconds);
//! - `AND`, `OR`, `NOT` (also `&&`, `||`, `!`, `-` and `+`), parentheses; juxtaposition is AND.

use std::collections::BTreeSet;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, PhraseQuery, Query, RangeQuery,
    RegexQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Term};

use crate::schema::Fields;

/// A parse error and the byte offset in the query where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub position: usize,
    pub message: String,
}

impl QueryError {
    fn at(position: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            position,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    All,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// A test on one field (`None`: the message, as free text).
    Leaf {
        field: Option<String>,
        test: Test,
        position: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// A word, possibly with `*`/`?` wildcards.
    Word(String),
    Phrase(String),
    Exists,
    Range(Bound<String>, Bound<String>),
}

impl Node {
    /// Whether the query has a bare word or phrase, which is also looked for in every field.
    pub fn has_free_text(&self) -> bool {
        match self {
            Node::All => false,
            Node::And(items) | Node::Or(items) => items.iter().any(Node::has_free_text),
            Node::Not(inner) => inner.has_free_text(),
            Node::Leaf { field, test, .. } => {
                field.is_none() && matches!(test, Test::Word(_) | Test::Phrase(_))
            }
        }
    }
}

/// Parses a query; an empty one (or `*`) matches everything.
pub fn parse(text: &str) -> Result<Node, QueryError> {
    let mut p = Parser { text, pos: 0 };
    p.skip_space();
    if p.at_end() {
        return Ok(Node::All);
    }
    let node = p.or(None)?;
    p.skip_space();
    if !p.at_end() {
        return Err(QueryError::at(
            p.pos,
            if p.peek() == Some(')') {
                "unbalanced `)`"
            } else {
                "unexpected text"
            },
        ));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn bump(&mut self) {
        self.pos += self.peek().map_or(0, char::len_utf8);
    }
    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Consumes a keyword (`AND`, `OR`, `NOT`) or operator when it stands alone.
    fn keyword(&mut self, words: &[&str]) -> bool {
        for w in words {
            if let Some(after) = self.rest().strip_prefix(w) {
                let symbolic = !w.chars().all(char::is_alphabetic);
                if symbolic || after.is_empty() || after.starts_with(ends_word) {
                    self.pos += w.len();
                    return true;
                }
            }
        }
        false
    }

    fn or(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        let mut items = vec![self.and(field)?];
        loop {
            self.skip_space();
            if self.keyword(&["OR", "||"]) {
                items.push(self.and(field)?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        let mut items = vec![self.unary(field)?];
        loop {
            self.skip_space();
            let save = self.pos;
            if self.at_end() || self.peek() == Some(')') || self.keyword(&["OR", "||"]) {
                self.pos = save;
                break;
            }
            self.keyword(&["AND", "&&"]);
            items.push(self.unary(field)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn unary(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        self.skip_space();
        if self.keyword(&["NOT"])
            || self.rest().starts_with(['!', '-']) && {
                self.bump();
                true
            }
        {
            return Ok(Node::Not(Box::new(self.unary(field)?)));
        }
        if self.rest().starts_with('+') {
            self.bump();
        }
        self.primary(field)
    }

    fn primary(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        self.skip_space();
        let start = self.pos;
        match self.peek() {
            None => Err(QueryError::at(
                start,
                "the query ends where a term was expected",
            )),
            Some('(') => {
                self.bump();
                let inner = self.or(field)?;
                self.skip_space();
                if self.peek() != Some(')') {
                    return Err(QueryError::at(start, "this `(` is never closed"));
                }
                self.bump();
                Ok(inner)
            }
            Some(')') => Err(QueryError::at(start, "unbalanced `)`")),
            Some('"') => {
                let phrase = self.quoted()?;
                Ok(leaf(field, Test::Phrase(phrase), start))
            }
            Some(_) if field.is_none() => {
                // A field name, or a free word.
                let name_len = self
                    .rest()
                    .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')))
                    .unwrap_or(self.rest().len());
                let after = &self.rest()[name_len..];
                if name_len > 0 {
                    let name = self.rest()[..name_len].to_owned();
                    let comparator = after.trim_start().starts_with(['>', '<']);
                    if after.starts_with(':') || comparator {
                        self.pos += name_len;
                        self.skip_space();
                        if self.peek() == Some(':') {
                            self.bump();
                        }
                        return self.value(&name, start);
                    }
                }
                let word = self.word(start)?;
                Ok(leaf(None, word_test(word), start))
            }
            Some(_) => {
                let word = self.word(start)?;
                Ok(leaf(field, word_test(word), start))
            }
        }
    }

    /// What follows `field:`.
    fn value(&mut self, field: &str, start: usize) -> Result<Node, QueryError> {
        self.skip_space();
        let at = self.pos;
        match self.peek() {
            None => Err(QueryError::at(at, format!("`{field}:` needs a value"))),
            Some('(') => {
                self.bump();
                let inner = self.or(Some(field))?;
                self.skip_space();
                if self.peek() != Some(')') {
                    return Err(QueryError::at(at, "this `(` is never closed"));
                }
                self.bump();
                Ok(inner)
            }
            Some('"') => {
                let phrase = self.quoted()?;
                Ok(leaf(Some(field), Test::Phrase(phrase), start))
            }
            Some('[' | '{') => self.range(field, start),
            Some('>' | '<') => {
                let op = if self.rest().starts_with(">=") || self.rest().starts_with("<=") {
                    &self.rest()[..2]
                } else {
                    &self.rest()[..1]
                }
                .to_owned();
                self.pos += op.len();
                self.skip_space();
                let bound_at = self.pos;
                let v = self.word(bound_at)?;
                let test = match op.as_str() {
                    ">" => Test::Range(Bound::Excluded(v), Bound::Unbounded),
                    ">=" => Test::Range(Bound::Included(v), Bound::Unbounded),
                    "<" => Test::Range(Bound::Unbounded, Bound::Excluded(v)),
                    _ => Test::Range(Bound::Unbounded, Bound::Included(v)),
                };
                Ok(leaf(Some(field), test, start))
            }
            Some(')') => Err(QueryError::at(at, format!("`{field}:` needs a value"))),
            Some(_) => {
                let word = self.word(at)?;
                Ok(leaf(Some(field), word_test(word), start))
            }
        }
    }

    fn range(&mut self, field: &str, start: usize) -> Result<Node, QueryError> {
        let inclusive_low = self.peek() == Some('[');
        self.bump();
        self.skip_space();
        let low_at = self.pos;
        let low = self.range_word(low_at)?;
        self.skip_space();
        if !self.keyword(&["TO"]) {
            return Err(QueryError::at(self.pos, "expected `TO` in the range"));
        }
        self.skip_space();
        let high_at = self.pos;
        let high = self.range_word(high_at)?;
        self.skip_space();
        let inclusive_high = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(QueryError::at(
                    start,
                    "this range is never closed with `]` or `}`",
                ));
            }
        };
        self.bump();
        let bound = |v: String, inclusive: bool| {
            if v == "*" {
                Bound::Unbounded
            } else if inclusive {
                Bound::Included(v)
            } else {
                Bound::Excluded(v)
            }
        };
        let test = match (bound(low, inclusive_low), bound(high, inclusive_high)) {
            (Bound::Unbounded, Bound::Unbounded) => Test::Exists,
            (lo, hi) => Test::Range(lo, hi),
        };
        Ok(leaf(Some(field), test, start))
    }

    /// A range bound: a quoted string or a word up to whitespace or the closing bracket.
    fn range_word(&mut self, at: usize) -> Result<String, QueryError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || matches!(c, ']' | '}'))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(QueryError::at(at, "expected a range bound"));
        }
        let w = self.rest()[..len].to_owned();
        self.pos += len;
        Ok(w)
    }

    /// A bare word with `\` escapes, kept as written (wildcards are read later).
    fn word(&mut self, at: usize) -> Result<String, QueryError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            self.bump();
            if c == '\\' {
                match self.peek() {
                    Some(next) => {
                        self.bump();
                        // Keep escaped wildcards recognisable as literals.
                        if matches!(next, '*' | '?' | '\\') {
                            out.push('\\');
                        }
                        out.push(next);
                    }
                    None => return Err(QueryError::at(self.pos - 1, "a `\\` ends the query")),
                }
            } else {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err(QueryError::at(at, "expected a term"));
        }
        Ok(out)
    }

    fn quoted(&mut self) -> Result<String, QueryError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(QueryError::at(start, "this quote is never closed")),
                Some('"') => {
                    self.bump();
                    return Ok(out);
                }
                Some('\\') => {
                    self.bump();
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.bump();
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }
}

fn leaf(field: Option<&str>, test: Test, position: usize) -> Node {
    match (field, &test) {
        (None, Test::Exists) => Node::All,
        _ => Node::Leaf {
            field: field.map(str::to_owned),
            test,
            position,
        },
    }
}

fn word_test(word: String) -> Test {
    if word == "*" {
        Test::Exists
    } else {
        Test::Word(word)
    }
}

/// Whether a word has an unescaped wildcard.
fn has_wildcard(word: &str) -> bool {
    let mut escaped = false;
    for c in word.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '*' | '?' => return true,
            _ => {}
        }
    }
    false
}

/// The literal text of a word (escapes removed).
fn unescape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut escaped = false;
    for c in word.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// A wildcard word as a regex over whole terms.
fn wildcard_regex(word: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in word.chars() {
        if escaped {
            escaped = false;
            push_literal(&mut out, c);
            continue;
        }
        match c {
            '\\' => escaped = true,
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => push_literal(&mut out, c),
        }
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else if (c as u32) < 0x80 {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

/// Glob matching with `*` and `?` (escapes honoured), for highlighting.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Lit(char),
    }
    let mut parts = Vec::new();
    let mut escaped = false;
    for c in pattern.chars() {
        parts.push(match c {
            _ if escaped => {
                escaped = false;
                P::Lit(c)
            }
            '\\' => {
                escaped = true;
                continue;
            }
            '*' => P::Any,
            '?' => P::One,
            c => P::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer glob with backtracking to the last star.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(P::One) => {
                p += 1;
                t += 1;
            }
            Some(P::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|x| *x == P::Any)
}

/// A message key other than `message` (`event`, `msg`…): a query on it looks in both places.
fn is_message_alias(name: &str) -> bool {
    name != "message" && wire::jsonlog::MESSAGE_KEYS.contains(&name)
}

/// A wildcard word over the message, as the tokens the message is indexed as: each piece
/// between separators must match a word (`payment.fail*` is `payment` and `fail*`); pieces that
/// are only `*` match anything and are dropped.
fn wildcard_pieces(word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in lower.chars() {
        if escaped {
            escaped = false;
            if c.is_alphanumeric() {
                current.push(c);
            } else if matches!(c, '*' | '?') {
                current.push('\\');
                current.push(c);
            } else if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            c if c.is_alphanumeric() || matches!(c, '*' | '?') => current.push(c),
            _ => {
                if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces.retain(|p| !p.chars().all(|c| c == '*'));
    pieces
}

/// Where a field name lands in the schema.
enum Target<'a> {
    Message,
    /// `level`, `service`, `host`: exact strings.
    Keyword(tantivy::schema::Field, &'static str),
    Timestamp,
    /// A path inside the sender's fields ("" for the whole object).
    Json(&'a str),
}

fn target<'a>(name: &'a str, f: &Fields) -> Target<'a> {
    match name {
        "message" => Target::Message,
        "level" => Target::Keyword(f.level, "level"),
        "service" => Target::Keyword(f.service, "service"),
        "host" => Target::Keyword(f.host, "host"),
        "timestamp" => Target::Timestamp,
        t if wire::jsonlog::TIME_KEYS.contains(&t) => Target::Timestamp,
        "fields" => Target::Json(""),
        _ => Target::Json(name.strip_prefix("fields.").unwrap_or(name)),
    }
}

/// Compiles a parsed query against the schema. `paths` are the sender field paths the
/// partition holds: a bare word is looked for in each of them, as well as in the message and
/// the core fields.
pub fn compile(
    node: &Node,
    f: &Fields,
    paths: &BTreeSet<String>,
) -> Result<Box<dyn Query>, QueryError> {
    Ok(match node {
        Node::All => Box::new(AllQuery),
        Node::And(items) => {
            let mut clauses = Vec::new();
            let mut positive = false;
            for item in items {
                match item {
                    Node::Not(inner) => clauses.push((Occur::MustNot, compile(inner, f, paths)?)),
                    other => {
                        positive = true;
                        clauses.push((Occur::Must, compile(other, f, paths)?));
                    }
                }
            }
            if !positive {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Node::Or(items) => Box::new(BooleanQuery::new(
            items
                .iter()
                .map(|i| Ok((Occur::Should, compile(i, f, paths)?)))
                .collect::<Result<Vec<_>, QueryError>>()?,
        )),
        Node::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, compile(inner, f, paths)?),
        ])),
        Node::Leaf {
            field: None,
            test: test @ (Test::Word(_) | Test::Phrase(_)),
            position,
        } => free_text(test, *position, f, paths)?,
        Node::Leaf {
            field,
            test,
            position,
        } => compile_leaf(field.as_deref(), test, *position, f)?,
    })
}

/// A bare word or phrase, as Kibana's default field reads it: the message's words, or the
/// whole value of `level`, `service`, `host` or any sender field (exactly, or by wildcard).
fn free_text(
    test: &Test,
    position: usize,
    f: &Fields,
    paths: &BTreeSet<String>,
) -> Result<Box<dyn Query>, QueryError> {
    let mut clauses = vec![(Occur::Should, compile_leaf(None, test, position, f)?)];
    let (Test::Word(w) | Test::Phrase(w)) = test else {
        return Ok(clauses.remove(0).1);
    };
    let wildcard = matches!(test, Test::Word(_)) && has_wildcard(w);
    for keyword in [f.level, f.service, f.host] {
        let q = if wildcard {
            regex(&wildcard_regex(w), keyword, position)?
        } else {
            Box::new(TermQuery::new(
                Term::from_field_text(keyword, &unescape(w)),
                IndexRecordOption::Basic,
            ))
        };
        clauses.push((Occur::Should, q));
    }
    if wildcard && !paths.is_empty() {
        let prefixes: Vec<String> = paths.iter().map(|p| json_regex_prefix(p)).collect();
        let pattern = format!("(?:{}){}", prefixes.join("|"), wildcard_regex(w));
        clauses.push((Occur::Should, regex(&pattern, f.fields, position)?));
    } else if !wildcard {
        let value = unescape(w);
        for path in paths {
            clauses.push((Occur::Should, json_exact(f, path, &value)));
        }
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// The analyzer the message is indexed with (tantivy's `default`).
fn message_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    static ANALYZER: std::sync::OnceLock<tantivy::tokenizer::TextAnalyzer> =
        std::sync::OnceLock::new();
    ANALYZER
        .get_or_init(|| {
            tantivy::tokenizer::TokenizerManager::default()
                .get("default")
                .unwrap_or_else(|| {
                    tantivy::tokenizer::TextAnalyzer::from(
                        tantivy::tokenizer::RawTokenizer::default(),
                    )
                })
        })
        .clone()
}

/// A nanosecond range on the timestamp, on its fast column (the inverted index holds
/// seconds), so bounds inside one second hold.
pub(crate) fn time_range(f: &Fields, low: Bound<i64>, high: Bound<i64>) -> RangeQuery {
    let term = |ns: i64| Term::from_field_date(f.timestamp, DateTime::from_timestamp_nanos(ns));
    RangeQuery::new(low.map(term), high.map(term))
}

fn message_tokens(text: &str) -> Vec<String> {
    let mut analyzer = message_analyzer();
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn text_query(field: tantivy::schema::Field, tokens: &[String]) -> Box<dyn Query> {
    match tokens {
        [] => Box::new(EmptyQuery),
        [one] => Box::new(TermQuery::new(
            Term::from_field_text(field, one),
            IndexRecordOption::WithFreqs,
        )),
        many => Box::new(PhraseQuery::new(
            many.iter()
                .map(|t| Term::from_field_text(field, t))
                .collect(),
        )),
    }
}

fn json_term(f: &Fields, path: &str) -> Term {
    Term::from_field_json_path(f.fields, path, true)
}

/// The regex prefix of a JSON path's string terms in the field's dictionary.
fn json_regex_prefix(path: &str) -> String {
    let mut out = String::new();
    for (i, segment) in path.split('.').enumerate() {
        if i > 0 {
            out.push_str("\\x01");
        }
        for c in segment.chars() {
            push_literal(&mut out, c);
        }
    }
    out.push_str("\\x00s");
    out
}

fn regex(
    pattern: &str,
    field: tantivy::schema::Field,
    position: usize,
) -> Result<Box<dyn Query>, QueryError> {
    RegexQuery::from_pattern(pattern, field)
        .map(|q| Box::new(q) as Box<dyn Query>)
        .map_err(|e| QueryError::at(position, format!("invalid wildcard: {e}")))
}

/// An exact value on a JSON path: the string, and the number or boolean it spells.
fn json_exact(f: &Fields, path: &str, value: &str) -> Box<dyn Query> {
    let mut text = json_term(f, path);
    text.append_type_and_str(value);
    let mut terms = vec![text];
    if let Some(t) = tantivy::json_utils::convert_to_fast_value_and_append_to_json_term(
        &json_term(f, path),
        value,
        true,
    ) {
        terms.push(t);
    }
    if terms.len() == 1 {
        return Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::Basic));
    }
    Box::new(BooleanQuery::new(
        terms
            .into_iter()
            .map(|t| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>,
                )
            })
            .collect(),
    ))
}

fn compile_leaf(
    field: Option<&str>,
    test: &Test,
    position: usize,
    f: &Fields,
) -> Result<Box<dyn Query>, QueryError> {
    // `event:`, `msg:`…: the message (where the key's text went) or a field of that name.
    if let Some(alias) = field.filter(|n| is_message_alias(n))
        && !matches!(test, Test::Range(..))
    {
        let json_name = format!("fields.{alias}");
        return Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Should, compile_leaf(None, test, position, f)?),
            (
                Occur::Should,
                compile_leaf(Some(&json_name), test, position, f)?,
            ),
        ])));
    }
    let target = field.map_or(Target::Message, |n| target(n, f));
    let name = field.unwrap_or("message");
    let result: Result<Box<dyn Query>, QueryError> = match (target, test) {
        (Target::Message, Test::Exists) => Ok(Box::new(AllQuery)),
        (Target::Message, Test::Word(w)) if has_wildcard(w) => {
            let mut clauses = Vec::new();
            for piece in wildcard_pieces(w) {
                let q = if has_wildcard(&piece) {
                    regex(&wildcard_regex(&piece), f.message, position)?
                } else {
                    text_query(f.message, &[unescape(&piece)])
                };
                clauses.push((Occur::Must, q));
            }
            if clauses.is_empty() {
                Ok(Box::new(AllQuery))
            } else {
                Ok(Box::new(BooleanQuery::new(clauses)))
            }
        }
        (Target::Message, Test::Word(w) | Test::Phrase(w)) => {
            Ok(text_query(f.message, &message_tokens(&unescape(w))))
        }
        (Target::Keyword(field, _), Test::Word(w)) if has_wildcard(w) => {
            regex(&wildcard_regex(w), field, position)
        }
        (Target::Keyword(field, which), Test::Word(w) | Test::Phrase(w)) => {
            let mut value = unescape(w);
            if which == "level" {
                value = model::event::normalize_level(&serde_json::Value::String(value.clone()))
                    .unwrap_or(value);
            }
            Ok(Box::new(TermQuery::new(
                Term::from_field_text(field, &value),
                IndexRecordOption::Basic,
            )))
        }
        (Target::Keyword(_, which), Test::Exists) => {
            Ok(Box::new(ExistsQuery::new(which.to_owned(), false)))
        }
        (Target::Json(path), Test::Exists) => Ok(Box::new(ExistsQuery::new(
            if path.is_empty() {
                "fields".to_owned()
            } else {
                format!("fields.{path}")
            },
            true,
        ))),
        (Target::Json(""), _) => Err(QueryError::at(
            position,
            "name a field inside `fields`, such as `fields.user_id:42`",
        )),
        (Target::Json(path), Test::Word(w)) if has_wildcard(w) => regex(
            &format!("{}{}", json_regex_prefix(path), wildcard_regex(w)),
            f.fields,
            position,
        ),
        (Target::Json(path), Test::Word(w) | Test::Phrase(w)) => {
            Ok(json_exact(f, path, &unescape(w)))
        }
        (Target::Timestamp, Test::Exists) => Ok(Box::new(AllQuery)),
        (Target::Timestamp, Test::Word(w) | Test::Phrase(w)) => {
            let ns = time_bound(w, position)?;
            Ok(Box::new(time_range(
                f,
                Bound::Included(ns),
                Bound::Included(ns),
            )))
        }
        (Target::Timestamp, Test::Range(lo, hi)) => {
            let at = |b: &Bound<String>| -> Result<Bound<i64>, QueryError> {
                Ok(match b {
                    Bound::Included(v) => Bound::Included(time_bound(v, position)?),
                    Bound::Excluded(v) => Bound::Excluded(time_bound(v, position)?),
                    Bound::Unbounded => Bound::Unbounded,
                })
            };
            Ok(Box::new(time_range(f, at(lo)?, at(hi)?)))
        }
        (Target::Message, Test::Range(..)) => Err(QueryError::at(
            position,
            "a range needs a field other than the message",
        )),
        (Target::Keyword(field, _), Test::Range(lo, hi)) => {
            let term = |v: &String| Ok(Term::from_field_text(field, &unescape(v)));
            Ok(Box::new(RangeQuery::new(
                map_bound(lo, term)?,
                map_bound(hi, term)?,
            )))
        }
        (Target::Json(path), Test::Range(lo, hi)) => {
            let numeric = |b: &Bound<String>| match b {
                Bound::Included(v) | Bound::Excluded(v) => {
                    v.parse::<f64>().ok().filter(|x| x.is_finite()).map(Some)
                }
                Bound::Unbounded => Some(None),
            };
            match (numeric(lo), numeric(hi)) {
                (Some(a), Some(b)) => {
                    // One numeric type for both bounds: integers unless a bound has a fraction.
                    let integral = [a, b]
                        .iter()
                        .flatten()
                        .all(|x| x.fract() == 0.0 && x.abs() < 9.0e15);
                    let term = |v: &String| {
                        let x: f64 = v.parse().unwrap_or(0.0);
                        let mut t = json_term(f, path);
                        if integral {
                            t.append_type_and_fast_value(x as i64);
                        } else {
                            t.append_type_and_fast_value(x);
                        }
                        Ok(t)
                    };
                    Ok(Box::new(RangeQuery::new(
                        map_bound(lo, term)?,
                        map_bound(hi, term)?,
                    )))
                }
                _ => {
                    let term = |v: &String| {
                        let mut t = json_term(f, path);
                        t.append_type_and_str(&unescape(v));
                        Ok(t)
                    };
                    Ok(Box::new(RangeQuery::new(
                        map_bound(lo, term)?,
                        map_bound(hi, term)?,
                    )))
                }
            }
        }
    };
    result.map_err(|e: QueryError| QueryError {
        message: if e.message.contains(name) || field.is_none() {
            e.message
        } else {
            format!("{name}: {}", e.message)
        },
        ..e
    })
}

fn map_bound(
    b: &Bound<String>,
    mut term: impl FnMut(&String) -> Result<Term, QueryError>,
) -> Result<Bound<Term>, QueryError> {
    Ok(match b {
        Bound::Included(v) => Bound::Included(term(v)?),
        Bound::Excluded(v) => Bound::Excluded(term(v)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// A time in a query: RFC 3339, or epoch seconds (or ms/ns by magnitude).
fn time_bound(text: &str, position: usize) -> Result<i64, QueryError> {
    let value = match text.parse::<f64>() {
        Ok(n) => serde_json::json!(n),
        Err(_) => serde_json::Value::String(text.to_owned()),
    };
    wire::jsonlog::timestamp_ns(&value).ok_or_else(|| {
        QueryError::at(
            position,
            format!("`{text}` is not an RFC 3339 time or epoch"),
        )
    })
}

/// What a query asks to highlight: message words (exact or wildcard), and the sender fields it
/// tests positively.
#[derive(Debug, Default)]
pub struct Highlights {
    words: BTreeSet<String>,
    patterns: Vec<String>,
    pub fields: BTreeSet<String>,
    /// Bare words and phrases, which may have matched any sender field's value.
    free: Vec<Test>,
}

impl Highlights {
    pub fn of(node: &Node) -> Highlights {
        let mut h = Highlights::default();
        h.collect(node, false);
        h
    }

    fn collect(&mut self, node: &Node, negated: bool) {
        match node {
            Node::All => {}
            Node::And(items) | Node::Or(items) => {
                for i in items {
                    self.collect(i, negated);
                }
            }
            Node::Not(inner) => self.collect(inner, !negated),
            Node::Leaf { field, test, .. } if !negated => match field.as_deref() {
                Some(alias) if is_message_alias(alias) => {
                    self.fields.insert(alias.to_owned());
                    self.collect(
                        &Node::Leaf {
                            field: None,
                            test: test.clone(),
                            position: 0,
                        },
                        false,
                    );
                }
                None | Some("message") => match test {
                    _ if field.is_none()
                        && matches!(test, Test::Word(_) | Test::Phrase(_))
                        && !self.free.contains(test) =>
                    {
                        self.free.push(test.clone());
                        self.collect(
                            &Node::Leaf {
                                field: Some("message".into()),
                                test: test.clone(),
                                position: 0,
                            },
                            false,
                        );
                    }
                    Test::Word(w) if has_wildcard(w) => {
                        self.patterns.extend(wildcard_pieces(w));
                    }
                    Test::Word(w) | Test::Phrase(w) => {
                        self.words.extend(message_tokens(&unescape(w)));
                    }
                    _ => {}
                },
                Some(name) => {
                    if !matches!(name, "level" | "service" | "host" | "timestamp") {
                        self.fields
                            .insert(name.strip_prefix("fields.").unwrap_or(name).to_owned());
                    }
                }
            },
            Node::Leaf { .. } => {}
        }
    }

    /// The sender fields (dotted paths) the query tested that `fields` has, and those whose
    /// whole value a bare word or phrase matched.
    pub fn matched_fields(
        &self,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .fields
            .iter()
            .filter(|path| wire::jsonlog::lookup(fields, path).is_some())
            .cloned()
            .collect();
        if !self.free.is_empty() {
            crate::store::visit_leaves("", fields, &mut |path, value| {
                if self.free.iter().any(|t| json_matches(value, t)) {
                    out.insert(path);
                }
            });
        }
        out.into_iter().collect()
    }

    /// Byte ranges of the message's matching words.
    pub fn message_ranges(&self, message: &str) -> Vec<(usize, usize)> {
        if self.words.is_empty() && self.patterns.is_empty() {
            return Vec::new();
        }
        let mut analyzer = message_analyzer();
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(message);
        while let Some(t) = stream.next() {
            if self.words.contains(&t.text)
                || self.patterns.iter().any(|p| glob_matches(p, &t.text))
            {
                out.push((t.offset_from, t.offset_to));
            }
        }
        out
    }
}

/// Whether an event satisfies a parsed query, evaluated in memory as the index would (for live
/// tail, before the event is searchable).
pub fn matches(node: &Node, event: &model::LogEvent) -> bool {
    match node {
        Node::All => true,
        Node::And(items) => items.iter().all(|i| matches(i, event)),
        Node::Or(items) => items.iter().any(|i| matches(i, event)),
        Node::Not(inner) => !matches(inner, event),
        Node::Leaf {
            field: None,
            test: test @ (Test::Word(_) | Test::Phrase(_)),
            ..
        } => free_text_matches(test, event),
        Node::Leaf { field, test, .. } => leaf_matches(field.as_deref(), test, event),
    }
}

/// [`free_text`] in memory: the message's words, or a whole core or sender field value.
fn free_text_matches(test: &Test, event: &model::LogEvent) -> bool {
    if leaf_matches(None, test, event) {
        return true;
    }
    let (Test::Word(w) | Test::Phrase(w)) = test else {
        return false;
    };
    let wildcard = matches!(test, Test::Word(_)) && has_wildcard(w);
    let value = unescape(w);
    let keyword = |v: &Option<String>| {
        v.as_deref().is_some_and(|v| {
            if wildcard {
                glob_matches(w, v)
            } else {
                v == value
            }
        })
    };
    if keyword(&event.level) || keyword(&event.service) || keyword(&event.host) {
        return true;
    }
    event.fields.values().any(|v| any_value_matches(v, test))
}

/// Whether any leaf value under `value` (objects walked, arrays searched) passes `test`.
fn any_value_matches(value: &serde_json::Value, test: &Test) -> bool {
    match value {
        serde_json::Value::Object(map) => map.values().any(|v| any_value_matches(v, test)),
        other => json_matches(other, test),
    }
}

fn leaf_matches(field: Option<&str>, test: &Test, event: &model::LogEvent) -> bool {
    if let Some(alias) = field.filter(|n| is_message_alias(n))
        && !matches!(test, Test::Range(..))
    {
        return leaf_matches(None, test, event)
            || leaf_matches(Some(&format!("fields.{alias}")), test, event);
    }
    let name = match field {
        Some(t) if wire::jsonlog::TIME_KEYS.contains(&t) => "timestamp",
        other => other.unwrap_or("message"),
    };
    match name {
        "message" => match test {
            Test::Exists => true,
            Test::Word(w) if has_wildcard(w) => {
                let tokens = message_tokens(&event.message);
                wildcard_pieces(w).iter().all(|piece| {
                    if has_wildcard(piece) {
                        tokens.iter().any(|t| glob_matches(piece, t))
                    } else {
                        tokens.contains(&unescape(piece))
                    }
                })
            }
            Test::Word(w) | Test::Phrase(w) => {
                let want = message_tokens(&unescape(w));
                let have = message_tokens(&event.message);
                !want.is_empty() && have.windows(want.len()).any(|win| win == want.as_slice())
            }
            Test::Range(..) => false,
        },
        "level" | "service" | "host" => {
            let value = match name {
                "level" => event.level.as_deref(),
                "service" => event.service.as_deref(),
                _ => event.host.as_deref(),
            };
            let Some(value) = value else { return false };
            match test {
                Test::Exists => true,
                Test::Word(w) if has_wildcard(w) => glob_matches(w, value),
                Test::Word(w) | Test::Phrase(w) => {
                    let mut want = unescape(w);
                    if name == "level" {
                        want =
                            model::event::normalize_level(&serde_json::Value::String(want.clone()))
                                .unwrap_or(want);
                    }
                    want == value
                }
                Test::Range(lo, hi) => in_range(&value.to_owned(), lo, hi, |v| Some(v.to_owned())),
            }
        }
        "timestamp" => {
            let ns = event.timestamp_ns;
            let at = |v: &String| time_bound(v, 0).ok();
            match test {
                Test::Exists => true,
                Test::Word(w) | Test::Phrase(w) => at(w) == Some(ns),
                Test::Range(lo, hi) => in_range(&ns, lo, hi, |v| at(&v.to_owned())),
            }
        }
        _ => {
            let path = name.strip_prefix("fields.").unwrap_or(name);
            let Some(value) = wire::jsonlog::lookup(&event.fields, path) else {
                return false;
            };
            json_matches(value, test)
        }
    }
}

fn json_matches(value: &serde_json::Value, test: &Test) -> bool {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter().any(|v| json_matches(v, test)),
        Value::Null => false,
        Value::Object(map) => {
            matches!(test, Test::Exists) && map.values().any(|v| json_matches(v, test))
        }
        _ if matches!(test, Test::Exists) => true,
        Value::String(s) => match test {
            Test::Word(w) if has_wildcard(w) => glob_matches(w, s),
            Test::Word(w) | Test::Phrase(w) => unescape(w) == *s,
            Test::Range(lo, hi) => {
                let numeric = [lo, hi].iter().all(|b| match b {
                    Bound::Included(v) | Bound::Excluded(v) => v.parse::<f64>().is_ok(),
                    Bound::Unbounded => true,
                });
                !numeric && in_range(s, lo, hi, |v| Some(v.to_owned()))
            }
            Test::Exists => true,
        },
        Value::Number(n) => {
            let Some(x) = n.as_f64() else { return false };
            match test {
                Test::Word(w) if has_wildcard(w) => false,
                Test::Word(w) | Test::Phrase(w) => unescape(w).parse::<f64>().ok() == Some(x),
                Test::Range(lo, hi) => in_range(&x, lo, hi, |v| v.parse::<f64>().ok()),
                Test::Exists => true,
            }
        }
        Value::Bool(b) => match test {
            Test::Word(w) | Test::Phrase(w) => unescape(w).parse::<bool>().ok() == Some(*b),
            _ => false,
        },
    }
}

/// Whether `value` lies within the bounds (each read by `parse`; an unreadable bound fails).
fn in_range<T: PartialOrd>(
    value: &T,
    lo: &Bound<String>,
    hi: &Bound<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> bool {
    let low = match lo {
        Bound::Unbounded => true,
        Bound::Included(v) => parse(v).is_some_and(|b| *value >= b),
        Bound::Excluded(v) => parse(v).is_some_and(|b| *value > b),
    };
    low && match hi {
        Bound::Unbounded => true,
        Bound::Included(v) => parse(v).is_some_and(|b| *value <= b),
        Bound::Excluded(v) => parse(v).is_some_and(|b| *value < b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(field: Option<&str>, w: &str, position: usize) -> Node {
        Node::Leaf {
            field: field.map(str::to_owned),
            test: Test::Word(w.to_owned()),
            position,
        }
    }

    #[test]
    fn the_grammar_reads_what_users_type() {
        assert_eq!(parse("").unwrap(), Node::All);
        assert_eq!(parse(" * ").unwrap(), Node::All);
        assert_eq!(
            parse("event:payment.* AND NOT level:debug").unwrap(),
            Node::And(vec![
                word(Some("event"), "payment.*", 0),
                Node::Not(Box::new(word(Some("level"), "debug", 24))),
            ])
        );
        assert_eq!(
            parse("a OR b c").unwrap(),
            Node::Or(vec![
                word(None, "a", 0),
                Node::And(vec![word(None, "b", 5), word(None, "c", 7)]),
            ])
        );
        assert_eq!(
            parse("user.email:\"alice@example.com\"").unwrap(),
            Node::Leaf {
                field: Some("user.email".into()),
                test: Test::Phrase("alice@example.com".into()),
                position: 0
            }
        );
        assert_eq!(
            parse("amount:[100 TO *]").unwrap(),
            Node::Leaf {
                field: Some("amount".into()),
                test: Test::Range(Bound::Included("100".into()), Bound::Unbounded),
                position: 0
            }
        );
        assert_eq!(
            parse("amount >= 100").unwrap(),
            parse("amount:[100 TO *]").unwrap()
        );
        assert_eq!(
            parse("amount:{1 TO 5]").unwrap(),
            Node::Leaf {
                field: Some("amount".into()),
                test: Test::Range(Bound::Excluded("1".into()), Bound::Included("5".into())),
                position: 0
            }
        );
        assert_eq!(
            parse("user.id:*").unwrap(),
            Node::Leaf {
                field: Some("user.id".into()),
                test: Test::Exists,
                position: 0
            }
        );
        assert_eq!(
            parse("status:(500 OR 502)").unwrap(),
            Node::Or(vec![
                word(Some("status"), "500", 8),
                word(Some("status"), "502", 15)
            ])
        );
        assert_eq!(
            parse("-x:1 !y:2 +z").unwrap(),
            Node::And(vec![
                Node::Not(Box::new(word(Some("x"), "1", 1))),
                Node::Not(Box::new(word(Some("y"), "2", 6))),
                word(None, "z", 11),
            ])
        );
        assert_eq!(
            parse("url:http://x/y?").unwrap(),
            word(Some("url"), "http://x/y?", 0)
        );
        assert_eq!(parse(r"path:a\ b").unwrap(), word(Some("path"), "a b", 0));
        assert_eq!(parse("ORDER").unwrap(), word(None, "ORDER", 0));
    }

    #[test]
    fn errors_point_at_their_position() {
        let at = |q: &str| parse(q).unwrap_err().position;
        assert_eq!(at("a AND (b OR c"), 6);
        assert_eq!(at("a )"), 2);
        assert_eq!(at("msg:\"never closed"), 4);
        assert_eq!(at("amount:[1 5]"), 10);
        assert_eq!(at("amount:[1 TO 5"), 0);
        assert_eq!(at("a AND"), 5);
        assert_eq!(at("level:"), 6);
    }

    #[test]
    fn wildcards_become_anchored_regexes() {
        assert_eq!(wildcard_regex("payment.*"), "payment\\..*");
        assert_eq!(wildcard_regex("web?"), "web.");
        assert_eq!(wildcard_regex(r"a\*b*"), "a\\*b.*");
        assert_eq!(json_regex_prefix("user.email"), "user\\x01email\\x00s");
        assert!(glob_matches("pay*", "payment"));
        assert!(glob_matches("*ment", "payment"));
        assert!(glob_matches("p?y*t", "payment"));
        assert!(!glob_matches("pay", "payment"));
        assert!(glob_matches(r"a\*", "a*"));
        assert!(!glob_matches(r"a\*", "ab"));
    }
}
