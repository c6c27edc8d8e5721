#!/usr/bin/env python3
"""Side-by-side metric ingestion benchmark on one machine: Sightline vs carbon-cache (whisper),
and Sightline vs etsy statsd. Prints a Markdown report.

  bench/metrics.py carbon 1000 100000 1000000     # series counts
  bench/metrics.py statsd 100000 300000 1000000    # metrics per second, 10 per packet

Needs: a release build (cargo build --release), Debian's graphite-carbon, node with npm's
statsd 0.9.0 in $SIGHTLINE_PEERS/node (tests/peers/record-etsy-statsd.sh installs it), taskset.
The server under test runs on CPU 1, the load generator on CPU 0. Both systems get the same
retentions and statsd-aware aggregation rules. Figures: wall time from the first byte sent to
the last point committed (carbon: its committedPoints; Sightline: points in the WAL-backed
store), server CPU-seconds from /proc/<pid>/stat, peak RSS (VmHWM), bytes on disk per point
after a graceful stop (Sightline) or as whisper leaves them (carbon).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGHTLINE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "sightline")
PEERS = os.environ.get("SIGHTLINE_PEERS", os.path.expanduser("~/.cache/sightline/peers"))
# Per series count: points per series (10 s apart, ending now) and the retentions both systems
# get. Every point lands in the first tier. The 1M-series run uses a smaller schema because
# whisper preallocates every file: 1M series at 10s:6h,1m:7d,10m:30d would take 198 GB.
WORKLOADS = {
    1000: (1000, "10s:6h,1m:7d,10m:30d"),
    10000: (1080, "10s:6h,1m:7d,10m:30d"),
    100000: (30, "10s:6h,1m:7d,10m:30d"),
    1000000: (3, "10s:1h,1m:1d"),
}
TIME_CAP = 600


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def disk_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(root, f))
            total += st.st_blocks * 512
    return total


def send_carbon(port, series, points, prefix):
    out = subprocess.run(
        ["taskset", "-c", "0", SIGHTLINE, "bench", "carbon", "--addr", f"127.0.0.1:{port}",
         "--series", str(series), "--points", str(points), "--connections", "4", "--prefix", prefix],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


class Sightline:
    name = "Sightline"

    def __init__(self, work, retentions="10s:6h,1m:7d,10m:30d", cpus="1"):
        self.dir = os.path.join(work, "sightline")
        os.makedirs(self.dir)
        self.http, self.carbon, self.statsd = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
        with open(os.path.join(self.dir, "sightline.toml"), "w") as f:
            f.write(f'''data_dir = "{self.dir}/data"
[log]
level = "warn"
[http]
addr = "127.0.0.1:{self.http}"
[carbon]
tcp = "127.0.0.1:{self.carbon}"
udp = "off"
pickle = "off"
[statsd]
udp = "127.0.0.1:{self.statsd}"
tcp = "off"
[[tsdb.schemas]]
name = "all"
pattern = ".*"
retentions = "{retentions}"
''')
        env = dict(os.environ, SIGHTLINE_ADMIN_PASSWORD="bench-password")
        self.proc = subprocess.Popen(["taskset", "-c", cpus, SIGHTLINE, "serve", "--config", "sightline.toml"],
                                     cwd=self.dir, env=env, stderr=open(os.path.join(self.dir, "log"), "w"))
        self.wait_http()

    def wait_http(self):
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/readyz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Sightline did not start")

    def metric(self, name):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def committed(self):
        return self.metric("sightline_tsdb_points_written_total")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)

    def data_bytes(self):
        return disk_bytes(os.path.join(self.dir, "data", "tsdb"))


class Carbon:
    name = "carbon-cache 1.1.7"

    def __init__(self, work, retentions="10s:6h,1m:7d,10m:30d"):
        self.dir = os.path.join(work, "carbon")
        for sub in ["whisper", "log", "run"]:
            os.makedirs(os.path.join(self.dir, sub))
        self.carbon, self.pickle, self.query = free_port(), free_port(), free_port()
        with open(os.path.join(self.dir, "carbon.conf"), "w") as f:
            f.write(f"""[cache]
