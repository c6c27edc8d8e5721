#!/usr/bin/python3
"""Event ingest and query benchmark: Sightline's event store fed the reference generator's
structlog-shaped events, over HTTP NDJSON and over syslog TCP. Prints a Markdown report.

  bench/events.py 1000000 [10000000 ...]      # events per run
  BENCH_PROTOCOLS=http BENCH_QUERIES=0 bench/events.py 1000000   # one protocol, no queries

Data: ../shared/reference/logs-bench/gen_logs.py N 42 (cached in ~/.cache/sightline/bench),
~314 bytes per event, 2 ms apart from 2026-01-01T00:00Z. The syslog run sends the same events
as RFC 5424 lines, octet-counted (the JSON minus its message and time as structured data),
so both protocols carry the same content. Needs a release build (cargo build --release).

The server runs on CPU 1 (taskset), the clients on CPU 0: four HTTP clients posting 4 MiB
bodies, or four TCP connections. Figures: wall time from the first byte to the last
acknowledgement and to every event searchable (a count query, polled), server CPU-seconds from
/proc/<pid>/stat, MB of raw input per server CPU-second, peak RSS (VmHWM), bytes on disk of the
event store after a graceful stop, per raw byte. Then query latency on the HTTP run's store
(warm, 20 requests each, p50/p95, one at a time, end to end over HTTP).
"""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import SIGHTLINE, cpu_seconds, disk_bytes, free_port, peak_rss  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "..", "shared", "reference", "logs-bench", "gen_logs.py")
CACHE = os.path.expanduser("~/.cache/sightline/bench")
BODY = 4 << 20
CLIENTS = 4
REPS = 20
DAY = "from=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z"
WEEK = "from=2025-12-26T00:00:00Z&until=2026-01-02T00:00:00Z"
QUERIES = [
    ("term `user_id:4242`, 24 h, top 100", "search", "user_id:4242", DAY),
    ("term `level:error`, 24 h, top 100", "search", "level:error", DAY),
    ("two fields `http.status:500 AND level:error`", "search", "http.status:500 AND level:error", DAY),
    ("phrase `\"payment failed\"`", "search", '"payment failed"', DAY),
    ("range `duration_ms:[500 TO *]`", "search", "duration_ms:[500 TO *]", DAY),
    ("no hit `user_id:999999`", "search", "user_id:999999", DAY),
    ("sum of amount by currency, a week", "aggregate", "| stats sum(amount) by currency", WEEK),
    ("payments: sum, count by currency, a week", "aggregate", '"payment succeeded" | stats sum(amount), count() by currency', WEEK),
    ("count over time by level (auto interval), 24 h", "aggregate", "| timechart count() by level", DAY),
    ("top 10 loggers", "aggregate", "| stats count() by logger", DAY),
    ("p99(duration_ms), cardinality(user_id) by level", "aggregate", "| stats p99(duration_ms), cardinality(user_id) by level", DAY),
]


def dataset(n):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"events-{n}.ndjson")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        with open(path + ".tmp", "w") as out:
            subprocess.run(["/usr/bin/python3", GEN, str(n), "42"], stdout=out, check=True)
        os.rename(path + ".tmp", path)
    return path


def bodies(path):
    """The file as ~4 MiB NDJSON bodies, split at line ends."""
    out = []
    with open(path, "rb") as f:
        while True:
            chunk = f.read(BODY)
            if not chunk:
                break
            rest = f.readline()
            out.append(chunk + rest)
    return out


SEVERITY = {"debug": 7, "info": 6, "warning": 4, "error": 3}


def syslog_frames(path):
    """The same events as octet-counted RFC 5424 frames, in ~4 MiB batches."""
    batches, batch, size = [], [], 0
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            msg = e.pop("event")
            ts = e.pop("timestamp")
            level = e.pop("level")
            logger = e.pop("logger")
            http = e.pop("http")
            params = " ".join(f'{k}="{v}"' for k, v in e.items())
            sd = f'[ev@32473 {params} method="{http["method"]}" path="{http["path"]}" status="{http["status"]}"]'
            pri = 16 * 8 + SEVERITY[level]
            body = f"<{pri}>1 {ts} web1 {logger} - - {sd} {msg}".encode()
            frame = str(len(body)).encode() + b" " + body
            batch.append(frame)
            size += len(frame)
            if size >= BODY:
                batches.append(b"".join(batch))
                batch, size = [], 0
    if batch:
        batches.append(b"".join(batch))
    return batches


