//! Carbon's listeners: plaintext on TCP and UDP (:2003) and pickle on TCP (:2004).
//!
//! Plaintext lines decode with `wire::carbon`; a timestamp of "now" is the clock's now when the
//! line is read. A bad line is counted and skipped and the connection stays open; a line over
//! `max_line_length` closes the connection after the lines before it are stored. A NaN value
//! is counted as dropped, as carbon drops it. Pickle frames decode with `wire::pickle`; one bad
//! element is counted and skipped, and a corrupt or oversized frame closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::{ByteSize, PointBatch, SharedClock};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use wire::ParseError;
use wire::framing::{Lines, next_length_prefixed};

use super::MetricSink;
use super::net::{Cidr, ListenAddr, QuietLog};
use super::tcp::ConnReader;
use crate::telemetry::ListenerStats;

/// The `[carbon]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarbonConfig {
    /// Plaintext over TCP, or `off`.
    pub tcp: ListenAddr,
    /// Plaintext over UDP (one or more lines per datagram), or `off`.
    pub udp: ListenAddr,
    /// Pickle over TCP, or `off`.
    pub pickle: ListenAddr,
    /// Longer lines close their connection.
    pub max_line_length: ByteSize,
    /// Connections beyond this, per TCP listener, are refused.
    pub max_connections: usize,
    /// Only these networks may send; empty means any (the bind address still applies).
    pub allow: Vec<Cidr>,
    /// The UDP socket's kernel receive buffer.
    pub udp_receive_buffer: ByteSize,
}

impl Default for CarbonConfig {
    fn default() -> Self {
        CarbonConfig {
            tcp: ListenAddr::loopback(2003),
            udp: ListenAddr::loopback(2003),
            pickle: ListenAddr::loopback(2004),
            max_line_length: ByteSize::kib(32),
            max_connections: 1024,
            allow: Vec::new(),
            udp_receive_buffer: ByteSize::mib(8),
        }
    }
}

/// What every carbon connection needs.
#[derive(Debug, Clone)]
pub struct CarbonContext {
    pub sink: MetricSink,
    pub clock: SharedClock,
    pub stats: Arc<ListenerStats>,
    pub max_line: usize,
    pub shutdown: CancellationToken,
    pub disk: Arc<crate::disk::DiskGuard>,
}

/// Decodes one plaintext line into `batch`, counting it.
fn take_line(
    line: &[u8],
    now: i64,
    batch: &mut PointBatch,
    stats: &ListenerStats,
    log: &mut QuietLog,
) {
    match wire::carbon::decode_line(line) {
        Ok(point) => {
            stats.received.fetch_add(1, Ordering::Relaxed);
            batch.push(&point.name, point.timestamp.unwrap_or(now), point.value);
        }
        Err(ParseError::Empty) => {}
        Err(ParseError::NotANumber) => {
            stats.received.fetch_add(1, Ordering::Relaxed);
            stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            stats.received.fetch_add(1, Ordering::Relaxed);
            stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            log.bad_record(&e, line);
        }
    }
}

/// One plaintext TCP connection.
pub async fn plaintext_connection(stream: TcpStream, peer: SocketAddr, ctx: CarbonContext) {
    let mut reader = ConnReader::new(stream, Arc::clone(&ctx.disk));
    let mut log = QuietLog::new(ctx.stats.name, peer);
    while let Some(eof) = reader.fill(&ctx.stats, &ctx.shutdown).await {
        let now = ctx.clock.now().as_secs();
        let mut batch = PointBatch::with_capacity(1024);
        let mut lines = Lines::new(reader.data(), ctx.max_line);
        let mut close = false;
        for line in &mut lines {
            match line {
                Ok(line) => take_line(line, now, &mut batch, &ctx.stats, &mut log),
                Err(e) => {
                    ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                    log.bad_record(&e, b"");
                    close = true;
                }
            }
        }
        let consumed = lines.consumed();
        let tail = lines.rest();
        if eof && let Ok(tail) = tail {
            // A last line without its newline is still a line.
            take_line(tail, now, &mut batch, &ctx.stats, &mut log);
        } else if tail.is_err() && !close {
            ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            log.bad_record(
                &wire::framing::TooLong {
                    limit: ctx.max_line,
                },
                b"",
            );
            close = true;
        }
        if ctx.sink.send(batch, &ctx.stats).await.is_err() || close || eof {
            return;
        }
        reader.consume(consumed);
    }
}

