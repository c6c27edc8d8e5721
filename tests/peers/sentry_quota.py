#!/usr/bin/env python3
"""sentry-sdk for Python sending five messages, each in its own request. Once one is answered
429 with Retry-After and X-Sentry-Rate-Limits for `error`, the SDK keeps the next ones to
itself (and counts them as `ratelimit_backoff` in a client report) instead of sending them.

Reads {"dsn": ...} on stdin; writes {"ok": true} to stdout.
"""
import json
import sys

import sentry_sdk


def main():
    cfg = json.load(sys.stdin)
    sentry_sdk.init(dsn=cfg["dsn"], release="shop@1.4.0")
    for n in range(1, 6):
        sentry_sdk.capture_message(f"quota {n}")
        sentry_sdk.flush(timeout=10)
    json.dump({"ok": True}, sys.stdout)


if __name__ == "__main__":
    main()
