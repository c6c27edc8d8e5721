//! Compression of one series' points: Gorilla's scheme over slot numbers.
//!
//! Points are `(slot, value)` with slots strictly increasing, where a slot is a timestamp
//! divided by the tier's step. Regularly spaced points therefore have a slot delta of 1 and a
//! delta-of-delta of 0, which costs one bit. Values are XORed with the previous value and only
//! the meaningful bits are written (Pelkonen et al., "Gorilla", VLDB 2015); a repeated value
//! costs one bit. The first slot and the point count are kept outside the bit stream, by the
//! caller; the stream starts with the first value's 64 bits.

/// A growable stream of bits, most significant bit first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitBuf {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitBuf {
    /// Appends the low `n` bits of `value` (`n` at most 64).
    pub fn push(&mut self, value: u64, n: u32) {
        let mut left = n;
        while left > 0 {
            let used = (self.bits % 8) as u32;
            if used == 0 {
                self.bytes.push(0);
            }
            let free = 8 - used;
            let take = free.min(left);
            let chunk = (value >> (left - take)) & ((1u64 << take) - 1);
            if let Some(last) = self.bytes.last_mut() {
                *last |= (chunk as u8) << (free - take);
            }
            left -= take;
            self.bits += take as usize;
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn bit_len(&self) -> usize {
        self.bits
    }

    /// Heap bytes held, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads bits written by [`BitBuf`].
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// The next `n` bits (at most 64), or `None` past the end.
    pub fn read(&mut self, n: u32) -> Option<u64> {
        if self.pos + n as usize > self.bytes.len() * 8 {
            return None;
        }
        let mut out = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let used = (self.pos % 8) as u32;
            let avail = 8 - used;
            let take = avail.min(left);
            let chunk = (u64::from(byte) >> (avail - take)) & ((1u64 << take) - 1);
            out = if take == 64 {
                chunk
            } else {
                (out << take) | chunk
            };
            left -= take;
            self.pos += take as usize;
        }
        Some(out)
    }

    fn bit(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }
}

/// No value has been written yet, so the next XOR must carry its own window.
const NO_WINDOW: u32 = u32::MAX;

