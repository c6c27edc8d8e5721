#!/usr/bin/env python3
"""Python's own logging.handlers.SysLogHandler sending to Sightline over UDP and TCP.

Reads {"host", "port", "transport": "udp"|"tcp", "tag"} on stdin; logs two records with a
`tag[pid]: ` prefix, as Python's documentation shows a formatter adding one; prints {"pid"}.
"""
import json
import logging
import logging.handlers
import os
import socket
import sys


def main():
    cfg = json.load(sys.stdin)
    for socktype, name in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
        if name != cfg["transport"]:
            continue
        logger = logging.getLogger(f"sender.{name}")
        logger.setLevel(logging.DEBUG)
        handler = logging.handlers.SysLogHandler(address=(cfg["host"], cfg["port"]), socktype=socktype,
                                                 facility=logging.handlers.SysLogHandler.LOG_LOCAL3)
        handler.setFormatter(logging.Formatter(f"{cfg['tag']}[%(process)d]: %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.info("user alice@example.com logged in over %s", name)
        logger.error("payment failed over %s", name)
        handler.close()
    json.dump({"pid": os.getpid()}, sys.stdout)


if __name__ == "__main__":
    main()
