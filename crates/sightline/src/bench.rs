//! `sightline bench`: synthetic load, to measure a server (ours or a peer) on your machine.
//!
//! - `bench carbon` pre-generates plaintext lines for `--series` series, `--points` points
//!   each, spread over `--connections` TCP connections (a series always on the same one, so its
//!   points arrive in order), then sends them as fast as the server takes them. Values are
//!   "regular" metric data: counters that only grow, gauges with two decimals, flat values.
//! - `bench statsd` sends UDP datagrams of `--per-packet` metrics (60% counters, 30% timers,
//!   10% gauges) at a paced `--rate` for `--duration`.
//!
//! Each prints one JSON object: what it sent and how long sending took. The `bench/` scripts
//! combine that with the server's own counters and `/proc` figures.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Send carbon plaintext over TCP as fast as the server takes it.
    Carbon(CarbonArgs),
    /// Send statsd datagrams over UDP at a paced rate.
    Statsd(StatsdArgs),
    /// Send Sentry envelopes at a fixed concurrency and measure their acknowledgements.
    Sentry(crate::bench_sentry::SentryArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CarbonArgs {
    /// The carbon plaintext listener to send to (ours, or carbon-cache's).
    #[arg(long, default_value = "127.0.0.1:2003")]
    addr: SocketAddr,
    /// Distinct series.
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Points per series, 10 s apart, ending now.
    #[arg(long, default_value_t = 10)]
    points: usize,
    /// TCP connections to spread the series over (a series always on the same one).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Prefix of every series name.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Generate the lines while sending, a few MB at a time, instead of all of them first:
    /// for loads bigger than memory (100k series of a day at 10 s is 30 GB of text). The
    /// generator then shares the CPU with the server.
    #[arg(long)]
    stream: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatsdArgs {
    /// The statsd UDP listener to send to (ours, or etsy statsd's).
    #[arg(long, default_value = "127.0.0.1:8125")]
    addr: SocketAddr,
    /// Metrics per second.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Metrics in each datagram, one per line.
    #[arg(long, default_value_t = 10)]
    per_packet: usize,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Distinct metric keys.
    #[arg(long, default_value_t = 1_000)]
    keys: usize,
}

pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let report = match cmd {
        BenchCommand::Carbon(args) => carbon(&args)?,
        BenchCommand::Statsd(args) => statsd(&args)?,
        BenchCommand::Sentry(args) => crate::bench_sentry::run(&args)?.to_string(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}").context("cannot write to stdout")
}

/// A series name: `prefix.h<host>.m<metric>`, a hundred metrics per host.
fn series_name(prefix: &str, s: usize) -> String {
    format!("{prefix}.h{:05}.m{:02}", s / 100, s % 100)
}

/// The value of point `i` of series `s`: a third each of counters, two-decimal gauges, flats.
fn value(s: usize, i: usize, out: &mut String) {
    match s % 3 {
        0 => write!(out, "{}", (s * 7 + i * (1 + s % 5)) as u64),
        1 => write!(out, "{:.2}", 40.0 + ((s + i * 13) % 600) as f64 / 10.0),
        _ => write!(out, "{}", s % 17),
    }
    .unwrap_or(());
}

/// Appends the lines of points `points` of the series `series` (every `step`th from `first`).
fn carbon_lines(
    names: &[String],
    first: usize,
    step: usize,
    points: std::ops::Range<usize>,
    start: i64,
    buf: &mut String,
) {
    for i in points {
        for s in (first..names.len()).step_by(step) {
            buf.push_str(&names[s]);
            buf.push(' ');
            value(s, i, buf);
            let _ = writeln!(buf, " {}", start + (i as i64) * 10);
        }
    }
}

/// [`carbon`] generating as it sends, one connection per thread.
fn carbon_streamed(args: &CarbonArgs, start: i64, names: Vec<String>) -> anyhow::Result<String> {
    let connections = args.connections.max(1);
    let names = std::sync::Arc::new(names);
    let sending = Instant::now();
    let mut threads = Vec::new();
    for c in 0..connections {
        let (addr, names, points) = (args.addr, std::sync::Arc::clone(&names), args.points);
        threads.push(std::thread::spawn(move || -> anyhow::Result<usize> {
            let mut stream =
                TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
            let per_chunk = (100_000 / (names.len() / connections).max(1)).max(1);
            let mut buf = String::new();
            let mut bytes = 0;
            let mut i = 0;
            while i < points {
                buf.clear();
                let end = (i + per_chunk).min(points);
                carbon_lines(&names, c, connections, i..end, start, &mut buf);
                stream
                    .write_all(buf.as_bytes())
                    .context("the server closed the connection")?;
                bytes += buf.len();
                i = end;
            }
            stream.shutdown(std::net::Shutdown::Write).ok();
            Ok(bytes)
        }));
    }
    let mut bytes = 0;
    for t in threads {
        bytes += t
            .join()
            .map_err(|_| anyhow::anyhow!("a sender thread panicked"))??;
    }
    let send_seconds = sending.elapsed().as_secs_f64();
    Ok(format!(
        "{{\"points\": {}, \"series\": {}, \"bytes\": {bytes}, \"generate_seconds\": 0, \"send_seconds\": {send_seconds:.3}}}",
        names.len() * args.points,
        names.len()
    ))
}

fn carbon(args: &CarbonArgs) -> anyhow::Result<String> {
    let now = model::Clock::now(&model::SystemClock).as_secs();
    let start = now - now % 10 - (args.points as i64) * 10;
    if args.stream {
        let names = (0..args.series)
            .map(|s| series_name(&args.prefix, s))
            .collect();
        return carbon_streamed(args, start, names);
    }
    let connections = args.connections.max(1);
    let generated = Instant::now();
    let mut buffers: Vec<String> =
        vec![String::with_capacity(args.series * args.points * 40 / connections); connections];
    let names: Vec<String> = (0..args.series)
        .map(|s| series_name(&args.prefix, s))
        .collect();
    for (c, buf) in buffers.iter_mut().enumerate() {
        carbon_lines(&names, c, connections, 0..args.points, start, buf);
    }
    let bytes: usize = buffers.iter().map(String::len).sum();
    let generate_seconds = generated.elapsed().as_secs_f64();
    let sending = Instant::now();
    let mut threads = Vec::new();
    for buf in buffers {
        let addr = args.addr;
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let mut stream =
                TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
            stream
                .write_all(buf.as_bytes())
                .context("the server closed the connection")?;
            stream.shutdown(std::net::Shutdown::Write).ok();
            Ok(())
        }));
    }
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a sender thread panicked"))??;
    }
    let send_seconds = sending.elapsed().as_secs_f64();
    let points = args.series * args.points;
    Ok(format!(
        "{{\"points\": {points}, \"series\": {}, \"bytes\": {bytes}, \"generate_seconds\": {generate_seconds:.3}, \"send_seconds\": {send_seconds:.3}}}",
        args.series
    ))
}

