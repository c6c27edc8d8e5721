#!/usr/bin/env python3
"""The official elasticsearch Python client shipping documents with helpers.bulk.

Reads {"url", "token"} on stdin. Prints {"info": <GET />}, "bulk": [successes, errors]}.
The client itself checks that every answer carries X-Elastic-Product: Elasticsearch.
"""
import json
import sys

from elasticsearch import Elasticsearch, helpers


def main():
    cfg = json.load(sys.stdin)
    es = Elasticsearch(cfg["url"], api_key=cfg["token"], request_timeout=10)
    info = es.info()
    actions = [
        {"_index": "shop-logs", "_id": f"order-{i}", "_source": {
            "@timestamp": "2026-11-25T10:00:0%dZ" % i, "message": f"order {i} paid",
            "log": {"level": "info"}, "amount": 10.0 * (i + 1), "currency": "EUR" if i % 2 else "USD"}}
        for i in range(5)
    ]
    actions.append({"_op_type": "create", "_index": "shop-logs", "_source": {"message": "created, not indexed"}})
    ok, errors = helpers.bulk(es, actions, raise_on_error=False)
    json.dump({"info": dict(info), "bulk": [ok, errors]}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
