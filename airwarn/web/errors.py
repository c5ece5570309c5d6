"""What an error answer looks like, for the OpenAPI document: every router declares these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from airwarn.answers import Queued

MAX_SEQ = 2**63 - 1  # sequence numbers and ids are 64-bit in both stores


class FieldError(BaseModel):
    """One refusal of a request's shape (a parameter or body field FastAPI could not take)."""

    field: str = Field(
        description="a query, path or header parameter by its name (`limit`), "
        "a body field as a JSON path (`$.zones[1]`)"
    )
    error: str = Field(description="what it should be")
    location: Literal["query", "path", "header", "cookie", "body"]
    value: Any = Field(None, description="the value sent, when it may be sent back")


class ErrorBody(BaseModel):
    """Every error airwarn answers: what is wrong, and where when it is about input."""

    error: str = Field(description="what is wrong and what to do")
    field: str | None = Field(
        None,
        description="the input at fault: a query, path or header parameter by its name "
        "(`limit`), a body or event field as a JSON path (`$.zones[1]`; in CAP, `/alert/info`)",
    )
    value: Any = Field(
        None,
        description="the value refused, when it may be sent back (a secret is not)",
    )
    line: int | None = Field(None, description="the body's line at fault, from 1")
    errors: list[FieldError] | None = Field(
        None, description="every refusal of the request's shape; the first is also above"
    )


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