/// One pickle TCP connection.
pub async fn pickle_connection(stream: TcpStream, peer: SocketAddr, ctx: CarbonContext) {
    let mut reader = ConnReader::new(stream, Arc::clone(&ctx.disk));
    let mut log = QuietLog::new(ctx.stats.name, peer);
    while let Some(eof) = reader.fill(&ctx.stats, &ctx.shutdown).await {
        let now = ctx.clock.now().as_secs();
        let mut batch = PointBatch::with_capacity(1024);
        let (consumed, close) = take_frames(reader.data(), now, &mut batch, &ctx.stats, &mut log);
        if ctx.sink.send(batch, &ctx.stats).await.is_err() || close || eof {
            return;
        }
        reader.consume(consumed);
    }
}

/// Decodes the complete frames of `data`; returns the bytes consumed and whether to close.
fn take_frames(
    data: &[u8],
    now: i64,
    batch: &mut PointBatch,
    stats: &ListenerStats,
    log: &mut QuietLog,
) -> (usize, bool) {
    let mut used = 0;
    loop {
        let frame = match next_length_prefixed(&data[used..], wire::pickle::MAX_FRAME_BYTES) {
            Ok(Some((frame, len))) => {
                used += len;
                frame
            }
            Ok(None) => return (used, false),
            Err(e) => {
                stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                log.bad_record(&e, b"");
                return (used, true);
            }
        };
        let elements = match wire::pickle::decode_frame(frame) {
            Ok(elements) => elements,
            Err(e) => {
                stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                log.bad_record(&e, b"");
                return (used, true);
            }
        };
        for element in elements {
            stats.received.fetch_add(1, Ordering::Relaxed);
            match element {
                Ok(p) => batch.push(&p.name, p.timestamp.unwrap_or(now), p.value),
                Err(ParseError::NotANumber) => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                    log.bad_record(&e, b"");
                }
            }
        }
    }
}

/// Handles one plaintext datagram: every line in it.
pub fn plaintext_datagram(
    datagram: &[u8],
    peer: SocketAddr,
    ctx: &CarbonContext,
    logs: &mut Option<QuietLog>,
) {
    let now = ctx.clock.now().as_secs();
    let mut batch = PointBatch::with_capacity(16);
    let log = logs.get_or_insert_with(|| QuietLog::new(ctx.stats.name, peer));
    for line in datagram.split(|b| *b == b'\n') {
        if line.len() > ctx.max_line {
            ctx.stats.received.fetch_add(1, Ordering::Relaxed);
            ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        take_line(line, now, &mut batch, &ctx.stats, log);
    }
    ctx.sink.try_send(batch, &ctx.stats);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> ListenerStats {
        ListenerStats::new("test")
    }

    #[test]
    fn lines_are_counted_by_kind() {
        let stats = stats();
        let mut log = QuietLog::new("test", "127.0.0.1:1".parse().unwrap());
        let mut batch = PointBatch::new();
        for line in ["a 1 10", "", "a nan 10", "garbage", "b 2"] {
            take_line(line.as_bytes(), 99, &mut batch, &stats, &mut log);
        }
        let got: Vec<_> = batch
            .iter()
            .map(|p| (p.name.to_owned(), p.timestamp, p.value))
            .collect();
        assert_eq!(
            got,
            vec![("a".to_owned(), 10, 1.0), ("b".to_owned(), 99, 2.0)]
        );
        assert_eq!(stats.received.load(Ordering::Relaxed), 4);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(stats.parse_errors.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn frames_are_consumed_whole_and_bad_ones_close() {
        let stats = stats();
        let mut log = QuietLog::new("test", "127.0.0.1:1".parse().unwrap());
        let mut data = wire::pickle::encode_frame(&[("x", 5, 1.0), ("y", -1, 2.0)]);
        let first = data.len();
        data.extend_from_slice(&[0, 0, 0, 9, b'(']);
        let mut batch = PointBatch::new();
        let (used, close) = take_frames(&data, 42, &mut batch, &stats, &mut log);
        assert_eq!(
            (used, close),
            (first, false),
            "the partial second frame waits"
        );
        assert_eq!(
            batch.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
            vec![5, 42]
        );
        let mut bad = vec![0, 0, 0, 3];
        bad.extend_from_slice(b"cos");
        let (_, close) = take_frames(&bad, 42, &mut batch, &stats, &mut log);
        assert!(close);
    }
}
