"""Fuzzing at the HTTP boundary: the API driven from its own OpenAPI document by schemathesis.

No request may get a 5xx, and a rejected one (any status from 400 up, or a batch of events that
accepts no line) must change nothing: not a row of the store, not the engine's levels, drills,
clock or decision numbers; only the audit log may keep the refused attempt (an entry whose
action ends in `.refused`). Generated calls carry the token of the role each operation needs;
two more runs carry no token and a token of the wrong role. The streams never end, so they are
left out of the generated calls and probed by hand, with a few hostile bodies and headers.
Each hand-written case pins a bug the fuzzing once found (control characters reaching CAP,
integers past 64 bits, nesting, bytes that are not UTF-8, unbounded polygons and keys).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from conftest import at, open_service
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from airwarn.service import Service
from airwarn.store.tokens import ROLES, create_token
from airwarn.web import WebSettings, create_app
from airwarn.web.errors import ErrorBody

NEEDS = {  # the role each guarded operation needs; the others are public reads
    "/v1/events": "sensor",
    "/v1/cap": "sensor",
    "/v1/actions": "operator",
    "/v1/actions/{action_id}/confirm": "operator",
    "/v1/alerts/{identifier}/cancel": "operator",
    "/v1/audit": "admin",
    "/v1/inbound-cap": "operator",
    "/v1/inbound-cap/{inbound_id}": "operator",
    "/v1/inbound-cap/{inbound_id}/approve": "operator",
    "/v1/inbound-cap/{inbound_id}/reject": "operator",
    "/v1/webhooks": "admin",
    "/v1/webhooks/{subscriber_id}": "admin",
    "/v1/webhooks/{subscriber_id}/dead": "admin",
    "/v1/webhooks/{subscriber_id}/replay": "admin",
}
READ_WITH_TOKEN = {  # the alerts.in.ua-style API wants a token (any role may read)
    "/v1/alerts/active.json",
    "/{version}/iot/active_air_raid_alerts_by_oblast.json",
    "/{version}/iot/active_air_raid_alerts.json",
    "/{version}/iot/active_air_raid_alerts/{uid}.json",
    "/v1/regions/{uid}/alerts/{period}.json",
}
WRONG_ROLE = {"sensor": "reader", "operator": "sensor", "admin": "operator"}
STREAMS = r"^/v1/(stream|ws)$"
CHECKS = [
    not_a_server_error,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 15  # per operation, phase and mode; derandomized: each run sends the same requests
GUARDED_EXAMPLES = 5
TABLES = {
    "event_log": "seq",
    "decision_log": "seq",
    "cap_message": "seq",
    "api_token": "id",
    "inbound_cap": "id",
    "ingest_batch": "key",
    "operator_action": "id",
    "webhook_subscriber": "id",
    "webhook_delivery": "id",
    "push_subscription": "id",
    "push_outbox": "id",
}
SENT = Counter[str]()


@dataclass
class Fuzzed:
    """One service behind one app, with a token for every role."""

    service: Service
    app: Any
    tokens: dict[str, str]

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


def serve(service: Service, keys: Path) -> Fuzzed:
    """The app with every channel's endpoints (webhooks, Web Push) mounted."""
    from airwarn.channels.webhooks import WebhookChannel
    from airwarn.channels.webpush import PushChannel

    tokens = {role: create_token(service.db, role, f"{role}-1", 0) for role in ROLES}
    app = create_app(
        service,
        WebSettings(heartbeat_s=0.2, rate_burst=10**6, rate_per_s=10**6),
        channels=[WebhookChannel(), PushChannel(keys)],
    )
    return Fuzzed(service, app, tokens)


