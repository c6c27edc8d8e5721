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
use wire::framing::{Lines, TooLong};
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
    pub sink: crate::pipeline::EventSink,
    pub clock: SharedClock,
    pub stats: Arc<ListenerStats>,
    pub max_record: usize,
    pub shutdown: CancellationToken,
    pub tz: TimeZone,
    pub disk: Arc<crate::disk::DiskGuard>,
}

impl LogsContext {
    fn now_ns(&self) -> i64 {
        self.clock.now().as_nanos()
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
        let sink = self.sink.clone();
        let stats = Arc::clone(&self.stats);
        let _ = tokio::task::spawn_blocking(move || store_now(&sink, batch, &stats)).await;
    }
}

fn store_now(sink: &crate::pipeline::EventSink, batch: Vec<LogEvent>, stats: &ListenerStats) {
    let len = batch.len();
    match sink.add_blocking(batch) {
        Ok(refused) => {
            stats
                .dropped
                .fetch_add(refused.len() as u64, Ordering::Relaxed);
        }
        Err(e) => {
            stats.dropped.fetch_add(len as u64, Ordering::Relaxed);
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

/// A framing over a connection's buffered bytes: the complete records, then what they used
/// and the incomplete rest (`Lines` for JSON lines, `Frames` for syslog).
trait Framing<'a>: Iterator<Item = Result<&'a [u8], TooLong>> {
    fn consumed(&self) -> usize;
    fn rest(&self) -> Result<&'a [u8], TooLong>;
}

impl<'a> Framing<'a> for Frames<'a> {
    fn consumed(&self) -> usize {
        Frames::consumed(self)
    }
    fn rest(&self) -> Result<&'a [u8], TooLong> {
        Frames::rest(self)
    }
}

impl<'a> Framing<'a> for Lines<'a> {
    fn consumed(&self) -> usize {
        Lines::consumed(self)
    }
    fn rest(&self) -> Result<&'a [u8], TooLong> {
        Lines::rest(self)
    }
}

/// Serves one TCP connection: cuts records with `framing`, turns each into an event with
/// `decode` (which counts it), stores each read's events, and closes after an oversized record
/// (the records before it kept). A last record without its delimiter counts at EOF.
async fn records<F, D>(stream: TcpStream, peer: SocketAddr, ctx: LogsContext, framing: F, decode: D)
where
    F: for<'a> Fn(&'a [u8], usize) -> Box<dyn Framing<'a> + Send + 'a>,
    D: Fn(&[u8], i64, i64, &mut QuietLog) -> Option<LogEvent>,
{
    let mut reader = ConnReader::new(stream, Arc::clone(&ctx.disk));
    let mut log = QuietLog::new(ctx.stats.name, peer);
    while let Some(eof) = reader.fill(&ctx.stats, &ctx.shutdown).await {
        let now = ctx.now_ns();
        let offset = ctx.offset(now);
        let mut batch = Vec::new();
        let mut close = false;
        let mut too_long = |e: TooLong, log: &mut QuietLog| {
            ctx.stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            log.bad_record(&e, b"");
            close = true;
        };
        let mut cut = framing(reader.data(), ctx.max_record);
        for record in &mut cut {
            match record {
                Ok(r) if r.iter().all(u8::is_ascii_whitespace) => {}
                Ok(r) => batch.extend(decode(r, now, offset, &mut log)),
                Err(e) => too_long(e, &mut log),
            }
        }
        let consumed = cut.consumed();
        match cut.rest() {
            Ok(tail) if eof && !tail.iter().all(u8::is_ascii_whitespace) => {
                batch.extend(decode(tail, now, offset, &mut log));
            }
            Ok(_) => {}
            Err(e) => too_long(e, &mut log),
        }
        drop(cut);
        ctx.store(batch).await;
        if close || eof {
            return;
        }
        reader.consume(consumed);
    }
}

/// One syslog TCP connection.
pub async fn syslog_connection(stream: TcpStream, peer: SocketAddr, ctx: LogsContext) {
    let decoder = ctx.clone();
    records(
        stream,
        peer,
        ctx,
        |buf, max| Box::new(Frames::new(buf, max)),
        move |frame, now, offset, log| syslog_event(frame, peer, &decoder, now, offset, log),
    )
    .await;
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
        store_now(&ctx.sink, batch, &ctx.stats);
    }
}

/// One JSON-lines TCP connection.
pub async fn json_lines_connection(stream: TcpStream, peer: SocketAddr, ctx: LogsContext) {
    let stats = Arc::clone(&ctx.stats);
    records(
        stream,
        peer,
        ctx,
        |buf, max| Box::new(Lines::new(buf, max)),
        move |line, now, _, log| {
            stats.received.fetch_add(1, Ordering::Relaxed);
            match wire::jsonlog::decode_line(line, now) {
                Ok(event) => Some(event),
                Err(e) => {
                    stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                    log.bad_record(&e, line);
                    None
                }
            }
        },
    )
    .await;
}
