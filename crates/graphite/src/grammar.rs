//! The target language: graphite-web's grammar, parsed by hand with byte positions.
//!
//! ```text
//! expression := (template | call | path) (ws* '|' ws* call)*     a pipe passes its left side
//! call       := name ws* '(' [arg (',' arg)*] [',' kwarg (',' kwarg)*] ')'   as the first argument
//! kwarg      := name ws* '=' arg
//! arg        := true | false | none | inf | number | string | expression
//! number     := -?digits[.digits][e-?digits], only when followed by ',' ')' or the end
//! string     := '…' | "…"        backslash escapes and doubled quotes are kept raw, as graphite-web does
//! path       := element ('.' element)*, where an element is any run of characters other than
//!               ( ) { } , . ' " \ | and whitespace, `{a,b}` alternatives, or `\` + one of those
//! ```
//!
//! A number is only a number where a path cannot continue (`1.foo` is a path), keywords are
//! case-insensitive, and whitespace is allowed between tokens but not inside a path. Errors carry
//! the byte offset where parsing stopped, and [`ParseError`] renders it with a caret.

use std::fmt;

/// One parsed target or argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A path expression, with escapes resolved (`a\,b` is the path `a,b`).
    Path(String),
    Call(Call),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    Inf,
    /// `template(inner, args…)`: `$name` and `$1` in paths inside `inner` are replaced.
    Template(Box<Template>),
}

/// A function call, with its source text (`seriesByTag` passes it through as its identity).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub raw: String,
    /// Byte offset of the name in the target, for error messages.
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub inner: Expr,
    /// Positional arguments become `$1`, `$2`…; keyword arguments `$name`.
    pub values: Vec<(String, Expr)>,
}

/// Where and why a target failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub target: String,
    pub pos: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid target at position {}: {}\n  {}\n  {}^",
            self.pos,
            self.message,
            self.target,
            " ".repeat(
                self.target[..self.pos.min(self.target.len())]
                    .chars()
                    .count()
            )
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one whole target; trailing text is an error.
pub fn parse(target: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        src: target,
        pos: 0,
    };
    p.skip_ws();
    let expr = p.expression()?;
    p.skip_ws();
    if p.pos < target.len() {
        return Err(p.error(format!("unexpected `{}`", p.rest_preview())));
    }
    Ok(expr)
}

