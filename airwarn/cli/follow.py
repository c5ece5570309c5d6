"""`airwarn follow SOURCE`: watch an official feed as this server would relay it, without a
server (a dry run), and the options `airwarn serve --follow` shares with it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from airwarn.cli.common import FAILURE, err, fail, say_error
from airwarn.contract import Event, encode_decision
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK

TOKEN_ENV = "ALERTS_IN_UA_TOKEN"  # noqa: S105 (the variable's name, not a token)

FollowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--follow",
        help="Relay an official feed into these zones (repeat for more): "
        "alerts.in.ua, oref, cap:URL or airwarn:URL; KIND:URL for a mirror (see docs/follow.md).",
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--alerts-in-ua-token-file",
        help=f"A file holding the alerts.in.ua API token (or set "
        f"{TOKEN_ENV}); never give the token on the command line.",
    ),
]
EveryOption = Annotated[
    float | None,
    typer.Option(
        "--follow-every-s",
        min=0.2,
        help="Seconds between polls (default: the source's own: 15 "
        "for alerts.in.ua, 2 for oref, 30 for cap).",
    ),
]
StaleOption = Annotated[
    float | None,
    typer.Option(
        "--follow-stale-s",
        min=1.0,
        help="Seconds of silence after which a source is shown as "
        "stale on every channel (default: 4 polls, at least 30).",
    ),
]
HoldOption = Annotated[
    float | None,
    typer.Option(
        "--follow-hold-s",
        min=0.0,
        help="Seconds an area stays alerted after it leaves the Home "
        "Front Command's live feed without an 'event ended' (default 600; 0 when the source is "
        "another airwarn, which holds its zones itself).",
    ),
]


def read_token(token_file: Path | None) -> str | None:
    """The alerts.in.ua token from its file or the environment (stripped), if any."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AirwarnError(f"--alerts-in-ua-token-file {token_file}: {exc.strerror}") from None
        if not token:
            raise AirwarnError(f"--alerts-in-ua-token-file {token_file} is empty")
        return token
    return os.environ.get(TOKEN_ENV, "").strip() or None


def follow_specs(
    sources: list[str] | None,
    token_file: Path | None,
    every_s: float | None,
    stale_s: float | None,
    hold_s: float | None,
) -> list[Any]:
    """The specs the options ask for (none without --follow)."""
    from airwarn.follow.spec import parse_spec

    if not sources:
        return []
    needs_token = any(s.strip().split(":", 1)[0] == "alerts.in.ua" for s in sources)
    token = read_token(token_file) if needs_token else None
    return [
        parse_spec(s, token=token, every_s=every_s, stale_s=stale_s, hold_s=hold_s) for s in sources
    ]


def follow(
    source: Annotated[
        str,
        typer.Argument(help="alerts.in.ua, oref, cap:URL or airwarn:URL (KIND:URL for a mirror)."),
    ],
    zones: Annotated[
        str,
        typer.Option(
            "--zones",
            "-z",
            help="A zone file, or a shipped layer: israel, ukraine, "
            "ukraine-raions, ukraine-oblasts.",
        ),
    ],
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Ask once, print what the source holds per zone, and exit (1 if it "
            "cannot be read).",
        ),
    ] = False,
    token_file: TokenFileOption = None,
    every_s: EveryOption = None,
    stale_s: StaleOption = None,
    hold_s: HoldOption = None,
) -> None:
    """Watch an official feed as `airwarn serve --follow` would relay it, with no server and
    no store: the decisions its changes make on these zones are printed as JSON Lines, its
    health (live, stale, failed) on stderr. Use it to check a token, a URL and how a source's
    places fall on your zones before relaying them for real.

    Examples:

      ALERTS_IN_UA_TOKEN=... airwarn follow alerts.in.ua --zones ukraine --once

      airwarn follow oref --zones israel

      airwarn follow oref:http://127.0.0.1:8001 --zones israel --follow-hold-s 0

      airwarn follow airwarn:https://warn.example.org --zones zones.geojson

    To relay for real: airwarn serve --zones ukraine --follow alerts.in.ua (docs/follow.md).
    """
    from airwarn.follow.channel import make_feed

    try:
        from airwarn.layers.packaged import resolve_zones

        zone_set = resolve_zones(zones)
        (spec,) = follow_specs([source], token_file, every_s, stale_s, hold_s)
        feed = make_feed(spec, zone_set)
    except AirwarnError as error:
        raise fail(error) from None
    code = asyncio.run(_watch(spec, feed, zone_set, once))
    raise typer.Exit(code)


async def _watch(spec: Any, feed: Any, zone_set: Any, once: bool) -> int:
    from airwarn.engine import Engine
    from airwarn.follow.fetch import Failed, Trouble, client
    from airwarn.follow.follower import Follower
    from airwarn.follow.wants import changes

    sink = MemorySink(Engine(zone_set))
    async with client(min(10.0, spec.stale_s / 3)) as http:
        if once:
            try:
                observation = await feed.watch(http).__anext__()
            except (Failed, Trouble) as error:
                say_error(error)
                return FAILURE
            wants = observation.wants or {}
            sink.write(spec.name, list(changes(spec.name, wants, {}, _now_ms())), _now_ms())
            levels: dict[str, int] = {}
            for want in wants.values():
                levels[{1: "pre_alert", 2: "alert"}[want.level]] = (
                    levels.get({1: "pre_alert", 2: "alert"}[want.level], 0) + 1
                )
            err.print(
                f"{spec.name}: {len(wants)} of {len(zone_set)} zones held "
                f"({', '.join(f'{n} {lvl}' for lvl, n in sorted(levels.items())) or 'none'})"
                + (f"; {observation.note}" if observation.note else ""),
                highlight=False,
                soft_wrap=True,
            )
            return 0
        follower = Follower(spec, feed, sink)
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            await follower.run(http)
    return 0


class MemorySink:
    """A follower's sink with no store: a pure engine, its decisions printed."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def lanes(self, source: str) -> dict[str, Any]:
        return {
            self.engine.zones.ids[i]: lane
            for i, lane in self.engine.relays.lanes_of(source).items()
        }

    def state(self, source: str) -> Any:
        return self.engine.relays.states().get(source)

    def write(self, source: str, events: list[Event], received_ms: int) -> None:
        import msgspec

        from airwarn.contract import Source
        from airwarn.service.writer import _datetime

        clock = max(received_ms, self.engine.clock_ms or 0)
        for event in events:
            event = msgspec.structs.replace(event, t=_datetime(clock))
            if isinstance(event, Source):
                err.print(
                    f"{source}: {event.state}" + (f" ({event.why})" if event.why else ""),
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            for decision in self.engine.apply(event):
                sys.stdout.buffer.write(encode_decision(decision) + b"\n")
        sys.stdout.buffer.flush()


def _now_ms() -> int:
    return WALL_CLOCK.now_ms()
