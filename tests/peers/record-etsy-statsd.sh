#!/usr/bin/env bash
# Records what etsy statsd (npm statsd 0.9.0, the real daemon) sends to carbon for a packet corpus,
# as the fixture Sightline's statsd is compared with (crates/server/tests/it/statsd_etsy.rs).
#
#   tests/peers/record-etsy-statsd.sh crates/server/tests/fixtures/statsd/packets.txt > out.txt
#
# Datagrams in the corpus are separated by blank lines. The config below must match the one the
# test gives Sightline. Needs node and npm; installs statsd into $SIGHTLINE_PEERS/node.
set -euo pipefail
packets="$1"
peers="${SIGHTLINE_PEERS:-$HOME/.cache/sightline/peers}"
node_dir="$peers/node"
if [ ! -f "$node_dir/node_modules/statsd/stats.js" ]; then
  mkdir -p "$node_dir"
  npm install --silent --prefix "$node_dir" statsd@0.9.0 >&2
fi
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# A carbon stand-in that appends every line it receives to a file.
python3 - "$work/carbon.txt" "$work/carbon.port" <<'PY' &
import socket, sys, threading
out, port_file = sys.argv[1], sys.argv[2]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
open(port_file, "w").write(str(srv.getsockname()[1]))
def serve(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk: break
        data += chunk
    with open(out, "ab") as f: f.write(data)
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
while [ ! -s "$work/carbon.port" ]; do sleep 0.1; done
carbon_port="$(cat "$work/carbon.port")"
statsd_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mgmt_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.js" <<JS
{ port: $statsd_port, address: "127.0.0.1", mgmt_port: $mgmt_port, mgmt_address: "127.0.0.1",
  graphiteHost: "127.0.0.1", graphitePort: $carbon_port, flushInterval: 2000,
  percentThreshold: [90, 99.9, -20],
  histogram: [ { metric: "api.get", bins: [ 5, 50, "inf" ] } ],
  backends: [ "./backends/graphite" ] }
JS
(cd "$node_dir/node_modules/statsd" && node stats.js "$work/config.js" >/dev/null 2>&1) &
# Wait for the first (empty) flush, then send the corpus right after it.
while [ ! -s "$work/carbon.txt" ]; do sleep 0.05; done
python3 - "$packets" "$statsd_port" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for datagram in open(sys.argv[1], "rb").read().split(b"\n\n"):
    datagram = datagram.strip(b"\n")
    if datagram: s.sendto(datagram, ("127.0.0.1", int(sys.argv[2])))
PY
first_ts="$(head -1 "$work/carbon.txt" | awk '{print $3}')"
# Wait for the flush that follows, which holds the corpus.
until awk -v t="$first_ts" '$3 > t' "$work/carbon.txt" | grep -q .; do sleep 0.1; done
sleep 0.5
awk -v t="$first_ts" '$3 > t' "$work/carbon.txt" | awk 'NR==1{ts=$3} $3==ts' | sort
