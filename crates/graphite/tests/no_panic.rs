//! Every function, with arguments of every kind (wrong ones included), evaluates to series or
//! to an error: never a panic, and never more points than the request's budget.

#![allow(clippy::unwrap_used)]

use graphite::eval::{ErrorKind, FetchAll, Fetched, Fetching, Request, evaluate};
use graphite::render::{Options, apply_max_data_points, csv, json, raw};
use graphite::tagexpr::TagExpr;
use proptest::prelude::*;

const END: i64 = 1_700_000_000;

/// A few series with nulls, a 60 s one and a tagged one, for any pattern.
struct Fixture;

impl FetchAll for Fixture {
    fn fetch(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Fetched>, String> {
        if pattern.contains("none") {
            return Ok(Vec::new());
        }
        let series = |name: &str, step: i64, f: &dyn Fn(i64) -> f64| {
            let start = from - from.rem_euclid(step) + step;
            let end = until - until.rem_euclid(step) + step;
            let n = ((end - start) / step).clamp(0, 100_000);
            Fetched {
                name: name.into(),
                start,
                end: start + n * step,
                step,
                values: (0..n).map(f).collect(),
            }
        };
        Ok(vec![
            series("a.b.c", 10, &|i| {
                if i % 7 == 3 {
                    f64::NAN
                } else {
                    (i % 13) as f64 - 4.0
                }
            }),
            series("a.d.c", 10, &|i| i as f64 * 1.5),
            series("a.slow.c", 60, &|i| {
                if i % 5 == 0 {
                    f64::NAN
                } else {
                    1e300 * i as f64
                }
            }),
            series("m;dc=x;host=h1", 10, &|_| f64::NAN),
        ])
    }

    fn fetch_tagged(&self, _: &[TagExpr], from: i64, until: i64) -> Result<Vec<Fetched>, String> {
        self.fetch("x", from, until).map(|mut v| v.split_off(3))
    }
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a.*.c".to_owned()),
        Just("a.b.c".to_owned()),
        Just("none.*".to_owned()),
        Just("seriesByTag('dc=x')".to_owned()),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(2),
            Just(-3),
            Just(7),
            Just(1000),
            Just(i64::from(i32::MAX)),
            Just(-i64::from(i32::MAX))
        ]
        .prop_map(|n| n.to_string()),
        prop_oneof![
            Just("0.5"),
            Just("-2.5"),
            Just("1e300"),
            Just("1e-300"),
            Just("inf"),
            Just("-0.0")
        ]
        .prop_map(str::to_owned),
        prop_oneof![
            Just("'1min'"),
            Just("'-5min'"),
            Just("'0s'"),
            Just("'1s'"),
            Just("'1y'"),
            Just("'bogus'"),
            Just("''"),
            Just("'sum'"),
            Just("'average'"),
            Just("'sumSeries'"),
            Just("'max'"),
            Just("'>'"),
            Just("'('"),
            Just("'si'"),
            Just("'dc'"),
            Just("'%d'"),
            Just("'\\\\1'"),
            Just("'now'"),
            Just("'-1h'")
        ]
        .prop_map(str::to_owned),
        prop_oneof![Just("true"), Just("false"), Just("None")].prop_map(str::to_owned),
    ]
}

fn target() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = graphite::functions::all()
        .into_iter()
        .map(|d| d.name)
        .collect();
    let leaf = arg();
    leaf.prop_recursive(3, 24, 4, move |inner| {
        (
            proptest::sample::select(names.clone()),
            proptest::collection::vec(inner, 0..5),
        )
            .prop_map(|(name, args)| format!("{name}({})", args.join(",")))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_call_evaluates_or_errors(target in target(), max in 0usize..50, hours in 1i64..48) {
        let request = Request {
            from: END - hours * 3600,
            until: END,
            now: END,
            tz: graphite::attime::time_zone(Some("Europe/Paris")),
            templates: Vec::new(),
            max_bytes: 16 << 20,
            pool: None,
            xff: None,
        };
        if let Ok(mut series) = evaluate(&Fetching::new(Fixture), &request, std::slice::from_ref(&target)) {
            let points: usize = series.iter().map(|s| s.values.len()).sum();
            prop_assert!(points <= 20_000_000, "{target}: {points} points");
            let _ = raw(&series);
            let _ = csv(&series, &request.tz);
            if max > 0 {
                apply_max_data_points(&mut series, max);
            }
            let _ = json(&series, &Options::default());
        }
    }
}

#[test]
fn generated_points_count_against_the_budget() {
    let request = Request {
        from: END - 10 * 365 * 86_400,
        until: END,
        now: END,
        tz: jiff::tz::TimeZone::UTC,
        templates: Vec::new(),
        max_bytes: 16 << 20,
        pool: None,
        xff: None,
    };
    for target in [
        "summarize(a.b.c,'1s')",
        "hitcount(a.b.c,'1s')",
        "timeFunction('t',1)",
        "events('deploy')",
        "smartSummarize(a.b.c,'1s')",
    ] {
        let err = evaluate(&Fetching::new(Fixture), &request, &[target.to_owned()]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge, "{target}: {err}");
        assert!(
            err.message.contains("memory budget of 16MiB"),
            "{target}: {err}"
        );
    }
}
