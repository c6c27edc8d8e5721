//! The bodies of the fuzz targets in `fuzz/`, one per parser, each taking arbitrary bytes the
//! way its listener would. `cargo fuzz` runs them under libFuzzer; on a stable toolchain the
//! property test `every_fuzz_target_takes_any_bytes` (`tests/it/main.rs`) runs each over
//! arbitrary bytes, so CI exercises the same code either way. None may panic.

/// Carbon plaintext: framing into lines, then each line.
pub fn carbon(data: &[u8]) {
    for line in crate::framing::Lines::new(data, 32 * 1024).flatten() {
        let _ = crate::carbon::decode_line(line);
    }
}

/// Carbon pickle: length-prefixed frames, and the bytes as one frame.
pub fn pickle(data: &[u8]) {
    let mut rest = data;
    while let Ok(Some((frame, used))) =
        crate::framing::next_length_prefixed(rest, crate::pickle::MAX_FRAME_BYTES)
    {
        let _ = crate::pickle::decode_frame(frame);
        rest = &rest[used..];
    }
    let _ = crate::pickle::decode_frame(data);
}

/// statsd: each newline-separated line.
pub fn statsd(data: &[u8]) {
    for line in data.split(|b| *b == b'\n') {
        crate::statsd::decode_line(line, &mut |_| {});
    }
}

/// Syslog: TCP framing (octet-counted, LF, NUL), a UDP datagram, and each message.
pub fn syslog(data: &[u8]) {
    for frame in crate::syslog::Frames::new(data, 64 * 1024).flatten() {
        let _ = crate::syslog::parse(frame);
    }
    for message in crate::syslog::datagram(data) {
        let _ = crate::syslog::parse(message);
    }
    let _ = crate::syslog::rfc3339(&String::from_utf8_lossy(data));
}

/// JSON lines and NDJSON bodies (`/api/v1/ingest`, the TCP json_lines listener).
pub fn jsonlog(data: &[u8]) {
    crate::jsonlog::decode_body(data, 0, &mut |_| {});
    for line in data.split(|b| *b == b'\n') {
        let _ = crate::jsonlog::decode_line(line, 0);
    }
}

/// OTLP/HTTP logs, as protobuf and as JSON.
pub fn otlp(data: &[u8]) {
    let _ = crate::otlp::decode_protobuf(data, 0);
    let _ = crate::otlp::decode_json(data, 0);
}

/// OTLP/HTTP metrics, as protobuf and as JSON, then whatever decodes through a translator
/// whose output must be canonical Graphite names and finite values.
pub fn otlp_metrics(data: &[u8]) {
    use crate::otlp_metrics::{Translator, decode_json, decode_protobuf};
    let mut translator = Translator::new(1).with_max_series(8);
    for request in [decode_protobuf(data), decode_json(data)]
        .into_iter()
        .flatten()
    {
        translator.translate(&request, &mut |name, _, value| {
            assert!(value.is_finite(), "{name} {value}");
            let canonical = crate::graphite_name::canonical(name);
            assert_eq!(canonical.as_deref(), Ok(name));
        });
        let _ = crate::otlp_metrics::encode_response(request.rejected, "x");
    }
}

/// Sentry: an envelope and each item's payload through the item codecs, and the credentials
/// SDKs send.
pub fn sentry(data: &[u8]) {
    if let Ok(envelope) = crate::sentry::parse_envelope(data) {
        let _ = envelope.event_id();
        let _ = envelope.dsn();
        for item in &envelope.items {
            let _ = crate::sentry::log_items(item.payload, 0);
            let _ = crate::sentry::check_in(item.payload);
            let _ = crate::sentry::attachment(item);
            let mut points = model::PointBatch::new();
            for kind in ["client_report", "session", "sessions", "trace_metric"] {
                let _ = crate::sentry::report_points(kind, item.payload, "p", 0, &mut points);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = crate::sentry::Dsn::parse(&text);
    let _ = crate::sentry::parse_auth_header(&text);
    let _ = crate::sentry::parse_auth_query(&text);
    let _ = crate::sentry::normalize_event_id(&text);
}

/// Elasticsearch `_bulk` bodies.
pub fn bulk(data: &[u8]) {
    let _ = crate::bulk::parse(data, "default");
}

/// Graphite names: canonical form, tags split.
pub fn graphite_name(data: &[u8]) {
    if let Ok(name) = crate::graphite_name::canonical(&String::from_utf8_lossy(data)) {
        let (_, tags) = crate::graphite_name::split_tags(&name);
        tags.for_each(drop);
    }
}
