use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("sightline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, text);
    load(Some(&path), env(vars), &FlagOverrides::default())
        .map(|(c, _)| c)
        .map_err(|e| e.to_string().replace(&path.display().to_string(), "FILE"))
}

#[test]
fn nothing_at_all_gives_the_defaults() {
    let (config, file) = load(None, env(&[]), &FlagOverrides::default()).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(file, None);
}

#[test]
fn file_values_apply() {
    let config = load_text(
        "data_dir = \"/var/lib/sightline\"\n[http]\naddr = \"0.0.0.0:9000\"\nmax_body_size = \"1MiB\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.data_dir, Path::new("/var/lib/sightline"));
    assert_eq!(config.http.addr.port(), 9000);
    assert_eq!(config.http.max_body_size.get(), 1 << 20);
    assert_eq!(config.auth, server::config::AuthConfig::default());
}

#[test]
fn errors_name_the_file_the_key_and_the_reason() {
    let cases = [
        (
            "[http]\nadr = \"x\"\n",
            "config file FILE: key `http.adr`: unknown key; expected one of",
        ),
        (
            "colour = 1\n",
            "config file FILE: key `colour`: unknown key;",
        ),
        (
            "[http]\naddr = \"nope\"\n",
            "config file FILE: key `http.addr`: `nope` has no port: use an address such as 127.0.0.1:8080 or localhost:8080",
        ),
        (
            "[http]\nmax_body_size = \"12 parsecs\"\n",
            "config file FILE: key `http.max_body_size`: invalid size",
        ),
        (
            "shutdown_grace = 10\n",
            "config file FILE: key `shutdown_grace`: invalid type: integer `10`",
        ),
        (
            "[auth]\nlogin_max_failures = 0\n",
            "config file FILE: key `auth.login_max_failures`: must be at least 1",
        ),
        (
            "[log]\nlevel = \"loud=[\"\n",
            "config file FILE: key `log.level`: invalid log filter",
        ),
        ("[http]\naddr = \n", "config file FILE: line 2, column 8: "),
    ];
    for (text, expected) in cases {
        let err = load_text(text, &[]).unwrap_err();
        assert!(
            err.starts_with(expected),
            "for {text:?}\n got: {err}\nwant: {expected}"
        );
        assert!(!err.contains('\n'), "errors are one line: {err}");
    }
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let err = load(
        Some(Path::new("/no/such/sightline.toml")),
        env(&[]),
        &FlagOverrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("config file /no/such/sightline.toml: cannot read:"),
        "{err}"
    );
}

#[test]
fn environment_overrides_map_to_keys() {
    let config = load_text(
        "[http]\naddr = \"127.0.0.1:1\"\n",
        &[
            ("SIGHTLINE_HTTP_ADDR", "127.0.0.1:2"),
            ("SIGHTLINE_DATA_DIR", "/srv/data"),
            ("SIGHTLINE_AUTH_LOGIN_MAX_FAILURES", "3"),
            ("SIGHTLINE_AUTH__LOGIN_WINDOW", "2m"),
            ("SIGHTLINE_AUTH_COOKIE_SECURE", "true"),
            ("SIGHTLINE_ADMIN_PASSWORD", "12345678"),
            ("SIGHTLINE_CONFIG", "ignored: it is the file's path"),
            ("OTHER_VARIABLE", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(config.http.addr.port(), 2);
    assert_eq!(config.data_dir, Path::new("/srv/data"));
    assert_eq!(config.auth.login_max_failures, 3);
    assert_eq!(config.auth.login_window.get().as_secs(), 120);
    assert!(config.auth.cookie_secure);
    assert_eq!(config.auth.admin_password.unwrap().expose(), "12345678");
}

#[test]
fn environment_errors_name_the_variable() {
    let err = load_text("", &[("SIGHTLINE_HTTP_ADDR", "nowhere")]).unwrap_err();
    assert_eq!(
        err,
        "environment variable SIGHTLINE_HTTP_ADDR (key `http.addr`): `nowhere` has no port: use an address such as 127.0.0.1:8080 or localhost:8080"
    );
    let err = load_text("", &[("SIGHTLINE_HTTP_COLOUR", "blue")]).unwrap_err();
    assert!(
        err.starts_with(
            "environment variable SIGHTLINE_HTTP_COLOUR (key `http.colour`): unknown key"
        ),
        "{err}"
    );
    let err = load_text("", &[("SIGHTLINE_NOPE", "1")]).unwrap_err();
    assert_eq!(
        err,
        "environment variable SIGHTLINE_NOPE: names no configuration key"
    );
    let err = load_text("", &[("SIGHTLINE_ADMIN_PASSWORD", "short")]).unwrap_err();
    assert_eq!(
        err,
        "environment variable SIGHTLINE_ADMIN_PASSWORD (key `auth.admin_password`): must be at least 8 characters"
    );
}

#[test]
fn flags_beat_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "data_dir = \"/from/file\"\n[log]\nlevel = \"warn\"\n");
    let flags = FlagOverrides {
        data_dir: Some(PathBuf::from("/from/flag")),
        http_addr: Some("127.0.0.1:7".into()),
        log_level: None,
    };
    let vars = env(&[
        ("SIGHTLINE_DATA_DIR", "/from/env"),
        ("SIGHTLINE_LOG_LEVEL", "debug"),
    ]);
    let (config, _) = load(Some(&path), vars, &flags).unwrap();
    assert_eq!(config.data_dir, Path::new("/from/flag"));
    assert_eq!(config.http.addr.port(), 7);
    assert_eq!(config.log.level, "debug");

    let bad = FlagOverrides {
        http_addr: Some("x".into()),
        ..FlagOverrides::default()
    };
    let err = load(Some(&path), env(&[]), &bad).unwrap_err().to_string();
    assert_eq!(
        err,
        "flag --http-addr: `x` has no port: use an address such as 127.0.0.1:8080 or localhost:8080"
    );
    // A name resolves, as other servers' flags do.
    let named = FlagOverrides {
        http_addr: Some("localhost:7".into()),
        ..FlagOverrides::default()
    };
    let (config, _) = load(Some(&path), env(&[]), &named).unwrap();
    assert_eq!(config.http.addr.to_string(), "127.0.0.1:7");
}

/// The annotated example must parse, and must state every default exactly.
#[test]
fn the_example_config_is_true() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sightline.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (config, _) = load(Some(&path), env(&[]), &FlagOverrides::default()).unwrap();
    assert_eq!(
        config,
        Config::default(),
        "the example's values are the defaults"
    );
    let example: Table = text.parse().unwrap();
    let defaults = default_table();
    let mut example_keys = BTreeMap::new();
    let mut default_keys = BTreeMap::new();
    record_origins(&example, "", &Origin::Flag("example"), &mut example_keys);
    record_origins(&defaults, "", &Origin::Flag("default"), &mut default_keys);
    let missing: Vec<_> = default_keys
        .keys()
        .filter(|k| !example_keys.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "the example does not document {missing:?}"
    );
    // Secrets have no default, so they are documented as comments.
    assert!(
        text.contains("\n# admin_password = "),
        "document auth.admin_password"
    );
}
