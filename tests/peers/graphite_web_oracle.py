#!/usr/bin/env python3
"""Record what graphite-web answers, as the golden reference for Sightline's Graphite API.

Usage: graphite_web_oracle.py CASES.json EXPECTED.json

CASES.json holds:
  {"now": <epoch>,
   "series": [{"name": "<plain or tagged name>", "retentions": "10s:2d", "xff": 0.0,
               "method": "average", "start": <epoch>, "step": <s>, "values": [v|null, ...]}],
   "requests": [{"path": "/render", "params": [["target", "..."], ["from", "-10min"], ...]}]}

It creates one whisper file per series with the real whisper library (tagged series under
`_tagged/`, as carbon stores them, and registered in graphite-web's own tag database), then
runs every request through graphite-web's Django views (Debian's graphite-web 1.1.8, which
must be installed) with `now=<now>` added (and its clock pinned to `now` for the time
arguments it reads without the request's `now`), and writes, per request, {"status", "content_type",
"body"} to EXPECTED.json; JSON bodies are parsed, others kept as text.
"""
import json
import os
import sys
import tempfile


def write_settings(tmp):
    storage = os.path.join(tmp, "storage")
    os.makedirs(os.path.join(storage, "whisper"))
    os.makedirs(os.path.join(storage, "log", "webapp"))
    with open(os.path.join(tmp, "oracle_settings.py"), "w") as f:
        f.write(
            "STORAGE_DIR = %r\n"
            "SECRET_KEY = 'oracle'\n"
            "TIME_ZONE = 'UTC'\n"
            "ALLOWED_HOSTS = ['*']\n"
            "LOG_RENDERING_PERFORMANCE = False\n"
            "LOG_CACHE_PERFORMANCE = False\n"
            "DEFAULT_CACHE_DURATION = 0\n"
            "DATABASES = {'default': {'NAME': %r, 'ENGINE': 'django.db.backends.sqlite3'}}\n"
            % (storage, os.path.join(storage, "graphite.db"))
        )
    sys.path.insert(0, tmp)
    os.environ["GRAPHITE_SETTINGS_MODULE"] = "oracle_settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
    return os.path.join(storage, "whisper")


def finite(value):
    """JSON has no Infinity or NaN: name them as strings, which the golden test reads back."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def main():
    cases_path, expected_path = sys.argv[1], sys.argv[2]
    with open(cases_path) as f:
        cases = json.load(f)
    now = cases["now"]
    with tempfile.TemporaryDirectory() as tmp:
        whisper_dir = write_settings(tmp)
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0, interactive=False)
        import whisper
        from django.test import Client
        from graphite.storage import STORE
        from graphite.tags.utils import TaggedSeries

        # Time arguments that graphite-web reads without the request's `now` (`timeSlice`'s and
        # `linearRegression`'s) are read against the same pinned instant, not the wall clock.
        import graphite.render.attime as attime
        wall = attime.datetime

        class Pinned(wall):
            @classmethod
            def now(cls, tz=None):
                return wall.fromtimestamp(now, tz)

        attime.datetime = Pinned

        for s in cases["series"]:
            name = s["name"]
            if ";" in name:
                name = STORE.tagdb.tag_series(name)
            rel = TaggedSeries.encode(name, sep=os.sep) + ".wsp"
            path = os.path.join(whisper_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            archives = [whisper.parseRetentionDef(r) for r in s["retentions"].split(",")]
            whisper.create(path, archives, xFilesFactor=s.get("xff", 0.0),
                           aggregationMethod=s.get("method", "average"))
            points = [(s["start"] + i * s["step"], v)
                      for i, v in enumerate(s["values"]) if v is not None]
            whisper.update_many(path, points, now=now)

        client = Client(raise_request_exception=os.environ.get("ORACLE_RAISE") == "1")
        out = []
        for req in cases["requests"]:
            params = list(req["params"]) + [["now", str(now)]]
            query = {}
            for k, v in params:
                query.setdefault(k, []).append(v)
            resp = client.get(req["path"], query)
            ctype = resp.get("Content-Type", "")
            text = resp.content.decode("utf-8", "replace")
            body = text
            if "json" in ctype and resp.status_code == 200:
                body = finite(json.loads(text))
            out.append({"status": resp.status_code, "content_type": ctype, "body": body})
    with open(expected_path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
