#!/usr/bin/env python3
"""structlog, configured as its docs recommend for production (JSONRenderer, ISO timestamps,
log levels, dict tracebacks), logging a few events, shipped to Sightline's HTTP ingest.

Reads {"url": ..., "token": ...} on stdin; writes {"status": ..., "answer": ...} to stdout.
"""
import json
import sys
import urllib.request

import structlog


class Collect:
    """A logger that keeps each rendered line (what PrintLogger would print to stdout)."""

    lines = []

    def msg(self, line):
        Collect.lines.append(line)

    info = warning = error = debug = critical = exception = msg


def main():
    cfg = json.load(sys.stdin)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=lambda *args: Collect(),
    )
    log = structlog.get_logger().bind(user_id=42, request_id="abc123")
    log.info("user.signed_up", plan="pro", amount=49.0)
    log.info("payment.succeeded", amount=49.0, currency="EUR")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("payment.failed", amount=12.5, currency="USD")
    structlog.get_logger().warning("order.slow", order_id=7, ms=1234)
    body = ("\n".join(Collect.lines) + "\n").encode()
    req = urllib.request.Request(cfg["url"], data=body, method="POST", headers={
        "Authorization": "Bearer " + cfg["token"], "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req) as resp:
        json.dump({"status": resp.status, "answer": json.load(resp), "lines": Collect.lines}, sys.stdout)


if __name__ == "__main__":
    main()
