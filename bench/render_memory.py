#!/usr/bin/env python3
"""Aggregations over a large fleet in bounded memory: `sumSeries` and `countSeries` over 100,000
series of 24 h at 10 s, one at a time and four at once, with the server's peak resident memory
during the queries. Prints a Markdown report.

  bench/render_memory.py [requests]     # timed requests per query (default 10)

Needs a release build (`cargo build --release`). Data: `sightline bench carbon --stream` sends
100,000 series `bench.h<00000-00999>.m<00-99>` with 8,640 points each, 10 s apart and ending
now (864 M points over carbon's plaintext protocol), into the default retentions
(10s:6h,1m:30d,10m:5y). Renders read a fixed 23 h window ending two minutes before the first
render (absolute `from` and `until`, so every render reads the same slots): the 1 min tier,
1,380 slots a series, 138 M for the fleet, 1.1 GB as 8-byte values held at once.

Correctness: the folded `sumSeries` is checked against the same series read whole (`raw`, in
100 renders of 1,000 series each, summed here in Python), and `countSeries` against 100,000.
Peak memory is VmHWM, reset (`/proc/<pid>/clear_refs`) after ingest, so it covers the queries.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graphite import login  # noqa: E402
from metrics import SIGHTLINE, Sightline, peak_rss  # noqa: E402

SERIES, POINTS = 100_000, 8640


# The window every render reads, fixed once the data is in (set in main), so the oracle and
# the aggregations read the same slots however long the oracle takes.
WINDOW = {}


def get(s, cookie, target, fmt="json"):
    url = f"http://127.0.0.1:{s.http}/render?" + urllib.parse.urlencode(
        {"target": target, "format": fmt, **WINDOW})
    req = urllib.request.Request(url, headers={"Cookie": cookie})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t0, body


def raw_rows(body):
    """`raw` lines as (name, start, step, values)."""
    rows = []
    for line in body.decode().splitlines():
        head, values = line.split("|", 1)
        name, start, _end, step = head.rsplit(",", 3)
        rows.append((name, int(start), int(step),
                     [None if v == "None" else float(v) for v in values.split(",")]))
    return rows


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def pct(times, q):
    times = sorted(times)
    return times[min(len(times) - 1, max(0, int(round(q * len(times) + 0.5)) - 1))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    work = tempfile.mkdtemp(prefix="sightline-render-memory-")
    s = Sightline(work, retentions="10s:6h,1m:30d,10m:5y", cpus="0,1")
    try:
        t0 = time.time()
        subprocess.run([SIGHTLINE, "bench", "carbon", "--addr", f"127.0.0.1:{s.carbon}",
                        "--series", str(SERIES), "--points", str(POINTS), "--connections", "2",
                        "--stream"], check=True, capture_output=True)
        while s.committed() < SERIES * POINTS:
            time.sleep(1)
        ingest = time.time() - t0
        cookie = login(s)
        ingest_peak = peak_rss(s.proc.pid)
        # 23 h ending two minutes ago: inside the data, and old enough to read the 1 min tier.
        until = int(time.time()) // 60 * 60 - 120
        WINDOW.update({"from": str(until - 23 * 3600), "until": str(until)})

        # The oracle: every series read whole, a thousand at a time, summed here.
        oracle = None
        for h in range(0, 1000, 10):
            pattern = "bench.{" + ",".join(f"h{h + j:05}" for j in range(10)) + "}.*"
            _, body = get(s, cookie, pattern, "raw")
            for _name, _start, _step, values in raw_rows(body):
                if oracle is None:
                    oracle = [None] * len(values)
                for i, v in enumerate(values):
                    if v is not None:
                        oracle[i] = v if oracle[i] is None else oracle[i] + v
        _, body = get(s, cookie, "sumSeries(bench.*.*)", "raw")
        (_, _, step, summed), = raw_rows(body)
        assert step == 60, step
        assert len(summed) == len(oracle), (len(summed), len(oracle))
        worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(summed, oracle)
                    if a is not None and b is not None)
        assert worst < 1e-9, worst
        assert [a is None for a in summed] == [b is None for b in oracle]
        _, body = get(s, cookie, "countSeries(bench.*.*)", "raw")
        (_, _, _, counted), = raw_rows(body)
        assert set(counted) == {float(SERIES)}, set(counted)

        rows = []
        for target in ["sumSeries(bench.*.*)", "countSeries(bench.*.*)",
                       "groupByNode(bench.*.*, 2, 'sum')"]:
            reset_peak(s.proc.pid)
            times = [get(s, cookie, target)[0] for _ in range(n)]
            rows.append((target, "1", pct(times, 0.5), pct(times, 0.99), peak_rss(s.proc.pid)))
        reset_peak(s.proc.pid)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            times = []
            for _ in range(max(1, n // 2)):
                times += list(pool.map(lambda _: get(s, cookie, "sumSeries(bench.*.*)")[0], range(4)))
        rows.append(("sumSeries(bench.*.*)", "4 at once", pct(times, 0.5), pct(times, 0.99),
                     peak_rss(s.proc.pid)))
        print(f"Ingest of {SERIES * POINTS / 1e6:.0f} M points: {ingest:.0f} s; peak RSS during "
              f"ingest {ingest_peak / 2**20:.0f} MiB. Folded sumSeries matches the series read "
              f"whole (worst relative difference {worst:.1e}).\n")
        print("| Query (23 h, 100k series) | Concurrency | p50 | p99 | Peak RSS |")
        print("|---|---|---|---|---|")
        for target, conc, p50, p99, peak in rows:
            print(f"| `{target}` | {conc} | {p50:.2f} s | {p99:.2f} s | {peak / 2**20:.0f} MiB |")
    finally:
        s.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
