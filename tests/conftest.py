"""Shared fixtures: small hand-made zone sets, event builders, and the real data folder."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from airwarn.contract import parse_event
from airwarn.engine.zones import ZoneSet, zones_from_geojson

# CI runs every property test on the same examples (a fixed seed per test), so that a run on a
# fresh machine checks what was checked here; locally, HYPOTHESIS_PROFILE unset, they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

# Tests run in two processes (pytest-xdist, `-n 2` in pyproject.toml). A test marked `alone`
# (it restarts PostgreSQL or NATS, or measures a deadline of a few seconds) runs with no other
# test beside it, in this run or in another run of the suite on this machine: each test holds a
# shared lock from its setup to its teardown, an `alone` one the exclusive lock. The turnstile
# lets a waiting `alone` test in before the next shared holders, so it is not starved.
_LOCKS = Path(tempfile.gettempdir())


@contextmanager
def _services_lock(alone: bool) -> Iterator[None]:
    with (
        open(_LOCKS / "airwarn-tests.turnstile", "a") as turnstile,
        open(_LOCKS / "airwarn-tests.lock", "a") as lock,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with `alone` tests first, then the slow end-to-end tests, then the rest (stable
    otherwise): an `alone` test waits for the test beside it to end, which should not be a
    three-minute one, and a three-minute test started last is the suite's tail."""
    alone_files = {item.path for item in items if item.get_closest_marker("alone")}
    items.sort(
        key=lambda item: (
            0 if item.path in alone_files else 1 if item.get_closest_marker("slow") else 2
        )
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with _services_lock(item.get_closest_marker("alone") is not None):
        yield


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# What tests skip for when the project's data set is absent (a bare clone): the histories, CAP
# samples and raw layers. The product needs none of it: its zones and schema ship with it.
DATA_MISSING = (
    f"the project's data set is not beside the repository ({DATA}): a test of "
    "raw layers, histories or CAP samples"
)
# The CAP 1.2 schema, as shipped in the package (and read from there by inbound CAP)
SCHEMAS = Path(__file__).resolve().parents[1] / "airwarn" / "cap"
T0 = datetime(2026, 3, 1, 18, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """RFC 3339 time `seconds` after T0."""
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def grid_zones(
    rows: int = 6,
    cols: int = 6,
    lon0: float = 34.6,
    lat0: float = 31.4,
    step: float = 0.05,
    shelter_s: int = 60,
    regions: int = 2,
) -> dict[str, Any]:
    """A rows x cols grid of square zones (ids `r{row}c{col}`), split into `regions` bands."""
    features = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = lon0 + c * step, lat0 + r * step
            ring = [[x0, y0], [x0 + step, y0], [x0 + step, y0 + step], [x0, y0 + step], [x0, y0]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "id": f"r{r}c{c}",
                        "shelter_s": shelter_s,
                        "name": f"Zone {r}-{c}",
                        "region": f"band{c * regions // cols}",
                    },
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture(scope="session")
def grid() -> ZoneSet:
    return zones_from_geojson(grid_zones())


def track(threat: str, t: float, lat: float, lon: float, kind: str = "drone", **extra: Any):
    body = {"type": "track", "threat": threat, "kind": kind, "t": at(t), "lat": lat, "lon": lon}
    body.update(extra)
    return parse_event(_json(body))


def end(threat: str, t: float, reason: str = "impact"):
    return parse_event(_json({"type": "end", "threat": threat, "t": at(t), "reason": reason}))


def manual(
    action: str, t: float, zones: list[str] | None = None, region: str | None = None, **extra: Any
):
    body: dict[str, Any] = {"type": "manual", "action": action, "t": at(t), "by": "op-1"}
    if zones is not None:
        body["zones"] = zones
    if region is not None:
        body["region"] = region
    body.update(extra)
    return parse_event(_json(body))


def tick(t: float):
    return parse_event(_json({"type": "tick", "t": at(t)}))


def _json(body: dict[str, Any]) -> bytes:
    import msgspec

    return msgspec.json.encode(body)


def require_data(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(DATA_MISSING)
    return path


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NATS = ("127.0.0.1", 4222)


@pytest.fixture(scope="module")
def launcher() -> Iterator[Any]:
    """Starts `airwarn serve` processes (kits.serverkit) for a module's tests."""
    from kits.serverkit import Launcher

    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


@pytest.fixture(scope="module")
def bus_launcher(launcher: Any) -> Any:
    """`launcher`, for processes on the bus: skips when NATS is not running on this machine."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(NATS) != 0:
            pytest.skip("NATS is not running on 127.0.0.1:4222; start it with JetStream (-js)")
    return launcher


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL on a fresh PostgreSQL schema of its own, dropped afterwards; skips if the
    server on this machine is not running."""
    import uuid

    import sqlalchemy as sa

    from airwarn.store import StoreError, connect

    schema = f"airwarn_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = connect(PG_URL, pool_pre_ping=True)
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except (sa.exc.OperationalError, StoreError) as exc:
        pytest.skip(
            f"PostgreSQL is not reachable at {PG_URL} ({exc.__class__.__name__}); start "
            "it with pg_ctlcluster --skip-systemctl-redirect 15 main start"
        )
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def postgres_engine() -> Iterator[Any]:
    """A PostgreSQL engine on a fresh schema of its own, dropped afterwards; skips if the
    server on this machine is not running."""
    from airwarn.store import connect

    with postgres_schema() as url:
        engine = connect(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on an embedded SQLite file and on this machine's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'airwarn.db'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory):
    from airwarn.cap.sign import load_or_create_keys

    return load_or_create_keys(tmp_path_factory.mktemp("keys"))


def open_service(
    zones: ZoneSet,
    url: str,
    keys: Any,
    *,
    clock: str = "events",
    confirm_by_other: bool = False,
    **engine: Any,
):
    """A service on a store, opened (migrated, rebuilt from its log)."""
    from airwarn.engine import EngineConfig
    from airwarn.service import Service, ServiceSettings, zones_fingerprint

    settings = ServiceSettings(
        db_url=url,
        clock=clock,
        sender="airwarn@test.example",
        id_prefix="urn:airwarn:test.example:",
        engine=EngineConfig(**engine),
        confirm_by_other=confirm_by_other,
    )
    service = Service(zones, zones_fingerprint(zones), settings, keys)
    service.open()
    return service


# -- operators' actions, as the product takes them (manual events are not taken on
# /v1/events: see airwarn.lanes) --------------------------------------------------------------


def as_action(event: Any) -> dict[str, Any]:
    """A `manual` event (from `manual()`) as the request an operator sends to /v1/actions."""
    request: dict[str, Any] = {
        "action": event.action,
        "status": event.status,
        "reason": event.reason or "a test of the operators' path",
    }
    if event.zones is not None:
        request["zones"] = list(event.zones)
    if event.region is not None:
        request["region"] = event.region
    if event.category is not None:
        request["category"] = event.category
    return request


def act(http: Any, headers: dict[str, str], request: dict[str, Any]) -> dict[str, Any]:
    """An operator's action over HTTP: proposed and, when held, confirmed (its blast radius
    included, as an operator who checked it would)."""
    answer = http.post("/v1/actions", json=request, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    if body["state"] == "pending":
        sent = http.post(body["confirm"], json={"confirm_blast_radius": True}, headers=headers)
        assert sent.status_code == 200, sent.text
        body = sent.json()
    return body


def operate(service: Any, *events: Any, client: Any = None) -> list[Any]:
    """Operators' actions in process, each at its event's time: the engine's clock is moved
    there first (a tick, as the wall clock would), then the action proposed and confirmed."""
    from airwarn.contract import to_ms
    from airwarn.store.tokens import Client

    client = client or Client("op-1", "operator")
    answers = []
    for event in events:
        t_ms = to_ms(event.t)
        service.tick(t_ms)
        answer = service.propose(as_action(event), client, t_ms)
        if answer.state == "pending":
            answer = service.confirm(answer.id, client, t_ms, True)
        answers.append(answer)
    return answers


def feed(service: Any, events: list[Any], client: Any, received_ms: int = 0) -> list[Any]:
    """Events as the product takes them, in order: each run of tracks, ends and ticks through
    the sensors' lane (`Service.ingest`, as `client`), each manual action through the
    operators' path (`operate`). The answers, one per run or action."""
    from airwarn.contract import Manual

    answers: list[Any] = []
    run: list[Any] = []

    def flush() -> None:
        if run:
            answers.append(
                service.ingest(
                    list(enumerate(run, start=1)), [], client=client, received_ms=received_ms
                )
            )
            run.clear()

    for event in events:
        if isinstance(event, Manual):
            flush()
            answers.extend(operate(service, event))
        else:
            run.append(event)
    flush()
    return answers


def post_feed(
    http: Any, events: list[Any], sensor: dict[str, str], operator: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """`feed` over HTTP on an event-clock server: each run of tracks, ends and ticks posted to
    /v1/events with the `sensor` headers; each manual action sent to /v1/actions with the
    `operator` headers (default: the same), after a tick that brings the raid's clock to its
    time. Each answer in the shape of /v1/events' (accepted, decisions, first_decision_seq)."""
    from airwarn.contract import Manual, encode_event, format_time, to_ms

    operator = operator or sensor
    answers: list[Any] = []
    run: list[Any] = []

    def post(lines: list[bytes]) -> dict[str, Any]:
        answer = http.post("/v1/events", content=b"\n".join(lines), headers=sensor)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def flush() -> None:
        if run:
            answers.append(post([encode_event(e) for e in run]))
            run.clear()

    for event in events:
        if not isinstance(event, Manual):
            run.append(event)
            continue
        flush()
        tick = {"type": "tick", "t": format_time(to_ms(event.t))}
        post([msgspec_json(tick)])
        sent = act(http, operator, as_action(event))
        seqs = sent.get("decisions", [])
        answers.append(
            {
                "accepted": 1,
                "rejected": [],
                "ignored": [],
                "decisions": len(seqs),
                "first_decision_seq": seqs[0] if seqs else None,
                "last_decision_seq": seqs[-1] if seqs else None,
                "messages": sent.get("messages", []),
            }
        )
    flush()
    return answers


def msgspec_json(body: dict[str, Any]) -> bytes:
    return _json(body)
