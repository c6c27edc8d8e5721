#!/usr/bin/env python3
"""sentry-sdk for Python with tracing on: a message, then a transaction and a second message.
If the first answer carried X-Sentry-Rate-Limits for `transaction`, the SDK keeps the
transaction to itself (and says so in a client report); errors keep flowing.

Reads {"dsn": ...} on stdin; writes {"ok": true} to stdout.
"""
import json
import sys
import time

import sentry_sdk


def main():
    cfg = json.load(sys.stdin)
    sentry_sdk.init(dsn=cfg["dsn"], release="shop@1.4.0", traces_sample_rate=1.0)
    sentry_sdk.capture_message("first")
    sentry_sdk.flush(timeout=10)
    time.sleep(0.2)
    with sentry_sdk.start_transaction(name="checkout"):
        pass
    sentry_sdk.capture_message("second")
    sentry_sdk.flush(timeout=10)
    json.dump({"ok": True}, sys.stdout)


if __name__ == "__main__":
    main()
