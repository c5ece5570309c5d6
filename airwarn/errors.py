"""The exceptions airwarn raises: one small hierarchy, each saying what, where and what to do.

    AirwarnError                      every error airwarn raises on purpose
    ├── ContractError                 input breaks Contract v1: line, field, value (HTTP 422)
    │   ├── ZoneError                 a zone set is unusable
    │   ├── EventError                an event line is invalid
    │   │   └── lanes.LaneError       a line its sender may not send (rejected with its line)
    │   ├── RequestError              well-formed, but cannot be done as asked
    │   ├── cap.inbound.CapError      a CAP document is not valid CAP 1.2, or unusable
    │   ├── store.tokens.TokenError   a token cannot be made or revoked as asked
    │   └── store.trust.TrustError    a sender, certificate or binding cannot be stored
    ├── SettingError                  a setting's value cannot be used: `setting` names it
    ├── NotFoundError                 what a request names does not exist (404)
    ├── ConflictError                 it clashes with the state it acts on (409)
    ├── UnauthorizedError             no token, or an unknown one (401)
    ├── ForbiddenError                the token's role may not (403); `line` of a batch
    │   └── lanes.LaneRefusal         a batch holds what no client may send on its lane
    ├── UnavailableError              the store cannot take it now; retry (503)
    │   └── web.limits.IdentityUnavailable   a token cannot be checked just now
    ├── TooManyRequestsError          over a limit; `retry_after_s` (429)
    ├── store.StoreError              the store cannot be reached or used (503 on HTTP)
    │   └── store.integrity.IntegrityError   the log does not match its seal; `seq`
    ├── cap.sign.CapSignatureError    a CAP signature is missing, broken or another key's
    ├── channels.targets.TargetRefused  a target resolves to an address not sent to (an
    │                                 OSError too: it is raised inside the HTTP client)
    ├── channels.webpush.vapid.PushKeyError  the VAPID key file cannot be used
    ├── web.live.TokenRevoked         a live stream's token no longer stands (ends it)
    ├── follow.spec.FollowError       a source cannot be followed as given
    ├── follow.fetch.Trouble          a source did not answer usefully this time
    ├── follow.fetch.Failed           a source answers, in a way waiting will not fix
    ├── history.records.HistoryError  an alert history cannot be imported as given
    ├── layers.download.DownloadError a layer's source could not be fetched
    │   └── layers.upstream.UpstreamError    its files are not what airwarn reads
    ├── sim.conditions.ConditionsError  a simulation condition out of range
    ├── sim.demo.DemoError            the live demo cannot start
    └── sim.drill.DrillError          a drill cannot go on (the server, its answer to the
                                      token); `setting` names the setting at fault, if one is

A write the bus took but no engine answered in time is not an error: it is answered
`airwarn.answers.Queued` (HTTP 202). The HTTP statuses are mapped in one place
(`airwarn.web.app`). Messages never name a command-line flag: an error about a setting is a
`SettingError` naming the setting as the settings spell it (`clock`), and the CLI prints the
flag (`--clock`). (`gateway.layout`'s `Unsupported` and `LayoutError` are the ASTERIX
decoder's own signals, caught inside it; they stay outside this tree.)
"""

from __future__ import annotations


class AirwarnError(Exception):
    """Root of every error airwarn raises on purpose."""


class SettingError(AirwarnError):
    """A setting's value cannot be used, or does not go with another's. `setting` names it as
    the settings object spells it (`clock`, `inbound_cap`); `needs`, when given, is what
    another setting must be for it (`{"clock": "wall"}`). Library code says no flag name:
    the command line prints the setting as its flag."""

    def __init__(self, message: str, *, setting: str, needs: dict[str, str] | None = None) -> None:
        self.message = message
        self.setting = setting
        self.needs = dict(needs or {})
        super().__init__(message)


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
