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
- /loki/api/v1 `query` and `match[]`: LogQL, a grammar, not a pattern; the
  document only says non-blank. Refusals name the LogQL text: `parse error
  at line L, col C: ...`, `query: ...` / `match[]: ...`, or the instant
  query's "log queries are not supported as an instant query type".
- /loki/api/v1 `end` not after `start` (or `since`), two parameters
  together: "end timestamp must not be before or equal to start time".
"""

import json

import schemathesis

LOKI_LOGQL_PREFIXES = ("parse error at line ", "query: ", "match[]: ")
LOKI_LOGQL_MESSAGES = ("log queries are not supported as an instant query type",)
LOKI_WINDOW = "end timestamp must not be before or equal to start time"


def _logs_inexpressible(text):
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if error.get("code") == "invalid_cursor" and error.get("param") == "cursor":
        return True
    return (
        error.get("code") == "invalid_parameter"
        and error.get("param") == "end"
        and "must not be before start" in error.get("message", "")
    )


def _loki_inexpressible(text):
    text = text.strip()
    if text == "query: parameter is required":
        return False  # a blank query: the schema says non-blank
    return (
        text.startswith(LOKI_LOGQL_PREFIXES)
        or text.startswith(LOKI_LOGQL_MESSAGES)
        or text == LOKI_WINDOW
    )


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Keep every failure except an ST202 400 for one of the rules above."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 400:
        return True
    path = case.operation.path
    if path == "/logs":
        return not _logs_inexpressible(response.text)
    if path.startswith("/loki/api/v1/"):
        return not _loki_inexpressible(response.text)
    return True
