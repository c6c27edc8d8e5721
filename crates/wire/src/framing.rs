//! Framing: cutting a byte stream into records, separately from decoding them.
//!
//! [`Lines`] cuts newline-delimited text (carbon plaintext, statsd over TCP, JSON lines) and
//! enforces a maximum line length. [`next_length_prefixed`] cuts 4-byte big-endian
//! length-prefixed frames (carbon pickle). Both borrow from the caller's buffer and tell it how
//! many bytes were consumed, so a listener can keep the unconsumed tail for its next read.

/// A line, or a frame, longer than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line longer than {limit} bytes")]
pub struct TooLong {
    pub limit: usize,
}

/// The complete lines of a buffer, without their `\n`. A `\r` before it is left to the decoder,
/// which trims whitespace anyway.
#[derive(Debug)]
pub struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
    failed: bool,
}

impl<'a> Lines<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Lines {
            buf,
            pos: 0,
            max,
            failed: false,
        }
    }

    /// Bytes of the buffer consumed by the lines returned so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// The incomplete last line, to keep for the next read. An error if it is already too long
    /// to ever be accepted.
    pub fn rest(&self) -> Result<&'a [u8], TooLong> {
        let rest = &self.buf[self.pos..];
        if rest.len() > self.max {
            Err(TooLong { limit: self.max })
        } else {
            Ok(rest)
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<&'a [u8], TooLong>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let end = memchr::memchr(b'\n', rest)?;
        if end > self.max {
            self.failed = true;
            return Some(Err(TooLong { limit: self.max }));
        }
        self.pos += end + 1;
        Some(Ok(&rest[..end]))
    }
}

/// The first 4-byte big-endian length-prefixed frame of `buf`, and the bytes it took, or `None`
/// if the frame is not complete yet.
pub fn next_length_prefixed(buf: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, TooLong> {
    let Some(header) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > max {
        return Err(TooLong { limit: max });
    }
    match buf.get(4..4 + len) {
        Some(frame) => Ok(Some((frame, 4 + len))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_stop_at_the_incomplete_tail() {
        let buf = b"a 1 2\r\nb 3 4\npartial";
        let mut lines = Lines::new(buf, 100);
        assert_eq!(lines.next(), Some(Ok(&b"a 1 2\r"[..])));
        assert_eq!(lines.next(), Some(Ok(&b"b 3 4"[..])));
        assert_eq!(lines.next(), None);
        assert_eq!(lines.consumed(), 13);
        assert_eq!(lines.rest(), Ok(&b"partial"[..]));
    }

    #[test]
    fn an_overlong_line_ends_the_iteration() {
        let buf = b"ok\nthis-is-too-long\nnever";
        let mut lines = Lines::new(buf, 5);
        assert_eq!(lines.next(), Some(Ok(&b"ok"[..])));
        assert_eq!(lines.next(), Some(Err(TooLong { limit: 5 })));
        assert_eq!(lines.next(), None);
        assert_eq!(lines.consumed(), 3);
        assert!(Lines::new(b"no-newline-and-too-long", 5).rest().is_err());
    }

    #[test]
    fn length_prefixed_frames() {
        let mut buf = vec![0, 0, 0, 3, b'a', b'b', b'c', 0, 0];
        assert_eq!(next_length_prefixed(&buf, 10), Ok(Some((&b"abc"[..], 7))));
        assert_eq!(next_length_prefixed(&buf[7..], 10), Ok(None));
        buf[3] = 200;
        assert_eq!(next_length_prefixed(&buf, 10), Err(TooLong { limit: 10 }));
        assert_eq!(next_length_prefixed(&buf[..2], 10), Ok(None));
    }
}
