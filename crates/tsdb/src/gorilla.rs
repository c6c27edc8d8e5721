//! Compression of one series' points: Gorilla's scheme, and a decimal-aware variant for blocks.
//!
//! Points are `(slot, value)` with slots strictly increasing, where a slot is a timestamp
//! divided by the tier's step. Regularly spaced points therefore have a slot delta of 1 and a
//! delta-of-delta of 0, which costs one bit. Values are XORed with the previous value and only
//! the meaningful bits are written (Pelkonen et al., "Gorilla", VLDB 2015); a repeated value
//! costs one bit. The first slot and the point count are kept outside the bit stream, by the
//! caller; the stream starts with the first value's 64 bits.
//!
//! XOR coding suits values that move in their low mantissa bits; it is poor at decimals (40.1
//! and 40.2 differ in most bits). Segment blocks therefore go through [`encode_block`], which
//! also tries a decimal coding: when every value is exactly `k / 10^e` for a small `e`, the
//! integers `k` are stored as zigzag deltas or deltas-of-deltas in bit buckets, whichever is
//! smaller. Decoding reproduces every value bit for bit; the check is made before choosing.

/// A growable stream of bits, most significant bit first. It grows 32 bytes at a time rather
/// than doubling: a head holds one of these per series, and doubling would waste a quarter of
/// the memory on average.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitBuf {
    bytes: Vec<u8>,
    bits: u32,
}

impl BitBuf {
    /// Appends the low `n` bits of `value` (`n` at most 64).
    pub fn push(&mut self, value: u64, n: u32) {
        let mut left = n;
        while left > 0 {
            let used = self.bits % 8;
            if used == 0 {
                if self.bytes.len() == self.bytes.capacity() {
                    self.bytes.reserve_exact(32);
                }
                self.bytes.push(0);
            }
            let free = 8 - used;
            let take = free.min(left);
            let chunk = (value >> (left - take)) & ((1u64 << take) - 1);
            if let Some(last) = self.bytes.last_mut() {
                *last |= (chunk as u8) << (free - take);
            }
            left -= take;
            self.bits += take;
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn bit_len(&self) -> usize {
        self.bits as usize
    }

    /// Heap bytes held, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads bits written by [`BitBuf`], through a 64-bit register refilled a byte at a time.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte to load into `buf`.
    next: usize,
    /// The upcoming bits, left-aligned; `avail` of them are valid.
    buf: u64,
    avail: u32,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            next: 0,
            buf: 0,
            avail: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        while self.avail <= 56 {
            let Some(&b) = self.bytes.get(self.next) else {
                break;
            };
            self.buf |= u64::from(b) << (56 - self.avail);
            self.avail += 8;
            self.next += 1;
        }
    }

    /// The next `n` bits (at most 64), or `None` past the end.
    #[inline]
    pub fn read(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if n > 56 {
            if n > 64 {
                return None;
            }
            let high = self.read(n - 32)?;
            let low = self.read(32)?;
            return Some((high << 32) | low);
        }
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return None;
            }
        }
        let out = self.buf >> (64 - n);
        self.buf <<= n;
        self.avail -= n;
        Some(out)
    }

    #[inline]
    fn bit(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }
}

/// No value has been written yet, so the next XOR must carry its own window.
const NO_WINDOW: u8 = u8::MAX;

/// Writes a timestamp delta-of-delta: `0` for a regular step, then 7, 9, 12 or 64 bits.
fn push_dod(bits: &mut BitBuf, dod: i64) {
    match dod {
        0 => bits.push(0, 1),
        -63..=64 => {
            bits.push(0b10, 2);
            bits.push((dod + 63) as u64, 7);
        }
        -255..=256 => {
            bits.push(0b110, 3);
            bits.push((dod + 255) as u64, 9);
        }
        -2047..=2048 => {
            bits.push(0b1110, 4);
            bits.push((dod + 2047) as u64, 12);
        }
        _ => {
            bits.push(0b1111, 4);
            bits.push(dod as u64, 64);
        }
    }
}

