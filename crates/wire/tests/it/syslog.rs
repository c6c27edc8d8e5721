//! Golden tests of the syslog codec on the bytes real senders put on the wire, as captured on
//! loopback for `../shared/reference/logs.md` §1.1.4 (rsyslog 8.2302 `omfwd`, Python 3.11's
//! `SysLogHandler`, syslog-ng's `loggen`).

use wire::syslog::{Format, Frames, Message, SdElement, Timestamp, datagram, parse};

fn one_frame(input: &[u8]) -> Message {
    let frames: Vec<&[u8]> = Frames::new(input, 64 * 1024).map(Result::unwrap).collect();
    assert_eq!(frames.len(), 1, "{:?}", String::from_utf8_lossy(input));
    parse(frames[0]).unwrap()
}

fn octet_counted(message: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message);
    out
}

#[test]
fn rsyslog_traditional_forwarding_over_tcp_and_udp() {
    let wire = b"<165>May  1 12:00:00 web01 myapp[4242] BOMless message with \"quotes\"\n";
    for m in [
        one_frame(wire),
        parse(datagram(&wire[..wire.len() - 1]).next().unwrap()).unwrap(),
    ] {
        assert_eq!(m.format, Format::Rfc3164);
        assert_eq!(
            (m.facility_name(), m.level()),
            (Some("local4"), Some("notice"))
        );
        assert_eq!(
            m.timestamp,
            Some(Timestamp::Local {
                year: None,
                month: 5,
                day: 1,
                hour: 12,
                minute: 0,
                second: 0,
                nanos: 0
            })
        );
        assert_eq!(m.hostname.as_deref(), Some("web01"));
        assert_eq!(
            (m.app_name.as_deref(), m.proc_id.as_deref()),
            (Some("myapp"), Some("4242"))
        );
        assert_eq!(m.message, "BOMless message with \"quotes\"");
    }
}

#[test]
fn rsyslog_octet_counted_protocol23_with_structured_data() {
    let message = b"<165>1 2024-05-01T12:00:00.123456+02:00 web01 myapp 4242 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"X\\]\"] BOMless message with \"quotes\"\n";
    let m = one_frame(&octet_counted(message));
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!(
        m.timestamp,
        Some(Timestamp::Unix(1_714_557_600_123_456_000))
    );
    assert_eq!(
        (m.hostname.as_deref(), m.app_name.as_deref()),
        (Some("web01"), Some("myapp"))
    );
    assert_eq!(
        (m.proc_id.as_deref(), m.msg_id.as_deref()),
        (Some("4242"), Some("ID47"))
    );
    assert_eq!(
        m.structured_data,
        [SdElement {
            id: "exampleSDID@32473".into(),
            params: vec![
                ("iut".into(), "3".into()),
                ("eventSource".into(), "App\"X]".into())
            ],
        }]
    );
    assert_eq!(
        m.message, "BOMless message with \"quotes\"",
        "the LF inside the frame is dropped"
    );

    // A 3164 input that rsyslog re-formats: year guessed, no SD, a double space kept.
    let m = one_frame(&octet_counted(
        b"<13>1 2026-05-01T12:00:01+00:00 web01 sshd 99 - -  Accepted publickey for alice\n",
    ));
    assert_eq!(
        (
            m.app_name.as_deref(),
            m.proc_id.as_deref(),
            m.msg_id.as_deref()
        ),
        (Some("sshd"), Some("99"), None)
    );
    assert!(m.structured_data.is_empty());
    assert_eq!(m.message, " Accepted publickey for alice");
    assert_eq!(m.level(), Some("notice"));
}

#[test]
fn rsyslog_protocol23_over_udp_keeps_one_message() {
    let wire = b"<165>1 2024-05-01T12:00:00.123456+02:00 web01 myapp 4242 ID47 - udp message\n";
    let messages: Vec<&[u8]> = datagram(wire).collect();
    assert_eq!(messages.len(), 1);
    let m = parse(messages[0]).unwrap();
    assert_eq!(
        (m.format, m.message.as_str()),
        (Format::Rfc5424, "udp message")
    );
}

