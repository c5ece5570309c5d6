"""Real `airwarn` processes for end-to-end tests, started fast enough to kill and restart often.

Starting `airwarn serve` from scratch spends a second or more importing FastAPI, SQLAlchemy,
lxml and the rest; a crash test restarts the server dozens of times. So a `Launcher` starts one
helper process that imports all of that once and then forks: every `airwarn serve` (or
`airwarn tokens ...`) is a fresh child process of its own, running the same CLI entry point
with the same arguments, which can be SIGKILLed like any server. Only the imports are shared;
the child opens the store, migrates it and replays the log exactly as a cold start does.

Run as a script, this module is that helper: it reads one JSON request a line on stdin and
answers one JSON line on stdout. When its stdin closes (the test ended, or died) it kills
every child it started; a child also dies with it (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# -- the test's side ------------------------------------------------------------------------


class Launcher:
    """The forking helper process, driven over a pipe; use one thread at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self._call({"op": "ping"})
        assert ready == {"ok": True}, ready

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the launcher died (exit {self.process.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def spawn(self, args: list[str], stdout: Path, stderr: Path) -> int:
        """Start `airwarn ARGS` as a new process; its pid."""
        return int(
            self._call({"op": "spawn", "args": args, "stdout": str(stdout), "stderr": str(stderr)})[
                "pid"
            ]
        )

    def reap(self, pid: int, *, block: bool) -> int | None:
        """The exit status of a child that has ended (waiting for it if `block`), else None."""
        return self._call({"op": "reap", "pid": pid, "block": block})["status"]  # type: ignore

    def run(self, args: list[str], folder: Path) -> str:
        """Run `airwarn ARGS` to its end; its stdout (it must succeed)."""
        out, err = folder / "cli.out", folder / "cli.err"
        out.write_bytes(b"")
        pid = self.spawn(args, out, err)
        status = self.reap(pid, block=True)
        assert status == 0, f"airwarn {' '.join(args)} exited {status}: {_tail(err)}"
        return out.read_text()

    def close(self) -> None:
        """End the helper; it kills whatever it started that still runs."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Server:
    """One `airwarn serve` on a port, which a test may kill (SIGKILL) and start again."""

    def __init__(self, launcher: Launcher, args: list[str], log: Path) -> None:
        self.launcher = launcher
        self.port = free_port()
        self.args = ["serve", *args, "--port", str(self.port)]
        self.log = log
        self.pid: int | None = None
        self.starts = 0
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start it and wait until `/healthz` answers."""
        assert self.pid is None, "already running"
        with self.log.open("a") as log:
            log.write(f"--- start {self.starts + 1}\n")
        self.pid = self.launcher.spawn(self.args, self.log, self.log)
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if http.get(self.url + "/healthz").status_code == 200:
                        return
                status = self.launcher.reap(self.pid, block=False)
                if status is not None:
                    self.pid = None
                    raise RuntimeError(
                        f"airwarn serve exited {status} while starting: " + _tail(self.log)
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"airwarn serve did not answer /healthz in {timeout_s} s: "
                        + _tail(self.log)
                    )
                time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL; safe to call from another thread (the main thread reaps it afterwards)."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def reap(self) -> int:
        """Wait for a killed server to be gone; its exit status."""
        assert self.pid is not None
        status = self.launcher.reap(self.pid, block=True)
        self.pid = None
        assert status is not None
        return status

    def exited(self) -> int | None:
        """The exit status if it has ended (by itself or killed), without waiting."""
        if self.pid is None:
            return None
        status = self.launcher.reap(self.pid, block=False)
        if status is not None:
            self.pid = None
        return status

    def stop(self) -> None:
        if self.pid is not None:
            self.kill()
            self.reap()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


# -- the helper's side ----------------------------------------------------------------------


# everything `airwarn serve` imports, imported once before any fork
PRELOAD = (
    "airwarn.cli",
    "airwarn.cli.serve",
    "airwarn.service",
    "airwarn.web",
    "alembic.command",
    "alembic.ddl.postgresql",
    "alembic.ddl.sqlite",
    "alembic.runtime.migration",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlite3",
    "argparse",
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
)


def _helper() -> None:
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    children: set[int] = set()
    try:
        for line in sys.stdin:
            request = json.loads(line)
            op = request["op"]
            if op == "ping":
                answer: dict[str, Any] = {"ok": True}
            elif op == "spawn":
                pid = _fork(request["args"], request["stdout"], request["stderr"])
                children.add(pid)
                answer = {"pid": pid}
            elif op == "reap":
                answer = {"status": _reap(request["pid"], request["block"], children)}
            else:
                answer = {"error": f"unknown op {op!r}"}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _reap(pid: int, block: bool, children: set[int]) -> int | None:
    if pid not in children:
        raise ValueError(f"{pid} is not a child of this launcher (or was reaped already)")
    done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    if done == 0:
        return None
    children.discard(pid)
    return os.waitstatus_to_exitcode(status)


def _fork(args: list[str], stdout: str, stderr: str) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the launcher
        if os.getppid() != parent:
            os._exit(1)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND), 1)
        os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
        from airwarn.cli import app

        try:
            app(args=args, prog_name="airwarn")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _helper()