/// Reads what [`push_dod`] wrote.
#[inline(always)]
fn read_dod(r: &mut BitReader<'_>) -> Option<i64> {
    if !r.bit()? {
        return Some(0);
    }
    if !r.bit()? {
        return Some(r.read(7)? as i64 - 63);
    }
    if !r.bit()? {
        return Some(r.read(9)? as i64 - 255);
    }
    if !r.bit()? {
        return Some(r.read(12)? as i64 - 2047);
    }
    Some(r.read(64)? as i64)
}

/// Encodes points one at a time. Small (64 bytes) because a head keeps one per series.
#[derive(Debug, Clone)]
pub struct Encoder {
    bits: BitBuf,
    count: u32,
    prev_slot: i64,
    prev_delta: i64,
    prev_value: u64,
    leading: u8,
    trailing: u8,
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
            push_dod(&mut self.bits, delta - self.prev_delta);
            self.prev_delta = delta;
            self.push_xor(bits ^ self.prev_value);
        }
        self.prev_slot = slot;
        self.prev_value = bits;
        self.count += 1;
    }

    fn push_xor(&mut self, xor: u64) {
        if xor == 0 {
            self.bits.push(0, 1);
            return;
        }
        let leading = xor.leading_zeros().min(31) as u8;
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            self.bits.push(0b10, 2);
            let width = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.bits.push(xor >> self.trailing, width);
            return;
        }
        let significant = 64 - u32::from(leading) - u32::from(trailing);
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

    #[inline(always)]
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

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.left == 0 {
            return None;
        }
        if !self.started {
            self.started = true;
            self.value = self.reader.read(64)?;
        } else {
            self.delta += read_dod(&mut self.reader)?;
            self.slot += self.delta;
            self.value ^= self.read_xor()?;
        }
        self.left -= 1;
        Some((self.slot, f64::from_bits(self.value)))
    }
}

/// How a segment block's values are coded.
const BLOCK_XOR: u8 = 0;
const BLOCK_DECIMAL_DELTA: u8 = 1;
const BLOCK_DECIMAL_DOD: u8 = 2;

/// The largest decimal exponent tried.
const MAX_EXPONENT: i32 = 6;

/// Encodes a block of points (slots strictly increasing) in whichever coding is smallest.
pub fn encode_block(points: &[(i64, f64)]) -> Vec<u8> {
    let mut xor = Encoder::new();
    for (slot, value) in points {
        xor.push(*slot, *value);
    }
    let mut best = Vec::with_capacity(xor.bytes().len() + 1);
    best.push(BLOCK_XOR);
    best.extend_from_slice(xor.bytes());
    let Some((exponent, ints)) = decimal_form(points) else {
        return best;
    };
    for mode in [BLOCK_DECIMAL_DELTA, BLOCK_DECIMAL_DOD] {
        let candidate = encode_decimal(points, &ints, exponent, mode);
        if candidate.len() < best.len() {
            best = candidate;
        }
    }
    best
}

/// The smallest exponent `e` for which every value is exactly `k / 10^e`, and the `k`s.
fn decimal_form(points: &[(i64, f64)]) -> Option<(u8, Vec<i64>)> {
    'exponents: for e in 0..=MAX_EXPONENT {
        let scale = 10f64.powi(e);
        let mut ints = Vec::with_capacity(points.len());
        for (_, v) in points {
            let k = (v * scale).round();
            if !k.is_finite() || k.abs() >= 9.0e15 || (k / scale).to_bits() != v.to_bits() {
                continue 'exponents;
            }
            ints.push(k as i64);
        }
        return Some((e as u8, ints));
    }
    None
}

