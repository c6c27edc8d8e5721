"""Errors for the UI's browser journeys, sent by the real sentry-sdk.

Usage: ui_errors.py DSN HOSTILE

Sends a checkout error (a KeyError chained into a ValueError, from alice@example.com, with a
breadcrumb and a tag), then one whose message, tag and breadcrumb carry HOSTILE.
"""

import os
import sys

import sentry_sdk

dsn, hostile = sys.argv[1], sys.argv[2]
# Frames under this folder are the application's own (in_app), as under an app's root.
sentry_sdk.init(
    dsn=dsn,
    release="shop@1.4.2",
    environment="production",
    project_root=os.path.dirname(os.path.abspath(__file__)),
)


def charge(amount, currency):
    rate = {"EUR": 1.0}[currency]
    return amount * rate


def checkout():
    try:
        charge(12.5, "USD")
    except KeyError as e:
        raise ValueError("payment provider refused the currency") from e


with sentry_sdk.new_scope() as scope:
    scope.set_user({"id": "42", "email": "alice@example.com"})
    scope.set_tag("plan", "pro")
    sentry_sdk.add_breadcrumb(category="checkout", message="cart has 3 items", level="info")
    try:
        checkout()
    except Exception:
        sentry_sdk.capture_exception()

with sentry_sdk.new_scope() as scope:
    scope.set_tag("hostile_tag", hostile)
    sentry_sdk.add_breadcrumb(category="hostile", message=hostile, level="warning")
    try:
        raise RuntimeError("hostile " + hostile)
    except Exception:
        sentry_sdk.capture_exception()

sentry_sdk.flush()
