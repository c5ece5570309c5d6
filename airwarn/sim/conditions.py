"""The conditions a raid is simulated under: the sensor model, the bodies, the shelter time and
the threats' manoeuvres, one knob each, and the named cells of the sensor sweep.

`airwarn simulate` takes each knob as a flag (`--noise-m`, `--interval-s`, `--acquire`,
`--body`, `--shelter-s`, `--maneuver`) or a cell by name (`--sensor NAME`); with none of them
it makes the same raid as ever, byte for byte. Any of them switches to the harder simulator of
`airwarn.sim.hardraid`: the same threats, launched from the same places at the same targets,
flown under honest physics that is not the engine's, and seen by imperfect sensors (biased,
correlated errors, dropped, duplicated and late reports). A knob left unset keeps the kind's
own default (`airwarn.sim.scenarios.SENSORS`).

The knobs and their ranges:

- `noise_m`: the 1-sigma horizontal error every report declares (`sigma_m`), 10 to 2,000 m.
- `interval_s`: seconds between two reports of one threat, 0.5 to 60 s.
- `acquire`: when the sensors first see a threat: `launch` (from launch, boost included),
  `default` (the kind's own: a rocket above 300 m, a ballistic missile 5-30 s after burnout, a
  drone or cruise missile 150-250 km from the zones), `mid` (from halfway through its flight),
  `late` (only the last fifth of its flight, at most its last 120 s and at least 10 s).
- `body`: rockets and ballistic missiles: `sleek` (ballistic coefficient in the top tenth of
  the kind's plausible range, `airwarn.engine.threat_kinds`), `draggy` (the bottom tenth), or
  `default`.
- `shelter_s`: one time to shelter for every zone of the set (15 to 900 s), e.g. 180 s for
  Ukraine; flights shorter than it follow (a rocket flies 20-100 s, an Iskander 2-5 min).
- `error_scale`: how many times the declared `sigma_m` each report's true error is (0.25 to
  10; unset: drawn per threat from 0.9 to 1.25). `understated-3` is a sensor that claims a third
  of the error it makes, as a mis-registered or mis-configured radar does.
- `maneuver`: drones and cruise missiles: `turn` (a hard turn onto another target), `reverse`
  (turn about onto a target behind), `loiter` (circle for minutes, then go on), `speedup` (a
  dash to the top speed), `mixed` (each threat one of these), or `none`; see
  `airwarn.sim.maneuvers` for the physical limits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError

ACQUIRE = ("launch", "default", "mid", "late")
BODIES = ("default", "sleek", "draggy")
MANEUVERS = ("none", "turn", "reverse", "loiter", "speedup", "mixed")


class ConditionsError(AirwarnError):
    """A simulation condition out of range; the message names the flag and the fix."""


@dataclass(frozen=True)
class Conditions:
    """One cell of the sweep. None (or `default`) keeps the kind's own model."""

    noise_m: float | None = None
    interval_s: float | None = None
    acquire: str = "default"
    body: str = "default"
    shelter_s: int | None = None
    maneuver: str = "none"
    error_scale: float | None = None

    def __post_init__(self) -> None:
        if self.noise_m is not None and not 10.0 <= self.noise_m <= 2_000.0:
            raise ConditionsError(f"--noise-m must be between 10 and 2000 m, not {self.noise_m}")
        if self.interval_s is not None and not 0.5 <= self.interval_s <= 60.0:
            raise ConditionsError(
                f"--interval-s must be between 0.5 and 60 s, not {self.interval_s}"
            )
        for flag, value, allowed in (
            ("--acquire", self.acquire, ACQUIRE),
            ("--body", self.body, BODIES),
            ("--maneuver", self.maneuver, MANEUVERS),
        ):
            if value not in allowed:
                raise ConditionsError(f"{flag} must be one of {', '.join(allowed)}, not {value!r}")
        if self.error_scale is not None and not 0.25 <= self.error_scale <= 10.0:
            raise ConditionsError(
                f"--error-scale must be between 0.25 and 10, not {self.error_scale}"
            )
        if self.shelter_s is not None and not 15 <= self.shelter_s <= 900:
            raise ConditionsError(f"--shelter-s must be between 15 and 900 s, not {self.shelter_s}")

    def to_dict(self) -> dict[str, Any]:
        """The knobs as plain data (for truth.json and result files)."""
        return asdict(self)

    def key(self) -> str:
        """A short, stable text of the knobs (for cache file names)."""
        parts = [f"{k}={v}" for k, v in sorted(asdict(self).items())]
        return ",".join(parts)


# The sweep: one knob at a time away from the kind's own model (`honest`), each to both ends of
# its range, and `nominal`, the default simulator (no honest physics, no sensor faults) for
# continuity with earlier figures. `maneuver` cells apply to drones and cruise missiles,
# `body` cells to rockets and ballistic missiles.
CELLS: dict[str, Conditions | None] = {
    "nominal": None,
    "honest": Conditions(),
    "noise-30": Conditions(noise_m=30.0),
    "noise-100": Conditions(noise_m=100.0),
    "noise-300": Conditions(noise_m=300.0),
    "interval-1": Conditions(interval_s=1.0),
    "interval-5": Conditions(interval_s=5.0),
    "interval-15": Conditions(interval_s=15.0),
    "acquire-launch": Conditions(acquire="launch"),
    "acquire-mid": Conditions(acquire="mid"),
    "acquire-late": Conditions(acquire="late"),
    "body-sleek": Conditions(body="sleek"),
    "body-draggy": Conditions(body="draggy"),
    "shelter-15": Conditions(shelter_s=15),
    "shelter-90": Conditions(shelter_s=90),
    "shelter-180": Conditions(shelter_s=180),
    "maneuver-turn": Conditions(maneuver="turn"),
    "maneuver-reverse": Conditions(maneuver="reverse"),
    "maneuver-loiter": Conditions(maneuver="loiter"),
    "maneuver-speedup": Conditions(maneuver="speedup"),
    "understated-3": Conditions(error_scale=3.0),
    "sparse-30": Conditions(interval_s=30.0),
    "sparse-60": Conditions(interval_s=60.0),
}


def cells_for(kind: str) -> list[str]:
    """The cells that mean something for a kind (no manoeuvres for rockets, no bodies for
    drones)."""
    ballistic = kind in ("rocket", "ballistic")
    return [
        name
        for name, c in CELLS.items()
        if c is None
        or not ((ballistic and c.maneuver != "none") or (not ballistic and c.body != "default"))
    ]


def cell(name: str) -> Conditions | None:
    """A named cell, or a clear error listing them."""
    if name not in CELLS:
        raise ConditionsError(f"--sensor must be one of {', '.join(CELLS)}, not {name!r}")
    return CELLS[name]


def with_shelter(zones: ZoneSet, shelter_s: int | None) -> ZoneSet:
    """The zone set with one time to shelter for every zone (the same set when None)."""
    if shelter_s is None:
        return zones
    return ZoneSet([replace(z, shelter_s=int(shelter_s)) for z in zones.zones])


def merge(base: Conditions | None, **knobs: Any) -> Conditions | None:
    """A cell with some knobs set on top (flags given beside `--sensor`); None when neither a
    cell nor any knob is given, which is the default simulator."""
    given = {k: v for k, v in knobs.items() if v is not None}
    if base is None and not given:
        return None
    return replace(base or Conditions(), **given)