fn encode_decimal(points: &[(i64, f64)], ints: &[i64], exponent: u8, mode: u8) -> Vec<u8> {
    let mut bits = BitBuf::default();
    let (mut prev_slot, mut prev_delta) = (0i64, 1i64);
    let (mut prev_int, mut prev_int_delta) = (0i64, 0i64);
    for (i, ((slot, _), k)) in points.iter().zip(ints).enumerate() {
        if i == 0 {
            bits.push(*k as u64, 64);
        } else {
            let delta = slot - prev_slot;
            push_dod(&mut bits, delta - prev_delta);
            prev_delta = delta;
            let int_delta = k.wrapping_sub(prev_int);
            let coded = if mode == BLOCK_DECIMAL_DOD {
                int_delta.wrapping_sub(prev_int_delta)
            } else {
                int_delta
            };
            push_bucketed(&mut bits, zigzag(coded));
            prev_int_delta = int_delta;
        }
        prev_slot = *slot;
        prev_int = *k;
    }
    let mut out = Vec::with_capacity(bits.bytes().len() + 2);
    out.extend_from_slice(&[mode, exponent]);
    out.extend_from_slice(bits.bytes());
    out
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Prefix-coded widths for zigzagged integers: `0`, then 4, 8, 12, 16, 24 or 64 bits.
const BUCKETS: [(u64, u32, u32); 6] = [
    (0b10, 2, 4),
    (0b110, 3, 8),
    (0b1110, 4, 12),
    (0b11110, 5, 16),
    (0b111110, 6, 24),
    (0b111111, 6, 64),
];

fn push_bucketed(bits: &mut BitBuf, v: u64) {
    if v == 0 {
        bits.push(0, 1);
        return;
    }
    for (prefix, prefix_len, width) in BUCKETS {
        if width == 64 || v < (1u64 << width) {
            bits.push(prefix, prefix_len);
            bits.push(v, width);
            return;
        }
    }
}

#[inline(always)]
fn read_bucketed(r: &mut BitReader<'_>) -> Option<u64> {
    if !r.bit()? {
        return Some(0);
    }
    for (_, _, width) in &BUCKETS[..5] {
        if !r.bit()? {
            return r.read(*width);
        }
    }
    r.read(64)
}

/// Decodes a block written by [`encode_block`].
pub fn decode_block(block: &[u8], count: u32, first_slot: i64) -> Option<Vec<(i64, f64)>> {
    let mut out = Vec::with_capacity(count as usize);
    let (decoded, _) = decode_block_with(block, count, first_slot, &mut |slot, value| {
        out.push((slot, value));
    })?;
    (decoded == count).then_some(out)
}

/// Decodes a block written by [`encode_block`], handing each point to `visit` as it is read:
/// how many points were decoded and the last one's slot. A block cut short or not a block at
/// all gives fewer than `count`, or `None`.
#[inline]
pub fn decode_block_with(
    block: &[u8],
    count: u32,
    first_slot: i64,
    visit: &mut impl FnMut(i64, f64),
) -> Option<(u32, Option<i64>)> {
    let (&mode, rest) = block.split_first()?;
    let (mut decoded, mut last) = (0u32, None);
    if mode == BLOCK_XOR {
        for (slot, value) in Decoder::new(rest, count, first_slot) {
            visit(slot, value);
            (decoded, last) = (decoded + 1, Some(slot));
        }
        return Some((decoded, last));
    }
    let (&exponent, stream) = rest.split_first()?;
    if !(mode == BLOCK_DECIMAL_DELTA || mode == BLOCK_DECIMAL_DOD)
        || i32::from(exponent) > MAX_EXPONENT
    {
        return None;
    }
    let scale = 10f64.powi(i32::from(exponent));
    let mut r = BitReader::new(stream);
    let (mut slot, mut delta) = (first_slot, 1i64);
    let (mut k, mut k_delta) = (0i64, 0i64);
    for i in 0..count {
        if i == 0 {
            k = r.read(64)? as i64;
        } else {
            delta += read_dod(&mut r)?;
            slot += delta;
            let coded = unzigzag(read_bucketed(&mut r)?);
            k_delta = if mode == BLOCK_DECIMAL_DOD {
                k_delta.wrapping_add(coded)
            } else {
                coded
            };
            k = k.wrapping_add(k_delta);
        }
        visit(slot, k as f64 / scale);
        (decoded, last) = (decoded + 1, Some(slot));
    }
    Some((decoded, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_read_back_at_every_width_and_offset() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut written = Vec::new();
        let mut buf = BitBuf::default();
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % 64) as u32 + 1;
            let value = if n == 64 {
                state
            } else {
                state & ((1u64 << n) - 1)
            };
            buf.push(value, n);
            written.push((value, n));
        }
        let mut reader = BitReader::new(buf.bytes());
        for (value, n) in written {
            assert_eq!(reader.read(n), Some(value), "{n} bits");
        }
        assert_eq!(reader.read(64), None, "past the end");
    }

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

    fn block_round_trip(points: &[(i64, f64)]) -> (u8, usize) {
        let block = encode_block(points);
        let first = points.first().map_or(0, |p| p.0);
        let decoded = decode_block(&block, points.len() as u32, first).unwrap();
        assert_eq!(decoded.len(), points.len());
        for (got, want) in decoded.iter().zip(points) {
            assert_eq!(
                (got.0, got.1.to_bits()),
                (want.0, want.1.to_bits()),
                "{want:?}"
            );
        }
        (block[0], block.len())
    }

    #[test]
    fn blocks_pick_the_smallest_coding() {
        let counters: Vec<_> = (0..360).map(|i| (i, (1000 + i * 17) as f64)).collect();
        let (coding, bytes) = block_round_trip(&counters);
        assert_eq!(coding, BLOCK_DECIMAL_DOD);
        assert!(bytes < 360 / 4 + 20, "{bytes} bytes for a steady counter");
        let gauges: Vec<_> = (0..360)
            .map(|i| (i, 40.0 + ((i * 37) % 600) as f64 / 10.0))
            .collect();
        let (coding, bytes) = block_round_trip(&gauges);
        assert_ne!(coding, BLOCK_XOR);
        assert!(bytes < 360 * 2, "{bytes} bytes for one-decimal gauges");
        let walk: Vec<_> = (0..360)
            .map(|i| (i * 10, ((i * 7919) % 1000) as f64 / 100.0))
            .collect();
        let (_, bytes) = block_round_trip(&walk);
        assert!(bytes < 360 * 2, "{bytes} bytes for two-decimal values");
        let noisy: Vec<_> = (0..100)
            .map(|i| (i, (i as f64).sqrt() * 1.234_567_891))
            .collect();
        assert_eq!(block_round_trip(&noisy).0, BLOCK_XOR);
        let special = [
            (1, -0.0),
            (2, f64::INFINITY),
            (3, 0.1),
            (9, f64::MAX),
            (10, 5e-324),
        ];
        block_round_trip(&special);
        block_round_trip(&[(7, 0.1), (8, 0.2), (9, 0.30000000000000004)]);
        block_round_trip(&[(1, -2.5), (5, -7.25), (6, 1e15)]);
        assert!(decode_block(&[9, 0], 1, 0).is_none());
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

    use proptest::prelude::*;

    proptest! {
        /// Every coding reads back bit for bit, whatever the gaps (every delta-of-delta width)
        /// and values (decimals of each scale, and arbitrary doubles); a block cut short is
        /// refused, never misread as whole.
        #[test]
        fn blocks_and_streams_round_trip(
            steps in proptest::collection::vec(
                prop_oneof![
                    4 => Just(10i64),
                    2 => 1i64..70,
                    1 => 1i64..5000,
                    1 => 1i64..(1 << 40),
                ],
                0..300,
            ),
            values in proptest::collection::vec(
                prop_oneof![
                    3 => (-100_000i64..100_000, 0u32..7).prop_map(|(k, e)| k as f64 / 10f64.powi(e as i32)),
                    1 => proptest::num::f64::ANY,
                ],
                300,
            ),
            cut in 0usize..8,
        ) {
            let mut slot = -7i64;
            let points: Vec<(i64, f64)> = steps
                .iter()
                .zip(&values)
                .map(|(step, v)| {
                    slot += step;
                    (slot, *v)
                })
                .collect();
            round_trip(&points);
            block_round_trip(&points);
            let block = encode_block(&points);
            if !points.is_empty() && cut > 0 && cut < block.len() {
                let first = points[0].0;
                let short = decode_block(&block[..block.len() - cut], points.len() as u32, first);
                if let Some(decoded) = short {
                    // Only padding was cut: what decodes must still be the points.
                    prop_assert_eq!(decoded.len(), points.len());
                    for (got, want) in decoded.iter().zip(&points) {
                        prop_assert_eq!((got.0, got.1.to_bits()), (want.0, want.1.to_bits()));
                    }
                }
            }
        }
    }
}
