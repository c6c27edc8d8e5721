//! OTLP metrics: any well-formed request, encoded as protobuf (packed or not, defaults
//! written or omitted, unknown fields or not) or as OTLP/JSON, decodes to what was encoded;
//! one request written both ways by hand decodes alike; the translator's output is always
//! canonical names with finite values; and damaged requests make nothing panic.

use proptest::prelude::*;
use wire::otlp_metrics::{MetricsRequest, Translator, decode_json, decode_protobuf};

mod encode;
mod strategy;

use encode::{Pb, Style, json, protobuf};
use strategy::{request, style};

/// Translates `req` twice (the second time every cumulative point is a repeat), checking
/// every point.
fn translate_checked(req: &MetricsRequest) -> usize {
    let mut t = Translator::new(1 << 62).with_max_series(4);
    let mut n = 0;
    for _ in 0..2 {
        t.translate(req, &mut |name, _, value| {
            assert!(value.is_finite(), "{name} {value}");
            let canonical = wire::graphite_name::canonical(name).unwrap();
            assert_eq!(canonical, name);
            n += 1;
        });
    }
    assert!(t.tracked_series() <= 4);
    n
}

proptest! {
    #[test]
    fn well_formed_requests_decode_to_what_was_encoded(req in request(), style in style()) {
        let decoded = decode_protobuf(&protobuf(&req, style)).unwrap();
        prop_assert_eq!(&decoded, &req);
        let decoded = decode_json(&json(&req, style)).unwrap();
        prop_assert_eq!(&decoded, &req);
        translate_checked(&req);
    }

    /// Well-formed requests with bytes overwritten, and cut short, through the fuzz body:
    /// nearly valid input reaches deeper than random bytes do.
    #[test]
    fn damaged_requests_never_panic(
        req in request(),
        style in style(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        for mut bytes in [protobuf(&req, style), json(&req, style)] {
            for (at, byte) in &edits {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = *byte;
                }
            }
            wire::fuzz::otlp_metrics(&bytes);
            wire::fuzz::otlp_metrics(&bytes[..cut.index(bytes.len() + 1)]);
        }
    }
}

/// One request, every attribute type and point kind, written as protobuf and as JSON.
#[test]
fn both_encodings_of_one_request_decode_alike() {
    let style = Style {
        packed: true,
        sparse: true,
        noise: false,
        ints: true,
        strings: true,
    };
    let mut pb = Pb::new(style);
    pb.message(1, |rm| {
        rm.message(1, |res| {
            let any = |key: &'static str, f: fn(&mut Pb)| {
                move |kv: &mut Pb| {
                    kv.string(1, key);
                    kv.message(2, f);
                }
            };
            res.message(1, any("s", |a| a.string(1, "shop")));
            res.message(1, any("b", |a| a.varint(2, 1)));
            res.message(1, any("i", |a| a.varint(3, (-5i64) as u64)));
            res.message(1, any("d", |a| a.double(4, 0.1)));
            res.message(1, any("y", |a| a.bytes(7, &[0xde, 0xad])));
            res.message(
                1,
                any("a", |a| {
                    a.message(5, |arr| {
                        arr.message(1, |v| v.varint(3, 1));
                        arr.message(1, |v| v.double(4, 2.5));
                        arr.message(1, |v| v.string(1, "x"));
                    })
                }),
            );
            res.message(
                1,
                any("k", |a| {
                    a.message(6, |list| {
                        list.message(1, |kv| {
                            kv.string(1, "z");
                            // A oneof member is written even when it is the default.
                            kv.message(2, |v| {
                                v.key(2, 0);
                                v.out.push(0);
                            });
                        })
                    })
                }),
            );
            res.message(1, any("n", |_| {}));
        });
        rm.message(2, |sm| {
            sm.message(1, |scope| scope.string(1, "lib"));
            sm.message(2, |m| {
                m.string(1, "reqs");
                m.message(7, |s| {
                    s.varint(2, 2);
                    s.varint(3, 1);
                    s.message(1, |dp| {
                        dp.fixed64(3, 5_000_000_000);
                        dp.key(6, 1);
                        dp.out.extend_from_slice(&42i64.to_le_bytes());
                    });
                    s.message(1, |dp| dp.fixed64(3, 6_000_000_000));
                });
            });
        });
    });
    let json = br#"{"resourceMetrics":[{"resource":{"attributes":[
        {"key":"s","value":{"stringValue":"shop"}},
        {"key":"b","value":{"boolValue":true}},
        {"key":"i","value":{"intValue":"-5"}},
        {"key":"d","value":{"doubleValue":0.1}},
        {"key":"y","value":{"bytesValue":"3q0="}},
        {"key":"a","value":{"arrayValue":{"values":[{"intValue":1},{"doubleValue":2.5},{"stringValue":"x"}]}}},
        {"key":"k","value":{"kvlistValue":{"values":[{"key":"z","value":{"boolValue":false}}]}}},
        {"key":"n","value":{}}]},
      "scopeMetrics":[{"scope":{"name":"lib"},"metrics":[{"name":"reqs","sum":{
        "aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"5000000000","asInt":"42"},{"timeUnixNano":"6000000000"}]}}]}]}]}"#;
    let from_protobuf = decode_protobuf(&pb.out).unwrap();
    let from_json = decode_json(json).unwrap();
    assert_eq!(from_protobuf, from_json);
    let strings = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        from_json.resources[0].attributes,
        strings(&[
            ("a", r#"[1,2.5,"x"]"#),
            ("b", "true"),
            ("d", "0.1"),
            ("i", "-5"),
            ("k", r#"{"z":false}"#),
            ("n", ""),
            ("s", "shop"),
            ("y", "dead"),
        ])
    );
    assert_eq!(from_json.rejected, 1);
    assert_eq!(
        from_json.rejection.as_deref(),
        Some("metric `reqs`: a number data point without a value")
    );
    let mut points = Vec::new();
    Translator::new(0).translate(&from_json, &mut |name, ts, v| {
        points.push((name.to_owned(), ts, v))
    });
    assert_eq!(points, []);
}

#[test]
fn malformed_protobuf_is_an_error() {
    for (body, why) in [
        (
            &b"\x0a\x05\x12"[..],
            "bad JSON: bad OTLP protobuf: truncated field",
        ),
        (
            b"\x0a\x02\x12\x80",
            "bad JSON: bad OTLP protobuf: truncated varint",
        ),
        (b"\x0b", "bad JSON: bad OTLP protobuf: wire type 3"),
    ] {
        let got = decode_protobuf(body).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(got, Err(why.to_owned()));
    }
    // A packed bucket_counts field whose length is not a multiple of 8.
    let mut pb = Pb::new(Style {
        packed: true,
        sparse: true,
        noise: false,
        ints: false,
        strings: false,
    });
    pb.message(1, |rm| {
        rm.message(2, |sm| {
            sm.message(2, |m| {
                m.message(9, |h| h.message(1, |dp| dp.bytes(6, &[0; 7])))
            })
        })
    });
    let got = decode_protobuf(&pb.out).map_err(|e| e.to_string());
    assert_eq!(
        got,
        Err(
            "bad JSON: bad OTLP protobuf: packed fixed64 field is not a multiple of 8 bytes".into()
        )
    );
}
