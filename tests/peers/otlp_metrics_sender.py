#!/usr/bin/env python3
"""The OpenTelemetry Python SDK's OTLP/HTTP metric exporter (protobuf, cumulative temporality,
the SDK's defaults), exporting twice.

Reads {"url", "token"} on stdin. Records, then flushes (export 1), waits 1.5 s, records more,
then shuts down (export 2):
- a counter `orders.placed` {region=eu}: +3, then +2;
- a histogram `checkout.duration` (ms, the SDK's default buckets): 5, 15, 150, then 40;
- an up-down counter `queue.depth`: +7, then -3;
- a gauge `cpu.temperature` {core=0}: 61.5, then 63.
Prints {"exported": true, "start_ns": <before the first record>} when done.
"""
import json
import sys
import time

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def main():
    cfg = json.load(sys.stdin)
    start_ns = time.time_ns()
    exporter = OTLPMetricExporter(endpoint=cfg["url"], headers={"Authorization": "Bearer " + cfg["token"]})
    # A long interval: exports happen only when flushed, so the test knows what each holds.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": "shop"}), metric_readers=[reader])
    meter = provider.get_meter("shop.checkout")
    orders = meter.create_counter("orders.placed")
    duration = meter.create_histogram("checkout.duration", unit="ms")
    depth = meter.create_up_down_counter("queue.depth")
    temperature = meter.create_gauge("cpu.temperature")

    orders.add(3, {"region": "eu"})
    for ms in (5, 15, 150):
        duration.record(ms)
    depth.add(7)
    temperature.set(61.5, {"core": "0"})
    if not provider.force_flush():
        raise SystemExit("the first export failed")

    time.sleep(1.5)
    orders.add(2, {"region": "eu"})
    duration.record(40)
    depth.add(-3)
    temperature.set(63, {"core": "0"})
    provider.shutdown()
    json.dump({"exported": True, "start_ns": start_ns}, sys.stdout)


if __name__ == "__main__":
    main()
