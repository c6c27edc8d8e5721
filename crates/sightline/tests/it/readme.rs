//! README.md is true: every shell command and URL in it runs, in order, against a real server.
//!
//! The commands are read from the README itself: each line of a ```sh block, and each inline
//! code span that starts with a command (`sightline`, `curl`, `export`, `echo`, `python3`, …)
//! or a URL on the server (`http://127.0.0.1:8080/…`). They run as the README writes them, in
//! one bash session (so `export` carries on), with `sightline` on the `PATH` as the binary under
//! test, on the default ports: the script runs in a network namespace of its own (`unshare
//! -n`), whose loopback nothing else listens on. Three commands are not run as written, for the
//! reasons `special` gives.
//!
//! Each command must exit 0, and a command that answers data must answer some: a curl whose
//! JSON is `[]`, or holds an empty `rows`, `events`, `series` or `issues`, or a zero `total`,
//! fails, as does a `sightline logs search` that prints nothing. After a command that sends
//! data without waiting for it (the demo), the script waits the delay the README promises
//! before the data is searchable. The namespace has no network, so the README's
//! `pip install sentry-sdk` installs from the wheels `scripts/test` downloaded beside the
//! Python peers (`PIP_FIND_LINKS`), as from a local mirror.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// How long the README says events take to become searchable during a bulk load (the demo's
/// backfill is one: five seconds), and a second more.
const SEARCHABLE_DELAY_S: u32 = 6;

/// One command from the README, with the line it is on.
#[derive(Debug, Clone)]
struct Step {
    line: usize,
    command: String,
}

/// What the README test does with a command that cannot run as written.
fn special(command: &str) -> Option<&'static str> {
    Some(match command {
        "./scripts/test" => "skip: it runs the test suite, which this test is part of",
        "cargo install --path crates/sightline" => {
            "skip: the test puts the binary it built on the PATH instead"
        }
        "cargo run --release -- serve" => {
            "serve: the binary under test is started instead (a release build takes minutes)"
        }
        _ => return None,
    })
}

const COMMANDS: [&str; 9] = [
    "sightline ",
    "curl ",
    "export ",
    "echo ",
    "python3 ",
    "sdk/bin/",
    "cargo ",
    "./scripts/",
    "http://127.0.0.1:8080/",
];

/// The commands of `readme`, in order, each once.
fn steps(readme: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut in_sh = false;
    let mut in_other_block = false;
    let mut push = |line: usize, command: String| {
        if !out.iter().any(|s| s.command == command) {
            out.push(Step { line, command });
        }
    };
    for (i, raw) in readme.lines().enumerate() {
        let text = raw.trim();
        if let Some(lang) = text.strip_prefix("```") {
            match (in_sh, in_other_block) {
                (true, _) => in_sh = false,
                (_, true) => in_other_block = false,
                _ if lang == "sh" => in_sh = true,
                _ => in_other_block = true,
            }
            continue;
        }
        if in_sh {
            if !text.is_empty() && !text.starts_with('#') {
                push(i + 1, text.to_owned());
            }
            continue;
        }
        if in_other_block {
            continue;
        }
        // Inline code spans: the text between pairs of backticks.
        for (n, span) in raw.split('`').enumerate() {
            if n % 2 == 1 && COMMANDS.iter().any(|c| span.starts_with(c)) {
                let command = if span.starts_with("http://") {
                    format!("curl -H \"Authorization: Bearer $README_ADMIN\" '{span}'")
                } else {
                    span.to_owned()
                };
                push(i + 1, command);
            }
        }
    }
    out
}

