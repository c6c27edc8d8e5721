#!/usr/bin/env python3
"""Sends metrics with the PyPI `statsd` client (4.0.1), as applications do.

Reads {"udp": [host, port], "tcp": [host, port]} on stdin, sends over both transports, and
writes {"sent": true} on stdout once the TCP client has closed its connection.
"""
import json
import sys

import statsd


def main():
    doc = json.load(sys.stdin)
    udp = statsd.StatsClient(doc["udp"][0], doc["udp"][1], prefix="pyapp")
    udp.incr("signups")
    udp.incr("signups", 4)
    udp.decr("stock", 2)
    udp.incr("sampled", 1, rate=1.0)
    udp.timing("render", 120)
    udp.timing("render", 80.5)
    udp.gauge("queue", 10)
    udp.gauge("queue", 5, delta=True)
    udp.gauge("queue", -3, delta=True)
    udp.set("visitors", "alice")
    udp.set("visitors", "bob")
    udp.set("visitors", "alice")
    with udp.pipeline() as pipe:
        pipe.incr("piped")
        pipe.incr("piped")
        pipe.timing("piped_time", 7)
    tcp = statsd.TCPStatsClient(doc["tcp"][0], doc["tcp"][1], prefix="pytcp")
    tcp.incr("orders", 3)
    tcp.timing("checkout", 250)
    tcp.close()
    json.dump({"sent": True}, sys.stdout)


if __name__ == "__main__":
    main()
