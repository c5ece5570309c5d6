"""The holds an agency may set: how long a zone stays warned after each way a threat leaves it.

`hold_s` (600 s) is the stay in shelter after a threat that held the zone ended. The others
are shorter holds for a zone a threat stopped endangering while it flew on, or that it came
down away from (docs/engine.md, "Policy and lifecycle", gives the reasoning for each default).
`airwarn replay`, `airwarn evaluate` and `airwarn serve` take each as a flag of its own name
(`--ballistic-release-s`, ...); a served store records them with its log, so the same log is
never replayed with other holds.

Shorter holds alert less area for less time and flap more (a zone let go, then taken again by
the same threat); longer ones the reverse. None can make an alert late or miss an impact: a
hold only keeps a zone alerted longer than the prediction needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airwarn.engine.lifecycle import EngineConfig
from airwarn.errors import SettingError

# each: what it holds (for help texts and errors)
HOLDS: dict[str, str] = {
    "ballistic_release_s": "after a rocket's or ballistic missile's impact region let the "
    "zone go while it still flies",
    "corridor_release_s": "once a zone has left a drone's or cruise missile's reach in every "
    "direction, before it lets the zone go",
    "pass_hold_s": "after a drone or cruise missile let the zone go (it flew on)",
    "down_elsewhere_hold_s": "after a drone or cruise missile came down, or was brought down, "
    "away from the zone",
    "debris_margin_s": "after the last falling part of an intercepted rocket or ballistic "
    "missile that can land on the zone is down",
    "pre_hold_s": "at pre_alert after the last threat that pre-alerted the zone left it",
}
LONGEST_HOLD_S = 3600  # an hour: beyond it a hold is a mistake, not a policy
# the holds that may keep a zone at alert longer than the full hold (pre_hold_s keeps it at
# pre_alert; the lifecycle never holds a zone under falling parts past hold_s, whatever the
# debris margin)
_AT_ALERT = ("ballistic_release_s", "pass_hold_s", "down_elsewhere_hold_s")


def with_holds(hold_s: int, holds: Mapping[str, int | None] | None = None) -> EngineConfig:
    """The engine's settings with the full hold `hold_s` and the holds given (a hold left out
    or None keeps its default). A hold that cannot be used is refused, naming it: each is a
    whole number of seconds from 0 to an hour. A corridor release equal to the release time
    is the default, and is kept as the default (a served store compares them)."""
    if hold_s < 0:
        raise SettingError(f"{hold_s} s is not a hold: give 0 seconds or more", setting="hold_s")
    base = EngineConfig(hold_s=hold_s)
    chosen: dict[str, Any] = {}
    for name, value in (holds or {}).items():
        if name not in HOLDS:
            raise SettingError(
                f"no such hold; the holds are {', '.join(HOLDS)} and hold_s", setting=name
            )
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(f"{value!r} is not a whole number of seconds", setting=name)
        if not 0 <= value <= LONGEST_HOLD_S:
            raise SettingError(
                f"{value} s is out of range: give 0 to {LONGEST_HOLD_S} seconds", setting=name
            )
        chosen[name] = value
    if chosen.get("corridor_release_s") == base.release_s:
        chosen["corridor_release_s"] = None
    return replace(base, **chosen)


def longer_than_full_hold(config: EngineConfig) -> dict[str, int]:
    """The holds that keep a zone at alert longer than the full hold (`hold_s`), each with how
    long: a zone a threat only passed, or came down away from, then stays alerted longer than
    the zone it hit. Never unsafe (a hold only keeps a zone alerted longer), so worth a warning,
    not a refusal. A drone's or cruise missile's zone is held for its corridor release and then
    its pass hold: the two together count against the full hold."""
    long = {
        name: getattr(config, name) for name in _AT_ALERT if getattr(config, name) > config.hold_s
    }
    release_s = config.corridor_release_after_s
    if release_s + config.pass_hold_s > config.hold_s and "pass_hold_s" not in long:
        long["corridor_release_s"] = release_s
    return long
