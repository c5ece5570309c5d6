"""Webhooks as a receiver sees them: a real HTTP server on this machine, signed deliveries for
its zones only, retries, dead letters and replay, and a restart that still delivers what was
owed; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import end, manual, open_service, operate, post_feed
from fastapi.testclient import TestClient
from test_engine import rocket_reports

from airwarn.channels.webhook_signature import verify
from airwarn.channels.webhooks import WebhookChannel, backoff_s, judge, parse_retry_after
from airwarn.service import Service
from airwarn.store.tokens import create_token
from airwarn.web import WebSettings, create_app

LAUNCH, TARGET = (31.20, 34.50), (31.575, 34.725)  # a rocket that lands in zone r3c2


# -- a receiver ----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    answer: int | str  # the status answered, or "timeout" when it answered too late

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def signature_ok(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver's check, written as docs/webhooks.md tells receivers to."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    t = int(parts["t"])
    if abs(time.time() - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: per path a secret it checks signatures with (a bad
    signature gets 401) and a script of answers (status, headers, delay_s) for the next
    requests, then 200."""

    secrets: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, list[tuple[int, dict[str, str], float]]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)  # paths that answer 500 until removed
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers, delay_s = receiver.answer(self.path, dict(self.headers), body)
                record = Received(
                    self.path,
                    dict(self.headers),
                    body,
                    time.monotonic(),
                    status if delay_s == 0 else "timeout",
                )
                with receiver.lock:
                    receiver.requests.append(record)
                if delay_s:
                    time.sleep(delay_s)
                with suppress(OSError):  # the sender may have given up waiting
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], float]:
        secret = self.secrets.get(path)
        if secret is None or not signature_ok(secret, headers["Airwarn-Signature"], body):
            return 401, {}, 0.0
        with self.lock:
            script = self.scripts.get(path)
            if script:
                return script.pop(0)
        if path in self.failing:
            return 500, {}, 0.0
        return 200, {}, 0.0

    def got(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def delivered(self, path: str) -> list[Received]:
        return [r for r in self.got(path) if r.answer == 200]

    def decisions(self, path: str) -> list[dict[str, Any]]:
        return [d for r in self.delivered(path) for d in r.json["decisions"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.serve()
    yield server
    server.server.shutdown()
    server.server.server_close()


# -- airwarn with the channel ----------------------------------------------------------------


@dataclass
class Hooks:
    http: TestClient
    service: Service
    channel: WebhookChannel
    admin: dict[str, str]
    sensor: dict[str, str]

    def subscribe(self, receiver: Receiver, path: str, **body: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/v1/webhooks",
            json={"name": path.strip("/"), "url": receiver.url(path), **body},
            headers=self.admin,
        )
        assert answer.status_code == 201, answer.text
        receiver.secrets[path] = answer.json()["secret"]
        return dict(answer.json())

    def post(self, *events: Any, role: str = "sensor") -> dict[str, Any]:
        """Sensor events on /v1/events, manual actions through /v1/actions (by the admin)."""
        answers = post_feed(
            self.http, list(events), self.admin if role == "admin" else self.sensor, self.admin
        )
        assert all(not answer["rejected"] for answer in answers), answers
        return answers[-1]


def make_channel(**options: Any) -> WebhookChannel:
    # the receivers are on this machine: a closed network's settings
    settings = {
        "timeout_s": 2.0,
        "max_attempts": 4,
        "backoff_s": 0.05,
        "max_backoff_s": 0.5,
        "poll_s": 0.1,
        "allow_private_targets": True,
        **options,
    }
    return WebhookChannel(**settings)


@contextmanager
def running(service: Service, channel: WebhookChannel) -> Iterator[Hooks]:
    # fresh names: a restarted service keeps the tokens of the one before it
    tokens = {
        role: create_token(service.db, role, f"{role}-{uuid.uuid4().hex[:8]}", 0)
        for role in ("admin", "sensor")
    }
    app = create_app(service, WebSettings(heartbeat_s=5, rate_burst=10_000), channels=[channel])
    with TestClient(app) as http:
        yield Hooks(
            http,
            service,
            channel,
            {"Authorization": f"Bearer {tokens['admin']}"},
            {"Authorization": f"Bearer {tokens['sensor']}"},
        )


@pytest.fixture
def service(grid, store_url, signing_keys) -> Iterator[Service]:
    service = open_service(grid, store_url, signing_keys, hold_s=0)
    yield service
    service.db.dispose()


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def logged(service: Service) -> list[dict[str, Any]]:
    """Every decision in the service's log, as Contract v1 objects (its DecisionLog)."""
    return [json.loads(body) for _, body in service.log.decisions(0, 1_000_000)]


def settled(hooks: Any, last_seq: int) -> bool:
    """Every subscriber's mark is at `last_seq` (the channel has read the log that far) and
    none has a delivery pending: what was not sent by now will not be (GET /v1/webhooks)."""
    listed = hooks.http.get("/v1/webhooks", headers=hooks.admin).json()
    return all(s["seen_seq"] >= last_seq and s["deliveries"]["pending"] == 0 for s in listed)


def outbox(service: Service) -> list[dict[str, Any]]:
    with service.db.connect() as db:
        return [
            dict(row)
            for row in db.execute(
                sa.text(
                    "SELECT subscriber_id, key, attempts, state, last_error FROM webhook_delivery "
                    "ORDER BY id"
                )
            ).mappings()
        ]


def raid() -> tuple[list[Any], Any]:
    events, impact = rocket_reports(LAUNCH, TARGET)
    return events, end("R1", impact.t_s + 1)


# -- what a receiver gets --------------------------------------------------------------------


def test_a_raid_reaches_each_subscriber_for_its_zones_and_lanes_and_no_others(
    service, receiver
) -> None:
    with running(service, make_channel()) as hooks:
        hooks.subscribe(receiver, "/impact", zones=["r3c2", "r0c0"])
        far = hooks.subscribe(receiver, "/far", zones=["r0c0", "r5c5"])
        hooks.subscribe(receiver, "/all")
        hooks.subscribe(receiver, "/drills", zones=["r3c2"], statuses=["exercise"])
        tracks, ending = raid()
        hooks.post(*tracks)
        hooks.post(ending)
        hooks.post(manual("alert", 200, zones=["r3c2"], status="exercise"), role="admin")
        decisions = logged(service)
        real = [d for d in decisions if "status" not in d]
        wanted = {
            "/impact": [d for d in real if d["zone"] in ("r3c2", "r0c0")],
            "/all": real,
            "/drills": [d for d in decisions if d.get("status") == "exercise"],
        }
        assert len(wanted["/impact"]) == 2 and len(wanted["/drills"]) == 1
        assert len(real) > len(wanted["/impact"])  # the raid reached other zones too
        wait_until(lambda: all(len(receiver.decisions(p)) >= len(w) for p, w in wanted.items()))
        # the receiver answers before the sender records it: wait for the records too
        wait_until(lambda: all(d["state"] == "delivered" for d in outbox(service)))
        for path, want in wanted.items():
            assert receiver.decisions(path) == want, path
        # the far subscriber's zones saw nothing: nothing was queued for it, nothing sent
        assert receiver.got("/far") == []
        listed = {s["name"]: s for s in hooks.http.get("/v1/webhooks", headers=hooks.admin).json()}
        assert listed["far"]["id"] == far["id"]
        assert listed["far"]["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}
        assert listed["impact"]["deliveries"]["delivered"] == 2  # the alert step, the clear
        assert "secret" not in listed["impact"]

    # each delivery: its id in the header and the body, the CAP messages about its zones
    impact = receiver.delivered("/impact")
    assert [r.headers["Webhook-Id"] for r in impact] == [r.json["id"] for r in impact]
    assert len({r.headers["Webhook-Id"] for r in impact}) == 2
    alert = impact[0].json
    assert [m["msg_type"] for m in alert["messages"]] == ["Alert"]
    assert "r3c2" in alert["messages"][0]["zones"]
    assert alert["messages"][0]["status"] == "Actual"
    drill = receiver.delivered("/drills")[0].json
    assert [m["status"] for m in drill["messages"]] == ["Exercise"]


def test_the_signature_verifies_and_a_tampered_stale_or_foreign_one_does_not(
    grid, tmp_path, signing_keys, receiver
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'sig.db'}", signing_keys)
    with running(service, make_channel()) as hooks:
        mine = hooks.subscribe(receiver, "/mine")
        hooks.subscribe(receiver, "/other")
        receiver.secrets["/other"] = "whsec_not-the-one-airwarn-gave"  # a misconfigured receiver
        hooks.post(manual("alert", 0, zones=["r1c1"]), role="admin")
        wait_until(lambda: receiver.delivered("/mine") != [] and receiver.got("/other") != [])
        sent = receiver.delivered("/mine")[0]
        header, body = sent.headers["Airwarn-Signature"], sent.body
        secret = mine["secret"]
        assert signature_ok(secret, header, body)
        assert verify(secret, header, body)
        tampered = body.replace(b'"alert"', b'"clear"')
        assert tampered != body
        assert not signature_ok(secret, header, tampered)
        assert not verify(secret, header, tampered)
        assert not verify("whsec_wrong", header, body)
        assert not verify(secret, header, body, now=time.time() + 600)  # replayed later
        assert not verify(secret, "v1=" + header.split("v1=")[1], body)  # no time: refused
        # the receiver with another secret refuses (401): no retry can fix that, it is dead
        wait_until(lambda: any(d["state"] == "dead" for d in outbox(service)))
        other = [d for d in outbox(service) if d["state"] == "dead"]
        assert len(other) == 1 and other[0]["attempts"] == 1
        assert "HTTP 401" in other[0]["last_error"]
        assert [r.answer for r in receiver.got("/other")] == [401]
    service.db.dispose()


def test_a_receiver_that_fails_twice_gets_it_on_the_third_attempt_and_later_steps_wait(
    service, receiver
) -> None:
    with running(service, make_channel(timeout_s=0.5)) as hooks:
        hooks.subscribe(receiver, "/flaky")
        # a server error, then no answer in time, then it works
        receiver.scripts["/flaky"] = [(503, {}, 0.0), (200, {}, 3.0)]
        for t, zone in ((0, "r0c0"), (1, "r0c1"), (2, "r0c2")):
            hooks.post(manual("alert", t, zones=[zone]), role="admin")
        wait_until(lambda: len(receiver.delivered("/flaky")) == 3)
        wait_until(lambda: all(d["state"] == "delivered" for d in outbox(service)))
        got = receiver.got("/flaky")
    ids = [r.headers["Webhook-Id"] for r in got]
    assert ids[0] == ids[1] == ids[2] and len(set(ids)) == 3  # the first, three times
    assert [r.headers["Webhook-Attempt"] for r in got] == ["1", "2", "3", "1", "1"]
    assert [r.answer for r in got] == [503, "timeout", 200, 200, 200]
    assert [d["zone"] for d in receiver.decisions("/flaky")] == ["r0c0", "r0c1", "r0c2"]
    seqs = [d["seq"] for d in receiver.decisions("/flaky")]
    assert seqs == sorted(seqs)
    assert got[1].at - got[0].at >= 0.02  # backed off (0.05 s less jitter) before the retry
    assert [(d["attempts"], d["state"]) for d in outbox(service)] == [
        (3, "delivered"),
        (1, "delivered"),
        (1, "delivered"),
    ]


def test_retry_after_is_honoured(grid, tmp_path, signing_keys, receiver) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'later.db'}", signing_keys)
    with running(service, make_channel(max_backoff_s=5)) as hooks:
        hooks.subscribe(receiver, "/busy")
        receiver.scripts["/busy"] = [(429, {"Retry-After": "1"}, 0.0)]
        hooks.post(manual("alert", 0, zones=["r2c2"]), role="admin")
        wait_until(lambda: receiver.delivered("/busy") != [])
        first, second = receiver.got("/busy")
    assert (first.answer, second.answer) == (429, 200)
    assert second.at - first.at >= 0.95  # not the 0.05 s its own backoff would have waited
    service.db.dispose()


def test_a_receiver_that_always_fails_ends_in_the_dead_letters_and_replay_redelivers_it(
    service, receiver
) -> None:
    with running(service, make_channel(max_attempts=3)) as hooks:
        sub = hooks.subscribe(receiver, "/down")
        receiver.failing.add("/down")
        hooks.post(manual("alert", 0, zones=["r4c4", "r4c5"]), role="admin")
        dead_url = f"/v1/webhooks/{sub['id']}/dead"
        wait_until(lambda: hooks.http.get(dead_url, headers=hooks.admin).json() != [])
        dead = hooks.http.get(dead_url, headers=hooks.admin).json()
        assert len(dead) == 1 and dead[0]["attempts"] == 3
        assert "gave up after 3 attempts" in dead[0]["last_error"]
        assert "HTTP 500" in dead[0]["last_error"]
        assert [d["zone"] for d in dead[0]["payload"]["decisions"]] == ["r4c4", "r4c5"]
        assert len(receiver.got("/down")) == 3

        receiver.failing.discard("/down")  # the receiver is fixed
        replay = hooks.http.post(
            f"/v1/webhooks/{sub['id']}/replay", json={"dead": True}, headers=hooks.admin
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["queued"] == 1
        wait_until(lambda: receiver.delivered("/down") != [])
        assert receiver.delivered("/down")[0].headers["Webhook-Id"] == dead[0]["webhook_id"]
        assert hooks.http.get(dead_url, headers=hooks.admin).json() == []

        # from a seq: the same decisions again, under new ids
        first_seq = dead[0]["first_seq"]
        again = hooks.http.post(
            f"/v1/webhooks/{sub['id']}/replay", json={"from_seq": first_seq}, headers=hooks.admin
        )
        assert again.json()["queued"] == 1
        wait_until(lambda: len(receiver.delivered("/down")) == 2)
        once, twice = receiver.delivered("/down")
        assert once.json["decisions"] == twice.json["decisions"]
        assert once.headers["Webhook-Id"] != twice.headers["Webhook-Id"]
        neither = hooks.http.post(f"/v1/webhooks/{sub['id']}/replay", json={}, headers=hooks.admin)
        assert neither.status_code == 422 and "from_seq" in neither.json()["error"]
        audit = hooks.http.get("/v1/audit", headers=hooks.admin).json()
        assert [a["action"] for a in audit if a["action"].startswith("webhook.")] == [
            "webhook.create",
            "webhook.replay",
            "webhook.replay",
        ]


def test_a_restart_delivers_what_was_owed_even_steps_the_channel_never_heard_of(
    grid, store_url, signing_keys, receiver
) -> None:
    first = open_service(grid, store_url, signing_keys, hold_s=0)
    with running(first, make_channel(backoff_s=1, max_backoff_s=1)) as hooks:
        hooks.subscribe(receiver, "/owed", zones=["r0c0", "r0c1", "r5c5"])
        receiver.failing.add("/owed")
        hooks.post(manual("alert", 0, zones=["r0c0", "r2c2"]), role="admin")
        wait_until(lambda: receiver.got("/owed") != [])
    receiver.failing.discard("/owed")
    # the stop let the attempt under way finish and be recorded: every failure is counted
    failed = len(receiver.got("/owed"))  # one, unless a retry came before the stop
    assert [d["attempts"] for d in outbox(first)] == [failed]
    # the engine goes on committing with no channel listening (as if it died between its
    # commit and the outbox write): these decisions are in the log and nowhere else
    operate(
        first,
        manual("alert", 5, zones=["r0c1", "r3c3"]),
        manual("clear", 9, zones=["r0c0", "r0c1", "r2c2", "r3c3"]),
    )
    first.db.dispose()

    second = open_service(grid, store_url, signing_keys, hold_s=0)
    try:
        want = [d for d in logged(second) if d["zone"] in ("r0c0", "r0c1", "r5c5")]
        assert len(want) == 4
        with running(second, make_channel()) as hooks:
            wait_until(lambda: len(receiver.decisions("/owed")) >= len(want))
            # the known last step: the channel has read the log to its end and has nothing
            # left to send, so nothing more comes
            wait_until(lambda: settled(hooks, logged(second)[-1]["seq"]))
        assert receiver.decisions("/owed") == want  # each once, in order
        assert [r.answer for r in receiver.got("/owed")] == [500] * failed + [200] * 3
        assert [(d["attempts"], d["state"]) for d in outbox(second)] == [
            (failed + 1, "delivered"),
            (1, "delivered"),
            (1, "delivered"),
        ]
    finally:
        second.db.dispose()


def test_a_channel_stopped_and_started_again_goes_on_where_it_left_off(
    grid, tmp_path, signing_keys, receiver
) -> None:
    # on a bus, the same process may lose the lead and win it back: one channel, two runs
    service = open_service(grid, f"sqlite:///{tmp_path / 'again.db'}", signing_keys)
    channel = make_channel()
    with running(service, channel) as hooks:
        hooks.subscribe(receiver, "/again")
        hooks.post(manual("alert", 0, zones=["r1c1"]), role="admin")
        wait_until(lambda: len(receiver.delivered("/again")) == 1)
    operate(service, manual("clear", 5, zones=["r1c1"]))
    with running(service, channel) as hooks:
        hooks.post(manual("alert", 9, zones=["r1c2"]), role="admin")
        wait_until(lambda: len(receiver.delivered("/again")) == 3)
    assert [(d["zone"], d["level"]) for d in receiver.decisions("/again")] == [
        ("r1c1", "alert"),
        ("r1c1", "clear"),
        ("r1c2", "alert"),
    ]
    service.db.dispose()


def test_an_unsubscribed_receiver_gets_nothing_more(grid, tmp_path, signing_keys, receiver) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'gone.db'}", signing_keys)
    with running(service, make_channel()) as hooks:
        sub = hooks.subscribe(receiver, "/gone")
        hooks.post(manual("alert", 0, zones=["r1c1"]), role="admin")
        wait_until(lambda: receiver.delivered("/gone") != [])
        deleted = hooks.http.delete(f"/v1/webhooks/{sub['id']}", headers=hooks.admin)
        assert deleted.status_code == 200
        hooks.subscribe(receiver, "/witness")  # told everything from here on
        hooks.post(manual("clear", 5, zones=["r1c1"]), role="admin")
        # the known later event: the clear reached the subscriber that is still there
        wait_until(lambda: receiver.delivered("/witness") != [])
        wait_until(lambda: settled(hooks, logged(service)[-1]["seq"]))
        assert len(receiver.got("/gone")) == 1
        assert [s["name"] for s in hooks.http.get("/v1/webhooks", headers=hooks.admin).json()] == [
            "witness"
        ]
        again = hooks.http.delete(f"/v1/webhooks/{sub['id']}", headers=hooks.admin)
        assert again.status_code == 404
        assert (
            hooks.http.get(f"/v1/webhooks/{sub['id']}/dead", headers=hooks.admin).status_code == 404
        )
    service.db.dispose()


# -- what an administrator may ask ---------------------------------------------------------


def test_bad_subscriptions_get_a_clear_422_and_store_nothing(grid, tmp_path, signing_keys) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'bad.db'}", signing_keys)
    with running(service, make_channel()) as hooks:

        def refused(body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
            answer = hooks.http.post(
                "/v1/webhooks", json=body, headers=hooks.admin if headers is None else headers
            )
            assert answer.status_code != 201, answer.text
            return answer

        good = {"name": "siren-net", "url": "https://example.org/hook"}
        answer = refused({**good, "zones": ["r0c0", "atlantis"]})
        assert answer.status_code == 422
        assert answer.json()["field"] == "$.zones[1]" and answer.json()["value"] == "atlantis"
        assert "GET /v1/zones" in answer.json()["error"]
        for url in ("ftp://example.org/hook", "example.org/hook", "http://", "https:///x"):
            answer = refused({**good, "url": url})
            assert answer.status_code == 422, url
            assert answer.json()["field"] == "$.url"
            assert "http:// or https://" in answer.json()["error"]
        for url in ("http://[::1/hook", "https://example.org/a b\x00"):
            answer = refused({**good, "url": url})
            assert answer.status_code == 422 and answer.json()["field"] == "$.url", url
        answer = refused({**good, "statuses": ["actual", "rehearsal"]})
        assert answer.status_code == 422 and "statuses" in answer.json()["error"]
        assert refused({**good, "zones": []}).status_code == 422
        assert refused({**good, "colour": "red"}).status_code == 422
        assert refused(good, headers={}).status_code == 401
        assert refused(good, headers=hooks.sensor).status_code == 403
        assert hooks.http.get("/v1/webhooks", headers=hooks.sensor).status_code == 403
        assert hooks.http.get("/v1/webhooks", headers=hooks.admin).json() == []
    with service.db.connect() as db:
        # deactivated ones too, which no API lists
        assert db.execute(sa.text("SELECT count(*) FROM webhook_subscriber")).scalar() == 0
    assert [e for e in service.log.audit(limit=5000) if e["action"].startswith("webhook.")] == []
    service.db.dispose()


# -- the retry policy ------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_its_cap_and_waits_for_retry_after() -> None:
    import random

    rng = random.Random(7)
    for attempts, full in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (12, 300.0), (99, 300.0)):
        waits = [backoff_s(attempts, 1.0, 300.0, rng=rng) for _ in range(200)]
        assert all(full / 2 <= w <= full for w in waits), attempts
        assert max(waits) - min(waits) > full / 10  # jittered, not one value
    assert backoff_s(1, 1.0, 300.0, retry_after_s=30) == 30
    assert backoff_s(1, 1.0, 300.0, retry_after_s=9999) == 300  # capped all the same
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412460) == 20
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_which_answers_are_retried() -> None:
    assert judge(204, None).delivered
    for status in (408, 429, 500, 502, 503):
        assert judge(status, None).retry, status
    for status in (301, 400, 401, 404, 410, 422):
        outcome = judge(status, None)
        assert not outcome.retry and not outcome.delivered, status
        assert f"HTTP {status}" in (outcome.error or "")
    assert judge(503, "7").retry_after_s == 7


def test_the_webhook_tables_come_and_go_with_their_migration(store_url) -> None:
    from alembic import command

    from airwarn.store import _alembic_config, connect, migrate

    engine = connect(store_url)
    try:
        migrate(engine)
        tables = {"webhook_subscriber", "webhook_delivery"}
        assert tables <= set(sa.inspect(engine).get_table_names())
        command.downgrade(_alembic_config(engine), "0002_service")
        assert not tables & set(sa.inspect(engine).get_table_names())
        assert "decision_log" in sa.inspect(engine).get_table_names()
        migrate(engine)
        assert tables <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_long_backlog_is_queued_page_by_page_each_decision_once_in_order(
    grid, tmp_path, signing_keys
) -> None:
    from airwarn.channels import webhook_store
    from airwarn.channels.webhook_outbox import fill, step_of

    service = open_service(grid, f"sqlite:///{tmp_path / 'backlog.db'}", signing_keys)
    audit = webhook_store.audit_entry("admin-1", "admin", 0, "webhook.create", {})
    for sub in ("odd", "all"):
        webhook_store.create_subscriber(
            service.db,
            {
                "name": sub,
                "url": "http://127.0.0.1:9/",
                "secret": "s",
                "created_ms": 0,
                "created_by": "admin-1",
                "seen_seq": 0,
                "statuses": ["actual"],
                "zones": ["r0c1", "r0c3", "r0c5"] if sub == "odd" else None,
            },
            audit,
            service.secrets,
        )
    told = []
    service.listeners.append(told.append)
    for t in range(12):  # alert and clear the first row's zones one after another
        zones = [f"r0c{t % 6}"]
        operate(service, manual("alert" if t < 6 else "clear", t, zones=zones))
    # the channel heard only of the last two steps; the rest it reads back, 4 at a time
    steps = [s for s in (step_of(p.decisions, p.messages) for p in told[-2:]) if s]
    rounds, more = 0, True
    while more:
        _, _, more = fill(service.db, steps if rounds == 0 else [], 0, to_log_end=True, page=4)
        rounds += 1
    with service.db.connect() as db:
        rows = db.execute(
            sa.text("SELECT subscriber_id, first_seq, payload FROM webhook_delivery ORDER BY id")
        ).all()
    sent = {1: [], 2: []}
    for sub_id, _, payload in rows:
        sent[sub_id] += [(d["seq"], d["zone"]) for d in json.loads(payload)["decisions"]]
    every = [(d["seq"], d["zone"]) for d in logged(service)]
    assert len(every) == 12 and rounds > 1
    assert sent[2] == every  # each once, in order, whether told of it or read back
    assert sent[1] == [(s, z) for s, z in every if z in ("r0c1", "r0c3", "r0c5")]
    fill(service.db, steps, 0, to_log_end=True)  # told again, or looking again: no repeats
    with service.db.connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM webhook_delivery")).scalar() == len(rows)
    service.db.dispose()