STORAGE_DIR = {self.dir}
LOCAL_DATA_DIR = {self.dir}/whisper
WHITELISTS_DIR = {self.dir}
CONF_DIR = {self.dir}
LOG_DIR = {self.dir}/log
PID_DIR = {self.dir}/run
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {self.carbon}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {self.pickle}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {self.query}
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = False
LOG_CACHE_HITS = False
LOG_LISTENER_CONN_SUCCESS = False
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 1
CARBON_METRIC_PREFIX = carbon
WHISPER_AUTOFLUSH = False
WHISPER_FALLOCATE_CREATE = True
""")
        with open(os.path.join(self.dir, "storage-schemas.conf"), "w") as f:
            f.write(f"[carbon]\npattern = ^carbon\\.\nretentions = 1s:1h\n\n[all]\npattern = .*\nretentions = {retentions}\n")
        with open(os.path.join(self.dir, "storage-aggregation.conf"), "w") as f:
            f.write("[min]\npattern = \\.(lower|min)$\nxFilesFactor = 0.1\naggregationMethod = min\n\n"
                    "[max]\npattern = \\.(upper(_\\d+)?|max)$\nxFilesFactor = 0.1\naggregationMethod = max\n\n"
                    "[sum]\npattern = \\.(sum|count)(_\\d+)?$\nxFilesFactor = 0\naggregationMethod = sum\n\n"
                    "[default]\npattern = .*\nxFilesFactor = 0.3\naggregationMethod = average\n")
        self.proc = subprocess.Popen(
            ["taskset", "-c", "1", "/usr/bin/carbon-cache", f"--config={self.dir}/carbon.conf", "--nodaemon", "start"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.carbon), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("carbon-cache did not start: " + open(os.path.join(self.dir, "stderr")).read())

    def committed(self):
        """Points carbon has written to whisper: the sum of its committedPoints series."""
        total = 0.0
        agents = os.path.join(self.dir, "whisper", "carbon", "agents")
        if not os.path.isdir(agents):
            return 0.0
        for host in os.listdir(agents):
            path = os.path.join(agents, host, "committedPoints.wsp")
            if os.path.exists(path):
                out = subprocess.run(["/usr/bin/python3", "-c",
                                      "import whisper,sys,time; t=int(time.time()); r=whisper.fetch(sys.argv[1], t-3600, t); print(sum(v for v in r[1] if v))", path],
                                     capture_output=True, text=True)
                total += float(out.stdout.strip() or 0)
        return total

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def data_bytes(self):
        whisper = os.path.join(self.dir, "whisper")
        carbon_own = disk_bytes(os.path.join(whisper, "carbon"))
        return disk_bytes(whisper) - carbon_own


def carbon_run(system_class, series):
    points, retentions = WORKLOADS.get(series, (10, "10s:6h,1m:7d,10m:30d"))
    total = series * points
    work = tempfile.mkdtemp(prefix="sl-bench-")
    try:
        system = system_class(work, retentions)
        time.sleep(1.0)
        base = system.committed()
        c0, t0 = cpu_seconds(system.proc.pid), time.time()
        prefix = f"bench{series}"
        sender = subprocess.Popen(
            ["taskset", "-c", "0", SIGHTLINE, "bench", "carbon", "--addr", f"127.0.0.1:{system.carbon}",
             "--series", str(series), "--points", str(points), "--connections", "4", "--prefix", prefix],
            stdout=subprocess.PIPE, text=True)
        done = base
        while time.time() - t0 < TIME_CAP:
            done = system.committed()
            if done - base >= total:
                break
            time.sleep(0.05 if system_class is Sightline else 1.0)
        t1, c1 = time.time(), cpu_seconds(system.proc.pid)
        sent = json.loads(sender.communicate(timeout=TIME_CAP)[0])
        rss = peak_rss(system.proc.pid)
        committed = min(done - base, total)
        wall = t1 - t0 - sent["generate_seconds"]
        system.stop()
        data = system.data_bytes()
        return {
            "system": system.name, "series": series, "points": total, "committed": int(committed),
            "seconds": round(wall, 2), "points_per_s": round(committed / wall),
            "cpu_s_per_million": round((c1 - c0) / (committed / 1e6), 2) if committed else None,
            "peak_rss_mb": round(rss / 2**20, 1), "rss_per_series_b": round(rss / series),
            "disk_mb": round(data / 2**20, 1), "bytes_per_point": round(data / max(committed, 1), 2),
            "capped": committed < total,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


class EtsyStatsd:
    name = "etsy statsd 0.9.0"

    def __init__(self, work):
        self.dir = os.path.join(work, "etsy")
        os.makedirs(self.dir)
        self.statsd, self.mgmt, self.capture = free_port(socket.SOCK_DGRAM), free_port(), free_port()
        self.received = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", self.capture))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        with open(os.path.join(self.dir, "config.js"), "w") as f:
            f.write(f'{{ port: {self.statsd}, address: "127.0.0.1", mgmt_port: {self.mgmt}, mgmt_address: "127.0.0.1",'
                    f' graphiteHost: "127.0.0.1", graphitePort: {self.capture}, flushInterval: 1000,'
                    f' percentThreshold: [90], backends: ["./backends/graphite"] }}')
        statsd_dir = os.path.join(PEERS, "node", "node_modules", "statsd")
        self.proc = subprocess.Popen(["taskset", "-c", "1", "node", "stats.js", os.path.join(self.dir, "config.js")],
                                     cwd=statsd_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)

    def drain(self):
        """Reads flushes sent to the capture port; adds up metrics_received."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                return
            data = b""
            conn.settimeout(2)
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            for line in data.decode().splitlines():
                if line.startswith("stats_counts.statsd.metrics_received "):
                    self.received += float(line.split()[1])

    def count(self):
        self.drain()
        return self.received

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class SightlineStatsd(Sightline):
    def count(self):
        return self.metric('sightline_listener_received_total{listener="statsd_udp"}')


def statsd_run(system_class, rate, seconds=10):
    work = tempfile.mkdtemp(prefix="sl-bench-")
    try:
        system = system_class(work)
        base = system.count()
        c0 = cpu_seconds(system.proc.pid)
        out = subprocess.run(["taskset", "-c", "0", SIGHTLINE, "bench", "statsd", "--addr", f"127.0.0.1:{system.statsd}",
                              "--rate", str(rate), "--per-packet", "10", "--duration", str(seconds)],
                             check=True, capture_output=True, text=True)
        sent = json.loads(out.stdout)
        time.sleep(2.5)
        received = system.count() - base
        c1 = cpu_seconds(system.proc.pid)
        system.stop()
        return {
            "system": system.name if system_class is not SightlineStatsd else "Sightline", "target_rate": rate,
            "sent": sent["metrics"], "achieved_rate": sent["achieved_rate"], "received": int(received),
            "loss_pct": round(100 * (1 - received / sent["metrics"]), 3),
            "cpu_s_per_million": round((c1 - c0) / (received / 1e6), 2) if received else None,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, sizes = sys.argv[1], [int(x) for x in sys.argv[2:]]
    results = []
    for size in sizes:
        if mode == "carbon":
            systems = [Sightline, Carbon]
            runner = carbon_run
        else:
            systems = [SightlineStatsd, EtsyStatsd]
            runner = statsd_run
        for system in systems:
            r = runner(system, size)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results.append(r)
    keys = list(results[0].keys())
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
