"""The CAP sender a store's messages go out as stays the one its log was written with: a process
started without --sender takes it (a standby on another machine, a renamed host), and only a
different --sender is refused, naming the sender to start with."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import manual, operate

from airwarn.errors import AirwarnError
from airwarn.server import build_service
from airwarn.store.log import SERVICE_META


def _start(grid, url: str, keys: Path, sender: str | None = None):
    return build_service(grid, url, keys, "events", 600, sender)


def _on_host(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # the machine's name is what the default sender is made of; this machine has one name
    monkeypatch.setattr(socket, "gethostname", lambda: name)


def _alert_sent(service) -> str:
    operate(service, manual("alert", 0, zones=["r0c0"]))
    (message,) = list(service.log.cap_rows())
    return str(message["identifier"])


def test_a_standby_on_another_host_sends_as_the_store_sender(
    grid, store_url, tmp_path, monkeypatch
) -> None:
    keys = tmp_path / "keys"
    _on_host(monkeypatch, "vm")
    first = _start(grid, store_url, keys)
    first_identifier = _alert_sent(first)
    first.db.dispose()

    _on_host(monkeypatch, "standby-2")
    standby = _start(grid, store_url, keys)
    assert standby.settings.sender == "airwarn@vm"
    assert first_identifier.startswith("urn:airwarn:vm:")
    operate(standby, manual("clear", 5, zones=["r0c0"]))
    cancel = list(standby.log.cap_rows())[-1]
    assert cancel["identifier"].startswith("urn:airwarn:vm:")
    assert b"<sender>airwarn@vm</sender>" in (standby.signed_cap(cancel["identifier"]) or b"")
    standby.db.dispose()


def test_another_sender_asked_for_is_refused_naming_the_store_sender(
    grid, store_url, tmp_path, monkeypatch
) -> None:
    keys = tmp_path / "keys"
    _on_host(monkeypatch, "vm")
    first = _start(grid, store_url, keys)
    _alert_sent(first)
    first.db.dispose()

    with pytest.raises(AirwarnError) as refused:
        _start(grid, store_url, keys, "airwarn@alerts.example.gov")
    message = str(refused.value)
    assert "this store's CAP messages are sent as 'airwarn@vm'" in message
    assert "'airwarn@alerts.example.gov'" in message
    assert "start with --sender airwarn@vm" in message.lower()

    again = _start(grid, store_url, keys, "airwarn@vm")  # the same sender, asked for
    assert again.settings.sender == "airwarn@vm"
    again.db.dispose()


def test_a_store_from_before_the_sender_was_kept_takes_its_newest_message_sender(
    grid, store_url, tmp_path, monkeypatch
) -> None:
    keys = tmp_path / "keys"
    first = _start(grid, store_url, keys, "alerts@agency.example")
    _alert_sent(first)
    with first.db.begin() as db:  # as a store written before the sender was kept
        db.execute(sa.delete(SERVICE_META).where(SERVICE_META.c.key == "sender"))
    first.db.dispose()

    _on_host(monkeypatch, "renamed")
    again = _start(grid, store_url, keys)
    assert again.settings.sender == "alerts@agency.example"
    assert again.settings.id_prefix == "urn:airwarn:agency.example:"
    again.db.dispose()
    with pytest.raises(AirwarnError, match="sent as 'alerts@agency.example'"):
        _start(grid, store_url, keys, "ops@agency.example")
