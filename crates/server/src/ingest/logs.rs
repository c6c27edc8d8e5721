//! The log listeners: syslog on UDP and TCP (:5514) and JSON lines on TCP (:5170), into the
//! event store.
//!
//! Syslog frames are cut per frame (octet-counted, LF or NUL, `wire::syslog::Frames`) and
//! parsed leniently; a 3164 time is read in `syslog_timezone`; a message naming no host gets the
//! sender's address. JSON lines are logstash's `json_lines` shape, one object per line. A bad
//! record is counted and skipped and the connection stays open; an oversized one closes the
//! connection after the records before it are stored. Events become searchable within the
//! store's commit interval.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::tz::TimeZone;
use model::{ByteSize, LogEvent, SharedClock};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use wire::framing::Lines;
use wire::syslog::Frames;

use super::net::{Cidr, ListenAddr, QuietLog};
use super::tcp::ConnReader;
use crate::telemetry::ListenerStats;

/// The `[logs]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Syslog (RFC 5424 and 3164) over UDP, one message per datagram, or `off`.
    pub syslog_udp: ListenAddr,
    /// Syslog over TCP, octet-counted or LF/NUL-delimited (detected per frame), or `off`.
    pub syslog_tcp: ListenAddr,
    /// JSON objects, one per line (logstash `json_lines`), over TCP, or `off`.
    pub json_lines_tcp: ListenAddr,
    /// A longer message or line is refused and closes its connection.
    pub max_record_size: ByteSize,
    /// Connections beyond this, per TCP listener, are refused.
    pub max_connections: usize,
    /// Only these networks may send; empty means any.
    pub allow: Vec<Cidr>,
    /// The UDP socket's kernel receive buffer.
    pub udp_receive_buffer: ByteSize,
    /// The zone RFC 3164 times (which carry none) are read in: an IANA name.
    pub syslog_timezone: String,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            syslog_udp: ListenAddr::loopback(5514),
            syslog_tcp: ListenAddr::loopback(5514),
            json_lines_tcp: ListenAddr::loopback(5170),
            max_record_size: ByteSize::kib(256),
            max_connections: 1024,
            allow: Vec::new(),
            udp_receive_buffer: ByteSize::mib(8),
            syslog_timezone: "UTC".into(),
        }
    }
}

/// What every log connection needs.
#[derive(Debug, Clone)]
pub struct LogsContext {
    pub store: Arc<events::EventStore>,
    pub clock: SharedClock,
    pub stats: Arc<ListenerStats>,
    pub max_record: usize,
    pub shutdown: CancellationToken,
    pub tz: TimeZone,
}

impl LogsContext {
    fn now_ns(&self) -> i64 {
        self.clock.now().as_secs().saturating_mul(1_000_000_000)
    }

    /// The zone's offset from UTC now, in seconds.
    fn offset(&self, now_ns: i64) -> i64 {
        jiff::Timestamp::from_second(now_ns.div_euclid(1_000_000_000))
            .map_or(0, |ts| i64::from(self.tz.to_offset(ts).seconds()))
    }

    /// Stores events (on the blocking pool), counting what the store refuses.
    async fn store(&self, batch: Vec<LogEvent>) {
        if batch.is_empty() {
            return;
        }
        let store = Arc::clone(&self.store);
        let stats = Arc::clone(&self.stats);
        let _ = tokio::task::spawn_blocking(move || store_now(&store, &batch, &stats)).await;
    }
}

fn store_now(store: &events::EventStore, batch: &[LogEvent], stats: &ListenerStats) {
    match store.add(batch) {
        Ok(refused) => {
            stats
                .dropped
                .fetch_add(refused.len() as u64, Ordering::Relaxed);
        }
        Err(e) => {
            stats
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            tracing::error!(error = %e, "could not store events");
        }
    }
}

