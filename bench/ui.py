#!/usr/bin/python3
"""The web UI's speed, measured in Chromium: prints a Markdown report for BENCHMARKS.md.

  bench/ui.py [EVENTS]        # default 10000000 events for the Explore figure

One release-built server (cargo build --release) on CPU 1, filled with:
- `sightline demo --backfill 6h --duration 0s` (the Overview's data: carbon, events, errors);
- 100 carbon series over 24 h at 60 s (`bench.s00..s99.value`) and a dashboard of 12 graph
  panels over them (`scale(bench.*.value, k)`), each panel asking for `maxDataPoints` = its
  width in pixels, as the UI does;
- EVENTS events from the reference generator (bench/events.py's data, 2 ms apart from
  2026-01-01T00:00Z) over HTTP NDJSON.
Then bench/ui_browser.mjs (playwright-core, Debian's chromium, on CPU 0) opens each page in a
new browser profile five times and reads the Performance API: time from navigation start to
the page being interactive (DOMContentLoaded) and to every panel drawn (or the first page
of events and the histogram), median and worst; for Explore also the time from its first
request for events to both drawn; and the bytes of JS and CSS the first page loads, gzipped
as served.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from events import CLIENTS, bodies, dataset, post_all  # noqa: E402,F401
from metrics import SIGHTLINE, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-ui-password"


class Server:
    def __init__(self, work):
        self.dir = os.path.join(work, "sightline")
        os.makedirs(self.dir)
        self.http, self.carbon, self.lines = free_port(), free_port(), free_port()
        with open(os.path.join(self.dir, "sightline.toml"), "w") as f:
            f.write(f'''data_dir = "{self.dir}/data"
[log]
level = "warn"
[http]
addr = "127.0.0.1:{self.http}"
max_body_size = "64MiB"
request_timeout = "120s"
[carbon]
tcp = "127.0.0.1:{self.carbon}"
udp = "off"
pickle = "off"
[statsd]
udp = "off"
tcp = "off"
# The reference data is dated from 2026-01-01: kept, whatever the day the bench runs.
[events]
retention = "0s"
[logs]
syslog_tcp = "off"
syslog_udp = "off"
json_lines_tcp = "127.0.0.1:{self.lines}"
''')
        env = dict(os.environ, SIGHTLINE_ADMIN_PASSWORD=PASSWORD)
        self.proc = subprocess.Popen(["taskset", "-c", "1", SIGHTLINE, "serve", "--config", "sightline.toml"],
                                     cwd=self.dir, env=env, stderr=open(os.path.join(self.dir, "log"), "w"))
        for _ in range(400):
            if self.cli("token", "list", check=False).returncode == 0:
                break
            time.sleep(0.05)
        self.ingest = self.cli("token", "create", "bench-ingest", "--kind", "ingest").stdout.strip()
        self.api = self.cli("token", "create", "bench-api", "--role", "editor").stdout.strip()

    def cli(self, *args, check=True):
        return subprocess.run([SIGHTLINE, *args, "--config", "sightline.toml"], cwd=self.dir,
                              check=check, capture_output=True, text=True)

    def request(self, method, path, body=None):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.http, timeout=600)
        headers = {"Authorization": f"Bearer {self.api}", "Content-Type": "application/json"}
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=300)


def fill_metrics(server):
    import socket
    now = int(time.time()) // 60 * 60
    lines = []
    for s in range(100):
        for t in range(now - 86400, now, 60):
            lines.append(f"bench.s{s:02d}.value {50 + (s * 7 + t // 60) % 37} {t}\n")
    with socket.create_connection(("127.0.0.1", server.carbon)) as sock:
        sock.sendall("".join(lines).encode())
    panels = []
    for k in range(12):
        panels.append({"id": k + 1, "type": "graph", "title": f"Panel {k + 1}", "legend": False,
                       "gridPos": {"x": (k % 2) * 12, "y": (k // 2) * 8, "w": 12, "h": 8},
                       "targets": [{"refId": "A", "target": f"scale(bench.*.value, {k + 1})"}]})
    board = {"title": "Twelve graphs", "uid": "twelve", "time": {"from": "-24h", "until": "now"},
             "variables": [], "panels": panels}
    server.request("POST", "/api/v1/dashboards", {"dashboard": board})
    deadline = time.time() + 60
    while time.time() < deadline:
        found = server.request("GET", "/render?target=countSeries(bench.*.value)&from=-24h&format=json")
        if found and found[0]["datapoints"][-2][0] == 100:
            return
        time.sleep(0.5)
    raise RuntimeError("the bench series never arrived")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    work = tempfile.mkdtemp(prefix="sl-ui-")
    os.sched_setaffinity(0, {0})
    server = Server(work)
    try:
        subprocess.run([SIGHTLINE, "demo", "--carbon", f"127.0.0.1:{server.carbon}", "--json-lines",
                        f"127.0.0.1:{server.lines}", "--statsd", "off", "--backfill", "6h", "--duration", "0s",
                        "--config", "sightline.toml"], cwd=server.dir, check=True, capture_output=True)
        fill_metrics(server)
        t0 = time.monotonic()
        post_all(server, bodies(dataset(n)))
        while server.request("GET", "/api/v1/events/search?from=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z&limit=1")["total"] < n:
            time.sleep(0.2)
        ingest_s = time.monotonic() - t0
        out = subprocess.run(["taskset", "-c", "0", "node", os.path.join(ROOT, "bench", "ui_browser.mjs")],
                             env=dict(os.environ, SIGHTLINE_URL=f"http://127.0.0.1:{server.http}",
                                      SIGHTLINE_ADMIN_PASSWORD=PASSWORD),
                             check=True, capture_output=True, text=True, cwd=os.path.join(ROOT, "ui"))
        result = json.loads(out.stdout)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"UI speed, {n:,} events in the store (ingested in {ingest_s:.0f} s), median (worst) of 5 cold loads:\n")
    print("| page | interactive (DOMContentLoaded) | everything drawn | target |")
    print("|---|---|---|---|")
    targets = {"overview": "< 1 s interactive", "twelve": "< 2 s drawn", "explore": "< 300 ms first page and histogram"}
    for name, r in result["pages"].items():
        print(f"| {r['label']} | {r['interactive_ms']:.0f} ms ({r['interactive_max_ms']:.0f}) | "
              f"{r['ready_ms']:.0f} ms ({r['ready_max_ms']:.0f}) | {targets[name]} |")
    explore = result["pages"]["explore"]
    if "asked_to_drawn_ms" in explore:
        print(f"\nExplore, from its first request for events to the first page and histogram drawn: "
              f"{explore['asked_to_drawn_ms']:.0f} ms ({explore['asked_to_drawn_max_ms']:.0f}).")
    api = result["explore_api"]
    print(f"\nExplore's two requests over {n:,} events, timed in the page (median of 5): first page "
          f"{api['search_ms']:.0f} ms, histogram {api['histogram_ms']:.0f} ms.")
    print(f"\nJS and CSS the first page loads, gzipped as served: {result['bytes_gz'] / 1024:.1f} KB "
          f"({result['bytes_raw'] / 1024:.1f} KB uncompressed); target < 250 KB.")


if __name__ == "__main__":
    main()