fn statsd(args: &StatsdArgs) -> anyhow::Result<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").context("cannot open a UDP socket")?;
    socket
        .connect(args.addr)
        .with_context(|| format!("cannot reach {}", args.addr))?;
    let per_packet = args.per_packet.max(1);
    // Pre-built datagrams, cycled, so the sender spends its time sending.
    let mut datagrams = Vec::with_capacity(1024);
    let mut k = 0usize;
    for _ in 0..1024 {
        let mut d = String::with_capacity(per_packet * 32);
        for _ in 0..per_packet {
            let key = k % args.keys.max(1);
            let _ = match k % 10 {
                0..=5 => writeln!(d, "bench.c{key}:1|c"),
                6..=8 => writeln!(d, "bench.t{key}:{}|ms", k % 250),
                _ => writeln!(d, "bench.g{key}:{}|g", k % 100),
            };
            k += 1;
        }
        datagrams.push(d.into_bytes());
    }
    let total_packets = args.rate * args.duration / per_packet as u64;
    let interval = Duration::from_secs_f64(per_packet as f64 / args.rate as f64);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut errors = 0u64;
    while sent < total_packets {
        let due = started + interval.mul_f64(sent as f64);
        let now = Instant::now();
        if due > now + Duration::from_micros(200) {
            std::thread::sleep(due - now);
        }
        if socket.send(&datagrams[(sent % 1024) as usize]).is_err() {
            errors += 1;
        }
        sent += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(
        "{{\"metrics\": {}, \"packets\": {sent}, \"send_errors\": {errors}, \"seconds\": {seconds:.3}, \"achieved_rate\": {:.0}}}",
        sent * per_packet as u64,
        (sent * per_packet as u64) as f64 / seconds
    ))
}
