"""Every command's `--help` shows examples, and fits an 80-column terminal."""

from __future__ import annotations

import re
import shlex

import pytest
import typer
from typer.testing import CliRunner

from airwarn.cli import app
from airwarn.cli.helptext import tidy
from airwarn.layers.packaged import LAYERS

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
    # every flag by its full name, none cut short, and a switch shown as a switch
    command = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]  # type: ignore[attr-defined]
    for param in command.params:
        for name in (n for n in param.opts if n.startswith("--")):
            assert name in result.output, f"airwarn {' '.join(path)} --help hides {name}"
    assert "…" not in result.output and "<bool>" not in result.output


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_no_help_breaks_a_layer_name_or_a_flag_at_its_hyphen(columns: int) -> None:
    # `ukraine-` at a line's end and `raions` on the next is no name a user can copy
    hyphenated = [name for name in LAYERS if "-" in name]
    assert hyphenated, "the test needs a shipped layer with a hyphen in its name"
    for path in commands(typer.main.get_command(app)):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}).output
        split = re.findall(r"\S*\w-\n\s*\w\S*", shown)
        assert split == [], f"airwarn {' '.join(path)} --help at {columns} columns: {split}"
        joined = re.sub(r"-\n\s*", "-", shown)
        for name in hyphenated:
            assert joined.count(name) == shown.count(name), (path, columns, name)


def examples(output: str) -> list[list[str]]:
    """The commands a help shows, each joined from the lines it was broken over."""
    found: list[list[str]] = []
    shown = False  # within the examples: from "Example" to the next heading
    lines = iter(output.splitlines())
    for line in lines:
        text = line.strip()
        if re.match(r"^(Options|Arguments|Commands):", line):
            shown = False
        shown = shown or text.startswith("Example")
        if not shown or not re.match(r"^([A-Z_]+=\S*\s+)*airwarn ", text):
            continue
        while text.endswith(" \\"):
            text = text[:-1] + next(lines).strip()  # as the shell joins `\` and a newline
        found.append(shlex.split(text))
    return found


@pytest.mark.parametrize("path", commands(typer.main.get_command(app)), ids=" ".join)
def test_every_example_a_help_shows_is_a_command_that_parses(path: tuple[str, ...]) -> None:
    # copied from the help as a user would (its broken lines joined as the shell joins them),
    # each example is a real command whose flags, values and arguments the parser takes
    shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
    for words in examples(shown):
        while "=" in words[0]:
            words = words[1:]  # an environment variable set before it
        assert words[0] == "airwarn"
        command, rest = typer.main.get_command(app), words[1:]
        while rest and rest[0] in getattr(command, "commands", {}):
            command, rest = command.commands[rest[0]], rest[1:]  # type: ignore[attr-defined]
        command.make_context(" ".join(words[:2]), rest)  # raises on a word it cannot take


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


def test_a_help_text_keeps_one_command_to_a_line_and_breaks_it_as_the_shell_joins_it() -> None:
    text = """Do a thing.

    Prose broken
    over lines.

    Examples:
    airwarn simulate --zones zones-israel.geojson --scenario rockets --noise-m 300
    --interval-s 5 --acquire launch --body draggy --out sim/
    airwarn demo

    Example: airwarn demo --score
    """
    tidied = tidy(text).split("\n\n")
    assert tidied[:2] == ["Do a thing.", "Prose broken\nover lines."]  # click wraps prose
    assert tidied[2].splitlines() == [
        "\b",  # click keeps these lines as they are
        "Examples:",
        "airwarn simulate --zones zones-israel.geojson --scenario rockets \\",
        "    --noise-m 300 --interval-s 5 --acquire launch --body draggy --out sim/",
        "airwarn demo",
    ]
    assert tidied[3].splitlines() == ["\b", "Example:", "airwarn demo --score"]


def test_python_dash_m_airwarn_is_the_airwarn_command() -> None:
    import subprocess
    import sys

    shown = subprocess.run(
        [sys.executable, "-m", "airwarn", "zones", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "airwarn zones export israel --out zones-il.geojson" in shown


def test_the_keys_folder_s_help_lists_what_it_holds_and_says_to_back_it_up() -> None:
    """Operators back up by this description: every file in the folder is named."""
    shown = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    keys = " ".join(shown[shown.index("--keys") :].split())
    keys = keys[: keys.index(" --", 6)]
    for holds in ("cap-signing-key.pem", "store.key", "vapid_private.pem", "log-head-*"):
        assert holds in keys, keys
    assert "Back the whole folder up" in keys and "keep it private" in keys, keys
