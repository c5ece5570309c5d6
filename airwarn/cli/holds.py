"""The hold flags `replay`, `evaluate` and `serve` share (`airwarn.engine.holds`): one flag per
hold, each shown with its default in the help's "Holds" panel."""

from __future__ import annotations

from typing import Annotated

import typer

from airwarn.cli.common import USAGE, err, fail, flag
from airwarn.engine import EngineConfig
from airwarn.engine.holds import HOLDS, LONGEST_HOLD_S, longer_than_full_hold, with_holds
from airwarn.errors import AirwarnError

PANEL = "Holds (seconds; docs/engine.md, 'Policy and lifecycle')"
_DEFAULTS = EngineConfig()


def _option(name: str) -> typer.models.OptionInfo:
    default = (
        _DEFAULTS.corridor_release_after_s
        if name == "corridor_release_s"
        else getattr(_DEFAULTS, name)
    )
    return typer.Option(
        "--" + name.replace("_", "-"),
        min=0,
        max=LONGEST_HOLD_S,
        show_default=False,
        rich_help_panel=PANEL,
        help=f"Stay warned {HOLDS[name]} (default {default} s).",
    )


FullHoldOption = Annotated[
    int,
    typer.Option(
        "--hold-s",
        min=0,
        show_default=False,
        rich_help_panel=PANEL,
        help="Stay warned after the last threat that held the zone ended: the 'stay in "
        f"shelter' time, the longest hold (default {_DEFAULTS.hold_s} s).",
    ),
]
BallisticReleaseOption = Annotated[int | None, _option("ballistic_release_s")]
CorridorReleaseOption = Annotated[int | None, _option("corridor_release_s")]
PassHoldOption = Annotated[int | None, _option("pass_hold_s")]
DownElsewhereOption = Annotated[int | None, _option("down_elsewhere_hold_s")]
DebrisMarginOption = Annotated[int | None, _option("debris_margin_s")]
PreHoldOption = Annotated[int | None, _option("pre_hold_s")]


def holds_given(
    *,
    ballistic_release_s: int | None = None,
    corridor_release_s: int | None = None,
    pass_hold_s: int | None = None,
    down_elsewhere_hold_s: int | None = None,
    debris_margin_s: int | None = None,
    pre_hold_s: int | None = None,
) -> dict[str, int]:
    """The holds a command line gave, by setting name (those left out keep their defaults)."""
    given = {
        "ballistic_release_s": ballistic_release_s,
        "corridor_release_s": corridor_release_s,
        "pass_hold_s": pass_hold_s,
        "down_elsewhere_hold_s": down_elsewhere_hold_s,
        "debris_margin_s": debris_margin_s,
        "pre_hold_s": pre_hold_s,
    }
    return {name: value for name, value in given.items() if value is not None}


def checked_config(hold_s: int, holds: dict[str, int]) -> EngineConfig:
    """The engine's settings from the hold flags. A hold that cannot be used ends the command
    (exit 2, naming its flag); one longer than the full hold is said as a warning."""
    try:
        config = with_holds(hold_s, holds)
    except AirwarnError as error:
        raise fail(error, USAGE) from None
    warn_long_holds(config)
    return config


def warn_long_holds(config: EngineConfig) -> None:
    """Say on stderr which holds keep a zone at alert longer than the full hold (allowed: a
    hold is never unsafe; but a zone a threat only passed then stays alerted longer than the
    zone it hit)."""
    long = longer_than_full_hold(config)
    if not long:
        return
    named = ", ".join(f"{flag(name)} {seconds}" for name, seconds in long.items())
    verb = "keeps" if len(long) == 1 else "keep"
    err.print(
        f"[yellow]warning:[/] {named} {verb} a zone at alert longer than --hold-s "
        f"{config.hold_s}: a zone a threat only passed stays alerted longer than the one it "
        f"hit (keep each within {config.hold_s} s, a corridor release and the pass hold "
        "together, or give a longer --hold-s)",
        highlight=False,
        soft_wrap=True,
    )