const SYMBOLS: &[u8] = b"(){},.'\"\\|";

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            target: self.src.to_owned(),
            pos: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn rest_preview(&self) -> String {
        self.rest().chars().take(20).collect()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.eat(byte) {
            return Ok(());
        }
        match self.peek() {
            None => Err(self.error(format!("expected {what}, found the end of the target"))),
            Some(_) => Err(self.error(format!("expected {what}, found `{}`", self.rest_preview()))),
        }
    }

    /// An identifier at the cursor, without consuming it.
    fn identifier(&self) -> Option<&'a str> {
        let rest = self.rest();
        let first = rest.bytes().next()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        Some(&rest[..len])
    }

    /// Whether an identifier at the cursor is followed (after spaces) by `next`.
    fn identifier_then(&self, next: u8) -> Option<&'a str> {
        let name = self.identifier()?;
        let after = self.rest()[name.len()..].trim_start();
        after
            .as_bytes()
            .first()
            .is_some_and(|b| *b == next)
            .then_some(name)
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.primary()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if !self.eat(b'|') {
                self.pos = save;
                return Ok(expr);
            }
            self.skip_ws();
            let Some(name) = self.identifier_then(b'(') else {
                return Err(self.error("expected a function call after `|`"));
            };
            let mut call = self.call(name)?;
            call.args.insert(0, expr);
            expr = Expr::Call(call);
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        if let Some(name) = self.identifier_then(b'(') {
            if name == "template" {
                return self.template();
            }
            return Ok(Expr::Call(self.call(name)?));
        }
        self.path()
    }

    fn call(&mut self, name: &str) -> Result<Call, ParseError> {
        let start = self.pos;
        self.pos += name.len();
        self.expect(b'(', "`(`")?;
        let mut args = Vec::new();
        let mut kwargs: Vec<(String, Expr)> = Vec::new();
        self.skip_ws();
        if !self.eat(b')') {
            loop {
                self.skip_ws();
                if let Some(key) = self.identifier_then(b'=') {
                    self.pos += key.len();
                    self.expect(b'=', "`=`")?;
                    kwargs.push((key.to_owned(), self.arg()?));
                } else if !kwargs.is_empty() {
                    return Err(
                        self.error("a positional argument cannot follow a keyword argument")
                    );
                } else {
                    args.push(self.arg()?);
                }
                self.skip_ws();
                if self.eat(b')') {
                    break;
                }
                self.expect(b',', "`,` or `)`")?;
            }
        }
        Ok(Call {
            name: name.to_owned(),
            args,
            kwargs,
            raw: self.src[start..self.pos].to_owned(),
            pos: start,
        })
    }

    fn template(&mut self) -> Result<Expr, ParseError> {
        let call = self.call("template")?;
        let mut args = call.args.into_iter();
        let Some(inner) = args.next() else {
            return Err(ParseError {
                target: self.src.to_owned(),
                pos: call.pos,
                message: "template() needs a target".into(),
            });
        };
        let mut values: Vec<(String, Expr)> = args
            .enumerate()
            .map(|(i, v)| ((i + 1).to_string(), v))
            .collect();
        values.extend(call.kwargs);
        Ok(Expr::Template(Box::new(Template { inner, values })))
    }

    fn arg(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let Some(first) = self.peek() else {
            return Err(self.error("expected an argument, found the end of the target"));
        };
        if first == b'\'' || first == b'"' {
            return self.string(first);
        }
        if let Some(word) = self.keyword() {
            return Ok(word);
        }
        if let Some(number) = self.number() {
            return Ok(number);
        }
        self.expression()
    }

    /// `true`, `false`, `none` or `inf`, when followed by the end of the argument.
    fn keyword(&mut self) -> Option<Expr> {
        let word = self.identifier()?;
        let value = match word.to_ascii_lowercase().as_str() {
            "true" => Expr::Bool(true),
            "false" => Expr::Bool(false),
            "none" => Expr::None,
            "inf" => Expr::Inf,
            _ => return None,
        };
        if !self.ends_argument(self.pos + word.len()) {
            return None;
        }
        self.pos += word.len();
        Some(value)
    }

    /// Whether, after spaces, `at` is followed by `,` `)` or the end.
    fn ends_argument(&self, at: usize) -> bool {
        let after = self.src[at..].trim_start();
        after.is_empty() || after.starts_with(',') || after.starts_with(')')
    }

    fn number(&mut self) -> Option<Expr> {
        let bytes = self.rest().as_bytes();
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut len = usize::from(bytes.first() == Some(&b'-'));
        let int_digits = digits(len);
        if int_digits == 0 {
            return None;
        }
        len += int_digits;
        let mut float = false;
        if bytes.get(len) == Some(&b'.') && digits(len + 1) > 0 {
            len += 1 + digits(len + 1);
            float = true;
        }
        if matches!(bytes.get(len), Some(b'e' | b'E')) {
            let sign = usize::from(bytes.get(len + 1) == Some(&b'-'));
            let exp = digits(len + 1 + sign);
            if exp > 0 {
                len += 1 + sign + exp;
                float = true;
            }
        }
        if !self.ends_argument(self.pos + len) {
            return None;
        }
        let text = &self.rest()[..len];
        let value = if float {
            Expr::Float(text.parse().ok()?)
        } else {
            match text.parse::<i64>() {
                Ok(i) => Expr::Int(i),
                Err(_) => Expr::Float(text.parse().ok()?),
            }
        };
        self.pos += len;
        Some(value)
    }

    fn string(&mut self, quote: u8) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some(b'\n' | b'\r') => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    if self.pos < self.src.len() {
                        self.advance_char();
                    }
                }
                Some(b) if b == quote => {
                    if self.src.as_bytes().get(self.pos + 1) == Some(&quote) {
                        self.pos += 2;
                        continue;
                    }
                    self.pos += 1;
                    return Ok(Expr::Str(self.src[start + 1..self.pos - 1].to_owned()));
                }
                Some(_) => self.advance_char(),
            }
        }
    }

    fn advance_char(&mut self) {
        let width = self.rest().chars().next().map_or(1, char::len_utf8);
        self.pos += width;
    }

    fn path(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let mut out = String::new();
        let mut braces = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => {
                    let next = self.src.as_bytes().get(self.pos + 1).copied();
                    match next {
                        Some(c) if SYMBOLS.contains(&c) || c == b'=' => {
                            out.push(char::from(c));
                            self.pos += 2;
                        }
                        _ => {
                            return Err(
                                self.error("`\\` must escape one of ( ) { } , . ' \" \\ | =")
                            );
                        }
                    }
                }
                b'{' => {
                    braces += 1;
                    out.push('{');
                    self.pos += 1;
                }
                b'}' if braces > 0 => {
                    braces -= 1;
                    out.push('}');
                    self.pos += 1;
                }
                b',' if braces > 0 => {
                    out.push(',');
                    self.pos += 1;
                }
                b'.' => {
                    out.push('.');
                    self.pos += 1;
                }
                _ if b.is_ascii_whitespace() || SYMBOLS.contains(&b) => break,
                _ => {
                    let c = self.rest().chars().next().unwrap_or('\u{fffd}');
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        if braces > 0 {
            return Err(self.error("unclosed `{` in path"));
        }
        if self.pos == start {
            return Err(match self.peek() {
                None => {
                    self.error("expected a path or a function call, found the end of the target")
                }
                Some(_) => self.error(format!(
                    "expected a path or a function call, found `{}`",
                    self.rest_preview()
                )),
            });
        }
        if out.starts_with('.') || out.ends_with('.') || out.contains("..") {
            self.pos = start;
            return Err(self.error(format!("`{out}` is not a valid path: empty node")));
        }
        Ok(Expr::Path(out))
    }
}

#[cfg(test)]
mod tests;
