"""`airwarn.server.build`: the one place a server is assembled, for `serve` and the demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from airwarn.cli.common import describe
from airwarn.errors import SettingError
from airwarn.follow.spec import parse_spec
from airwarn.server import ChannelSettings, ServerSettings, build, default_push_subject
from airwarn.store import StoreError
from airwarn.store.tokens import create_token
from airwarn.web import WebSettings


def test_a_built_server_serves_its_opened_service_with_the_channels_asked_for(
    grid, tmp_path: Path
) -> None:
    settings = ServerSettings(
        zones=grid,
        db=f"sqlite:///{tmp_path / 'a.db'}",
        keys=tmp_path / "keys",
        clock="events",
        hold_s=120,
        web=WebSettings(heartbeat_s=0.5),
        channels=ChannelSettings(webhooks=True),
        follow=(),
    )
    server = build(settings)
    try:
        assert [c.name for c in server.channels] == ["webhooks", "follow"]
        assert server.service.settings.engine.hold_s == 120
        assert (tmp_path / "keys").is_dir()
        token = create_token(server.service.db, "admin", "admin-1", 0)
        with TestClient(server.app) as http:
            health = http.get("/healthz").json()
            assert health["zones"] == len(grid) and health["clock"] == "events"
            # the webhook channel's own endpoints are mounted on the built app
            listed = http.get("/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 200
    finally:
        server.service.db.dispose()


def test_the_demo_shape_has_no_channel_and_no_follower(grid, tmp_path: Path) -> None:
    server = build(
        ServerSettings(
            zones=grid, db=f"sqlite:///{tmp_path / 'b.db'}", keys=tmp_path / "keys", clock="events"
        )
    )
    try:
        assert server.channels == ()
    finally:
        server.service.db.dispose()


def test_following_a_live_feed_on_the_event_clock_is_refused(grid, tmp_path: Path) -> None:
    spec = parse_spec("oref", token=None, every_s=None, stale_s=None, hold_s=None)
    with pytest.raises(SettingError, match="needs the wall clock") as refused:
        build(
            ServerSettings(
                zones=grid,
                db=f"sqlite:///{tmp_path / 'c.db'}",
                keys=tmp_path / "keys",
                clock="events",
                follow=(spec,),
            )
        )
    assert "--" not in str(refused.value)  # the library names settings, the CLI flags
    assert describe(refused.value) == (
        "--follow: relaying live feeds needs the wall clock (give --clock wall)"
    )


def test_a_setting_out_of_range_is_named_as_its_flag_by_the_command_line(
    grid, tmp_path: Path
) -> None:
    with pytest.raises(SettingError) as refused:
        build(
            ServerSettings(
                zones=grid,
                db=f"sqlite:///{tmp_path / 'd.db'}",
                keys=tmp_path / "keys",
                clock="events",
                inbound_cap="maybe",
            )
        )
    assert refused.value.setting == "inbound_cap" and "--" not in str(refused.value)
    assert describe(refused.value).startswith("--inbound-cap: the inbound CAP policy is ")


def test_the_push_contact_falls_back_when_the_sender_has_no_domain() -> None:
    assert default_push_subject("alerts@warn.example.org") == "mailto:alerts@warn.example.org"
    assert default_push_subject("airwarn@vm").endswith("@push-contact.invalid")


def test_serve_on_a_port_another_server_holds_says_so_before_it_makes_a_store(tmp_path):
    import socket

    from typer.testing import CliRunner

    from airwarn.cli import app

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    store = tmp_path / "never.db"
    try:
        result = CliRunner().invoke(
            app,
            ["serve", "--zones", "israel", "--port", str(port), "--db", f"sqlite:///{store}"],
        )
    finally:
        holder.close()
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert f"--port {port}: another server listens on 127.0.0.1:{port}" in said
    assert "serving" not in said
    assert not store.exists()


def test_serve_on_an_address_not_of_this_machine_names_host_and_port(tmp_path):
    from typer.testing import CliRunner

    from airwarn.cli import app

    store = tmp_path / "never.db"
    result = CliRunner().invoke(
        app,
        ["serve", "--zones", "israel", "--host", "192.0.2.1", "--db", f"sqlite:///{store}"],
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "--host 192.0.2.1 --port 8000: cannot listen there" in said
    assert not store.exists()


def test_a_keys_folder_without_the_stores_key_is_refused_with_nothing_written_into_it(
    grid, store_url, tmp_path: Path
) -> None:
    from airwarn.server import build_service

    first = build_service(grid, store_url, tmp_path / "keys", "events", 600, "a@test.example")
    first.db.dispose()
    for wrong in (tmp_path / "new-keys", tmp_path / "empty-keys"):
        if wrong.name == "empty-keys":
            wrong.mkdir()
        with pytest.raises(StoreError, match="holds no store key") as refused:
            build_service(grid, store_url, wrong, "events", 600, "a@test.example")
        assert f"--keys {wrong}" in str(refused.value) and "written with" in str(refused.value)
        assert not wrong.exists() or list(wrong.iterdir()) == []  # no key made there
    again = build_service(grid, store_url, tmp_path / "keys", "events", 600, "a@test.example")
    again.db.dispose()  # the right folder still opens it
