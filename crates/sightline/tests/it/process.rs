//! Spawning the real binary and watching its stderr.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The binary under test, with no inherited `SIGHTLINE_*` settings, run in `dir`.
pub fn sightline(dir: &Path) -> Command {
    under(dir, &[])
}

/// [`sightline`] run by `wrapper` (a tracer and its arguments), when there is one.
fn under(dir: &Path, wrapper: &[&str]) -> Command {
    let binary = env!("CARGO_BIN_EXE_sightline");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(binary);
            cmd
        }
        None => Command::new(binary),
    };
    for (name, _) in std::env::vars() {
        if name.starts_with("SIGHTLINE_") {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(dir).env("RUST_BACKTRACE", "0");
    cmd
}

/// Runs a `sightline` command in `dir` that must succeed; its stdout, trimmed.
pub fn cli(dir: &Path, args: &[&str]) -> String {
    let out = sightline(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `sightline project create NAME` beside a running server: the DSN's public key and project
/// id.
pub fn create_project(dir: &Path, name: &str) -> (String, String) {
    let dsn = cli(dir, &["project", "create", name]);
    let key = dsn
        .split("//")
        .nth(1)
        .and_then(|r| r.split('@').next())
        .unwrap()
        .to_owned();
    let project = dsn.rsplit('/').next().unwrap().to_owned();
    (key, project)
}

/// An answer read off the wire by [`raw_request`].
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// The header lines, lowercased.
    pub head: String,
    pub body: String,
}

/// One HTTP/1.1 request over its own connection, written byte for byte as a hostile or plain
/// client would send it; `None` if the connection broke before an answer came.
pub fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<RawAnswer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Some(RawAnswer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    })
}

/// A running `sightline serve` whose stderr is collected as it arrives.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// The server's own process, when `child` is a tracer running it.
    traced: Option<u32>,
    stderr: Arc<(Mutex<String>, Condvar)>,
    pub http: SocketAddr,
}

impl Serve {
    /// Starts `sightline serve` on a free loopback port and waits until it listens.
    pub fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serve {
        Serve::start_under(&[], dir, args, envs)
    }

    /// [`Serve::start`] under `wrapper` (`strace` and its arguments): the server is the
    /// wrapper's child, and is killed with it.
    pub fn start_under(
        wrapper: &[&str],
        dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Serve {
        let mut cmd = under(dir, wrapper);
        cmd.arg("serve")
            .arg("--http-addr")
            .arg("127.0.0.1:0")
            .args(args);
        for listener in [
            "CARBON_TCP",
            "CARBON_UDP",
            "CARBON_PICKLE",
            "STATSD_TCP",
            "STATSD_UDP",
            "LOGS__SYSLOG_UDP",
            "LOGS__SYSLOG_TCP",
            "LOGS__JSON_LINES_TCP",
        ] {
            cmd.env(format!("SIGHTLINE_{listener}"), "127.0.0.1:0");
        }
        cmd.envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sightline serve");
        let stderr = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let (text, ready) = &*sink;
                let mut text = text.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                ready.notify_all();
            }
        });
        let mut serve = Serve {
            child,
            traced: None,
            stderr,
            http: "127.0.0.1:0".parse().unwrap(),
        };
        if serve.wait_for_line("listener=\"http\"").is_none() {
            panic!(
                "the server never said it was listening:\n{}",
                serve.stderr()
            );
        }
        serve.http = serve.addr("http");
        if !wrapper.is_empty() {
            let pid = serve.child.id();
            let children =
                std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
            serve.traced = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok());
            assert!(serve.traced.is_some(), "the tracer runs no server");
        }
        serve
    }

    /// Where the listener named `name` (`http`, `carbon_tcp`, ...) said it listens.
    pub fn addr(&self, name: &str) -> SocketAddr {
        let line = self
            .wait_for_line(&format!("listener=\"{name}\""))
            .expect("the listener is running");
        let addr = line
            .split("addr=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap();
        addr.parse().unwrap()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.traced.unwrap_or_else(|| self.child.id())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.0.lock().unwrap().clone()
    }

    /// The first stderr line containing `needle`, waiting up to 30s for it.
    pub fn wait_for_line(&self, needle: &str) -> Option<String> {
        let (text, ready) = &*self.stderr;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut text = text.lock().unwrap();
        loop {
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return Some(line.to_owned());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            text = ready.wait_timeout(text, left).unwrap().0;
        }
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status();
        assert!(status.unwrap().success());
    }

    /// Waits for the process to exit, at most `bound`; `None` if it is still running.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(pid) = self.traced {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
