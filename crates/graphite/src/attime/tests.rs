use super::{parse_at_time, parse_offset, time_zone};

// 2024-03-15 10:20:30 UTC, a Friday.
const NOW: i64 = 1_710_498_030;

fn utc(text: &str) -> Result<i64, String> {
    parse_at_time(text, &time_zone(None), NOW)
}

#[test]
fn relative_and_epoch() {
    assert_eq!(utc("now"), Ok(NOW));
    assert_eq!(utc(""), Ok(NOW));
    assert_eq!(utc("-1h"), Ok(NOW - 3600));
    assert_eq!(utc("-5min"), Ok(NOW - 300));
    assert_eq!(utc("now-2d"), Ok(NOW - 2 * 86_400));
    assert_eq!(utc("-1h30min"), Ok(NOW - 5400));
    assert_eq!(utc("-1mon"), Ok(NOW - 30 * 86_400));
    assert_eq!(utc("-1y"), Ok(NOW - 365 * 86_400));
    assert_eq!(utc("-2weeks"), Ok(NOW - 14 * 86_400));
    assert_eq!(utc("+10s"), Ok(NOW + 10));
    assert_eq!(utc("1700000000"), Ok(1_700_000_000));
    assert!(utc("-5m").is_err(), "a bare m is an error in graphite-web");
    assert!(utc("-5x").is_err());
    assert!(utc("now+9223372036854775807s").is_err());
    assert!(utc("-999999999999999999y").is_err());
}

#[test]
fn absolute_forms() {
    assert_eq!(utc("20240301"), Ok(1_709_251_200));
    assert_eq!(utc("04:00_20240301"), Ok(1_709_251_200 + 4 * 3600));
    assert_eq!(utc("midnight"), Ok(1_710_460_800));
    // In a URL, `noon+yesterday` arrives as `noon yesterday`.
    assert_eq!(
        utc("noon yesterday"),
        Ok(1_710_460_800 - 86_400 + 12 * 3600)
    );
    assert_eq!(utc("noonyesterday"), Ok(1_710_460_800 - 86_400 + 12 * 3600));
    assert_eq!(utc("6pm today"), Ok(1_710_460_800 + 18 * 3600));
    assert_eq!(utc("03/01/2024"), Ok(1_709_251_200));
    assert_eq!(utc("03/01/24"), Ok(1_709_251_200));
    assert_eq!(utc("march1"), Ok(1_709_251_200));
    assert_eq!(utc("monday"), Ok(1_710_460_800 - 4 * 86_400));
    assert_eq!(utc("friday"), Ok(1_710_460_800));
    assert_eq!(utc("midnight-1d"), Ok(1_710_460_800 - 86_400));
    assert!(utc("blursday").is_err());
}

#[test]
fn time_zones_move_references_not_epochs() {
    let paris = time_zone(Some("Europe/Paris"));
    assert_eq!(
        parse_at_time("20240301", &paris, NOW),
        Ok(1_709_251_200 - 3600)
    );
    assert_eq!(parse_at_time("1700000000", &paris, NOW), Ok(1_700_000_000));
    assert_eq!(parse_at_time("-1h", &paris, NOW), Ok(NOW - 3600));
    assert_eq!(time_zone(Some("Not/AZone")), time_zone(None));
}

#[test]
fn offsets() {
    assert_eq!(parse_offset("1d"), Ok(86_400));
    assert_eq!(parse_offset("-5min"), Ok(-300));
    assert_eq!(parse_offset(""), Ok(0));
    assert!(parse_offset("5").is_err());
}

proptest::proptest! {
    #[test]
    fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,24}") {
        let _ = utc(&text);
    }

    #[test]
    fn time_like_text_never_panics(text in "[0-9:/+a-zé -]{0,16}") {
        let _ = utc(&text);
    }
}
