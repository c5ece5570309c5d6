"""The sweep's target checks (bench/sweep.py), on which BENCHMARKS.md's counts of rows meeting
issue 12's targets rest: a failed target says which floor fails it too, and no floor's own
check decides whether a row meets every target."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import argparse  # noqa: E402

import pytest  # noqa: E402
from sweep import _config, _hold, _targets, checks, meets_every_target  # noqa: E402

from airwarn.engine import EngineConfig  # noqa: E402


def _policy(over_alert: float, flaps_per_100: float = 0.0) -> dict[str, Any]:
    return {"missed": 0, "late": 0, "over_alert": over_alert, "flaps_per_100": flaps_per_100}


def test_a_drone_row_within_every_target_is_met():
    policies = {
        "engine": _policy(12.0, 0.5),
        "region": _policy(100.0),
        "path-oracle": _policy(5.0, 2.0),
        "state-oracle": _policy(8.0, 3.0),
    }
    c = checks("drone", policies)
    assert meets_every_target(c)  # the floors flap, the engine does not: met
    assert _targets("drone", c) == "✓"


def test_a_failed_target_says_which_floor_fails_it_too():
    policies = {
        "engine": _policy(30.0, 2.0),
        "region": _policy(100.0),
        "path-oracle": _policy(5.0, 1.5),
        "state-oracle": _policy(18.0, 0.5),
    }
    c = checks("cruise", policies)
    assert not meets_every_target(c)
    text = _targets("cruise", c)
    assert "flaps > 1/100 (path-oracle too)" in text
    assert "> region/5, " in text  # the state oracle's 18 is within 20: the engine's alone
    assert "> 3× path-oracle (state-oracle too)" in text


def test_a_failed_target_names_the_sensor_oracle_when_the_engine_fed_a_perfect_sensor_fails_too():
    policies = {
        "engine": _policy(30.0),
        "region": _policy(100.0),
        "path-oracle": _policy(5.0),
        "state-oracle": _policy(18.0),
        "sensor-oracle": _policy(25.0, 1.5),
    }
    c = checks("drone", policies)
    text = _targets("drone", c)
    assert "> region/5 (sensor-oracle too)" in text  # 25 > 20; the state oracle's 18 is not
    assert "> 3× path-oracle (sensor-oracle, state-oracle too)" in text
    assert c["sensor-oracle flaps"] is False and meets_every_target(c) is False
    policies["sensor-oracle"] = _policy(15.0)
    assert "> region/5, " in _targets("drone", checks("drone", policies))


def test_a_floor_that_fails_alone_does_not_fail_the_row():
    policies = {"engine": _policy(4.0), "path-oracle": _policy(3.0, 5.0)}
    c = checks("rocket", policies)
    assert c["path-oracle flaps"] is False
    assert meets_every_target(c)
    assert _targets("rocket", c) == "✓; goal ≤ 3 ✗"


def test_a_rocket_row_above_six_fails():
    c = checks("rocket", {"engine": _policy(6.5)})
    assert not meets_every_target(c)
    assert _targets("rocket", c).startswith("**✗** over-alert > 6")


def test_the_sweep_reads_its_holds_back_from_its_cache_key():
    assert _config("1f53") == EngineConfig()
    config = _config("1f53-corridor_release_s=10-hold_s=300-pass_hold_s=0")
    assert (config.pass_hold_s, config.corridor_release_s, config.hold_s) == (0, 10, 300)
    assert config.ballistic_release_s == EngineConfig().ballistic_release_s
    assert _hold("pass-hold-s=0") == ("pass_hold_s", 0)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("pass_hold_s", "give NAME=SECONDS"),
        ("pass_hold_s=1.5", "give NAME=SECONDS"),
        ("pass_hold_s=-5", "out of range"),
        ("pass_hold_s=4000", "out of range"),
        ("nap_s=5", "no such hold"),
    ],
)
def test_the_sweep_refuses_a_hold_it_cannot_use_and_says_why(text, why):
    with pytest.raises(argparse.ArgumentTypeError, match=why):
        _hold(text)
