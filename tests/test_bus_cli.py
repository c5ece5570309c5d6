"""`airwarn serve`'s bus options: a wrong combination is refused before anything starts, with
the option at fault and what to give instead; so is a bus where no NATS answers, within
seconds, and a start that waits for it still heeds SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import postgres_schema
from kits.serverkit import free_port
from typer.testing import CliRunner

from airwarn.cli import app
from airwarn.urls import shown

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


def test_serve_takes_the_bus_url_from_airwarn_bus_so_a_password_stays_out_of_ps(
    tmp_path: Path,
) -> None:
    # the variable is read as --bus is: the same check refuses a URL that is not NATS's
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = runner.invoke(
        app, ["serve", "--db", db], env={"AIRWARN_BUS": "http://u:secret@127.0.0.1:4222"}
    )
    assert result.exit_code == 2, result.output
    assert "--bus is a NATS URL" in " ".join(result.output.split()), result.output
    assert "secret" not in result.output and "u:***@" in result.output  # never echoed
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    ("url", "shows"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://ops:pw@nats.example:4222", "nats://ops:***@nats.example:4222"),
        ("nats://s3cr3t-token@nats.example", "nats://***@nats.example"),
        ("tls://ops:pw@nats.example:4222", "tls://ops:***@nats.example:4222"),
    ],
)
def test_a_bus_url_is_shown_with_its_password_or_token_hidden(url: str, shows: str) -> None:
    assert shown(url) == shows


def _serve(args: list[str], db: str, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "airwarn", "serve", "--role", "engine", "--db", db, *args]
        + ["--keys", str(folder / "keys"), "--zones", "generated", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )


def _tables(db: str) -> int:
    import sqlalchemy as sa

    from airwarn.store import connect

    engine = connect(db)
    try:
        with engine.connect() as connection:
            return len(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_serve_with_no_nats_at_its_bus_url_says_so_and_exits_2_having_built_nothing(
    tmp_path: Path,
) -> None:
    with postgres_schema() as db:
        began = time.monotonic()
        server = _serve(["--bus", f"nats://127.0.0.1:{free_port()}"], db, tmp_path)
        try:
            _, stderr = server.communicate(timeout=60)
        finally:
            server.kill()
        took_s = time.monotonic() - began
        assert server.returncode == 2, stderr
        said = " ".join(stderr.split())
        assert "--bus nats://127.0.0.1:" in said and "start nats-server" in said, said
        assert "serving" not in said and "Traceback" not in said, said
        assert _tables(db) == 0  # no store was made for a process that cannot run
    print(f"refused in {took_s:.2f} s")
    assert took_s < 20


def test_serve_waiting_for_a_silent_bus_gives_up_in_seconds_and_heeds_sigterm_meanwhile(
    tmp_path: Path,
) -> None:
    with socket.socket() as silent, postgres_schema() as db:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # takes connections (the backlog), never says a word
        url = f"nats://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        waited = _serve(["--bus", url], db, tmp_path)
        _, stderr = waited.communicate(timeout=60)
        gave_up_s = time.monotonic() - began
        assert waited.returncode == 2, stderr
        assert "no answer in 5 s" in " ".join(stderr.split()), stderr
        stopped = _serve(["--bus", url], db, tmp_path)
        time.sleep(4)  # the imports done, waiting for NATS
        sent = time.monotonic()
        stopped.send_signal(signal.SIGTERM)
        try:
            stopped.communicate(timeout=30)
        finally:
            stopped.kill()
        stopped_s = time.monotonic() - sent
    print(f"gave up in {gave_up_s:.2f} s; stopped {stopped_s:.2f} s after SIGTERM")
    assert gave_up_s < 20
    assert stopped.returncode != 0 and stopped_s < 3