def state(service: Service) -> dict[str, Any]:
    """What a rejected request must leave alone: the store's rows and the engine's memory."""
    with service.db.connect() as db:
        rows = {
            table: tuple(db.execute(sa.text(f"SELECT count(*), max({key}) FROM {table}")).one())  # noqa: S608 - fixed names
            for table, key in TABLES.items()
        }
        rows["operator_action.state"] = tuple(
            sorted(
                db.execute(
                    sa.text("SELECT state, count(*) FROM operator_action GROUP BY state")
                ).all()
            )
        )
        rows["api_token.revoked"] = db.execute(
            sa.text("SELECT count(*) FROM api_token WHERE revoked_ms IS NOT NULL")
        ).scalar()
        # refused attempts are audited: what a rejection may add is checked apart
        rows["audit_log.kept"] = tuple(
            db.execute(
                sa.text("SELECT count(*) FROM audit_log WHERE action NOT LIKE '%.refused'")
            ).one()
        )
    engine = service.engine
    return {
        "store": rows,
        "seq": engine.seq,
        "clock_ms": engine.clock_ms,
        "levels": engine.levels(),
        "drills": engine.drills(),
        "open": dict(service.chain.open),
    }


def rejected(status: int, path: str, body: Any) -> bool:
    """A request the API turned down: an error status, or a batch that accepted no line."""
    if status >= 400:
        return True
    return (
        path == "/v1/events"
        and isinstance(body, dict)
        and body.get("accepted") == 0
        and not body.get("replayed")
    )


# -- the generated runs ------------------------------------------------------------------------


def call_checked(case: Any, fuzzed: Fuzzed, role: str | None) -> Any:
    """Send a generated request; check it got no 5xx, matched the schema where the schema says
    anything, and, if it was turned down, changed nothing."""
    before = state(fuzzed.service)
    headers = fuzzed.auth(role)
    response = case.call(headers=headers)
    SENT[case.operation.label] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    if rejected(response.status_code, case.operation.path, body):
        after = state(fuzzed.service)
        assert after == before, (
            f"{case.operation.label} answered {response.status_code} "
            f"and still changed something: {response.text[:300]}"
        )
    return response


def fuzz_schema(fuzzed: Fuzzed, examples: int) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=examples,
        deterministic=True,
    )
    return schema


@pytest.fixture(scope="module")
def fuzzed(grid, signing_keys, tmp_path_factory) -> Iterator[Fuzzed]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "airwarn.db"
    served = serve(open_service(grid, f"sqlite:///{path}", signing_keys), path.parent / "keys")
    yield served
    print(
        f"\ngenerated requests sent on SQLite: {sum(SENT.values())} "
        f"({', '.join(f'{op}: {n}' for op, n in sorted(SENT.items()))})"
    )
    served.service.db.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> Any:
    return fuzz_schema(fuzzed, EXAMPLES)


@pytest.fixture(scope="module")
def guarded_api_schema(fuzzed: Fuzzed) -> Any:
    return fuzz_schema(fuzzed, GUARDED_EXAMPLES)


