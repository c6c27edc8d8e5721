#!/usr/bin/python3
"""Memory under hostile bodies: gzip bombs (600 MiB of zeros, about 600 KB on the wire) sent
at once to every HTTP ingest route of one release-built server on its default limits, then
the server's peak resident memory (VmHWM) and what each bomb was answered. Prints Markdown.

  bench/hostile.py [BOMBS_PER_ROUTE] [SIGHTLINE_BINARY]     # default 200, the release build

The server runs on CPU 1 (taskset), the senders on CPU 0, one thread and connection per bomb.
An answer of 0 means the connection broke before one came.
"""
import collections
import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import SIGHTLINE, free_port, peak_rss  # noqa: E402

INFLATED = 600 << 20


def bomb():
    zeros = bytes(1 << 20)
    out = gzip.compress(zeros * (INFLATED >> 20), compresslevel=9)
    return out


def post(port, path, headers, body):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
            s.sendall(head.encode() + body)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError):
        return 0


def main():
    per_route = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    binary = sys.argv[2] if len(sys.argv) > 2 else SIGHTLINE
    os.sched_setaffinity(0, {0})
    work = tempfile.mkdtemp(prefix="sl-hostile-")
    port = free_port()
    with open(os.path.join(work, "sightline.toml"), "w") as f:
        f.write(f'data_dir = "{work}/data"\n[log]\nlevel = "warn"\n[http]\naddr = "127.0.0.1:{port}"\n'
                '[carbon]\ntcp = "off"\nudp = "off"\npickle = "off"\n[statsd]\nudp = "off"\ntcp = "off"\n'
                '[logs]\nsyslog_tcp = "off"\nsyslog_udp = "off"\njson_lines_tcp = "off"\n')
    cli = lambda *a: subprocess.run([binary, *a, "--config", "sightline.toml"], cwd=work, check=True,  # noqa: E731
                                    capture_output=True, text=True).stdout.strip()
    proc = subprocess.Popen(["taskset", "-c", "1", binary, "serve", "--config", "sightline.toml"], cwd=work,
                            env=dict(os.environ, SIGHTLINE_ADMIN_PASSWORD="bench-hostile-pw"),
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        token = cli("token", "create", "bombs", "--kind", "ingest")
        dsn = cli("project", "create", "shop")
        key = dsn.split("//")[1].split("@")[0]
        project = dsn.rsplit("/", 1)[1]
        gz = ("Content-Encoding", "gzip")
        bearer = ("Authorization", f"Bearer {token}")
        routes = [
            ("/api/v1/ingest", [bearer, gz]),
            ("/_bulk", [bearer, gz]),
            ("/v1/logs", [bearer, gz, ("Content-Type", "application/json")]),
            ("/v1/metrics", [bearer, gz]),
            (f"/api/{project}/envelope/", [("X-Sentry-Auth", f"Sentry sentry_key={key}"), gz]),
        ]
        body = bomb()
        before = peak_rss(proc.pid)
        answers = collections.Counter()
        lock = threading.Lock()

        def one(path, headers):
            status = post(port, path, headers, body)
            with lock:
                answers[(path, status)] += 1

        threads = [threading.Thread(target=one, args=r) for r in routes for _ in range(per_route)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - t0
        peak = peak_rss(proc.pid)
        alive = post(port, "/api/v1/ingest", [bearer], b'{"event":"after"}\n')
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{per_route} gzip bombs per route ({len(body) / 1024:.0f} KB each, inflating to "
          f"{INFLATED >> 20} MiB), {len(routes) * per_route} at once, answered in {seconds:.1f} s:\n")
    print("| route | answers |")
    print("|---|---|")
    for path, _ in routes:
        got = ", ".join(f"{s}: {n}" for (p, s), n in sorted(answers.items()) if p == path)
        print(f"| `{path}` | {got} |")
    print(f"\nPeak RSS: {peak / 2**20:.0f} MiB (before the bombs: {before / 2**20:.0f} MiB). "
          f"A good request after them: {alive}.")


if __name__ == "__main__":
    main()