/// Encodes points one at a time.
#[derive(Debug, Clone)]
pub struct Encoder {
    bits: BitBuf,
    count: u32,
    prev_slot: i64,
    prev_delta: i64,
    prev_value: u64,
    leading: u32,
    trailing: u32,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder {
            bits: BitBuf::default(),
            count: 0,
            prev_slot: 0,
            prev_delta: 1,
            prev_value: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Appends a point. `slot` must be greater than the previous point's.
    pub fn push(&mut self, slot: i64, value: f64) {
        let bits = value.to_bits();
        if self.count == 0 {
            self.bits.push(bits, 64);
        } else {
            let delta = slot - self.prev_slot;
            self.push_dod(delta - self.prev_delta);
            self.prev_delta = delta;
            self.push_xor(bits ^ self.prev_value);
        }
        self.prev_slot = slot;
        self.prev_value = bits;
        self.count += 1;
    }

    fn push_dod(&mut self, dod: i64) {
        match dod {
            0 => self.bits.push(0, 1),
            -63..=64 => {
                self.bits.push(0b10, 2);
                self.bits.push((dod + 63) as u64, 7);
            }
            -255..=256 => {
                self.bits.push(0b110, 3);
                self.bits.push((dod + 255) as u64, 9);
            }
            -2047..=2048 => {
                self.bits.push(0b1110, 4);
                self.bits.push((dod + 2047) as u64, 12);
            }
            _ => {
                self.bits.push(0b1111, 4);
                self.bits.push(dod as u64, 64);
            }
        }
    }

    fn push_xor(&mut self, xor: u64) {
        if xor == 0 {
            self.bits.push(0, 1);
            return;
        }
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            self.bits.push(0b10, 2);
            self.bits
                .push(xor >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        let significant = 64 - leading - trailing;
        self.bits.push(0b11, 2);
        self.bits.push(u64::from(leading), 5);
        self.bits.push(u64::from(significant - 1), 6);
        self.bits.push(xor >> trailing, significant);
        self.leading = leading;
        self.trailing = trailing;
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn last_slot(&self) -> Option<i64> {
        (self.count > 0).then_some(self.prev_slot)
    }

    pub fn bytes(&self) -> &[u8] {
        self.bits.bytes()
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.bits.capacity()
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

/// Decodes `count` points from `bytes`, the first at `first_slot`.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    reader: BitReader<'a>,
    left: u32,
    started: bool,
    slot: i64,
    delta: i64,
    value: u64,
    leading: u32,
    trailing: u32,
}

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8], count: u32, first_slot: i64) -> Self {
        Decoder {
            reader: BitReader::new(bytes),
            left: count,
            started: false,
            slot: first_slot,
            delta: 1,
            value: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_dod(&mut self) -> Option<i64> {
        if !self.reader.bit()? {
            return Some(0);
        }
        if !self.reader.bit()? {
            return Some(self.reader.read(7)? as i64 - 63);
        }
        if !self.reader.bit()? {
            return Some(self.reader.read(9)? as i64 - 255);
        }
        if !self.reader.bit()? {
            return Some(self.reader.read(12)? as i64 - 2047);
        }
        Some(self.reader.read(64)? as i64)
    }

    fn read_xor(&mut self) -> Option<u64> {
        if !self.reader.bit()? {
            return Some(0);
        }
        if self.reader.bit()? {
            self.leading = self.reader.read(5)? as u32;
            let significant = self.reader.read(6)? as u32 + 1;
            self.trailing = 64u32.checked_sub(self.leading + significant)?;
        }
        let significant = 64 - self.leading - self.trailing;
        Some(self.reader.read(significant)? << self.trailing)
    }
}

impl Iterator for Decoder<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.left == 0 {
            return None;
        }
        if !self.started {
            self.started = true;
            self.value = self.reader.read(64)?;
        } else {
            self.delta += self.read_dod()?;
            self.slot += self.delta;
            self.value ^= self.read_xor()?;
        }
        self.left -= 1;
        Some((self.slot, f64::from_bits(self.value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(points: &[(i64, f64)]) -> usize {
        let mut enc = Encoder::new();
        for (s, v) in points {
            enc.push(*s, *v);
        }
        let first = points.first().map_or(0, |p| p.0);
        let decoded: Vec<_> = Decoder::new(enc.bytes(), enc.count(), first).collect();
        assert_eq!(decoded.len(), points.len());
        for (got, want) in decoded.iter().zip(points) {
            assert_eq!(got.0, want.0);
            assert_eq!(got.1.to_bits(), want.1.to_bits());
        }
        enc.bytes().len()
    }

    #[test]
    fn bits_round_trip() {
        let mut buf = BitBuf::default();
        buf.push(0b1, 1);
        buf.push(0xdead_beef, 32);
        buf.push(u64::MAX, 64);
        buf.push(0b101, 3);
        let mut r = BitReader::new(buf.bytes());
        assert_eq!(r.read(1), Some(1));
        assert_eq!(r.read(32), Some(0xdead_beef));
        assert_eq!(r.read(64), Some(u64::MAX));
        assert_eq!(r.read(3), Some(0b101));
        assert_eq!(buf.bit_len(), 100);
    }

    #[test]
    fn regular_constant_series_costs_about_two_bits_a_point() {
        let points: Vec<_> = (0..1000).map(|i| (1_000 + i, 42.0)).collect();
        let bytes = round_trip(&points);
        assert!(bytes < 8 + 1000 * 2 / 8 + 2, "{bytes}");
    }

    #[test]
    fn irregular_and_special_values_round_trip() {
        let points = [
            (5, 0.0),
            (6, -0.0),
            (9, f64::INFINITY),
            (100, f64::NEG_INFINITY),
            (101, 1e-300),
            (100_000, f64::MAX),
            (100_001, 3.25),
            (1 << 40, -7.5),
        ];
        round_trip(&points);
        round_trip(&[]);
        round_trip(&[(-5, 1.0)]);
    }
}