FUZZ_SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=STREAMS)
guarded = schemathesis.pytest.from_fixture("guarded_api_schema").include(path=list(NEEDS))
with_token = schemathesis.pytest.from_fixture("guarded_api_schema").include(
    path=sorted(READ_WITH_TOKEN)
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_generated_requests_get_no_server_error_and_rejected_ones_change_nothing(
    case: Any, fuzzed: Fuzzed
) -> None:
    path = case.operation.path
    call_checked(case, fuzzed, NEEDS.get(path) or ("reader" if path in READ_WITH_TOKEN else None))


@guarded.parametrize()
@FUZZ_SETTINGS
def test_generated_requests_without_a_token_are_refused_and_change_nothing(
    case: Any, fuzzed: Fuzzed
) -> None:
    response = call_checked(case, fuzzed, None)
    _assert_refused(case, response, 401)


@guarded.parametrize()
@FUZZ_SETTINGS
def test_generated_requests_with_the_wrong_role_are_refused_and_change_nothing(
    case: Any, fuzzed: Fuzzed
) -> None:
    response = call_checked(case, fuzzed, WRONG_ROLE[NEEDS[case.operation.path]])
    _assert_refused(case, response, 403)


@with_token.parametrize()
@FUZZ_SETTINGS
def test_generated_reads_of_the_alerts_in_ua_api_without_a_token_are_refused(
    case: Any, fuzzed: Fuzzed
) -> None:
    response = call_checked(case, fuzzed, None)
    _assert_refused(case, response, 401)


def _assert_refused(case: Any, response: Any, status: int) -> None:
    # a method the path does not take is refused as such; a body that is not JSON at all is
    # turned down while it is read, before the token is looked at; anything else must be
    # refused for the token
    if case.method.upper() != case.operation.method.upper():
        status = 405
    unreadable = case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE
    # (negative cases may also spoil the Authorization header the document now declares)
    allowed = {status, 400, 401, 422} if unreadable else {status}
    assert response.status_code in allowed, response.text[:300]


# -- by hand: streams and hostile input --------------------------------------------------------


@pytest.fixture
def api(grid, tmp_path, signing_keys) -> Iterator[tuple[TestClient, Fuzzed]]:
    served = serve(
        open_service(grid, f"sqlite:///{tmp_path / 'airwarn.db'}", signing_keys), tmp_path / "keys"
    )
    with TestClient(served.app) as http:
        yield http, served
    served.service.db.dispose()


def first_sse_event(http: TestClient, **kwargs: Any) -> tuple[int, str]:
    with http.stream("GET", "/v1/stream", **kwargs) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, response.text
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
        return 200, "\n".join(lines)


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", ""])
def test_the_stream_refuses_a_bad_since_with_a_clear_422(api, since: str) -> None:
    http, _ = api
    status, text = first_sse_event(http, params={"since": since})
    assert status == 422 and "since" in json.loads(text)["error"]


@pytest.mark.parametrize("last_event_id", ["garbage", "-5", " ", "12abc", "\u00b2"])
def test_the_stream_ignores_a_garbage_last_event_id(api, last_event_id: str) -> None:
    http, _ = api
    status, text = first_sse_event(http, headers={"Last-Event-ID": last_event_id.encode("latin-1")})
    assert status == 200 and "event: heartbeat" in text


def test_the_stream_refuses_a_last_event_id_longer_than_a_seq(api) -> None:
    http, _ = api
    status, text = first_sse_event(http, headers={"Last-Event-ID": "1" * 21})
    assert status == 422 and "Last-Event-ID" in json.loads(text)["error"]


@pytest.mark.parametrize("since", ["-1", "abc"])
def test_the_websocket_closes_on_a_bad_since_with_a_policy_violation(api, since: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    http, _ = api
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        http.websocket_connect(f"/v1/ws?since={since}") as socket,
    ):
        socket.receive_json()
    assert closed.value.code == 1008


HUGE = str(2**63)  # one past the largest integer SQLite and PostgreSQL store


@pytest.mark.parametrize("path", [f"/v1/audit?after_id={HUGE}", f"/v1/history?before_seq={HUGE}"])
def test_an_integer_past_64_bits_in_a_query_is_a_clear_422(api, path: str) -> None:
    http, served = api
    before = state(served.service)
    answer = http.get(path, headers=served.auth("admin"))
    assert answer.status_code == 422, answer.text
    assert state(served.service) == before


@pytest.mark.parametrize("how", ["since", "Last-Event-ID"])
def test_a_resume_point_past_64_bits_is_refused_before_the_stream_starts(api, how: str) -> None:
    http, _ = api
    kwargs: dict[str, Any] = (
        {"params": {"since": HUGE}} if how == "since" else {"headers": {"Last-Event-ID": HUGE}}
    )
    with http.stream("GET", "/v1/stream", **kwargs) as response:
        if response.status_code == 422:
            return
        # served: the backlog must be read without error, up to the second heartbeat
        heartbeats = 0
        for line in response.iter_lines():
            heartbeats += line.startswith("event: heartbeat")
            if heartbeats == 2:
                break


def post_raw(
    http: TestClient, served: Fuzzed, path: str, body: Any, role: str, **headers: Any
) -> Any:
    return http.post(
        path,
        content=body,
        headers={**served.auth(role), "Content-Type": "application/json", **headers},
    )


def assert_refused_and_nothing_changed(
    answer: Any, before: dict[str, Any], service: Service
) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert answer.json().get("error") or answer.json().get("detail"), answer.text[:300]
    assert state(service) == before


def assert_events_all_rejected(answer: Any, before: dict[str, Any], service: Service) -> None:
    assert answer.status_code == 422, answer.text[:300]  # nothing taken: not a success
    result = answer.json()
    assert result["accepted"] == 0 and result["rejected"], result
    assert all(r["error"] for r in result["rejected"])
    assert state(service) == before


@pytest.mark.parametrize(
    ("path", "role"), [("/v1/events", "sensor"), ("/v1/actions", "operator"), ("/v1/cap", "sensor")]
)
def test_a_body_over_the_limit_is_refused_with_413(api, path: str, role: str) -> None:
    http, served = api
    before = state(served.service)
    big = b'{"reason": "' + b"x" * (9 * 1024 * 1024) + b'"}'  # over the 8 MiB default
    answer = post_raw(http, served, path, big, role)
    assert_refused_and_nothing_changed(answer, before, served.service)
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("path", "role"),
    [("/v1/events", "sensor"), pytest.param("/v1/actions", "operator"), ("/v1/cap", "sensor")],
)
def test_a_body_over_the_limit_sent_in_chunks_is_refused_with_413(
    api, path: str, role: str
) -> None:
    http, served = api
    before = state(served.service)
    big = b'{"reason": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    chunks = iter([big[:5_000_000], big[5_000_000:]])  # no Content-Length
    answer = post_raw(http, served, path, chunks, role)
    assert_refused_and_nothing_changed(answer, before, served.service)
    assert answer.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"action":"alert","reason":"deep","area":'
        + b'{"a":' * 50_000
        + b"1"
        + b"}" * 50_000
        + b"}",
    ],
)
def test_deeply_nested_json_for_an_action_is_refused_and_changes_nothing(api, body: bytes) -> None:
    http, served = api
    before = state(served.service)
    assert_refused_and_nothing_changed(
        post_raw(http, served, "/v1/actions", body, "operator"), before, served.service
    )


