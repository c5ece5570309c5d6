"""`airwarn replay` as a user runs it: files in, decisions out, clear errors, same bytes twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import at, grid_zones
from typer.testing import CliRunner

from airwarn.cli import app

runner = CliRunner()


@pytest.fixture
def zone_file(tmp_path: Path) -> Path:
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(grid_zones()))
    return path


def drone_lines(n: int = 40) -> list[str]:
    return [
        json.dumps(
            {
                "type": "track",
                "threat": "D1",
                "kind": "drone",
                "t": at(10 * i),
                "lat": 31.575,
                "lon": 34.55 + 0.005 * i,
                "sigma_m": 100,
            }
        )
        for i in range(n)
    ] + [json.dumps({"type": "end", "threat": "D1", "t": at(10 * n), "reason": "intercepted"})]


def test_replay_writes_decisions_that_end_with_every_zone_clear(tmp_path, zone_file):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(drone_lines()) + "\n")
    out = tmp_path / "decisions.jsonl"
    result = runner.invoke(
        app, ["replay", "--zones", str(zone_file), "--events", str(events), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in out.read_text().splitlines()]
    assert decisions and decisions[0]["level"] in ("alert", "pre_alert")
    assert list(decisions[0]) == ["seq", "t", "zone", "level", "threats", "kind"]
    final = {}
    for d in decisions:
        final[d["zone"]] = d["level"]
    assert set(final.values()) == {"clear"}


def test_replay_stops_at_the_first_invalid_line_and_names_it(tmp_path, zone_file):
    lines = drone_lines(5)
    lines.insert(
        3,
        '{"type":"track","threat":"D1","kind":"drone","t":"2026-03-01T18:00:35Z",'
        '"lat":"north","lon":34.6}',
    )
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["replay", "-z", str(zone_file), "-e", str(events), "-o", str(tmp_path / "d.jsonl")]
    )
    assert result.exit_code == 1
    assert "line 4, field $.lat" in result.output
    assert "'north'" in result.output
    assert "--skip-invalid" in result.output


def test_skip_invalid_reports_every_skipped_line_and_counts_them(tmp_path, zone_file):
    lines = drone_lines(5)
    lines.insert(1, "not json")
    lines.insert(
        4, '{"type":"manual","action":"alert","zones":["nowhere"],"t":"2026-03-01T18:00:30Z"}'
    )
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        [
            "replay",
            "-z",
            str(zone_file),
            "-e",
            str(events),
            "-o",
            str(tmp_path / "d.jsonl"),
            "--skip-invalid",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped: line 2" in result.output
    assert (
        "skipped: line 5, field $.zones: no zone with that id in the zone set (got 'nowhere')"
    ) in result.output
    assert "2 invalid lines skipped" in result.output


def test_a_missing_zone_file_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["replay", "-z", str(tmp_path / "none.geojson"), "-e", "x", "-o", "y"]
    )
    assert result.exit_code == 2
    assert "airwarn zones import" in result.output


def test_replay_is_byte_identical_across_runs_and_hash_seeds(tmp_path, zone_file):
    lines = drone_lines(30)
    lines += [
        json.dumps(
            {
                "type": "track",
                "threat": f"X{i}",
                "kind": "unknown",
                "t": at(5 + i),
                "lat": 31.45 + 0.02 * i,
                "lon": 34.7,
            }
        )
        for i in range(8)
    ]
    lines.sort(key=lambda line: json.loads(line)["t"])
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    outputs = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"d{seed}.jsonl"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "airwarn.cli",
                "replay",
                "-z",
                str(zone_file),
                "-e",
                str(events),
                "-o",
                str(out),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]


def test_replay_takes_a_shipped_layer_by_name_as_serve_does(tmp_path):
    """`--zones israel` is the shipped layer, with the decisions its exported file gives."""
    events = tmp_path / "events.jsonl"
    # a drone over Sderot, at the edge of the Gaza envelope
    events.write_text(
        "\n".join(
            json.dumps(
                {
                    "type": "track",
                    "threat": "D1",
                    "kind": "drone",
                    "t": at(10 * i),
                    "lat": 31.45,
                    "lon": 34.45 + 0.004 * i,
                    "sigma_m": 100,
                }
            )
            for i in range(12)
        )
        + "\n"
    )
    exported = tmp_path / "il.geojson"
    assert runner.invoke(app, ["zones", "export", "israel", "--out", str(exported)]).exit_code == 0
    outs = []
    for zones in ("israel", str(exported)):
        out = tmp_path / f"d-{len(outs)}.jsonl"
        result = runner.invoke(
            app, ["replay", "--zones", zones, "--events", str(events), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] and outs[0] == outs[1]
    missing = runner.invoke(
        app,
        [
            "replay",
            "--zones",
            "atlantis",
            "--events",
            str(events),
            "--out",
            str(tmp_path / "x.jsonl"),
        ],
    )
    assert missing.exit_code == 2 and "shipped layer" in missing.output


def test_a_missing_events_file_names_its_flag_and_out_makes_its_folder(tmp_path, zone_file):
    missing = runner.invoke(
        app, ["replay", "-z", str(zone_file), "-e", str(tmp_path / "nope.jsonl"), "-o", "y"]
    )
    assert missing.exit_code == 2
    assert "--events" in missing.output and "no such file" in missing.output
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(drone_lines()) + "\n")
    out = tmp_path / "new" / "folder" / "d.jsonl"
    made = runner.invoke(app, ["replay", "-z", str(zone_file), "-e", str(events), "-o", str(out)])
    assert made.exit_code == 0, made.output
    assert out.read_text().count("\n") > 0


def test_evaluate_names_the_file_that_is_wrong(tmp_path, zone_file):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(drone_lines()) + "\n")
    decisions = tmp_path / "d.jsonl"
    made = runner.invoke(
        app, ["replay", "-z", str(zone_file), "-e", str(events), "-o", str(decisions)]
    )
    assert made.exit_code == 0, made.output
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"threats": []}))

    def evaluate(truth_path: Path, decisions_path: Path) -> str:
        result = runner.invoke(
            app,
            ["evaluate", "-z", str(zone_file), "--truth", str(truth_path)]
            + ["--decisions", str(decisions_path)],
        )
        assert result.exit_code == 2, result.output
        return " ".join(result.output.split())

    # the events given as the truth: the error is the truth's, not the decisions'
    said = evaluate(events, decisions)
    assert said.startswith(f"error: --truth {events}: not a truth.json")
    assert str(decisions) not in said
    assert "--truth" in evaluate(tmp_path / "nope.json", decisions)
    said = evaluate(truth, events)
    assert said.startswith(f"error: --decisions {events}: not decisions")
    assert "no such file" in evaluate(truth, tmp_path / "none.jsonl")


def test_a_zone_named_instead_of_its_id_or_one_slip_away_is_pointed_to(tmp_path):
    def manual(zone: str) -> str:
        return json.dumps(
            {"type": "manual", "action": "alert", "t": at(0), "zones": [zone]}, ensure_ascii=False
        )

    events = tmp_path / "manual.jsonl"
    events.write_text("\n".join(manual(z) for z in ["Abu Gosh", "Sderot, Ivim", "500051"]) + "\n")
    out = tmp_path / "d.jsonl"
    result = runner.invoke(
        app,
        ["replay", "-z", "israel", "-e", str(events), "-o", str(out), "--skip-invalid"],
    )
    said = result.output.splitlines()
    assert "'Abu Gosh' is the name of zone 5000511: give its id" in said[0]
    assert "did you mean zone 5000248 (Sderot, Ibim)?" in said[1]
    # an id one digit off is another zone: none is guessed
    assert said[2].endswith("no zone with that id in the zone set (got '500051')")
    assert out.read_text() == ""  # nothing was alerted
    # a name that several zones share: all of them, each with its region, and none chosen
    events.write_text(manual("Zinkivska") + "\n")
    result = runner.invoke(
        app, ["replay", "-z", "ukraine", "-e", str(events), "-o", str(out), "--skip-invalid"]
    )
    assert (
        "zones UA68040190000021840 (Khmelnytska oblast), UA53080090000014431 (Poltavska "
        "oblast) are named 'Zinkivska': give the id of the one you mean"
    ) in result.output


def test_a_layer_name_one_slip_away_is_pointed_to(tmp_path):
    result = runner.invoke(app, ["replay", "-z", "isreal", "-e", "x", "-o", "y"])
    assert result.exit_code == 2
    assert "did you mean israel?" in " ".join(result.output.split())
