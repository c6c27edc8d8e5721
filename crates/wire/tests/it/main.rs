//! Property tests for the codecs: every encoder round-trips through its decoder, and no input
//! makes a decoder panic.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use wire::statsd::{StatsdRecord, StatsdValue};
use wire::{carbon, framing, pickle, statsd};

/// Names as carbon agents write them: dotted segments, optionally tagged.
fn series_name() -> impl Strategy<Value = String> {
    let segment = "[A-Za-z0-9_:-]{1,12}";
    let path = prop::collection::vec(segment, 1..6).prop_map(|s| s.join("."));
    let tag = ("[a-z][a-z0-9_]{0,8}", "[A-Za-z0-9_.-]{1,10}");
    (path, prop::collection::btree_map(tag.0, tag.1, 0..4)).prop_map(|(path, tags)| {
        let mut name = path;
        for (k, v) in tags.into_iter().filter(|(k, _)| k != "name") {
            name.push_str(&format!(";{k}={v}"));
        }
        name
    })
}

fn finite() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL
}

proptest! {
    #[test]
    fn carbon_round_trips(name in series_name(), value in finite(), ts in 0i64..(1 << 40)) {
        let mut line = String::new();
        carbon::encode_line(&mut line, &name, value, ts);
        let decoded = carbon::decode_line(line.trim_end().as_bytes()).unwrap();
        prop_assert_eq!(decoded.name, name);
        prop_assert_eq!(decoded.value, value);
        prop_assert_eq!(decoded.timestamp, Some(ts));
    }

    #[test]
    fn pickle_round_trips(points in prop::collection::vec((series_name(), 0i64..(1 << 40), finite()), 0..50)) {
        let refs: Vec<(&str, i64, f64)> = points.iter().map(|(n, t, v)| (n.as_str(), *t, *v)).collect();
        let frame = pickle::encode_frame(&refs);
        let (body, _) = framing::next_length_prefixed(&frame, pickle::MAX_FRAME_BYTES).unwrap().unwrap();
        let decoded = pickle::decode_frame(body).unwrap();
        prop_assert_eq!(decoded.len(), points.len());
        for (got, (name, ts, value)) in decoded.into_iter().zip(&points) {
            let got = got.unwrap();
            prop_assert_eq!(&got.name, name);
            prop_assert_eq!(got.timestamp, Some(*ts));
            prop_assert_eq!(got.value, *value);
        }
    }

    #[test]
    fn statsd_round_trips(
        name in "[A-Za-z0-9_-]{1,10}(\\.[A-Za-z0-9_-]{1,10}){0,4}",
        tags in prop::collection::btree_map("[a-z][a-z0-9_]{0,6}", "[A-Za-z0-9_.-]{1,8}", 0..3),
        kind in 0..5u8,
        magnitude in 0.0f64..1e9,
        rate in prop::sample::select(vec![1.0, 0.5, 0.1, 0.01]),
    ) {
        let mut key = name;
        for (k, v) in tags.iter().filter(|(k, _)| k.as_str() != "name") {
            key.push_str(&format!(";{k}={v}"));
        }
        let value = match kind {
            0 => StatsdValue::Counter(magnitude),
            1 => StatsdValue::Timer(magnitude),
            2 => StatsdValue::Gauge(magnitude),
            3 => StatsdValue::GaugeDelta(-magnitude - 1.0),
            _ => StatsdValue::Set(std::borrow::Cow::Owned(format!("{magnitude}"))),
        };
        let line = statsd::encode_metric(&key, &value, rate);
        let mut records = Vec::new();
        statsd::decode_line(line.as_bytes(), &mut |r| records.push(r));
        prop_assert_eq!(records.len(), 1);
        let Ok(StatsdRecord::Metric(m)) = &records[0] else { panic!("{line}: {:?}", records[0]) };
        prop_assert_eq!(m.key.as_ref(), key.as_str());
        prop_assert_eq!(&m.value, &value);
        prop_assert_eq!(m.sample_rate, rate);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = carbon::decode_line(&bytes);
        let _ = pickle::decode_frame(&bytes);
        statsd::decode_line(&bytes, &mut |_| {});
        let lines = framing::Lines::new(&bytes, 64);
        for line in lines {
            let _ = line.map(carbon::decode_line);
        }
        let _ = framing::next_length_prefixed(&bytes, 1024);
        wire::jsonlog::decode_body(&bytes, 0, &mut |_| {});
        let _ = wire::sentry::parse_envelope(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = wire::sentry::Dsn::parse(&text);
        let _ = wire::sentry::parse_auth_header(&text);
        let _ = wire::sentry::parse_auth_query(&text);
    }

    /// The fuzz targets' bodies (`wire::fuzz`), as CI runs them without libFuzzer.
    #[test]
    fn every_fuzz_target_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        wire::fuzz::carbon(&bytes);
        wire::fuzz::pickle(&bytes);
        wire::fuzz::statsd(&bytes);
        wire::fuzz::syslog(&bytes);
        wire::fuzz::jsonlog(&bytes);
        wire::fuzz::otlp(&bytes);
        wire::fuzz::otlp_metrics(&bytes);
        wire::fuzz::sentry(&bytes);
        wire::fuzz::graphite_name(&bytes);
        wire::fuzz::bulk(&bytes);
    }

    #[test]
    fn envelope_shaped_input_never_panics(
        items in prop::collection::vec((
            prop::sample::select(vec!["event", "attachment", "session", "x"]),
            prop::option::of(0u64..40),
            prop::collection::vec(any::<u8>(), 0..40),
        ), 0..6)
    ) {
        let mut bytes = b"{}\n".to_vec();
        for (kind, length, payload) in &items {
            let header = match length {
                Some(l) => format!("{{\"type\":\"{kind}\",\"length\":{l}}}\n"),
                None => format!("{{\"type\":\"{kind}\"}}\n"),
            };
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(payload);
            bytes.push(b'\n');
        }
        let envelope = wire::sentry::parse_envelope(&bytes).unwrap();
        prop_assert!(envelope.items.len() + envelope.errors.len() <= items.len() * 4 + 1);
        for item in &envelope.items {
            prop_assert!(item.payload.len() <= bytes.len());
        }
    }

    #[test]
    fn pickle_opcode_soup_never_panics(ops in prop::collection::vec(
        prop::sample::select(b"().]lae)tNJKMIGFSVXqphg012\x80\x85\x86\x87\x88\x89\x8a\x8c\x94\x95".to_vec()), 0..200),
        fill in prop::collection::vec(any::<u8>(), 0..64)
    ) {
        let mut frame = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            frame.push(*op);
            frame.extend(fill.iter().skip(i % 8).take(i % 5));
        }
        let _ = pickle::decode_frame(&frame);
    }
}
mod bulk;
mod otlp_metrics;
mod sentry;
mod syslog;
