"""`airwarn serve`'s bus options: a wrong combination is refused before anything starts, with
the option at fault and what to give instead."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from airwarn.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "edge"], "--role edge needs a --bus"),
        (["--role", "engine"], "--role engine needs a --bus"),
        (["--role", "leader"], "--role is engine, edge or all"),
        (["--bus", "http://127.0.0.1:4222"], "--bus is a NATS URL"),
        (["--bus", "nats://127.0.0.1:4222", "--role", "edge"], "give a PostgreSQL --db"),
        (
            [
                "--bus",
                "nats://127.0.0.1:4222",
                "--db",
                "postgresql://x@127.0.0.1:1/x",
                "--bus-namespace",
                "1bad.name",
            ],
            "--bus-namespace is a letter",
        ),
    ],
)
def test_serve_refuses_a_bus_setting_that_cannot_work_and_says_which(
    args: list[str], says: str, tmp_path
) -> None:
    result = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'a.db'}", *args])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split()), result.output
    assert not (tmp_path / "a.db").exists()  # nothing was started or written
