"""Every command's `--help` shows examples, and fits an 80-column terminal."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from airwarn.cli import app

runner = CliRunner()


def commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `group`, as the words that call it."""
    found = [path]
    for name, command in sorted((getattr(group, "commands", None) or {}).items()):
        found += commands(command, (*path, name))
    return found


@pytest.mark.parametrize("path", commands(typer.main.get_command(app)), ids=" ".join)
def test_every_help_has_examples_and_fits_80_columns(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"airwarn {' '.join(path)} --help shows no example"
    too_wide = [line for line in result.output.splitlines() if len(line) > 80]
    assert too_wide == [], too_wide


def test_serve_refuses_a_tile_url_without_its_placeholders(tmp_path) -> None:
    result = runner.invoke(
        app,
        [
            "serve",
            "--db",
            f"sqlite:///{tmp_path / 'a.db'}",
            "--tiles",
            "https://tile.example.org/map.png",
        ],
    )
    assert result.exit_code == 2
    assert "--tiles is a URL template with {z}, {x} and {y}" in " ".join(result.output.split())
    assert not (tmp_path / "a.db").exists()  # nothing was started or written
