use super::{Expr, parse};

fn call(e: &Expr) -> &super::Call {
    match e {
        Expr::Call(c) => c,
        other => panic!("not a call: {other:?}"),
    }
}

fn path(s: &str) -> Expr {
    Expr::Path(s.to_owned())
}

#[test]
fn paths_and_globs() {
    assert_eq!(parse("a.b.c"), Ok(path("a.b.c")));
    assert_eq!(parse("a.*.c"), Ok(path("a.*.c")));
    assert_eq!(parse("a.{b,c}d.[0-9]?"), Ok(path("a.{b,c}d.[0-9]?")));
    assert_eq!(parse("  a.b  "), Ok(path("a.b")));
    assert_eq!(parse("a.b\\,c"), Ok(path("a.b,c")));
    assert_eq!(
        parse("servers.web-1_x:y;z=w"),
        Ok(path("servers.web-1_x:y;z=w"))
    );
    assert_eq!(parse("1.foo"), Ok(path("1.foo")));
}

#[test]
fn calls_and_arguments() {
    let e = parse("sumSeries(a.*, b)").unwrap();
    let c = call(&e);
    assert_eq!(c.name, "sumSeries");
    assert_eq!(c.args, vec![path("a.*"), path("b")]);
    assert_eq!(c.raw, "sumSeries(a.*, b)");

    let e = parse("f(1, -2.5, 1e3, 'x', \"y\", true, False, None, inf)").unwrap();
    assert_eq!(
        call(&e).args,
        vec![
            Expr::Int(1),
            Expr::Float(-2.5),
            Expr::Float(1000.0),
            Expr::Str("x".into()),
            Expr::Str("y".into()),
            Expr::Bool(true),
            Expr::Bool(false),
            Expr::None,
            Expr::Inf,
        ]
    );
}

#[test]
fn keyword_arguments() {
    let e = parse("movingAverage(a.b, windowSize='5min', xFilesFactor=0.5)").unwrap();
    let c = call(&e);
    assert_eq!(c.args, vec![path("a.b")]);
    assert_eq!(
        c.kwargs,
        vec![
            ("windowSize".into(), Expr::Str("5min".into())),
            ("xFilesFactor".into(), Expr::Float(0.5)),
        ]
    );
    assert!(parse("f(a=1, b)").is_err());
}

#[test]
fn nested_and_piped() {
    let nested = parse("alias(sumSeries(a.*), 'total')").unwrap();
    let piped = parse("a.* | sumSeries() | alias('total')").unwrap();
    let (n, p) = (call(&nested), call(&piped));
    assert_eq!(n.name, p.name);
    assert_eq!(n.args.len(), p.args.len());
    assert_eq!(call(&n.args[0]).name, call(&p.args[0]).name);
    assert_eq!(call(&p.args[0]).args, vec![path("a.*")]);
}

#[test]
fn strings_keep_escapes_raw() {
    let e = parse(r"seriesByTag('name=a', 'v=\'q\'')").unwrap();
    assert_eq!(call(&e).args[1], Expr::Str(r"v=\'q\'".into()));
    let e = parse(r#"aliasSub(a.b, "(^.*$)", "\1 A")"#).unwrap();
    assert_eq!(call(&e).args[2], Expr::Str(r"\1 A".into()));
}

#[test]
fn templates() {
    let e = parse("template(hosts.$hostname.cpu, hostname='worker1')").unwrap();
    let Expr::Template(t) = e else {
        panic!("not a template")
    };
    assert_eq!(t.inner, path("hosts.$hostname.cpu"));
    assert_eq!(
        t.values,
        vec![("hostname".into(), Expr::Str("worker1".into()))]
    );
}

#[test]
fn errors_point_at_the_position() {
    let e = parse("sumSeries(a.b").unwrap_err();
    assert_eq!(e.pos, 13);
    assert!(e.message.contains("expected `,` or `)`"), "{e}");
    let e = parse("sumSeries(a.b))").unwrap_err();
    assert_eq!(e.pos, 14);
    let e = parse("f('abc)").unwrap_err();
    assert_eq!(e.pos, 2);
    assert!(e.to_string().contains("\n  f('abc)\n    ^"), "{e}");
    assert!(parse("a..b").is_err());
    assert!(parse("a.{b,c").is_err());
    assert!(parse("").is_err());
    assert!(parse("a.b | c.d").is_err());
}

#[test]
fn escapes_before_wide_characters_stay_on_char_boundaries() {
    assert_eq!(
        call(&parse("f('\\é')").unwrap()).args[0],
        Expr::Str("\\é".into())
    );
    assert!(parse("f('\\é").is_err());
    assert!(parse("a.é|").is_err());
}

proptest::proptest! {
    #[test]
    fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,40}") {
        if let Err(e) = parse(&text) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn grammar_like_text_never_panics(text in "[a-z(){},.'\"\\\\|=é 0-9*-]{0,30}") {
        let _ = parse(&text).map_err(|e| e.to_string());
    }
}
