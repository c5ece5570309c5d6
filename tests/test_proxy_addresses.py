"""Behind a load balancer: `--forwarded-allow-ips` names the proxies whose X-Forwarded-For is
believed, so each client behind them gets its own per-address limits; without it, every
client shares the proxy's address and its limits. Real `airwarn serve` processes; the proxy
is a client on 127.0.0.2 (not the trusted-by-default 127.0.0.1), as a balancer on another
machine of the network would be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import grid_zones
from kits.serverkit import Launcher, Server

from airwarn.engine.zones import write_zones, zones_from_geojson

pytestmark = pytest.mark.slow

PROXY = "127.0.0.2"


@contextmanager
def serving(launcher: Launcher, folder: Path, *args: str) -> Iterator[Server]:
    folder.mkdir()
    zones = folder / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones)
    server = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            f"sqlite:///{folder / 'airwarn.db'}",
            "--keys",
            str(folder / "keys"),
            "--no-push",
            "--no-webhooks",
            *args,
        ],
        folder / "serve.log",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def through_proxy(client: str) -> httpx.Client:
    """What the balancer sends on for `client`: from its own address, naming the client."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=PROXY),
        headers={"X-Forwarded-For": client},
        timeout=httpx.Timeout(5.0, read=5.0),
    )


def _second_client_status_by_rate(server: Server) -> int:
    with through_proxy("203.0.113.1") as first, through_proxy("203.0.113.2") as second:
        assert first.get(server.url + "/v1/zones/r0c0").status_code == 200
        return second.get(server.url + "/v1/zones/r0c0").status_code


def _second_client_status_by_live(server: Server) -> int:
    with (
        through_proxy("203.0.113.1") as first,
        through_proxy("203.0.113.2") as second,
        first.stream("GET", server.url + "/v1/stream") as held,
    ):
        assert held.status_code == 200
        with second.stream("GET", server.url + "/v1/stream") as other:
            return other.status_code


@pytest.mark.parametrize(
    ("limits", "second_client_status"),
    [
        (["--rate-per-s", "0.001", "--rate-burst", "1"], _second_client_status_by_rate),
        (["--max-live-per-address", "1"], _second_client_status_by_live),
    ],
    ids=["rate", "live"],
)
def test_clients_behind_a_trusted_proxy_each_get_their_own_limit_and_share_one_otherwise(
    launcher: Launcher, tmp_path: Path, limits: list[str], second_client_status
) -> None:
    with serving(launcher, tmp_path / "trusted", *limits, "--forwarded-allow-ips", PROXY) as s:
        assert second_client_status(s) == 200
    with serving(launcher, tmp_path / "untrusted", *limits) as s:
        assert second_client_status(s) == 429  # both are the proxy, 127.0.0.2
