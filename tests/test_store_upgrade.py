"""A store another engine version wrote (an upgrade): its log replays to other decisions. The
service opens it where every zone stands as the store last said, and numbers on from there;
in the middle of a raid, where they stand otherwise, it refuses and writes nothing. On
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import feed, manual, open_service, tick, track

import airwarn.engine.policy as policy
from airwarn.engine import Engine
from airwarn.store import StoreError
from airwarn.store.tokens import Client

OPERATOR = Client("op-1", "admin")


def drone_raid() -> list[Any]:
    """A drone across the grid from the west that turns back over it: alerts, releases,
    and zones taken again."""
    out = [
        track("D1", s, 31.5, 34.5 + 0.0009 * s, kind="drone", vel_mps=[85.0, 0.0, 0.0])
        for s in range(0, 300, 3)
    ]
    out += [
        track("D1", 300 + s, 31.5, 34.77 - 0.0009 * s, kind="drone", vel_mps=[-85.0, 0.0, 0.0])
        for s in range(0, 300, 3)
    ]
    return out


def replayed(grid: Any, events: list[Any]) -> int:
    engine = Engine(grid)
    for event in events:
        engine.apply(event)
    return engine.seq


def events_logged(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return int(db.execute(sa.text("SELECT count(*) FROM event_log")).scalar() or 0)
    finally:
        engine.dispose()


def written_by_another_engine(grid: Any, url: str, keys: Any, events: list[Any]) -> int:
    """The events through a service whose engine keeps a drone's zones longer (another
    version's rule); the decisions it wrote."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(policy, "KEEP_MARGIN", 0.8)
        old = open_service(grid, url, keys)
        feed(old, events, OPERATOR)
        written = old.engine.seq
        old.db.dispose()
    assert written != replayed(grid, events), "the two engines decide alike: nothing to test"
    return written


def test_an_upgrade_opens_a_quiet_store_and_numbers_on_from_its_last_decision(
    grid, store_url, signing_keys, caplog
) -> None:
    events = [*drone_raid(), tick(3_000)]  # the raid over, its holds run out
    written = written_by_another_engine(grid, store_url, signing_keys, events)
    new = open_service(grid, store_url, signing_keys)
    assert new.engine.seq == written
    assert "another engine version" in caplog.text
    feed(new, [manual("alert", 3_100, zones=["r0c0"], category="missiles")], OPERATOR)
    assert new.engine.seq == new.log.last_decision_seq() == written + 1
    new.reset()  # rebuilt while running (as after a failed commit): numbered on as at its start
    assert new.engine.seq == written + 1
    feed(new, [manual("clear", 3_200, zones=["r0c0"])], OPERATOR)
    feed(new, [manual("alert", 3_300, zones=["r0c0"], category="missiles")], OPERATOR)
    assert new.engine.seq == new.log.last_decision_seq() == written + 3
    new.db.dispose()
    again = open_service(grid, store_url, signing_keys)  # and again, with its own decision
    assert again.engine.seq == written + 3
    assert again.engine.levels() == {"r0c0": "alert"}
    again.db.dispose()


def test_an_upgrade_in_the_middle_of_a_raid_is_refused_naming_the_zones_and_writes_nothing(
    grid, store_url, signing_keys
) -> None:
    events = drone_raid()  # it is still over the grid
    written_by_another_engine(grid, store_url, signing_keys, events)
    before = events_logged(store_url)
    with pytest.raises(StoreError) as refused:
        open_service(grid, store_url, signing_keys)
    said = str(refused.value)
    assert "another engine version" in said and "the store says alert, this engine" in said
    assert "Run the version that wrote it until those zones are clear" in said
    assert events_logged(store_url) == before
