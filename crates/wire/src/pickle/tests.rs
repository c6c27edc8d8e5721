//! Pickles captured from CPython 3.11's `pickle.dumps` at every protocol, and etsy statsd's
//! hand-written protocol 0 form.

use super::*;

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `[('servers.web-1.cpu', (1700000000, 1.5)), ('a.b', (1700000010, 42)),
///   ('big', (1700000020, 10**12)), ('t;k=v', (1700000030.75, -3.25))]`
const CPYTHON: &[(u8, &str)] = &[
    (
        0,
        "286c70300a2856736572766572732e7765622d312e6370750a70310a2849313730303030303030300a46312e350a7470320a7470330a612856612e620a70340a2849313730303030303031300a4934320a7470350a7470360a6128566269670a70370a2849313730303030303032300a4c313030303030303030303030304c0a7470380a7470390a612856743b6b3d760a7031300a2846313730303030303033302e37350a462d332e32350a747031310a747031320a612e",
    ),
    (
        1,
        "5d710028285811000000736572766572732e7765622d312e6370757101284a00f15365473ff8000000000000747102747103285803000000612e627104284a0af153654b2a7471057471062858030000006269677107284a14f153654c313030303030303030303030304c0a747108747109285805000000743b6b3d76710a284741d954fc47b0000047c00a00000000000074710b74710c652e",
    ),
    (
        2,
        "80025d7100285811000000736572766572732e7765622d312e63707571014a00f15365473ff80000000000008671028671035803000000612e6271044a0af153654b2a867105867106580300000062696771074a14f153658a060010a5d4e8008671088671095805000000743b6b3d76710a4741d954fc47b0000047c00a00000000000086710b86710c652e",
    ),
    (
        4,
        "80049571000000000000005d94288c11736572766572732e7765622d312e637075944a00f15365473ff8000000000000869486948c03612e62944a0af153654b2a869486948c03626967944a14f153658a060010a5d4e800869486948c05743b6b3d76944741d954fc47b0000047c00a00000000000086948694652e",
    ),
    (
        5,
        "80059571000000000000005d94288c11736572766572732e7765622d312e637075944a00f15365473ff8000000000000869486948c03612e62944a0af153654b2a869486948c03626967944a14f153658a060010a5d4e800869486948c05743b6b3d76944741d954fc47b0000047c00a00000000000086948694652e",
    ),
];

type Decoded = Result<(String, f64, Option<i64>), String>;

fn decoded(frame: &[u8]) -> Vec<Decoded> {
    decode_frame(frame)
        .unwrap()
        .into_iter()
        .map(|r| {
            r.map(|l| (l.name.into_owned(), l.value, l.timestamp))
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[test]
fn every_cpython_protocol_decodes_the_same() {
    let expected = vec![
        Ok(("servers.web-1.cpu".to_owned(), 1.5, Some(1_700_000_000))),
        Ok(("a.b".to_owned(), 42.0, Some(1_700_000_010))),
        Ok(("big".to_owned(), 1e12, Some(1_700_000_020))),
        Ok(("t;k=v".to_owned(), -3.25, Some(1_700_000_030))),
    ];
    for (protocol, hex) in CPYTHON {
        assert_eq!(decoded(&unhex(hex)), expected, "protocol {protocol}");
    }
}

#[test]
fn etsy_statsd_protocol_0_decodes() {
    // backends/graphite.js: MARK LIST, then per metric MARK STRING MARK LONG STRING TUPLE TUPLE APPEND.
    let body = "(l(S'stats.counters.hits'\n(L1700000000L\nS'12.5'\ntta(S'stats.gauges.x'\n(L1700000000L\nS'-1'\ntta.";
    assert_eq!(
        decoded(body.as_bytes()),
        vec![
            Ok(("stats.counters.hits".to_owned(), 12.5, Some(1_700_000_000))),
            Ok(("stats.gauges.x".to_owned(), -1.0, Some(1_700_000_000))),
        ]
    );
}

#[test]
fn memoised_values_are_copied() {
    let frame = unhex(
        "80025d71002858010000007871014a00f1536547400000000000000086710286710358010000007971046802867105652e",
    );
    let names: Vec<_> = decoded(&frame).into_iter().map(|r| r.unwrap().0).collect();
    assert_eq!(names, ["x", "y"]);
}

#[test]
fn code_execution_is_refused() {
    // A pickle whose element would run os.system('echo pwned') on unpickling.
    let evil = unhex(
        "80025d710063706f7369780a73797374656d0a7101580a0000006563686f2070776e65647102857103527104612e",
    );
    let err = decode_frame(&evil).unwrap_err().to_string();
    assert!(err.contains("opcode 0x63 is not allowed"), "{err}");
}

#[test]
fn bad_elements_are_skipped_one_by_one() {
    let body = "(l(S'good'\n(I1\nF2.0\ntta(S'nan'\n(I1\nF".to_owned()
        + "nan\nttaI5\na(S'also.good'\n(I-1\nI7\ntta(S'bad..;k='\n(I1\nI1\ntta.";
    let got = decoded(body.as_bytes());
    assert_eq!(got[0], Ok(("good".to_owned(), 2.0, Some(1))));
    assert_eq!(got[1], Err("value is NaN".to_owned()));
    assert_eq!(
        got[2],
        Err("bad pickle: element is not (path, (timestamp, value))".to_owned())
    );
    assert_eq!(
        got[3],
        Ok(("also.good".to_owned(), 7.0, None)),
        "-1 means now"
    );
    assert_eq!(got[4], Err("bad tag `k=`: empty value".to_owned()));
}

#[test]
fn malformed_frames_fail_without_panicking() {
    for frame in [
        &b""[..],
        b"\x80\x02",
        b"]",
        b"(",
        b"a",
        b"X\xff\xff\xff\xff",
        b"\x80\x09].",
        b"K.",
        b"]h\x05.",
    ] {
        assert!(decode_frame(frame).is_err(), "{frame:?}");
    }
}

#[test]
fn memo_bombs_hit_the_budget() {
    // A list put in the memo and fetched into itself again and again grows exponentially.
    let mut frame = b"\x80\x02]q\x00".to_vec();
    for _ in 0..64 {
        frame.extend_from_slice(b"h\x00a");
        frame.extend_from_slice(b"0h\x00h\x00aq\x00");
    }
    frame.push(b'.');
    assert!(decode_frame(&frame).is_err());
}

#[test]
fn encode_round_trips() {
    let points = [
        ("a.b", 1_700_000_000_i64, 0.1),
        ("c;x=y", -1, f64::INFINITY),
        ("far", 1 << 40, -2.0),
    ];
    let frame = encode_frame(&points);
    let (body, used) = crate::framing::next_length_prefixed(&frame, MAX_FRAME_BYTES)
        .unwrap()
        .unwrap();
    assert_eq!(used, frame.len());
    let got = decoded(body);
    assert_eq!(got[0], Ok(("a.b".to_owned(), 0.1, Some(1_700_000_000))));
    assert_eq!(got[1], Ok(("c;x=y".to_owned(), f64::INFINITY, None)));
    assert_eq!(got[2], Ok(("far".to_owned(), -2.0, Some(1 << 40))));
}
