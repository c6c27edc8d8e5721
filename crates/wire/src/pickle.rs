//! Carbon's pickle protocol: a pickled list of `(path, (timestamp, value))`.
//!
//! Frames arrive 4-byte length-prefixed (see `framing::next_length_prefixed`). [`decode_frame`]
//! runs a tiny pickle machine that knows only the opcodes that build data (protocols 0 to 5:
//! ints, floats, strings, bytes, lists, tuples, marks and the memo). Any opcode that could call
//! code (`GLOBAL`, `REDUCE`, `BUILD`, `INST`, `OBJ`, `NEWOBJ`, extensions, persistent ids) fails
//! the frame. Within a good frame, each element is decoded on its own, so one bad element is one
//! error, and the rest of the list is kept. Senders in the wild: Python's `pickle.dumps` at
//! protocol 2 (carbon-relay, most scripts), and etsy statsd's hand-written protocol 0.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::carbon::{CarbonLine, parse_timestamp, parse_value};
use crate::error::{ParseError, snippet};
use crate::graphite_name;

/// Frames larger than this are refused before they are read (carbon's default).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    List(Vec<Value<'a>>),
    Tuple(Vec<Value<'a>>),
}

impl Value<'_> {
    /// How many values this is made of, for the decoding budget.
    fn weight(&self) -> usize {
        match self {
            Value::List(items) | Value::Tuple(items) => {
                1 + items.iter().map(Value::weight).sum::<usize>()
            }
            _ => 1,
        }
    }
}

#[derive(Debug)]
enum Slot<'a> {
    Mark,
    Value(Value<'a>),
}

fn bad(message: impl Into<String>) -> ParseError {
    ParseError::Pickle(message.into())
}

/// Decodes a frame (without its length prefix) into one result per list element.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Result<CarbonLine<'_>, ParseError>>, ParseError> {
    let items = match Machine::new(frame).run()? {
        Value::List(items) | Value::Tuple(items) => items,
        _ => return Err(bad("the pickle is not a list")),
    };
    Ok(items.into_iter().map(decode_element).collect())
}

fn decode_element(element: Value<'_>) -> Result<CarbonLine<'_>, ParseError> {
    let (path, datapoint) =
        pair(element).ok_or_else(|| bad("element is not (path, (timestamp, value))"))?;
    let (timestamp, value) =
        pair(datapoint).ok_or_else(|| bad("datapoint is not (timestamp, value)"))?;
    let name = match path {
        Value::Text(Cow::Borrowed(s)) => graphite_name::canonical(s)?,
        Value::Text(Cow::Owned(s)) => Cow::Owned(graphite_name::canonical(&s)?.into_owned()),
        Value::Bytes(b) => {
            let s = std::str::from_utf8(&b).map_err(|_| ParseError::Utf8)?;
            Cow::Owned(graphite_name::canonical(s)?.into_owned())
        }
        _ => return Err(bad("path is not a string")),
    };
    let value = match number_text(&value)? {
        Number::Float(v) if v.is_nan() => return Err(ParseError::NotANumber),
        Number::Float(v) => v,
        Number::Text(t) => parse_value(&t)?,
    };
    let timestamp = match number_text(&timestamp)? {
        Number::Float(-1.0) => None,
        Number::Float(t) if t.is_finite() => Some(t.trunc() as i64),
        Number::Float(_) => return Err(ParseError::BadTimestamp("non-finite".into())),
        Number::Text(t) => parse_timestamp(&t)?,
    };
    Ok(CarbonLine {
        name,
        value,
        timestamp,
    })
}

enum Number {
    Float(f64),
    Text(String),
}

/// A number, or the text of one, as carbon's `float()` would take it.
fn number_text(v: &Value<'_>) -> Result<Number, ParseError> {
    match v {
        Value::Int(i) => Ok(Number::Float(*i as f64)),
        Value::Float(f) => Ok(Number::Float(*f)),
        Value::Bool(b) => Ok(Number::Float(f64::from(u8::from(*b)))),
        Value::Text(t) => Ok(Number::Text(t.trim().to_owned())),
        Value::Bytes(b) => std::str::from_utf8(b)
            .map(|t| Number::Text(t.trim().to_owned()))
            .map_err(|_| ParseError::Utf8),
        _ => Err(bad("timestamp or value is not a number")),
    }
}

fn pair(v: Value<'_>) -> Option<(Value<'_>, Value<'_>)> {
    match v {
        Value::Tuple(items) | Value::List(items) if items.len() == 2 => {
            let mut it = items.into_iter();
            Some((it.next()?, it.next()?))
        }
        _ => None,
    }
}

/// The pickle virtual machine, restricted to data.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Slot<'a>>,
    memo: HashMap<u32, Value<'a>>,
    budget: usize,
}

