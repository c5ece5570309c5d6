"""The exceptions airwarn raises: one small hierarchy, each saying what, where and what to do."""

from __future__ import annotations


class AirwarnError(Exception):
    """Root of every error airwarn raises on purpose."""


class ContractError(AirwarnError):
    """An input line or document breaks Contract v1.

    `line` is 1-based (None for a whole document), `field` a JSON path such as `$.lat`.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
        source: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.field = field
        self.value = value
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field}")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.field and self.value is not None:
            text += f" (got {self.value!r})"
        return text


class ZoneError(ContractError):
    """A zone set is unusable: a missing id, a duplicate, a geometry that cannot be repaired."""


class EventError(ContractError):
    """An event line is invalid."""


class RequestError(ContractError):
    """A request to the service is well-formed but cannot be done as asked (HTTP 422)."""


class NotFoundError(AirwarnError):
    """What a request names does not exist (HTTP 404)."""


class ConflictError(AirwarnError):
    """A request clashes with the state it acts on, e.g. confirming an action twice (HTTP 409)."""


class UnauthorizedError(AirwarnError):
    """No token, or a token airwarn does not know (HTTP 401)."""


class ForbiddenError(AirwarnError):
    """The token's role may not do this, or nobody may on this path (HTTP 403); `line` names
    the line of a batch that asked for it."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


class UnavailableError(AirwarnError):
    """The store cannot take writes just now; retry after a moment (HTTP 503)."""


class TooManyRequestsError(AirwarnError):
    """A client went over one of its limits; it may try again after `retry_after_s` (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.message = message
        self.retry_after_s = retry_after_s
        super().__init__(message)


class Queued(AirwarnError):
    """A write the bus has stored but the engine has not answered in time (HTTP 202): it will
    be applied once, by whichever engine leads; a retry with the same Idempotency-Key is safe."""

    def __init__(self, request_id: str, waited_s: float) -> None:
        self.request_id = request_id
        self.message = (f"stored on the bus as request {request_id}, but no engine answered "
                        f"within {waited_s:g} s (a failover?); it will be applied once")
        super().__init__(self.message)
