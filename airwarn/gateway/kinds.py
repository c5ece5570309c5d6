"""What kind of threat a radar track is, by rules the user writes: ASTERIX says nothing of
rockets or drones.

The rules are a small TOML file, read in order; the first rule whose every condition holds
gives the kind, and a track no rule matches is `default` (`unknown` unless set: airwarn treats
an unknown threat conservatively). A condition on something the record does not carry (a
speed with no velocity, a callsign a radar never sent) does not hold.

    default = "unknown"

    [[rule]]                       # the tracker numbers rocket tracks 1000-1999
    kind = "rocket"
    track_numbers = [1000, 1999]

    [[rule]]                       # fast and climbing hard: a rocket, whatever its number
    kind = "rocket"
    speed_mps = [250, 3000]
    climb_mps = [100, 3000]

    [[rule]]                       # slow, low, no answer to Mode 4: a drone
    kind = "drone"
    speed_mps = [20, 70]
    alt_m = [0, 4000]
    identity = ["unknown", "no_reply"]

Conditions: `source` ("SAC/SIC", or a list), `category` (48 or 62), `track_numbers`,
`speed_mps`, `alt_m`, `climb_mps` (inclusive [low, high] ranges), `vertical` (level, climb,
descent, undetermined: I062/200 VERT or I048/170 CDM), `transversal` (constant_course,
right_turn, left_turn, undetermined), `longitudinal` (constant_speed, increasing_speed,
decreasing_speed, undetermined), `identity` (the Mode 4 or Mode 5 answer: friendly, unknown,
no_reply; `none` when the source interrogated nothing), `callsign` and `mode3a` (text or
shell-style patterns such as "SHAHED*", "75?0").
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airwarn.contract import KINDS
from airwarn.errors import AirwarnError
from airwarn.gateway.decode import LONGITUDINAL, TRANSVERSAL, VERTICAL, RadarRecord

RANGES = ("track_numbers", "speed_mps", "alt_m", "climb_mps")
CHOICES: dict[str, tuple[str, ...]] = {
    "vertical": tuple(VERTICAL.values()),
    "transversal": tuple(TRANSVERSAL.values()),
    "longitudinal": tuple(LONGITUDINAL.values()),
    "identity": ("friendly", "unknown", "no_reply", "none"),
}
PATTERNS = ("callsign", "mode3a")
KEYS = ("kind", "source", "category", *RANGES, *CHOICES, *PATTERNS)


@dataclass(frozen=True)
class Facts:
    """What the rules look at, worked out once per record."""

    record: RadarRecord
    speed_mps: float | None
    alt_m: float | None
    climb_mps: float | None


Test = Callable[[Facts], bool]


@dataclass(frozen=True)
class Rule:
    kind: str
    tests: tuple[Test, ...]
    text: str  # the rule as written, for reports

    def matches(self, facts: Facts) -> bool:
        return all(test(facts) for test in self.tests)


@dataclass(frozen=True)
class KindRules:
    rules: tuple[Rule, ...] = ()
    default: str = "unknown"

    def kind_of(self, facts: Facts) -> str:
        for rule in self.rules:
            if rule.matches(facts):
                return rule.kind
        return self.default


def load_rules(path: Path) -> KindRules:
    """Read and check a rules file; an AirwarnError names the file, the rule and the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AirwarnError(f"{path}: cannot read the kind rules: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AirwarnError(f"{path}: not valid TOML: {error}") from None
    return rules_from_document(document, str(path))


def rules_from_document(document: dict[str, Any], where: str = "kind rules") -> KindRules:
    extra = set(document) - {"default", "rule"}
    if extra:
        raise AirwarnError(
            f"{where}: unknown top-level key {sorted(extra)[0]!r}; the file "
            'holds `default = "KIND"` and [[rule]] tables'
        )
    default = document.get("default", "unknown")
    if default not in KINDS:
        raise AirwarnError(f"{where}: default must be one of {', '.join(KINDS)}, not {default!r}")
    raw_rules = document.get("rule", [])
    if not isinstance(raw_rules, list):
        raise AirwarnError(f"{where}: write each rule as a [[rule]] table")
    return KindRules(
        tuple(_rule(raw, f"{where}: rule {n}") for n, raw in enumerate(raw_rules, start=1)), default
    )


def _rule(raw: dict[str, Any], where: str) -> Rule:
    for key in raw:
        if key not in KEYS:
            raise AirwarnError(
                f"{where}: unknown condition {key!r}; conditions are {', '.join(KEYS[1:])}"
            )
    kind = raw.get("kind")
    if kind not in KINDS:
        raise AirwarnError(f"{where}: `kind` must be one of {', '.join(KINDS)}, not {kind!r}")
    tests: list[Test] = []
    if "source" in raw:
        sources = {_source(s, where) for s in _list(raw["source"])}
        tests.append(lambda f: (f.record.sac, f.record.sic) in sources)
    if "category" in raw:
        categories = set(_list(raw["category"]))
        if not categories <= {48, 62}:
            raise AirwarnError(f"{where}: `category` is 48 or 62, not {raw['category']!r}")
        tests.append(lambda f: f.record.category in categories)
    for key in RANGES:
        if key in raw:
            tests.append(_range_test(key, _range(raw[key], f"{where}, {key}")))
    for key, allowed in CHOICES.items():
        if key in raw:
            values = set(_list(raw[key]))
            bad = values - set(allowed)
            if bad:
                raise AirwarnError(
                    f"{where}: `{key}` takes {', '.join(allowed)}; not {sorted(bad)[0]!r}"
                )
            tests.append(_choice_test(key, frozenset(values)))
    for key in PATTERNS:
        if key in raw:
            patterns = tuple(str(p).upper() for p in _list(raw[key]))
            tests.append(_pattern_test(key, patterns))
    text = ", ".join(f"{k}={v!r}" for k, v in raw.items())
    return Rule(kind, tuple(tests), text)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _source(text: Any, where: str) -> tuple[int, int]:
    try:
        sac, _, sic = str(text).partition("/")
        return int(sac), int(sic)
    except ValueError:
        raise AirwarnError(
            f'{where}: `source` is "SAC/SIC" such as "25/10", not {text!r}'
        ) from None


def _range(value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or value[0] > value[1]
    ):
        raise AirwarnError(f"{where}: write a range as [low, high] with low <= high, not {value!r}")
    return float(value[0]), float(value[1])


def _range_test(key: str, bounds: tuple[float, float]) -> Test:
    low, high = bounds
    if key == "track_numbers":
        return lambda f: f.record.track_number is not None and low <= f.record.track_number <= high
    if key == "speed_mps":
        return lambda f: f.speed_mps is not None and low <= f.speed_mps <= high
    if key == "alt_m":
        return lambda f: f.alt_m is not None and low <= f.alt_m <= high
    return lambda f: f.climb_mps is not None and low <= f.climb_mps <= high


def _choice_test(key: str, values: frozenset[str]) -> Test:
    if key == "identity":
        return lambda f: (f.record.identity or "none") in values
    return lambda f: getattr(f.record, key) in values


def _pattern_test(key: str, patterns: tuple[str, ...]) -> Test:
    def test(facts: Facts) -> bool:
        value = getattr(facts.record, key)
        return value is not None and any(fnmatch.fnmatchcase(value.upper(), p) for p in patterns)

    return test
