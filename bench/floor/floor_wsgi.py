"""The WSGI app under bench/charging_floor.py: answers the Nchf paths the way haoka does
(201 + Location on create, 200 on update, 204 on release) with a body of the same size, and
does nothing else, or (``FLOOR_DATABASE_URL`` set) one PostgreSQL round trip per request: an
UPDATE of one row per subscriber, on a connection per server thread, in autocommit. What it
costs is the floor under haoka's online charging on the same server and load."""

from __future__ import annotations

import itertools
import json
import os
import threading

import psycopg

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
_local = threading.local()
_refs = itertools.count(1)
#: About the size of haoka's update answer (one multipleUnitInformation with a grant).
_ANSWER = json.dumps({
    "invocationTimeStamp": "2026-05-10T04:00:00Z", "invocationSequenceNumber": 1,
    "multipleUnitInformation": [{
        "resultCode": "SUCCESS", "ratingGroup": 1003, "validityTime": 3600,
        "quotaHoldingTime": 600, "uPFID": "upf-1",
        "grantedUnit": {"totalVolume": 1048576},
        "triggers": [{"triggerType": "QUOTA_THRESHOLD", "triggerCategory": "IMMEDIATE_REPORT"},
                     {"triggerType": "QUOTA_EXHAUSTED", "triggerCategory": "IMMEDIATE_REPORT"},
                     {"triggerType": "VALIDITY_TIME", "triggerCategory": "IMMEDIATE_REPORT"}],
        "volumeQuotaThreshold": 104857,
    }],
}).encode()  # fmt: skip


def _touch(subscriber: str) -> None:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(DATABASE_URL, autocommit=True)
    conn.execute(
        "UPDATE floor_line SET n = n + 1 WHERE subscriber = %s", (subscriber,), prepare=True
    )


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    if DATABASE_URL:
        _touch(body.get("subscriberIdentifier", ""))
    path = environ["PATH_INFO"]
    if path.endswith("/release"):
        start_response("204 No Content", [])
        return [b""]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(_ANSWER)))]
    if path.endswith("/update"):
        start_response("200 OK", headers)
    else:
        location = f"http://{environ['HTTP_HOST']}{path}/{next(_refs)}"
        start_response("201 Created", [*headers, ("Location", location)])
    return [_ANSWER]
