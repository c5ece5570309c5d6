"""What the service answers, as typed structs: the one shape the service returns, the bus
carries between engines and edges, and the web routes publish (with a response schema each in
`/openapi.json`).

Pydantic models, since FastAPI takes them as they are. A member that only some answers carry
(`replayed`, an action's `confirm`, a relayed zone's `relayed`) is optional and left out of
the JSON when it was not set: the routes and the bus write answers with `exclude_unset`, so
the wire form is what it was when these were dicts (`to_wire`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Level = Literal["clear", "pre_alert", "alert"]


class Answer(BaseModel):
    """The base of every answer: members it does not declare are refused, not dropped."""

    model_config = ConfigDict(extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        """The answer as JSON-ready data: what is set, nothing more."""
        return self.model_dump(mode="json", exclude_unset=True)


# -- sensors ---------------------------------------------------------------------------------


class Rejection(Answer):
    """A line of a batch that was refused, and why."""

    line: int | None
    error: str
    field: str | None = None
    value: Any = None


class Ignored(Answer):
    """A line taken into the log that changed nothing (a duplicate, a report after its end)."""

    line: int
    why: str | None


class IngestAnswer(Answer):
    """A sensor's batch: what was accepted, ignored and rejected, and the decisions it made."""

    accepted: int
    rejected: list[Rejection]
    ignored: list[Ignored]
    decisions: int
    first_decision_seq: int | None
    last_decision_seq: int | None
    replayed: bool | None = None  # set on a retried batch answered from its first answer


class Queued(Answer):
    """A write the bus stored but no engine answered in time (HTTP 202): it will be applied
    once, by whichever engine leads; a retry with the same Idempotency-Key is safe. Not an
    error: an answer of its own, which a `Writer` on a bus may give for any write."""

    queued: bool = True
    request: str
    note: str

    @classmethod
    def waited(cls, request_id: str, waited_s: float) -> Queued:
        return cls(
            queued=True,
            request=request_id,
            note=f"stored on the bus as request {request_id}, but no engine answered "
            f"within {waited_s:g} s (a failover?); it will be applied once",
        )


# -- operators -------------------------------------------------------------------------------


class MessageSummary(Answer):
    """A CAP message a step issued."""

    identifier: str
    msg_type: str
    level: str
    status: str
    kind: str | None
    sent: str
    zones: list[str]
    references: list[str]
    source: str | None = None  # a relayed feed's message


class ReachView(Answer):
    """Where an operator's action lands, and whether the blast-radius guard holds it."""

    zones: list[str]
    area_km2: float
    implied_km2: float | None
    regions: list[str]
    held: bool
    why: list[str]
    zone_count: int


class ActionAnswer(Answer):
    """An operator's action: held for confirmation (`pending`, with where to confirm it and
    why) or sent (with the CAP messages and decisions it made)."""

    id: str
    state: Literal["pending", "sent"]
    action: str
    status: str
    reach: ReachView
    confirm: str | None = None
    why: str | None = None
    messages: list[MessageSummary] | None = None
    decisions: list[int] | None = None


class CancelAnswer(Answer):
    """An alert cancelled: the zones it cleared, the CAP Cancel and the decisions."""

    cancelled: str
    zones: list[str]
    messages: list[MessageSummary]
    decisions: list[int]


class AuditEntry(Answer):
    """One entry of the audit log."""

    id: int
    t_ms: int
    who: str | None
    role: str | None
    action: str
    reason: str | None
    detail: Any


class ThreatView(Answer):
    """A threat in flight: last position, predicted region (GeoJSON, WGS84) and the zones it
    holds."""

    id: str
    sensor: str | None
    threat: str
    kind: str
    t: str | None
    lat: float | None
    lon: float | None
    alt_m: float | None
    alert_zones: int
    pre_alert_zones: int
    region: dict[str, Any] | None


# -- CAP from other agencies -----------------------------------------------------------------


class InboundAnswer(Answer):
    """A CAP message from another agency: taken (applied, kept or held), a duplicate, or an
    operator's approval or rejection of a held one; and as the listing shows it."""

    id: int | None = None
    identifier: str
    sender: str
    status: str
    msg_type: str
    zones: list[str]
    state: str
    applied: bool
    trust: str | None = None
    why: str | None = None
    posted_by: str | None = None
    decided_by: str | None = None
    received: str | None = None
    decided: str | None = None
    duplicate: bool | None = None
    messages: list[MessageSummary] | None = None


