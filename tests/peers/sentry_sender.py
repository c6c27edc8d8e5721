#!/usr/bin/env python3
"""The official sentry-sdk for Python, pointed at a Sightline DSN: an exception, a message, an
error through the logging integration, a structured log (enable_logs), and an attachment.

Reads {"dsn": ...} on stdin; writes {"event_ids": [...]} to stdout. With the brotli module
installed (it is, in the peers' venv) the SDK compresses its envelopes with br, as it does by
default in production.
"""
import json
import logging
import sys

import sentry_sdk


def main():
    cfg = json.load(sys.stdin)
    sentry_sdk.init(
        dsn=cfg["dsn"],
        release="shop@1.4.0",
        environment="production",
        enable_logs=True,
        default_integrations=True,
    )
    sentry_sdk.set_user({"id": "u-17", "email": "alice@example.com"})
    ids = []

    def divide(a, b):
        return a / b

    try:
        divide(1, 0)
    except ZeroDivisionError:
        ids.append(sentry_sdk.capture_exception())
    ids.append(sentry_sdk.capture_message("Payment provider timeout for order 1234", level="warning"))
    logging.getLogger("shop.checkout").error("checkout failed for basket %s", 77)
    sentry_sdk.logger.info("User {user_id} checked out", user_id="u-17")
    # A chained exception: the cause travels with it.
    try:
        try:
            {}["basket"]
        except KeyError as cause:
            raise RuntimeError("lookup failed") from cause
    except RuntimeError:
        ids.append(sentry_sdk.capture_exception())

    # A WSGI app behind the SDK's middleware: the failing request is reported with its URL.
    from wsgiref.util import setup_testing_defaults
    from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

    def app(environ, start_response):
        raise ValueError("bad coupon code")

    environ = {"PATH_INFO": "/checkout", "QUERY_STRING": "coupon=SAVE10", "REQUEST_METHOD": "POST"}
    setup_testing_defaults(environ)
    try:
        SentryWsgiMiddleware(app)(environ, lambda *a: None)
    except ValueError:
        pass
    with sentry_sdk.new_scope() as scope:
        scope.add_attachment(bytes=b"line one\nline two\n", filename="debug.log", content_type="text/plain")
        ids.append(sentry_sdk.capture_message("with an attachment"))
    sentry_sdk.flush(timeout=10)
    json.dump({"event_ids": [i for i in ids if i]}, sys.stdout)


if __name__ == "__main__":
    main()
