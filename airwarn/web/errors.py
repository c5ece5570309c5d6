"""What an error answer looks like, for the OpenAPI document: every router declares these."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from airwarn.answers import Queued

MAX_SEQ = 2**63 - 1  # sequence numbers and ids are 64-bit in both stores


class ErrorBody(BaseModel):
    """Every error airwarn answers: what is wrong, and where when it is about input."""

    error: str
    field: str | None = None
    value: Any = None
    line: int | None = None
    errors: list[dict[str, Any]] | None = None


QUEUED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Queued,
        "description": "on a bus: stored, but no engine answered in time; it will be applied once",
    },
}

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the request cannot be read"},
    401: {"model": ErrorBody, "description": "no token, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "the token's role may not do this"},
    404: {"model": ErrorBody, "description": "what the request names does not exist"},
    409: {"model": ErrorBody, "description": "it clashes with the state it acts on"},
    413: {"model": ErrorBody, "description": "the body is too large"},
    422: {"model": ErrorBody, "description": "the input is invalid: see field and value"},
    429: {"model": ErrorBody, "description": "too many requests; see Retry-After"},
    503: {"model": ErrorBody, "description": "the store cannot take it now; see Retry-After"},
}
