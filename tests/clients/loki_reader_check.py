"""PyPI loki-reader-core's LokiClient against `loggate demo`: its
query_range, labels, label values and series equal what /logs and /sources
say for the same selection. The client reads (timestamp, line) pairs, so
entries are compared as (millisecond, line) multisets per stream."""

import collections
import datetime
import sys
import time

import requests
from loki_reader_core import LokiClient

BASE = sys.argv[1]


def logs(query):
    out, url = [], f"{BASE}/logs?{query}&limit=1000"
    while True:
        page = requests.get(url, timeout=60).json()
        out.extend(page["logs"])
        if not page["next_cursor"]:
            return out
        url = f"{BASE}/logs?cursor={page['next_cursor']}&limit=1000"


def iso(ms):
    stamp = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def check(got, want, what):
    if got != want:
        raise SystemExit(f"FAIL {what}: got {str(got)[:400]}, want {str(want)[:400]}")
    print(f"ok   {what}")


def stream_key(labels):
    return (labels["source"], labels["provider"], labels["level"], labels["service_name"])


def record_key(r):
    return (r["source"], r["provider"], r["level"].lower(), r["service"] or r["source"])


def main():
    # Basic credentials: the demo has open access, which takes any.
    client = LokiClient(base_url=BASE, auth=("grafana", "unused"))
    end_ms = int(time.time() * 1000) + 60_000
    start_ms = end_ms - 8 * 86_400_000
    start_ns, end_ns = start_ms * 1_000_000, end_ms * 1_000_000
    window = f"start={iso(start_ms)}&end={iso(end_ms - 1)}"

    sources = requests.get(f"{BASE}/sources", timeout=30).json()["sources"]
    check(client.get_labels(start_ns, end_ns),
          ["detected_level", "level", "provider", "service_name", "source"], "python labels")
    check(client.get_label_values("source", start_ns, end_ns),
          sorted(s["name"] for s in sources), "python label values: source = /sources")
    all_records = logs(window)
    check(client.get_label_values("level", start_ns, end_ns),
          sorted({r["level"].lower() for r in all_records}), "python label values: level = /logs")
    check(client.get_label_values("service_name", start_ns, end_ns),
          sorted({r["service"] or r["source"] for r in all_records}),
          "python label values: service_name = /logs")

    for source in ["billing", "auth", "prompts"]:
        records = logs(f"source={source}&{window}")
        result = client.query_range(f'{{source="{source}"}}', start_ns, end_ns, limit=5000,
                                    direction="backward")
        got = collections.Counter()
        for stream in result.streams:
            for entry in stream.entries:
                got[(stream_key(stream.labels), entry.timestamp // 1_000_000, entry.message)] += 1
        want = collections.Counter(
            (record_key(r), int(datetime.datetime.fromisoformat(
                r["timestamp"].replace("Z", "+00:00")).timestamp() * 1000 + 0.5), r["message"])
            for r in records)
        check(got, want, f'python query_range {{source="{source}"}} = /logs ({len(records)} records)')
        series = client.get_series([f'{{source="{source}"}}'], start_ns, end_ns)
        check(sorted(stream_key(s) for s in series), sorted({record_key(r) for r in records}),
              f'python series {{source="{source}"}} = /logs label sets')


if __name__ == "__main__":
    main()
