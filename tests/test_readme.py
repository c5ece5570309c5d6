"""Every command in the README runs as written, in order, from an empty folder: the shell blocks
after "Two commands" (which `.ci/run` runs itself) are joined into one bash script, run with
`set -e` in an empty folder that has the data set beside it (so that `../shared/data` means
what the README says), with this test's virtual environment on PATH. A block that needs what
this machine lacks (the data set, PostgreSQL, NATS, Mosquitto) is left out with the reason.

Slow: about three minutes (the history import and the demos take most of it)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED_DATA = ROOT.parent / "shared" / "data"


def shell_blocks(text: str) -> list[tuple[str, str]]:
    """(section title, block) for each ```sh block, in order."""
    blocks = []
    section = ""
    in_block = False
    lines: list[str] = []
    for line in text.splitlines():
        if not in_block and line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.strip() == "```sh":
            in_block, lines = True, []
        elif in_block and line.strip() == "```":
            in_block = False
            blocks.append((section, "\n".join(lines)))
        elif in_block:
            lines.append(line)
    return blocks


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def missing_for(block: str) -> str | None:
    """Why this block cannot run on this machine, or None."""
    if "../shared/data" in block and not SHARED_DATA.is_dir():
        return f"the data set is not beside the repository ({SHARED_DATA})"
    needs = [
        (":5432", 5432, "PostgreSQL"),
        ("nats://", 4222, "NATS"),
        ("mqtt://", 1883, "an MQTT broker"),
    ]
    for marker, port, what in needs:
        if marker in block and not port_open(port):
            return f"{what} is not running on 127.0.0.1:{port}"
    if "createdb" in block:
        listed = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-Atc",
                "SELECT 1 FROM pg_database WHERE datname = 'airwarn'",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if listed.returncode != 0 or listed.stdout.strip():
            return "the database airwarn exists already (the README creates it)"
    return None


def test_the_readme_has_its_two_commands_in_a_virtual_environment() -> None:
    first, second = shell_blocks(README.read_text(encoding="utf-8"))[0][1].splitlines()
    for command in (first, second):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert first.endswith("&& airwarn demo")
    assert second.endswith("&& python3 -m pytest")


@pytest.mark.slow
def test_every_readme_command_runs_as_written_in_order(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    if port_open(8000):
        pytest.skip("port 8000, which the README's server uses, is taken on this machine")
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert blocks[0][0] == "Two commands"
    # servers a block leaves running (`&`) are stopped however the script ends
    script = [
        "set -euo pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT",
        "set -x",
    ]
    skipped = []
    created_db = False
    for section, block in blocks[1:]:
        reason = missing_for(block)
        if reason is not None:
            skipped.append(f"{section}: {reason}")
            continue
        created_db = created_db or "createdb" in block
        script += [f": '--- {section} ---'", block]
    # an empty folder with the data set beside it, as the README has it (`../shared/data`)
    folder = tmp_path / "here" / "run"
    folder.mkdir(parents=True)
    if SHARED_DATA.is_dir():
        (tmp_path / "here" / "shared").symlink_to(SHARED_DATA.parent)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "100",
        "HOME": str(folder),
    }
    try:
        result = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        log = result.stdout[-4000:] + "\n--- stderr ---\n" + result.stderr[-8000:]
        assert result.returncode == 0, log
        # what the blocks were for
        assert "5000511" in result.stdout or "5000511" in result.stderr, log
        assert (folder / "sim" / "decisions.jsonl").stat().st_size > 0
        active = re.findall(r'"identifier":"urn:airwarn:', result.stdout)
        assert active, "the service answered /v1/alerts/active with no alert in force"
        # the drill scored itself against its truth: every impact in a zone warned in time
        assert re.search(r"\b[1-9]\d* impacts? in zones, 0 missed, 0 late", result.stdout), log
    finally:
        if created_db:
            subprocess.run(
                ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", "airwarn"],
                capture_output=True,
                timeout=60,
            )
            from kits.buskit import drop_namespace

            drop_namespace("airwarn")
    if skipped:
        print("left out:", *skipped, sep="\n  ")