fn syslog_event(
    frame: &[u8],
    peer: SocketAddr,
    ctx: &LogsContext,
    now_ns: i64,
    offset: i64,
    log: &mut QuietLog,
) -> Option<LogEvent> {
    ctx.stats.received.fetch_add(1, Ordering::Relaxed);
    match wire::syslog::parse(frame) {
        Ok(m) => Some(wire::jsonlog::from_syslog(
            m,
            now_ns,
            offset,
            Some(&peer.ip().to_string()),
        )),
        Err(e) => {
            ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            log.bad_record(&e, frame);
            None
        }
    }
}

/// One syslog TCP connection.
pub async fn syslog_connection(stream: TcpStream, peer: SocketAddr, ctx: LogsContext) {
    let mut reader = ConnReader::new(stream);
    let mut log = QuietLog::new(ctx.stats.name, peer);
    while let Some(eof) = reader.fill(&ctx.stats, &ctx.shutdown).await {
        let now = ctx.now_ns();
        let offset = ctx.offset(now);
        let mut batch = Vec::new();
        let mut frames = Frames::new(reader.data(), ctx.max_record);
        let mut close = false;
        for frame in &mut frames {
            match frame {
                Ok(frame) => batch.extend(syslog_event(frame, peer, &ctx, now, offset, &mut log)),
                Err(e) => {
                    ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                    log.bad_record(&e, b"");
                    close = true;
                }
            }
        }
        let consumed = frames.consumed();
        match frames.rest() {
            Ok(tail) if eof && !tail.iter().all(u8::is_ascii_whitespace) => {
                batch.extend(syslog_event(tail, peer, &ctx, now, offset, &mut log));
            }
            Ok(_) => {}
            Err(e) => {
                ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                log.bad_record(&e, b"");
                close = true;
            }
        }
        ctx.store(batch).await;
        if close || eof {
            return;
        }
        reader.consume(consumed);
    }
}

/// One syslog datagram (on the UDP thread).
pub fn syslog_datagram(
    datagram: &[u8],
    peer: SocketAddr,
    ctx: &LogsContext,
    log: &mut Option<QuietLog>,
) {
    let log = log.get_or_insert_with(|| QuietLog::new(ctx.stats.name, peer));
    let now = ctx.now_ns();
    let offset = ctx.offset(now);
    let batch: Vec<LogEvent> = wire::syslog::datagram(datagram)
        .filter_map(|m| syslog_event(m, peer, ctx, now, offset, log))
        .collect();
    if !batch.is_empty() {
        store_now(&ctx.store, &batch, &ctx.stats);
    }
}

/// One JSON-lines TCP connection.
pub async fn json_lines_connection(stream: TcpStream, peer: SocketAddr, ctx: LogsContext) {
    let mut reader = ConnReader::new(stream);
    let mut log = QuietLog::new(ctx.stats.name, peer);
    let take = |line: &[u8], now: i64, batch: &mut Vec<LogEvent>, log: &mut QuietLog| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        ctx.stats.received.fetch_add(1, Ordering::Relaxed);
        match wire::jsonlog::decode_line(line, now) {
            Ok(event) => batch.push(event),
            Err(e) => {
                ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                log.bad_record(&e, line);
            }
        }
    };
    while let Some(eof) = reader.fill(&ctx.stats, &ctx.shutdown).await {
        let now = ctx.now_ns();
        let mut batch = Vec::new();
        let mut lines = Lines::new(reader.data(), ctx.max_record);
        let mut close = false;
        for line in &mut lines {
            match line {
                Ok(line) => take(line, now, &mut batch, &mut log),
                Err(e) => {
                    ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                    log.bad_record(&e, b"");
                    close = true;
                }
            }
        }
        let consumed = lines.consumed();
        match lines.rest() {
            Ok(tail) if eof => take(tail, now, &mut batch, &mut log),
            Ok(_) => {}
            Err(e) => {
                ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                log.bad_record(&e, b"");
                close = true;
            }
        }
        ctx.store(batch).await;
        if close || eof {
            return;
        }
        reader.consume(consumed);
    }
}
