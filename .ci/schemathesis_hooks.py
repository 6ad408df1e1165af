"""schemathesis hooks of the `.ci/run` step (loaded by .ci/schemathesis.toml).

Every check runs on every operation. One hook drops exactly the
"schema-valid request rejected" failures (ST202, positive_data_acceptance)
whose refusal no OpenAPI schema can express, recognised by the answer the
gateway gives for that one rule; any other 400 on valid data still fails
the run:

- /logs `cursor`: a cursor must be one this gateway signed for the same
  query; any other non-empty string is 400 invalid_cursor.
- /logs `end` earlier than `start` (two parameters together): 400
  invalid_parameter naming `end` (said in the parameter descriptions).
- /logs `follow=true` without `order=asc` (two parameters together): 400
  invalid_parameter naming `follow` (said in its description).
- /logs/stats `end` not after `start` (two parameters together): 400
  invalid_parameter naming `end`, "must be after start".
- /logs/stats more than 1,000 buckets, (end - start) / interval (three
  parameters together): 400 invalid_parameter naming `interval`, "cuts
  the window into N buckets, more than 1000".
- /logs/stats a plan over a source's counting budget (buckets x groups
  against the source's size, known only once it answered): 400
  invalid_parameter naming `interval`, "more than its budget".
- /logs/stats `method=pushdown` where a source cannot count the filters
  and grouping exactly from its totals (the provider's capabilities): 400
  invalid_parameter naming `method`, "cannot count these filters".
- /loki/api/v1 `query` and `match[]`: LogQL, a grammar, not a pattern; the
  document only says non-blank. Refusals name the LogQL text: `parse error
  at line L, col C: ...`, `query: ...` / `match[]: ...`, or the instant
  query's "log queries are not supported as an instant query type".
- /loki/api/v1 `end` not after `start` (or `since`), two parameters
  together: "end timestamp must not be before or equal to start time".
- /loki/api/v1/query_range `step` against `end - start` (three parameters
  together, said in the `step` description): Loki's "exceeded maximum
  resolution of 11,000 points per timeseries".

On every operation, a `414 uri_too_long` on valid data is dropped too: the
gateway's limit of 8192 bytes is on the whole query string, every
parameter together and percent-encoded (a non-ASCII character takes up to
12 bytes), which no per-parameter `maxLength` can express (README "Security", input
limits); schemathesis' long non-ASCII strings reach it.

And one hook drops the "server error" (ST101) that is loggate's documented
load shedding, not a fault: `503` with `Retry-After` and the envelope code
`overloaded` (the demo's outbound rate limit, 10 requests/s per source, is
far below what schemathesis sends; README "Connections, timeouts and
overload"). Any other 5xx still fails the run.
"""

import atexit
import collections
import json

import schemathesis

# How many failures each rule dropped, printed when schemathesis exits.
DROPPED = collections.Counter()
atexit.register(
    lambda: print(f"schemathesis_hooks: dropped by rule: {dict(DROPPED)}") if DROPPED else None
)

LOKI_LOGQL_PREFIXES = ("parse error at line ", "query: ", "match[]: ")
LOKI_LOGQL_MESSAGES = ("log queries are not supported as an instant query type",)
LOKI_WINDOW = "end timestamp must not be before or equal to start time"
LOKI_RESOLUTION = "exceeded maximum resolution of 11,000 points per timeseries"


def _logs_inexpressible(text):
    """The rule that refused, or None."""
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    if error.get("code") == "invalid_cursor" and error.get("param") == "cursor":
        return "/logs cursor not signed here"
    if (
        error.get("code") == "invalid_parameter"
        and error.get("param") == "end"
        and "must not be before start" in error.get("message", "")
    ):
        return "/logs end before start"
    if (
        error.get("code") == "invalid_parameter"
        and error.get("param") == "follow"
        and "requires order=asc" in error.get("message", "")
    ):
        return "/logs follow without order=asc"
    return None


STATS_RULES = (
    ("end", "must be after start", "/logs/stats end not after start"),
    ("interval", "buckets, more than 1000;", "/logs/stats over 1,000 buckets"),
    ("interval", "more than its budget", "/logs/stats over the counting budget"),
    ("method", "cannot count these filters", "/logs/stats pushdown not exact"),
)


def _stats_inexpressible(text):
    """The rule that refused, or None."""
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    if error.get("code") != "invalid_parameter":
        return None
    for param, words, rule in STATS_RULES:
        if error.get("param") == param and words in error.get("message", ""):
            return rule
    return None


def _loki_inexpressible(text):
    """The rule that refused, or None."""
    text = text.strip()
    if text == "query: parameter is required":
        return None  # a blank query: the schema says non-blank
    if text.startswith(LOKI_LOGQL_PREFIXES) or text.startswith(LOKI_LOGQL_MESSAGES):
        return "loki LogQL grammar"
    if text == LOKI_WINDOW:
        return "loki end not after start"
    if text.startswith(LOKI_RESOLUTION):
        return "loki step over 11,000 points"
    return None


def _query_too_long(response):
    """A `414 uri_too_long`: the whole query string over the limit."""
    if response.status_code != 414:
        return False
    try:
        return json.loads(response.text)["error"]["code"] == "uri_too_long"
    except (ValueError, KeyError, TypeError):
        return False


def _load_shedding(response):
    """A `503 overloaded` with `Retry-After`: loggate declining load."""
    if response.status_code != 503 or not response.headers.get("retry-after"):
        return False
    try:
        return json.loads(response.text)["error"]["code"] == "overloaded"
    except (ValueError, KeyError, TypeError):
        return False


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Keep every failure except an ST202 400 for one of the rules above,
    an ST202 414 for the whole query string, and an ST101 that is load
    shedding."""
    if type(failure).__name__ == "ServerError" and _load_shedding(response):
        DROPPED["ST101 503 overloaded with Retry-After"] += 1
        return False
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    if _query_too_long(response):
        DROPPED["query string over 8192 bytes (all parameters together)"] += 1
        return False
    if response.status_code != 400:
        return True
    path = case.operation.path
    rule = None
    if path == "/logs":
        rule = _logs_inexpressible(response.text)
    elif path == "/logs/stats":
        rule = _stats_inexpressible(response.text)
    elif path.startswith("/loki/api/v1/"):
        rule = _loki_inexpressible(response.text)
    if rule is None:
        return True
    DROPPED[rule] += 1
    return False