def test_deeply_nested_json_arrays_in_a_batch_are_rejected_lines(api) -> None:
    http, served = api
    before = state(served.service)
    answer = post_raw(http, served, "/v1/events", b"[" * 100_000 + b"]" * 100_000, "sensor")
    assert_events_all_rejected(answer, before, served.service)


def test_deeply_nested_json_objects_in_a_batch_are_rejected_lines(api) -> None:
    http, served = api
    before = state(served.service)
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert_events_all_rejected(
        post_raw(http, served, "/v1/events", body, "sensor"), before, served.service
    )


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00\x00",
        b'{"type":"tick","t":"2026-03-01T18:00:00Z\x00"}',
        b'{"type":"tick",\x00"t":"2026-03-01T18:00:00Z"}',
    ],
)
def test_nul_bytes_in_a_batch_are_rejected_lines(api, body: bytes) -> None:
    http, served = api
    before = state(served.service)
    assert_events_all_rejected(
        post_raw(http, served, "/v1/events", body, "sensor"), before, served.service
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "manual", "action": "alert", "zones": ["r0c0"], "reason": "a\u0000b"},
        {"type": "manual", "action": "alert", "zones": ["r0c0"], "reason": "bell\u0007"},
        {"type": "manual", "action": "alert", "zones": ["r0c0"], "category": "\u0000x"},
        {"type": "track", "threat": "T\u0000", "kind": "drone", "lat": 31.45, "lon": 34.7},
    ],
    ids=["nul-reason", "bel-reason", "nul-category", "nul-threat"],
)
def test_a_control_character_in_an_event_is_refused_and_changes_nothing(api, event) -> None:
    http, served = api
    before = state(served.service)
    body = json.dumps({**event, "t": at(0)}).encode()
    answer = post_raw(http, served, "/v1/events", body, "sensor")
    assert_events_all_rejected(answer, before, served.service)