/// The bash script that runs the steps, writing each one's output under `out/`.
fn script(steps: &[Step], bin: &Path, peers: Option<&Path>) -> String {
    let mut s = String::from("set -u\n");
    s.push_str("ip link set lo up 2>/dev/null || true\n");
    s.push_str(&format!(
        "mkdir -p bin out && ln -sf {} bin/sightline\n",
        bin.display()
    ));
    let mut path = "$PWD/bin".to_owned();
    if let Some(venv) = peers {
        path.push_str(&format!(":{}", venv.join("bin").display()));
    }
    s.push_str(&format!("export PATH={path}:$PATH\n"));
    // curl fails on an HTTP error, and is quiet about progress.
    s.push_str("curl() { command curl -sS --fail-with-body --max-time 60 \"$@\"; }\n");
    for (n, step) in steps.iter().enumerate() {
        let command = &step.command;
        let run = match special(command) {
            Some(why) if why.starts_with("skip") => {
                s.push_str(&format!("echo skipped > out/{n}.rc\n"));
                continue;
            }
            Some(_) => {
                // The server, on the default ports and ./data, until the script ends.
                "sightline serve > out/serve.log 2>&1 & SERVE_PID=$! ; \
                 for i in $(seq 300); do command curl -s 127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done; \
                 export README_ADMIN=$(sightline token create readme-test --role admin 2>/dev/null)"
                    .to_owned()
            }
            // Commands that run until interrupted must still be running after a while.
            None if command.contains("logs tail")
                || command.starts_with("sightline demo") && !command.contains("--") =>
            {
                format!("timeout 3 {command}; [ $? = 124 ]")
            }
            None => command.clone(),
        };
        s.push_str(&format!(
            "{{ {run} ; }} > out/{n}.stdout 2> out/{n}.stderr < /dev/null; echo $? > out/{n}.rc\n"
        ));
        if command.starts_with("sightline demo") {
            s.push_str(&format!("sleep {SEARCHABLE_DELAY_S}\n"));
        }
    }
    s.push_str("kill ${SERVE_PID:-} 2>/dev/null; wait\n");
    s
}

/// Why a command's standard output is an empty answer, if it is one.
fn empty_answer(command: &str, stdout: &str) -> Option<String> {
    if command.starts_with("sightline logs search") && stdout.trim().is_empty() {
        return Some("no events printed".into());
    }
    if !command.starts_with("curl") {
        return None;
    }
    let Ok(value) = serde_json::from_str::<Value>(stdout) else {
        return stdout
            .trim()
            .is_empty()
            .then(|| "an empty answer".to_owned());
    };
    if value.as_array().is_some_and(Vec::is_empty) {
        return Some("an empty list".into());
    }
    for key in ["rows", "events", "series", "issues"] {
        if value[key].as_array().is_some_and(Vec::is_empty) {
            return Some(format!("no {key}"));
        }
    }
    if value["total"].as_u64() == Some(0) {
        return Some("a total of 0".into());
    }
    None
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

#[test]
fn the_readme_reads_its_commands_in_order() {
    let steps = steps(&std::fs::read_to_string(readme_path()).unwrap());
    let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(commands[0], "cargo run --release -- serve");
    assert!(commands.contains(&"./scripts/test"));
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("export SIGHTLINE_TOKEN="))
    );
    assert!(
        commands
            .iter()
            .any(|c| c.contains("/api/v1/events/aggregate"))
    );
    assert!(commands.len() > 25, "{commands:#?}");
}

#[test]
fn every_readme_command_and_url_works() {
    let steps = steps(&std::fs::read_to_string(readme_path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let peers = std::env::var_os("SIGHTLINE_PEERS").map(|p| PathBuf::from(p).join("venv"));
    let text = script(
        &steps,
        Path::new(env!("CARGO_BIN_EXE_sightline")),
        peers.as_deref().filter(|p| p.is_dir()),
    );
    std::fs::write(dir.path().join("readme.sh"), &text).unwrap();
    // A network namespace of its own, so the default ports are free; as plain bash if this
    // machine cannot make one (then they must be free here).
    let isolated = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let mut command = if isolated {
        let mut c = Command::new("unshare");
        c.args(["-n", "bash", "readme.sh"]);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("readme.sh");
        c
    };
    for (name, _) in std::env::vars() {
        if name.starts_with("SIGHTLINE_") {
            command.env_remove(name);
        }
    }
    // The namespace has no network: pip installs from the wheels `scripts/test` downloaded.
    if let Some(wheels) =
        std::env::var_os("SIGHTLINE_PEERS").map(|p| PathBuf::from(p).join("wheels"))
    {
        command
            .env("PIP_FIND_LINKS", wheels)
            .env("PIP_NO_INDEX", "1");
    }
    let status = command
        .current_dir(dir.path())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .status()
        .unwrap();
    assert!(status.success(), "the README script itself failed");
    let out = dir.path().join("out");
    let read = |name: String| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let mut failures = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let rc = read(format!("{n}.rc"));
        let rc = rc.trim();
        if rc == "skipped" {
            continue;
        }
        let stdout = read(format!("{n}.stdout"));
        let stderr = read(format!("{n}.stderr"));
        let problem = if rc != "0" {
            Some(format!("exit {rc}"))
        } else {
            empty_answer(&step.command, &stdout)
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "README.md:{}: `{}`: {problem}\n  stdout: {}\n  stderr: {}",
                step.line,
                step.command,
                stdout.trim(),
                stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nserver log:\n{}",
        failures.join("\n"),
        read("serve.log".into())
    );
}
