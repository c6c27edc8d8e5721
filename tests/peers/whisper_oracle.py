#!/usr/bin/env python3
"""What would carbon's whisper files hold? The reference for Sightline's metric store.

Reads a JSON document on stdin:
  {"now": <epoch>,
   "series": {"<name>": {"retentions": "10s:6h,1m:30d", "xff": 0.5, "method": "average"}},
   "points": [["<name>", <ts>, <value>], ...]        (in arrival order)
   "fetches": [["<name>", <from>, <until>], ...]}
creates one whisper file per series with the real whisper library, applies every point with
update_many as carbon's writer does, and writes to stdout a JSON list with, per fetch, either
null or {"start", "end", "step", "values"}.
"""
import json
import os
import sys
import tempfile

import whisper


def main():
    doc = json.load(sys.stdin)
    now = doc["now"]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, (name, spec) in enumerate(sorted(doc["series"].items())):
            archives = [whisper.parseRetentionDef(r) for r in spec["retentions"].split(",")]
            path = os.path.join(tmp, "%d.wsp" % i)
            whisper.create(path, archives, xFilesFactor=spec["xff"], aggregationMethod=spec["method"])
            paths[name] = path
        for name, ts, value in doc["points"]:
            whisper.update_many(paths[name], [(ts, value)], now=now)
        for name, start, until in doc["fetches"]:
            got = whisper.fetch(paths[name], start, until, now=now)
            if got is None:
                out.append(None)
            else:
                (begin, end, step), values = got
                out.append({"start": begin, "end": end, "step": step, "values": values})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