impl<'a> Machine<'a> {
    fn new(input: &'a [u8]) -> Self {
        Machine {
            input,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
            budget: input.len() * 2 + 1024,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.input.len())
            .ok_or_else(|| bad("truncated"))?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    fn u32_le(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64_le(&mut self) -> Result<u64, ParseError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn len_u64(&mut self) -> Result<usize, ParseError> {
        usize::try_from(self.u64_le()?).map_err(|_| bad("length too large"))
    }

    /// A `\n`-terminated text argument of the protocol 0 opcodes.
    fn line(&mut self) -> Result<&'a str, ParseError> {
        let rest = &self.input[self.pos..];
        let end = memchr::memchr(b'\n', rest).ok_or_else(|| bad("truncated line"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| bad("line is not UTF-8"))
    }

    fn push(&mut self, v: Value<'a>) -> Result<(), ParseError> {
        self.budget = self
            .budget
            .checked_sub(v.weight())
            .ok_or_else(|| bad("too many values"))?;
        self.stack.push(Slot::Value(v));
        Ok(())
    }

    fn pop(&mut self) -> Result<Value<'a>, ParseError> {
        match self.stack.pop() {
            Some(Slot::Value(v)) => Ok(v),
            _ => Err(bad("stack underflow")),
        }
    }

    fn top(&mut self) -> Result<&mut Value<'a>, ParseError> {
        match self.stack.last_mut() {
            Some(Slot::Value(v)) => Ok(v),
            _ => Err(bad("stack underflow")),
        }
    }

    /// Everything above the topmost mark, which is removed.
    fn pop_to_mark(&mut self) -> Result<Vec<Value<'a>>, ParseError> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| bad("no mark"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items
            .into_iter()
            .filter_map(|s| {
                if let Slot::Value(v) = s {
                    Some(v)
                } else {
                    None
                }
            })
            .collect())
    }

    fn memo_get(&mut self, index: u32) -> Result<(), ParseError> {
        let v = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| bad(format!("memo {index} is empty")))?;
        self.push(v)
    }

    fn memo_put(&mut self, index: u32) -> Result<(), ParseError> {
        let v = self.top()?.clone();
        self.budget = self
            .budget
            .checked_sub(v.weight())
            .ok_or_else(|| bad("too many values"))?;
        self.memo.insert(index, v);
        Ok(())
    }

    fn append(&mut self, items: Vec<Value<'a>>) -> Result<(), ParseError> {
        match self.top()? {
            Value::List(list) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(bad("append to something that is not a list")),
        }
    }

    fn run(mut self) -> Result<Value<'a>, ParseError> {
        loop {
            let op = self.byte()?;
            if op == b'.' {
                return self.pop();
            }
            self.step(op)?;
        }
    }

    fn step(&mut self, op: u8) -> Result<(), ParseError> {
        match op {
            0x80 => {
                let version = self.byte()?;
                if version > 5 {
                    return Err(bad(format!("unsupported protocol {version}")));
                }
            }
            0x95 => {
                self.u64_le()?;
            }
            b'(' => self.stack.push(Slot::Mark),
            b']' => self.push(Value::List(Vec::new()))?,
            b'l' => {
                let items = self.pop_to_mark()?;
                self.push(Value::List(items))?;
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' => {
                let items = self.pop_to_mark()?;
                self.append(items)?;
            }
            b')' => self.push(Value::Tuple(Vec::new()))?,
            b't' => {
                let items = self.pop_to_mark()?;
                self.push(Value::Tuple(items))?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if self.stack.len() < n {
                    return Err(bad("stack underflow"));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                self.push(Value::Tuple(items))?;
            }
            b'N' => self.push(Value::None)?,
            0x88 => self.push(Value::Bool(true))?,
            0x89 => self.push(Value::Bool(false))?,
            b'J' => {
                let v = self.u32_le()? as i32;
                self.push(Value::Int(i64::from(v)))?;
            }
            b'K' => {
                let v = self.byte()?;
                self.push(Value::Int(i64::from(v)))?;
            }
            b'M' => {
                let b = self.take(2)?;
                self.push(Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))))?;
            }
            b'I' => {
                let text = self.line()?;
                let v = match text {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    _ => Value::Int(
                        text.parse()
                            .map_err(|_| bad(format!("bad INT {}", snippet(text))))?,
                    ),
                };
                self.push(v)?;
            }
            b'L' => {
                let text = self.line()?;
                let digits = text.strip_suffix('L').unwrap_or(text);
                let v = digits
                    .parse()
                    .map_err(|_| bad(format!("bad LONG {}", snippet(text))))?;
                self.push(Value::Int(v))?;
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    usize::from(self.byte()?)
                } else {
                    self.u32_le()? as usize
                };
                let bytes = self.take(n)?;
                self.push(Value::Int(long_le(bytes)?))?;
            }
            b'G' => {
                let b = self.take(8)?;
                self.push(Value::Float(f64::from_be_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ])))?;
            }
            b'F' => {
                let text = self.line()?;
                let v = text
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("bad FLOAT {}", snippet(text))))?;
                self.push(Value::Float(v))?;
            }
            b'S' => {
                let text = self.line()?;
                self.push(Value::Text(unquote(text)?))?;
            }
            b'V' => {
                let text = self.line()?;
                self.push(Value::Text(Cow::Borrowed(text)))?;
            }
            b'T' | b'U' | b'B' | b'C' | 0x8e => {
                let n = match op {
                    b'U' | b'C' => usize::from(self.byte()?),
                    0x8e => self.len_u64()?,
                    _ => self.u32_le()? as usize,
                };
                let bytes = self.take(n)?;
                self.push(Value::Bytes(Cow::Borrowed(bytes)))?;
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    0x8c => usize::from(self.byte()?),
                    0x8d => self.len_u64()?,
                    _ => self.u32_le()? as usize,
                };
                let bytes = self.take(n)?;
                let text = std::str::from_utf8(bytes).map_err(|_| bad("string is not UTF-8"))?;
                self.push(Value::Text(Cow::Borrowed(text)))?;
            }
            b'p' => {
                let index = self.line()?.parse().map_err(|_| bad("bad PUT index"))?;
                self.memo_put(index)?;
            }
            b'q' => {
                let index = u32::from(self.byte()?);
                self.memo_put(index)?;
            }
            b'r' => {
                let index = self.u32_le()?;
                self.memo_put(index)?;
            }
            0x94 => {
                let index = self.memo.len() as u32;
                self.memo_put(index)?;
            }
            b'g' => {
                let index = self.line()?.parse().map_err(|_| bad("bad GET index"))?;
                self.memo_get(index)?;
            }
            b'h' => {
                let index = u32::from(self.byte()?);
                self.memo_get(index)?;
            }
            b'j' => {
                let index = self.u32_le()?;
                self.memo_get(index)?;
            }
            b'0' => {
                self.stack.pop().ok_or_else(|| bad("stack underflow"))?;
            }
            b'1' => {
                self.pop_to_mark()?;
            }
            b'2' => {
                let v = self.top()?.clone();
                self.push(v)?;
            }
            other => {
                return Err(bad(format!(
                    "opcode 0x{other:02x} is not allowed: only opcodes that build plain data are accepted"
                )));
            }
        }
        Ok(())
    }
}

