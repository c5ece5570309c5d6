"""The holds an agency sets (issue 12: "make the holds settings with safe defaults"): each a flag
of `replay`, `evaluate` and `serve`, checked before anything runs, kept with a served log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import at, grid_zones
from test_replay_cli import drone_lines
from typer.testing import CliRunner

from airwarn.cli import app
from airwarn.cli.common import describe
from airwarn.engine import EngineConfig
from airwarn.engine.holds import HOLDS, longer_than_full_hold, with_holds
from airwarn.errors import AirwarnError, SettingError
from airwarn.server import ServerSettings, build

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps(grid_zones()))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(drone_lines()) + "\n")  # a drone east across the grid, shot down
    return zones, events


def _alert_ends(tmp_path: Path, files: tuple[Path, Path], *flags: str) -> dict[str, str]:
    """When each zone's alert ended (it stepped down to pre_alert or was cleared)."""
    out = tmp_path / "decisions.jsonl"
    zones, events = files
    args = ["replay", "--zones", str(zones), "--events", str(events), "--out", str(out), *flags]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ends, alerted = {}, set()
    for line in out.read_text().splitlines():
        d = json.loads(line)
        if d["level"] == "alert":
            alerted.add(d["zone"])
        elif d["zone"] in alerted:
            alerted.discard(d["zone"])
            ends[d["zone"]] = d["t"]
    assert not alerted
    return ends


def test_a_shorter_pass_hold_ends_the_alerts_of_zones_a_drone_flew_past_sooner(tmp_path, files):
    default = _alert_ends(tmp_path, files)
    shorter = _alert_ends(tmp_path, files, "--pass-hold-s", "0")
    assert set(shorter) == set(default)
    sooner = [z for z in default if shorter[z] < default[z]]
    same = [z for z in default if shorter[z] == default[z]]
    assert sooner, "the zones it flew past keep no pass hold at alert"
    assert same, "the zones near where it was shot down keep theirs"
    assert all(shorter[z] <= default[z] for z in default)


@pytest.mark.parametrize("name", sorted(HOLDS))
def test_each_hold_flag_reaches_the_engine(tmp_path, files, monkeypatch, name):
    import airwarn.cli.holds as flags

    made: list[EngineConfig] = []

    def spy(hold_s, holds=None):
        made.append(with_holds(hold_s, holds))
        return made[-1]

    monkeypatch.setattr(flags, "with_holds", spy)
    zones, events = files
    out = tmp_path / "decisions.jsonl"
    args = ["replay", "--zones", str(zones), "--events", str(events), "--out", str(out)]
    result = runner.invoke(app, [*args, "--" + name.replace("_", "-"), "7"])
    assert result.exit_code == 0, result.output
    (config,) = made
    assert getattr(config, name) == 7
    others = {n: getattr(config, n) for n in HOLDS if n != name}
    assert others == {n: getattr(EngineConfig(), n) for n in HOLDS if n != name}


def test_serve_builds_its_service_with_the_holds_given(monkeypatch):
    import airwarn.server

    seen: list[ServerSettings] = []

    def stop(settings):
        seen.append(settings)
        raise AirwarnError("stopped before serving")

    monkeypatch.setattr(airwarn.server, "build", stop)
    result = runner.invoke(
        app, ["serve", "--hold-s", "300", "--ballistic-release-s", "5", "--pre-hold-s", "90"]
    )
    assert "stopped before serving" in result.output
    (settings,) = seen
    assert settings.hold_s == 300
    assert dict(settings.holds) == {"ballistic_release_s": 5, "pre_hold_s": 90}