#[test]
fn python_syslog_handler_over_tcp_and_udp() {
    let frames: Vec<Message> = Frames::new(b"<14>hello tcp\x00<11>second one\x00", 1024)
        .map(|f| parse(f.unwrap()).unwrap())
        .collect();
    assert_eq!(frames.len(), 2, "NUL ends each message");
    assert_eq!(
        (
            frames[0].message.as_str(),
            frames[0].level(),
            frames[0].facility_name()
        ),
        ("hello tcp", Some("info"), Some("user"))
    );
    assert_eq!(
        (frames[1].message.as_str(), frames[1].level()),
        ("second one", Some("err"))
    );
    assert!(frames[0].timestamp.is_none() && frames[0].hostname.is_none());
    // A formatter that writes a tag, as Python's documentation suggests: the program and pid.
    let m = parse(b"<14>shop-worker[4242]: user alice logged in").unwrap();
    assert_eq!(
        (
            m.app_name.as_deref(),
            m.proc_id.as_deref(),
            m.message.as_str()
        ),
        (Some("shop-worker"), Some("4242"), "user alice logged in")
    );
    let m = parse(b"<14>cron: job done").unwrap();
    assert_eq!(
        (m.app_name.as_deref(), m.message.as_str()),
        (Some("cron"), "job done")
    );
    // A sentence is not a tag: no colon right after the first word, or not a program name.
    for plain in [
        &b"<14>hello tcp"[..],
        b"<14>disk is full: 95%",
        b"<14>a b: c",
        b"<14>[x]: y",
    ] {
        let m = parse(plain).unwrap();
        assert_eq!(m.app_name, None, "{}", String::from_utf8_lossy(plain));
    }
    let udp: Vec<&[u8]> = datagram(b"<12>udp from python\x00").collect();
    let m = parse(udp[0]).unwrap();
    assert_eq!(
        (m.message.as_str(), m.level()),
        ("udp from python", Some("warning"))
    );
}

#[test]
fn loggen_legacy_and_protocol() {
    let legacy = b"<38>2026-11-25T02:57:49 localhost prg00000[1234]: seq: 0000000000, thread: 0000, runid: 1764039469, stamp: 2026-11-25T02:57:49 PADDPADDPADD\n";
    let m = one_frame(legacy);
    assert_eq!(m.format, Format::Rfc3164);
    assert!(matches!(
        m.timestamp,
        Some(Timestamp::Local {
            year: Some(2026),
            month: 11,
            day: 25,
            hour: 2,
            minute: 57,
            second: 49,
            ..
        })
    ));
    assert_eq!(
        (
            m.hostname.as_deref(),
            m.app_name.as_deref(),
            m.proc_id.as_deref()
        ),
        (Some("localhost"), Some("prg00000"), Some("1234"))
    );
    assert!(m.message.starts_with("seq: 0000000000, thread"));
    assert_eq!((m.facility_name(), m.level()), (Some("auth"), Some("info")));

    let protocol = b"<38>1 2026-11-25T02:57:50+00:00 localhost prg00000 1234 - - \xef\xbb\xbfseq: 0000000000, thread: 0000 PADD\n";
    let m = one_frame(&octet_counted(protocol));
    assert_eq!(
        m.message, "seq: 0000000000, thread: 0000 PADD",
        "BOM and trailing LF stripped"
    );
    assert_eq!(
        m.timestamp,
        Some(Timestamp::Unix(1_795_575_470_000_000_000))
    );
}

#[test]
fn odd_input_is_kept_as_a_message() {
    for (input, message) in [
        (&b"no header at all"[..], "no header at all"),
        (b"<999>too big a priority", "<999>too big a priority"),
        (
            b"<13>Foo 99 12:00:00 not a date",
            "Foo 99 12:00:00 not a date",
        ),
        (b"<13>1 - - - - - -", ""),
        (b"<13>1 - - - - - - -", "-"),
        (
            b"<13>1 2024-05-01T12:00:00Z h a p m [broken sd",
            "[broken sd",
        ),
        (b"\xff\xfe<13>bad utf8", "\u{fffd}\u{fffd}<13>bad utf8"),
    ] {
        assert_eq!(
            parse(input).unwrap().message,
            message,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert!(parse(b"").is_err() && parse(b"\n").is_err() && parse(b"\0").is_err());
}

proptest::proptest! {
    #[test]
    fn framing_and_parsing_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let mut frames = Frames::new(&bytes, 200);
        for f in frames.by_ref().flatten() {
            let _ = parse(f);
        }
        let _ = frames.rest();
        for m in datagram(&bytes) {
            let _ = parse(m);
        }
    }

    #[test]
    fn syslog_like_text_never_panics(text in "(<[0-9]{1,3}>)?(1 )?[A-Za-z0-9 :.+\\-\\[\\]=\"\\\\@T]{0,80}") {
        let _ = parse(text.as_bytes());
    }
}
