"""PyPI sseclient-py drives GET /logs/tail against a live `loggate demo`
(its simulators keep writing): the client is disconnected after a random
number of events and reconnects with Last-Event-ID, as an EventSource
does. Every log it receives is received once, and together they are
exactly what /logs lists between the tail's first and last cursors, in
the same order within each source (spec §8, issue 17; across sources a
tail's batches follow each source's own poll pace, README "Follow and
live tail", so only the order per source is compared). Usage: tail_sse_check.py BASE_URL [LOGS_WANTED]"""

import base64
import datetime
import json
import random
import sys
import time

import requests
import sseclient

BASE = sys.argv[1]
WANT = int(sys.argv[2]) if len(sys.argv) > 2 else 20


def bound(cursor):
    """The upper time bound (epoch ms) inside a signed cursor:
    base64url(version, JSON, 32-byte MAC), JSON field "p"."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return json.loads(raw[1:-32])["p"]


def iso(ms):
    stamp = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def logs(query):
    out, url = [], f"{BASE}/logs?{query}&limit=1000"
    while True:
        page = requests.get(url, timeout=60).json()
        out.extend(log["id"] for log in page["logs"])
        if not page["next_cursor"]:
            return out
        url = f"{BASE}/logs?cursor={page['next_cursor']}&limit=1000"


def main():
    rng = random.Random(17)
    got, first_id, last_id = [], None, None
    caught_up = False
    connections = 0
    give_up = time.time() + 300  # a hang guard, not a timing condition
    while len(got) < WANT or not caught_up:
        assert time.time() < give_up, f"only {len(got)} logs after 300 s"
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        response = requests.get(f"{BASE}/logs/tail?limit=3", headers=headers, stream=True, timeout=60)
        assert response.status_code == 200, response.text
        connections += 1
        cut_after = rng.randint(1, 4)
        for n, event in enumerate(sseclient.SSEClient(response).events(), start=1):
            assert event.id, f"event {event.event} without an id"
            first_id = first_id or event.id
            last_id = event.id
            # The last cursor must be one of a caught-up page: then every
            # log up to its bound has been received.
            caught_up = False
            if event.event == "logs":
                page = json.loads(event.data)
                got.extend(log["id"] for log in page["logs"])
                caught_up = page.get("caught_up") is True
            if n >= cut_after or (len(got) >= WANT and caught_up):
                break
        response.close()
    assert len(set(got)) == len(got), "a log was delivered twice"
    start, end = bound(first_id), bound(last_id)
    expected = logs(f"order=asc&start={iso(start + 1)}&end={iso(end)}")
    assert sorted(got) == sorted(expected), f"tail {got} != /logs {expected}"
    for source in {log_id.split(":", 1)[0] for log_id in expected}:
        mine = [i for i in got if i.startswith(source + ":")]
        listed = [i for i in expected if i.startswith(source + ":")]
        assert mine == listed, f"source {source}: tail {mine} != /logs {listed}"
    print(f"tail over {connections} connections: {len(got)} logs, each once, equal to /logs in order per source")


main()