def test_a_hold_longer_than_the_full_hold_runs_with_a_warning_naming_the_flags(tmp_path, files):
    zones, events = files
    out = tmp_path / "decisions.jsonl"
    args = ["replay", "--zones", str(zones), "--events", str(events), "--out", str(out)]
    result = runner.invoke(app, [*args, "--pass-hold-s", "900"])
    assert result.exit_code == 0, result.output
    assert "warning: --pass-hold-s 900 keeps a zone at alert longer than --hold-s 600" in (
        result.output
    )
    assert out.exists()
    quiet = runner.invoke(app, [*args, "--pass-hold-s", "900", "--hold-s", "960"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    refused = runner.invoke(app, [*args, "--pass-hold-s", "3601"])
    assert refused.exit_code == 2 and "--pass-hold-s" in refused.output


def test_evaluate_runs_its_references_with_the_holds_given(tmp_path, files):
    zones, events = files
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"start": at(0), "threats": []}))
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("")
    base = ["evaluate", "--zones", str(zones), "--truth", str(truth), "--decisions"]
    args = [*base, str(decisions), "--events", str(events), "--policy", "reach", "--json"]
    area = {}
    for pass_hold in ("60", "0"):
        result = runner.invoke(app, [*args, "--pass-hold-s", pass_hold])
        assert result.exit_code == 0, result.output
        area[pass_hold] = json.loads(result.output)["reach"]["total"]["alert_km2h"]
    assert area["0"] < area["60"]
    refused = runner.invoke(app, [*args, "--debris-margin-s", "-1"])
    assert refused.exit_code == 2 and "--debris-margin-s" in refused.output


def test_holds_left_out_keep_their_defaults_and_unknown_ones_are_refused():
    config = with_holds(600, {"ballistic_release_s": 0, "pass_hold_s": None})
    assert config.ballistic_release_s == 0
    assert config.pass_hold_s == EngineConfig().pass_hold_s
    assert with_holds(30, {"pre_hold_s": 120}).pre_hold_s == 120
    # the release time given as the corridor's is the default, as a store compares it
    assert with_holds(600, {"corridor_release_s": 30}).corridor_release_s is None
    assert with_holds(600, {"corridor_release_s": 45}).corridor_release_s == 45
    for holds, setting in (
        ({"pass_hold": 30}, "pass_hold"),
        ({"pass_hold_s": True}, "pass_hold_s"),
        ({"pass_hold_s": 2.5}, "pass_hold_s"),
        ({"debris_margin_s": 4000}, "debris_margin_s"),
        ({"ballistic_release_s": -1}, "ballistic_release_s"),
    ):
        with pytest.raises(SettingError) as caught:
            with_holds(600, holds)
        assert caught.value.setting == setting
        assert describe(caught.value).startswith("--" + setting.replace("_", "-") + ":")
    assert set(HOLDS) <= set(EngineConfig.__dataclass_fields__)


def test_holds_longer_than_the_full_hold_are_named_and_the_defaults_are_not():
    assert longer_than_full_hold(EngineConfig()) == {}
    assert longer_than_full_hold(with_holds(30)) == {"pass_hold_s": 60}
    assert longer_than_full_hold(with_holds(30, {"debris_margin_s": 600})) == {"pass_hold_s": 60}
    # a corridor kind's zone is held for its release, then its pass hold
    corridor = with_holds(600, {"corridor_release_s": 580})
    assert longer_than_full_hold(corridor) == {"corridor_release_s": 580}
    assert longer_than_full_hold(with_holds(600, {"pre_hold_s": 900})) == {}


def test_a_store_written_with_other_holds_is_refused(grid, tmp_path):
    def settings(**holds: int) -> ServerSettings:
        return ServerSettings(
            zones=grid,
            db=f"sqlite:///{tmp_path / 'a.db'}",
            keys=tmp_path / "keys",
            clock="events",
            holds=holds,
            follow=(),
        )

    server = build(settings(pass_hold_s=30))
    assert server.service.settings.engine.pass_hold_s == 30
    server.service.db.dispose()
    with pytest.raises(AirwarnError, match=r"other engine settings \(--pass-hold-s 30 there, 60"):
        build(settings())
    again = build(settings(pass_hold_s=30))
    assert again.service.settings.engine.pass_hold_s == 30
    again.service.db.dispose()
