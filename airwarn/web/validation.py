"""FastAPI's refusals of a request's shape (a query parameter out of range, a body field of the
wrong type), answered as airwarn's own input checks answer: `error`, `field`, `value`.

A field is written as the server's own checks write it: a query, path or header parameter by
its name as sent (`limit`, `Idempotency-Key`), a body field as a JSON path (`$.zones[1]`).
Every refusal is in `errors`; the first is also at the top, with the fix in `error`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MAX_ECHO_CHARS = 200  # a longer value is sent back cut short
# body fields whose value an error never sends back: a token, a push subscription's secret
SECRET_FIELDS = frozenset({"token", "auth"})
_NOT_GIVEN = object()


def validation_body(errors: Sequence[Any], body: Any = None) -> dict[str, Any]:
    """The answer for pydantic's `errors` (RequestValidationError.errors()), `body` being the
    request's body as FastAPI read it (to tell a field from pydantic's union tags)."""
    found = [_refusal(error, body) for error in errors]
    if not found:
        return {"error": "the request is invalid", "errors": []}
    first = found[0]
    text = f"{first['field']}: {first['error']}"
    if len(found) > 1:
        text += f" (and {len(found) - 1} more: see errors)"
    return {"error": text, "field": first["field"], "value": first.get("value"), "errors": found}


def _refusal(error: Any, body: Any) -> dict[str, Any]:
    loc = list(error.get("loc") or ("body",))
    location, path = str(loc[0]), loc[1:]
    kind = error.get("type")
    if kind == "json_invalid":  # pydantic's path is the character where reading stopped
        at = f" at character {path[0]}" if path else ""
        reason = (error.get("ctx") or {}).get("error", "JSON decode error")
        return {
            "field": "$",
            "error": f"the body is not JSON ({reason}{at}): send one JSON object",
            "location": location,
        }
    if location == "body" and not path and kind == "missing":
        return {"field": "$", "error": "no body: send one JSON object", "location": location}
    if location == "body":
        field, leaf = _json_path(path, body)
    else:  # a parameter of the URL or a header: its name, then any index of a repeated one
        field = str(path[0]) if path else location
        field += "".join(f"[{p}]" for p in path[1:] if isinstance(p, int))
        leaf = field
    out: dict[str, Any] = {"field": field, "error": _fix(error), "location": location}
    value = error.get("input", _NOT_GIVEN)
    if kind != "missing" and leaf not in SECRET_FIELDS and _echoable(value):
        if isinstance(value, str) and len(value) > MAX_ECHO_CHARS:
            value = value[:MAX_ECHO_CHARS] + "…"
        elif isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # Python's JSON reads NaN; no JSON answer can hold it
        out["value"] = value
    return out


def _json_path(path: Sequence[Any], body: Any) -> tuple[str, str]:
    """`$.keys.auth`, `$.zones[1]` for pydantic's path, with its union tags (`int`, `str`,
    a model's name) left out: a step is a field only where the body has one there (or, last,
    where one is missing or unknown). Also the last field's name."""
    text, leaf, here = "$", "", body
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(step, int) and isinstance(here, list) and 0 <= step < len(here):
            text, here = f"{text}[{step}]", here[step]
        elif isinstance(here, dict) and (step in here or last):
            text, leaf, here = f"{text}.{step}", str(step), here.get(step)
        # else: a union tag, not a place in the body
    return text, leaf


def _fix(error: Any) -> str:
    """What to do, from pydantic's message: `should be less than or equal to 5000`."""
    kind, message = error.get("type"), str(error.get("msg") or "invalid")
    if kind == "missing":
        return "required: add it"
    if kind == "extra_forbidden":
        return "not a field of this request: leave it out (the fields are listed at /docs)"
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    for noun in ("Input ", "String ", "List ", "Dictionary ", "Tuple ", "Set ", "Value "):
        if message.startswith(noun + "should"):
            return message.removeprefix(noun)
    return message[:1].lower() + message[1:]


def _echoable(value: Any) -> bool:
    """A value short enough to send back as sent: a string, number, true/false or null."""
    return value is None or isinstance(value, str | int | float | bool)