def test_a_control_character_in_an_action_reason_is_refused_and_changes_nothing(api) -> None:
    http, served = api
    before = state(served.service)
    answer = http.post(
        "/v1/actions",
        json={"action": "alert", "status": "exercise", "zones": ["r0c0"], "reason": "drill\u0000"},
        headers=served.auth("operator"),
    )
    assert_refused_and_nothing_changed(answer, before, served.service)


@pytest.mark.parametrize(
    "body",
    [pytest.param(b'{"type":"tick","t":"\xff\xfe"}'), b"\xc3\x28\n\xa0\xa1"],
    ids=["in-a-string", "bare"],
)
def test_bytes_that_are_not_utf8_in_a_batch_are_rejected_lines(api, body: bytes) -> None:
    http, served = api
    before = state(served.service)
    assert_events_all_rejected(
        post_raw(http, served, "/v1/events", body, "sensor"), before, served.service
    )


def test_bytes_that_are_not_utf8_in_an_action_are_refused(api) -> None:
    http, served = api
    before = state(served.service)
    body = b'{"action":"alert","reason":"\xff\xfe\xfd","zones":["r0c0"]}'
    assert_refused_and_nothing_changed(
        post_raw(http, served, "/v1/actions", body, "operator"), before, served.service
    )


@pytest.mark.parametrize(
    "zones",
    [["r0c0"] * 5001, [f"nowhere-{i}" for i in range(5000)]],
    ids=["5001-zones", "5000-unknown-zones"],
)
def test_a_huge_zones_list_is_refused_and_changes_nothing(api, zones: list[str]) -> None:
    http, served = api
    before = state(served.service)
    answer = http.post(
        "/v1/actions",
        json={"action": "alert", "reason": "many", "zones": zones},
        headers=served.auth("operator"),
    )
    assert_refused_and_nothing_changed(answer, before, served.service)
    assert "$.zones" in answer.text


