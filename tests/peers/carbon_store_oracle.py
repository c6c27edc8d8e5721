#!/usr/bin/python3
"""What carbon-cache would store for a plaintext flush: each line's name as carbon names the
series (`TaggedSeries.parse(name).path`, graphite's own code: tags sorted, which carbon and
graphite-web share), and for a name sent twice in one flush, the last value (carbon keeps the
last point of a slot).

  tests/peers/carbon_store_oracle.py < flush.txt > stored.txt

Run it with Debian's /usr/bin/python3, which has graphite-web. It recorded
crates/server/tests/fixtures/statsd/etsy-0.9.0-as-carbon-stores.txt from etsy-0.9.0-flush.txt.
"""
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from graphite.tags.utils import TaggedSeries  # noqa: E402

stored = {}
for line in sys.stdin:
    name, value, _ts = line.split()
    stored[TaggedSeries.parse(name).path] = value
for name in sorted(stored):
    print(name, stored[name])