class Server:
    def __init__(self, work):
        self.dir = os.path.join(work, "sightline")
        os.makedirs(self.dir)
        self.http, self.syslog = free_port(), free_port()
        with open(os.path.join(self.dir, "sightline.toml"), "w") as f:
            f.write(f'''data_dir = "{self.dir}/data"
[log]
level = "warn"
[http]
addr = "127.0.0.1:{self.http}"
max_body_size = "64MiB"
request_timeout = "120s"
[carbon]
tcp = "off"
udp = "off"
pickle = "off"
[statsd]
udp = "off"
tcp = "off"
# The reference data is dated from 2026-01-01: kept, whatever the day the bench runs.
[events]
retention = "0s"
[logs]
syslog_tcp = "127.0.0.1:{self.syslog}"
syslog_udp = "off"
json_lines_tcp = "off"
''')
        env = dict(os.environ, SIGHTLINE_ADMIN_PASSWORD="bench-password")
        self.proc = subprocess.Popen(["taskset", "-c", "1", SIGHTLINE, "serve", "--config", "sightline.toml"],
                                     cwd=self.dir, env=env, stderr=open(os.path.join(self.dir, "log"), "w"))
        for _ in range(400):
            try:
                self.get("/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.05)
        else:
            self.proc.kill()
            raise RuntimeError("Sightline did not become ready")
        self.ingest = self.token("ingest")
        self.api = self.token("api")

    def token(self, kind):
        out = subprocess.run([SIGHTLINE, "token", "create", f"bench-{kind}", "--kind", kind, "--config", "sightline.toml"],
                             cwd=self.dir, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def get(self, path, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http, timeout=600)
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:300]!r}")
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def count(self):
        return self.get(f"/api/v1/events/search?from=0&until=4102444800&limit=1", self.api)["total"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=300)


def post_all(server, batches):
    queue = list(enumerate(batches))
    lock = threading.Lock()
    errors = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", server.http, timeout=600)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            c.request("POST", "/api/v1/ingest", body=body,
                      headers={"Authorization": f"Bearer {server.ingest}", "Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            answer = json.loads(r.read())
            if r.status != 200 or answer["rejected"]:
                errors.append(answer)
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"refused: {errors[:2]}")


def send_syslog(server, batches):
    queue = list(batches)
    lock = threading.Lock()

    def worker():
        s = socket.create_connection(("127.0.0.1", server.syslog))
        while True:
            with lock:
                if not queue:
                    break
                data = queue.pop()
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def ingest_run(n, protocol, keep=False):
    path = dataset(n)
    raw = os.path.getsize(path)
    batches = bodies(path) if protocol == "http" else syslog_frames(path)
    wire = sum(len(b) for b in batches)
    work = tempfile.mkdtemp(prefix="sl-events-")
    os.sched_setaffinity(0, {0})
    server = Server(work)
    try:
        c0 = cpu_seconds(server.proc.pid)
        t0 = time.monotonic()
        (post_all if protocol == "http" else send_syslog)(server, batches)
        t_ack = time.monotonic() - t0
        while server.count() < n:
            time.sleep(0.05)
        t_visible = time.monotonic() - t0
        c1 = cpu_seconds(server.proc.pid)
        rss = peak_rss(server.proc.pid)
        result = {
            "events": n, "protocol": protocol, "raw_mb": raw / 1e6, "wire_mb": wire / 1e6,
            "ack_s": t_ack, "visible_s": t_visible, "cpu_s": c1 - c0,
            "mb_per_s": raw / 1e6 / t_visible, "mb_per_cpu_s": raw / 1e6 / (c1 - c0),
            "events_per_s": n / t_visible, "rss_mib": rss / 2**20,
        }
        if keep:
            result["queries"] = query_suite(server)
            result["rss_after_queries_mib"] = peak_rss(server.proc.pid) / 2**20
        server.stop()
        result["disk_mb"] = disk_bytes(os.path.join(server.dir, "data", "events")) / 1e6
        result["disk_ratio"] = result["disk_mb"] / (raw / 1e6)
        return result
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def query_suite(server):
    out = []
    for name, route, q, span in QUERIES:
        path = f"/api/v1/events/{route}?{span}&q={urllib.parse.quote(q)}"
        if route == "search":
            path += "&limit=100"
        first = server.get(path, server.api)
        times = []
        for _ in range(REPS):
            t = time.monotonic()
            server.get(path, server.api)
            times.append((time.monotonic() - t) * 1000)
        times.sort()
        hits = first.get("total")
        out.append({"name": name, "p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                    "matched": hits})
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    results = []
    protocols = os.environ.get("BENCH_PROTOCOLS", "http,syslog").split(",")
    queries = os.environ.get("BENCH_QUERIES", "1") == "1"
    for n in [int(x) for x in sys.argv[1:]]:
        for protocol in protocols:
            results.append(ingest_run(n, protocol, keep=queries and protocol == "http"))
            print(json.dumps(results[-1], indent=1), file=sys.stderr)
    print("| events | protocol | raw MB | to acked | to searchable | server CPU-s | MB/s | MB per CPU-s | ev/s | peak RSS | disk | disk/raw |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['events']:,} | {r['protocol']} | {r['raw_mb']:.0f} | {r['ack_s']:.1f} s | {r['visible_s']:.1f} s | "
              f"{r['cpu_s']:.1f} | {r['mb_per_s']:.1f} | {r['mb_per_cpu_s']:.1f} | {r['events_per_s']:,.0f} | "
              f"{r['rss_mib']:.0f} MiB | {r['disk_mb']:.0f} MB | {r['disk_ratio']:.3f} |")
    for r in results:
        if "queries" not in r:
            continue
        print(f"\nQueries over {r['events']:,} events (warm, {REPS} requests each, over HTTP; RSS after: "
              f"{r['rss_after_queries_mib']:.0f} MiB):\n")
        print("| query | matched | p50 | p95 |")
        print("|---|---|---|---|")
        for q in r["queries"]:
            print(f"| {q['name']} | {q['matched']:,} | {q['p50_ms']:.1f} ms | {q['p95_ms']:.1f} ms |" if q["matched"] is not None
                  else f"| {q['name']} | | {q['p50_ms']:.1f} ms | {q['p95_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