/// A little-endian two's complement integer of up to 8 bytes.
fn long_le(bytes: &[u8]) -> Result<i64, ParseError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 8 {
        return Err(bad("integer wider than 64 bits"));
    }
    let fill = if bytes[bytes.len() - 1] & 0x80 != 0 {
        0xff
    } else {
        0
    };
    let mut buf = [fill; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Ok(i64::from_le_bytes(buf))
}

/// The text of a protocol 0 `STRING` argument: a quoted Python literal.
fn unquote(text: &str) -> Result<Cow<'_, str>, ParseError> {
    let quoted = text.len() >= 2
        && ((text.starts_with('\'') && text.ends_with('\''))
            || (text.starts_with('"') && text.ends_with('"')));
    if !quoted {
        return Err(bad(format!("STRING is not quoted: {}", snippet(text))));
    }
    let inner = &text[1..text.len() - 1];
    if !inner.contains('\\') {
        return Ok(Cow::Borrowed(inner));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let code = u8::from_str_radix(&hex, 16).map_err(|_| bad("bad \\x escape"))?;
                out.push(char::from(code));
            }
            Some(other) => out.push(other),
            None => return Err(bad("dangling backslash")),
        }
    }
    Ok(Cow::Owned(out))
}

/// Encodes points as one length-prefixed frame, pickled at protocol 2 as Python would.
pub fn encode_frame(points: &[(&str, i64, f64)]) -> Vec<u8> {
    let mut body = vec![0x80, 2, b']', b'('];
    for (name, timestamp, value) in points {
        body.push(b'X');
        body.extend_from_slice(&(name.len() as u32).to_le_bytes());
        body.extend_from_slice(name.as_bytes());
        match i32::try_from(*timestamp) {
            Ok(t) => {
                body.push(b'J');
                body.extend_from_slice(&t.to_le_bytes());
            }
            Err(_) => {
                body.extend_from_slice(&[0x8a, 8]);
                body.extend_from_slice(&timestamp.to_le_bytes());
            }
        }
        body.push(b'G');
        body.extend_from_slice(&value.to_be_bytes());
        body.extend_from_slice(&[0x86, 0x86]);
    }
    body.extend_from_slice(b"e.");
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

#[cfg(test)]
mod tests;