def test_a_polygon_of_100k_vertices_is_refused_and_changes_nothing(api) -> None:
    http, served = api
    n = 100_000
    ring = [
        [34.7 + 0.05 * math.cos(2 * math.pi * i / n), 31.5 + 0.05 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    ring.append(ring[0])
    before = state(served.service)
    answer = http.post(
        "/v1/actions",
        json={
            "action": "alert",
            "status": "exercise",
            "reason": "a drawn circle",
            "area": {"type": "Polygon", "coordinates": [ring]},
        },
        headers=served.auth("operator"),
    )
    assert_refused_and_nothing_changed(answer, before, served.service)


def test_an_idempotency_key_over_200_characters_is_a_clear_422(api) -> None:
    http, served = api
    before = state(served.service)
    answer = post_raw(
        http,
        served,
        "/v1/events",
        b'{"type":"tick","t":"' + at(0).encode() + b'"}',
        "sensor",
        **{"Idempotency-Key": "k" * 201},
    )
    assert_refused_and_nothing_changed(answer, before, served.service)
    assert "idempotency-key" in answer.json()["error"].lower()


@pytest.mark.parametrize(
    "key",
    [b"a\r\nX-Injected: 1", b"a\nb", b"\x00", b"\xe9\x7f"],
    ids=["crlf-header", "lf", "nul", "latin1-del"],
)
def test_an_idempotency_key_with_control_characters_is_a_clear_422(api, key: bytes) -> None:
    http, served = api
    before = state(served.service)
    answer = post_raw(
        http,
        served,
        "/v1/events",
        b'{"type":"tick","t":"' + at(0).encode() + b'"}',
        "sensor",
        **{"Idempotency-Key": key},
    )
    assert "x-injected" not in answer.headers
    assert_refused_and_nothing_changed(answer, before, served.service)


def test_a_batch_that_accepts_nothing_keeps_nothing_under_its_key(api) -> None:
    http, served = api
    before = state(served.service)
    bad = b'{"type":"tick","t":"yesterday"}'
    answer = post_raw(http, served, "/v1/events", bad, "sensor", **{"Idempotency-Key": "b-1"})
    assert_events_all_rejected(answer, before, served.service)
    good = b'{"type":"tick","t":"' + at(0).encode() + b'"}'
    retried = post_raw(http, served, "/v1/events", good, "sensor", **{"Idempotency-Key": "b-1"})
    assert retried.json()["accepted"] == 1


# -- what the OpenAPI document says ----------------------------------------------------------


def test_the_openapi_document_declares_every_status_the_api_answers(api) -> None:
    http, served = api
    answers = {
        ("post", "/v1/events"): [
            http.post("/v1/events", content=b"{}").status_code,
            post_raw(http, served, "/v1/events", b"{}", "reader").status_code,
            post_raw(http, served, "/v1/events", b" " * (9 * 1024 * 1024), "sensor").status_code,
        ],
        ("post", "/v1/actions/{action_id}/confirm"): [
            http.post("/v1/actions/act-none/confirm", headers=served.auth("operator")).status_code,
            post_raw(http, served, "/v1/actions/x/confirm", b"\xff", "operator").status_code,
        ],
        ("post", "/v1/alerts/{identifier}/cancel"): [
            http.post(
                "/v1/alerts/none/cancel", json={"reason": "none"}, headers=served.auth("operator")
            ).status_code
        ],
        ("get", "/v1/zones/{zone_id}"): [http.get("/v1/zones/nowhere").status_code],
        ("get", "/v1/zones/at"): [http.get("/v1/zones/at?lat=0&lon=0").status_code],
        ("get", "/v1/cap/{identifier}"): [http.get("/v1/cap/none").status_code],
        ("post", "/v1/cap"): [
            http.post("/v1/cap", content=b"", headers=served.auth("sensor")).status_code
        ],
        ("get", "/v1/audit"): [http.get("/v1/audit", headers=served.auth("reader")).status_code],
    }
    document = http.get("/openapi.json").json()
    undeclared = {
        f"{method.upper()} {path}": sorted(
            set(codes) - {int(code) for code in document["paths"][path][method]["responses"]}
        )
        for (method, path), codes in answers.items()
    }
    assert {op: codes for op, codes in undeclared.items() if codes} == {}
    assert document.get("components", {}).get("securitySchemes")
    error = http.get("/v1/zones/at?lat=95&lon=0").json()
    declared = document["paths"]["/v1/zones/at"]["get"]["responses"]["422"]
    assert declared["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    # what the declared ErrorBody promises, to the letter
    assert ErrorBody.model_validate(error).model_dump(exclude_none=True) == error
    assert error["field"] == "lat" and error["value"] == "95"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/webhooks/9223372036854775808/dead"),
        ("DELETE", "/v1/webhooks/9223372036854775808"),
        ("POST", "/v1/webhooks/0/replay"),
    ],
)
def test_a_webhook_id_outside_64_bits_is_refused_as_input(api, method: str, path: str) -> None:
    # found by the fuzzer: such an id reached SQLite and overflowed (a 500)
    http, served = api
    before = state(served.service)
    answer = http.request(
        method,
        path,
        headers=served.auth("admin"),
        json={"dead": True} if method == "POST" else None,
    )
    assert answer.status_code == 422, answer.text
    # a part of the URL is named as a query parameter is, by its name (a body field: `$.name`)
    assert answer.json()["field"] == "subscriber_id", answer.text
    assert answer.json()["errors"][0]["location"] == "path", answer.text
    assert state(served.service) == before
