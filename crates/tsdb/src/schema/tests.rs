use super::*;

#[test]
fn retentions_parse_like_carbon_and_whisper() {
    let s = Schema::parse("10s:6h,1m:30d,10m:5y").unwrap();
    assert_eq!(
        s.archives(),
        &[
            Archive {
                step: 10,
                points: 2160
            },
            Archive {
                step: 60,
                points: 43_200
            },
            Archive {
                step: 600,
                points: 262_800
            }
        ]
    );
    assert_eq!(
        Schema::parse("60:1440").unwrap().archives(),
        &[Archive {
            step: 60,
            points: 1440
        }]
    );
    assert_eq!(
        Schema::parse("1min:6d").unwrap().archives(),
        &[Archive {
            step: 60,
            points: 8640
        }]
    );
    assert_eq!(
        Schema::parse(" 10s:6h , 1m:7d ").unwrap().max_retention(),
        7 * 86_400
    );
}

#[test]
fn whisper_validation() {
    let cases = [
        ("", "no archives"),
        ("10s:6h,10s:1d", "two archives with the same precision 10s"),
        ("10s:6h,15s:1d", "precision 10s does not divide 15s"),
        (
            "10s:1d,1m:6h",
            "the 60s archive must reach further back than the 10s archive",
        ),
        (
            "10s:5,1m:1d",
            "the 10s archive holds fewer points than one 60s interval",
        ),
        ("10x:6h", "unknown unit `x` in `10x`"),
        ("0s:6h", "precision in `0s:6h` is zero"),
        ("10s", "`10s` is not precision:retention"),
        ("1h:10m", "`1h:10m` keeps no points"),
    ];
    for (text, expect) in cases {
        assert_eq!(Schema::parse(text).unwrap_err(), expect, "{text}");
    }
}

#[test]
fn aggregation_matches_whisper() {
    let slots = [Some(1.0), None, Some(-4.0), Some(2.0)];
    let agg = |m| Method::aggregate(m, &slots).unwrap();
    assert_eq!(agg(Method::Average), -1.0 / 3.0);
    assert_eq!(agg(Method::Sum), -1.0);
    assert_eq!(agg(Method::Last), 2.0);
    assert_eq!(agg(Method::Max), 2.0);
    assert_eq!(agg(Method::Min), -4.0);
    assert_eq!(agg(Method::AvgZero), -0.25);
    assert_eq!(agg(Method::Absmax), -4.0);
    assert_eq!(agg(Method::Absmin), 1.0);
    assert_eq!(
        Method::Absmax.aggregate(&[Some(-3.0), Some(3.0)]),
        Some(-3.0)
    );
    assert_eq!(Method::Sum.aggregate(&[None, None]), None);
}

#[test]
fn x_files_factor_gates_rollups() {
    let half = Aggregation {
        x_files_factor: 0.5,
        method: Method::Average,
    };
    assert_eq!(half.roll(&[Some(2.0), None, None, Some(4.0)]), Some(3.0));
    assert_eq!(half.roll(&[Some(2.0), None, None, None]), None);
    let zero = Aggregation {
        x_files_factor: 0.0,
        method: Method::Sum,
    };
    assert_eq!(
        zero.roll(&[None, None]),
        None,
        "nothing known, nothing written"
    );
    assert_eq!(zero.roll(&[None, Some(1.0)]), Some(1.0));
}

#[test]
fn carbon_files_load() {
    let schemas = "\
# Schema definitions for Whisper files.
[carbon]
pattern = ^carbon\\.
retentions = 60:90d

[stats]
pattern = ^stats.*
retentions = 10s:6h,1m:6d,10m:1800d

[no_retention]
pattern = .*

[default_1min_for_1day]
pattern = .*
retentions = 60s:1d
";
    let rules = parse_carbon_schemas(schemas, "storage-schemas.conf").unwrap();
    assert_eq!(
        rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["carbon", "stats", "default_1min_for_1day"]
    );
    assert_eq!(rules[1].value.archives().len(), 3);
    assert!(rules[0].pattern.is_match("carbon.agents.x"));

    let aggregation = "\
[min]
pattern = \\.min$
xFilesFactor = 0.1
aggregationMethod = min

[count]
pattern = \\.count$
xFilesFactor = 0
aggregationMethod = sum

[default_average]
pattern = .*
";
    let rules = parse_carbon_aggregation(aggregation, "storage-aggregation.conf").unwrap();
    assert_eq!(
        rules[0].value,
        Aggregation {
            x_files_factor: 0.1,
            method: Method::Min
        }
    );
    assert_eq!(
        rules[1].value,
        Aggregation {
            x_files_factor: 0.0,
            method: Method::Sum
        }
    );
    assert_eq!(
        rules[2].value,
        Aggregation {
            x_files_factor: 0.5,
            method: Method::Average
        }
    );

    let err = parse_carbon_schemas("[x]\npattern = a\nretentions = 10s:6h,15s:1d\n", "s.conf")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "config: s.conf [x]: retentions `10s:6h,15s:1d`: precision 10s does not divide 15s"
    );
    let err = parse_carbon_aggregation("[x]\npattern = a\naggregationMethod = median\n", "a.conf")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "config: a.conf [x]: unknown aggregationMethod `median`"
    );
    let err = parse_carbon_schemas("[x]\npattern = (?<=a)b\nretentions = 10s:6h\n", "s.conf")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("config: rule `x`: bad pattern `(?<=a)b`"),
        "{err}"
    );
}
