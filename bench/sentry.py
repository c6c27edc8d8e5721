#!/usr/bin/python3
"""Sentry ingest benchmark: envelopes of real SDK events (3-40 KB) posted to a running Sightline
at a fixed concurrency; events/s counted once every event is queryable (its issue counts it),
acknowledgement latency p50/p99, server CPU and RSS. Prints a Markdown table.

  bench/sentry.py [events] [concurrency ...]     # default 5000 events at 4 and 16

Needs a release build. The server runs on CPU 1, the load generator (`sightline bench sentry`)
on CPU 0.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from events import Server  # noqa: E402
from metrics import SIGHTLINE, cpu_seconds, peak_rss  # noqa: E402


def run(events, concurrency):
    work = tempfile.mkdtemp(prefix="sl-sentry-")
    server = Server(work)
    try:
        dsn = subprocess.run([SIGHTLINE, "project", "create", "bench", "--config", "sightline.toml"],
                             cwd=server.dir, check=True, capture_output=True, text=True).stdout.strip()
        key = dsn.split("://", 1)[1].split("@", 1)[0]
        project = int(dsn.rsplit("/", 1)[1])
        c0 = cpu_seconds(server.proc.pid)
        t0 = time.monotonic()
        out = subprocess.run(["taskset", "-c", "0", SIGHTLINE, "bench", "sentry", "--url", f"http://127.0.0.1:{server.http}",
                              "--project", str(project), "--key", key, "--events", str(events),
                              "--concurrency", str(concurrency)], check=True, capture_output=True, text=True)
        sent = json.loads(out.stdout)
        # Queryable: the issues count every accepted event.
        while True:
            issues = server.get(f"/api/v1/issues?project={project}&limit=1000", server.api)["issues"]
            if sum(i["times_seen"] for i in issues) >= sent["accepted"]:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        c1 = cpu_seconds(server.proc.pid)
        result = dict(sent, queryable_s=elapsed, processed_per_s=sent["accepted"] / elapsed,
                      cpu_s=c1 - c0, rss_mib=peak_rss(server.proc.pid) / 2**20, issues=len(issues))
        server.stop()
        return result
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    levels = [int(x) for x in sys.argv[2:]] or [4, 16]
    results = [run(events, c) for c in levels]
    print(json.dumps(results, indent=1), file=sys.stderr)
    print("| concurrency | events (MB) | accepted | refused | processed/s (queryable) | ack p50 | ack p99 | server CPU-s | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['concurrency']} | {r['events']:,} ({r['bytes'] / 1e6:.0f}) | {r['accepted']:,} | {r['refused']} | "
              f"{r['processed_per_s']:,.0f} | {r['ack_p50_ms']:.1f} ms | {r['ack_p99_ms']:.1f} ms | {r['cpu_s']:.1f} | "
              f"{r['rss_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
