#!/usr/bin/python3
"""Side-by-side Graphite API latency: Sightline vs graphite-web 1.1.8 on the same data, on one
machine. Prints a Markdown report.

  bench/graphite.py [requests]          # timed requests per query (default 20)

Run it with Debian's /usr/bin/python3, which has graphite-web and whisper.

Data: 1,000 series a.<i>.b with 24 h of points at 10 s (8.64 M points), the same values in
Sightline (sent over carbon's plaintext protocol) and in whisper files (written with the whisper
library, one 10s:1d archive each), plus 100,000 series f.h<000-999>.m<00-99> for finds (one point
each in Sightline; graphite-web gets 1,000 of them, f.h<i>.m00, as its find baseline is "1k
children"). Needs a release build, and Debian's graphite-web and python3-whisper.

Both servers may use both cores (the client, on CPU 0, only waits during a request), one request
at a time: Sightline as `sightline serve`, which spreads a wide fetch over the cores, and
graphite-web under wsgiref's single-threaded server (no gunicorn on this machine; the server adds
well under a millisecond; graphite-web computes a request on one core either way). Latency is from sending the request to reading the last byte.
graphite-web gets noCache=1 so it computes every answer.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import Sightline, free_port  # noqa: E402

SERIES, POINTS, STEP = 1000, 8640, 10
FIND_HOSTS, FIND_METRICS = 1000, 100


def value(i, k):
    return float((i * 7 + k * 13) % 1000) / 4


def feed_sightline(port, end):
    sock = socket.create_connection(("127.0.0.1", port))
    for i in range(SERIES):
        lines = [f"a.{i}.b {value(i, k)} {end - k * STEP}\n" for k in reversed(range(POINTS))]
        sock.sendall("".join(lines).encode())
    for h in range(FIND_HOSTS):
        sock.sendall("".join(f"f.h{h:03}.m{m:02} 1 {end}\n" for m in range(FIND_METRICS)).encode())
    sock.close()


def write_whisper(root, end):
    import whisper
    for i in range(SERIES):
        path = os.path.join(root, "a", str(i), "b.wsp")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        whisper.create(path, [(STEP, POINTS)], xFilesFactor=0.0, aggregationMethod="average")
        whisper.update_many(path, [(end - k * STEP, value(i, k)) for k in range(POINTS)], now=end + 1)
    for h in range(FIND_HOSTS):
        path = os.path.join(root, "f", f"h{h:03}", "m00.wsp")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        whisper.create(path, [(60, 60)])
        whisper.update_many(path, [(end, 1.0)], now=end + 1)


GRAPHITE_SERVER = r'''
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["GRAPHITE_SETTINGS_MODULE"] = "bench_settings"
os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from django.core.wsgi import get_wsgi_application
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server("127.0.0.1", int(sys.argv[2]), get_wsgi_application(), handler_class=Quiet).serve_forever()
'''


class GraphiteWeb:
    name = "graphite-web 1.1.8"

    def __init__(self, work):
        self.dir = os.path.join(work, "graphite")
        self.storage = os.path.join(self.dir, "storage")
        os.makedirs(os.path.join(self.storage, "whisper"))
        os.makedirs(os.path.join(self.storage, "log", "webapp"))
        with open(os.path.join(self.dir, "bench_settings.py"), "w") as f:
            f.write(f"STORAGE_DIR = {self.storage!r}\nSECRET_KEY = 'bench'\nALLOWED_HOSTS = ['*']\n"
                    "LOG_RENDERING_PERFORMANCE = False\nLOG_CACHE_PERFORMANCE = False\nDEFAULT_CACHE_DURATION = 0\n"
                    f"DATABASES = {{'default': {{'NAME': {os.path.join(self.storage, 'graphite.db')!r}, "
                    "'ENGINE': 'django.db.backends.sqlite3'}}\n")
        self.port = free_port()

    def start(self):
        self.proc = subprocess.Popen(["taskset", "-c", "0,1", "/usr/bin/python3", "-c", GRAPHITE_SERVER, self.dir, str(self.port)],
                                     stderr=open(os.path.join(self.dir, "stderr"), "w"))
        for _ in range(400):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/version", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("graphite-web did not start: " + open(os.path.join(self.dir, "stderr")).read())

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def headers(self):
        return {}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def login(sightline):
    body = json.dumps({"username": "admin", "password": "bench-password"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{sightline.http}/api/v1/auth/login", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.headers["Set-Cookie"].split(";")[0]


def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def timed(url, headers, n):
    times, size = [], 0
    for i in range(n + 2):
        req = urllib.request.Request(url, headers=headers)
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=600) as r:
            body = r.read()
        elapsed = time.perf_counter() - t0
        if i >= 2:
            times.append(elapsed)
        size = len(body)
    times.sort()
    p = lambda q: times[min(len(times) - 1, max(0, int(round(q * len(times) + 0.5)) - 1))]
    return p(0.5), p(0.99), size


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    os.sched_setaffinity(0, {0})
    end = int(time.time()) // STEP * STEP
    work = tempfile.mkdtemp(prefix="sightline-graphite-bench-")
    queries = [
        ("sumSeries(a.*.b), 24 h", "/render?" + urllib.parse.urlencode({"target": "sumSeries(a.*.b)", "from": "-24h", "format": "json"})),
        ("aliasByNode(a.*.b, 1), 24 h, maxDataPoints=1000",
         "/render?" + urllib.parse.urlencode({"target": "aliasByNode(a.*.b,1)", "from": "-24h", "format": "json", "maxDataPoints": "1000"})),
        ("find a.* (1k children)", "/metrics/find?query=a.*"),
    ]
    sightline_only = [
        ("find f.* (1k children of 100k series)", "/metrics/find?query=f.*"),
        ("find f.*.m42 (1k leaves among 100k)", "/metrics/find?query=f.*.m42"),
        ("find f.h1*.m* (11k of 100k)", "/metrics/find?query=" + urllib.parse.quote("f.h1*.m*")),
        ("expand f.*.m4* (10k of 100k)", "/metrics/expand?query=" + urllib.parse.quote("f.*.m4*")),
    ]
    rows = []
    s = Sightline(work, retentions="10s:1d", cpus="0,1")
    try:
        t0 = time.time()
        feed_sightline(s.carbon, end)
        want = SERIES * POINTS + FIND_HOSTS * FIND_METRICS
        while s.committed() < want:
            if time.time() - t0 > 600:
                raise RuntimeError(f"Sightline committed {s.committed()} of {want}")
            time.sleep(0.2)
        ingest = time.time() - t0
        cookie = login(s)
        headers = {"Cookie": cookie}
        base = f"http://127.0.0.1:{s.http}"
        results = {label: timed(base + path, headers, n * 3) for label, path in queries + sightline_only}
        s_rss = rss(s.proc.pid)
    finally:
        s.stop()
    g = GraphiteWeb(work)
    t0 = time.time()
    write_whisper(os.path.join(g.storage, "whisper"), end)
    whisper_time = time.time() - t0
    g.start()
    try:
        gresults = {label: timed(g.url(path + "&noCache=1"), {}, n) for label, path in queries}
        g_rss = rss(g.proc.pid)
    finally:
        g.stop()
    print(f"Data: {SERIES} series x {POINTS} points at {STEP} s, plus {FIND_HOSTS * FIND_METRICS} find-only series in Sightline; "
          f"Sightline ingested everything over carbon in {ingest:.1f} s; the whisper files took {whisper_time:.0f} s to write.\n")
    print("| Query | Sightline p50 | Sightline p99 | graphite-web p50 | graphite-web p99 | p50 ratio | Response bytes |")
    print("|---|---|---|---|---|---|---|")
    ms = lambda x: f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"
    for label, _ in queries:
        sp50, sp99, size = results[label]
        gp50, gp99, gsize = gresults[label]
        print(f"| {label} | {ms(sp50)} | {ms(sp99)} | {ms(gp50)} | {ms(gp99)} | {gp50 / sp50:.0f}x | {size} / {gsize} |")
    for label, _ in sightline_only:
        sp50, sp99, size = results[label]
        print(f"| {label} | {ms(sp50)} | {ms(sp99)} | - | - | - | {size} |")
    print(f"\nResident memory after the queries: Sightline {s_rss / 2**20:.0f} MiB, graphite-web {g_rss / 2**20:.0f} MiB.")
    print(f"Requests per query: Sightline {n * 3}, graphite-web {n}, after 2 warm-up requests each.")


if __name__ == "__main__":
    main()
