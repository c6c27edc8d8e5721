#!/usr/bin/env python3
"""The OpenTelemetry Python SDK's OTLP/HTTP log exporter (protobuf), fed by the logging bridge.

Reads {"url", "token"} on stdin; logs three records through a LoggerProvider whose resource
names the service and host; prints {"exported": true} once the exporter has flushed.
"""
import json
import logging
import sys

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def main():
    cfg = json.load(sys.stdin)
    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "host.name": "web7"}))
    exporter = OTLPLogExporter(endpoint=cfg["url"], headers={"Authorization": "Bearer " + cfg["token"]})
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("shop.otel")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    logger.info("order placed", extra={"order_id": 7, "amount": 49.5, "currency": "EUR"})
    logger.warning("stock low", extra={"sku": "A-1"})
    logger.error("payment declined", extra={"order_id": 8})
    provider.shutdown()
    json.dump({"exported": True}, sys.stdout)


if __name__ == "__main__":
    main()
