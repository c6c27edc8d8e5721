//! The protobuf wire format, read by hand: enough for the OTLP messages we accept.
//!
//! [`Reader`] walks one message's fields as `(field number, value)` pairs without a schema, so a
//! decoder matches on the pairs it knows and skips the rest: unknown fields, and known fields
//! sent with an unexpected wire type. Repeated scalars may come packed (one length-delimited
//! field) or unpacked (one field per element); [`packed_fixed64`] and [`packed_varint`] read
//! the packed form. The writing side is only what responses need.

use crate::ParseError;

/// A protobuf reader over one message's bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One field's value on the wire.
pub(crate) enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Bytes(&'a [u8]),
}

/// The error for a body that is not well-formed protobuf.
pub(crate) fn bad(what: &str) -> ParseError {
    ParseError::Json(format!("bad OTLP protobuf: {what}"))
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, ParseError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| bad("truncated field"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn fixed64(&mut self) -> Result<u64, ParseError> {
        let bytes = self.take(8)?.try_into().map_err(|_| bad("fixed64"))?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// The next `(field number, value)`, or `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ParseError> {
        if self.at_end() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(self.fixed64()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            other => return Err(bad(&format!("wire type {other}"))),
        };
        Ok(Some((key >> 3, field)))
    }
}

/// A packed `repeated fixed64` (or `sfixed64`, `double`: the caller converts the bits).
pub(crate) fn packed_fixed64(buf: &[u8], out: &mut Vec<u64>) -> Result<(), ParseError> {
    if !buf.len().is_multiple_of(8) {
        return Err(bad("packed fixed64 field is not a multiple of 8 bytes"));
    }
    let mut r = Reader::new(buf);
    while !r.at_end() {
        out.push(r.fixed64()?);
    }
    Ok(())
}

/// A packed `repeated uint64` (varints).
pub(crate) fn packed_varint(buf: &[u8], out: &mut Vec<u64>) -> Result<(), ParseError> {
    let mut r = Reader::new(buf);
    while !r.at_end() {
        out.push(r.varint()?);
    }
    Ok(())
}

/// A `sint32` from its zigzag varint (the high 32 bits of an over-long varint are dropped, as
/// the reference runtimes do).
pub(crate) fn zigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Appends `v` as a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag() {
        for (wire, value) in [(0, 0), (1, -1), (2, 1), (3, -2), (4_294_967_294, i32::MAX)] {
            assert_eq!(zigzag32(wire), value);
        }
        assert_eq!(zigzag32(4_294_967_295), i32::MIN);
    }

    #[test]
    fn packed_fields() {
        let mut out = Vec::new();
        packed_varint(&[0x01, 0x96, 0x01], &mut out).unwrap();
        assert_eq!(out, [1, 150]);
        assert!(packed_varint(&[0x96], &mut out).is_err());
        out.clear();
        packed_fixed64(&[2, 0, 0, 0, 0, 0, 0, 0], &mut out).unwrap();
        assert_eq!(out, [2]);
        assert!(packed_fixed64(&[2, 0, 0], &mut out).is_err());
    }

    #[test]
    fn writes_what_it_reads() {
        let mut out = Vec::new();
        put_bytes(&mut out, 2, b"hi");
        put_varint(&mut out, 3 << 3);
        put_varint(&mut out, 300);
        let mut r = Reader::new(&out);
        assert!(matches!(r.next().unwrap(), Some((2, Field::Bytes(b"hi")))));
        assert!(matches!(r.next().unwrap(), Some((3, Field::Varint(300)))));
        assert!(r.next().unwrap().is_none());
    }
}