class InboundMessage(InboundAnswer):
    """One inbound message with its XML as received."""

    xml: str


# -- public ----------------------------------------------------------------------------------


class ActiveAlert(Answer):
    """A warning in force: an open CAP message and its zones' current levels."""

    identifier: str
    sent: str
    status: str
    zones: list[str]
    levels: dict[str, str]
    source: str | None = None  # a relayed feed's


class DrillView(Answer):
    """A drill or test on a zone, apart from its real level."""

    status: str
    kind: str
    level: str


class ZoneView(Answer):
    """A zone and its current level (and what drills and relayed feeds hold there)."""

    id: str
    name: str | None
    region: str | None
    shelter_s: int
    level: str
    drill: DrillView | None
    relayed: dict[str, str] | None = None


class HistoryPage(Answer):
    """Past decisions, newest first (Contract v1 decisions), and where the next page starts."""

    decisions: list[dict[str, Any]]
    next_before_seq: int | None
    hint: str | None = None  # nothing matched, and `kind` is close to a threat kind


class GeoJSON(BaseModel):
    """A GeoJSON object (RFC 7946): a FeatureCollection or a Feature. Documented only: the
    routes send the document as it is."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection", "Feature"]
    features: list[dict[str, Any]] | None = None
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    attribution: str | None = None


class Health(Answer):
    """Is the service up, and how far is its log. It answers while the process runs; `ok` is
    false, and `problems` names each, where `/readyz` would answer 503."""

    ok: bool
    problems: list[str]
    last_seq: int
    event_seq: int
    zones: int
    clock: str
    live_clients: int
    lab: bool
    bus: dict[str, Any] | None = None
    sources: dict[str, str] | None = None
    stale_sources: list[str] | None = None


class Readiness(Answer):
    """Whether this process can be trusted with readers now (`/readyz`: 200, else 503)."""

    ready: bool
    problems: list[str]


class MapSettings(Answer):
    """What the pages' maps may show beside the offline base map."""

    tiles: str | None
    tiles_attribution: str | None
    attribution: str | None


class SessionAnswer(Answer):
    """Who the console's session signs in, and the CSRF token its writes carry."""

    name: str
    role: str
    csrf: str


# -- the channels' own endpoints -------------------------------------------------------------


class WebhookCreated(Answer):
    """A new webhook subscriber, with its signing secret (shown this once)."""

    id: int
    name: str
    url: str
    zones: list[str] | None
    statuses: list[str]
    after_seq: int
    secret: str
    signature: str


class WebhookSubscriber(Answer):
    """A webhook subscriber and how its deliveries stand."""

    id: int
    name: str
    url: str
    zones: list[str] | None
    statuses: list[str]
    created: str
    created_by: str | None
    seen_seq: int
    deliveries: dict[str, int]


class WebhookDeleted(Answer):
    id: int
    deleted: bool


class DeadLetter(Answer):
    """A delivery given up on."""

    webhook_id: str
    first_seq: int
    last_seq: int
    attempts: int
    last_error: str | None
    queued: str
    given_up: str | None
    payload: Any


class WebhookReplay(Answer):
    id: int
    queued: int


class PushKey(Answer):
    """The server's VAPID public key (applicationServerKey)."""

    key: str


class PushPoint(Answer):
    lat: float
    lon: float


class PushSubscribed(Answer):
    """A browser's subscription as stored: the zones its pushes are for."""

    endpoint: str
    zones: list[str]
    point: PushPoint | None
    lang: str
    drills: bool
    created: bool


# -- relayed feeds (airwarn.follow) ------------------------------------------------------------


class RelayFollower(Answer):
    """How this process's follower of a source is doing."""

    polls: int
    not_modified: int
    errors: int
    last_error: str | None
    note: str | None
    last_answer: str | None


class RelaySource(Answer):
    """A relayed official feed: its health, and how many zones it holds."""

    name: str
    state: str
    since: str
    why: str | None
    url: str | None
    current: bool
    zones: int
    here: RelayFollower | None = None


class Relays(Answer):
    """The relayed feeds, those not current, and per zone what each source holds."""

    sources: list[RelaySource]
    not_current: list[str]
    zones: dict[str, dict[str, str]]


class RelayOverride(Answer):
    """An operator's override of a relayed feed's alert: the zones it acted on."""

    source: str
    action: str
    zones: list[str]
    decisions: list[int]
    messages: list[MessageSummary] | None = None
