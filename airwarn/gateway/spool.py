"""The gateway's on-disk buffer: batches of events waiting for the server's answer.

Each batch is one file, `SEQ_RUN.jsonl`, written whole (to a scratch name, then renamed) before
it is offered to the poster, and deleted only once the server has answered it. Its
Idempotency-Key comes from its name, so a batch posted again after a server's restart, or after
the gateway's own, is applied once. The buffer is bounded (`max_bytes`): a batch that does not
fit is refused and counted, and the gateway says so, loudly.

It keeps what it holds through a server outage and a restart of the gateway process; it does
not fsync, so a power cut of the gateway's machine can lose the last batches.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^(\d{12})_([0-9a-f]{12})\.jsonl$")


@dataclass(frozen=True)
class Batch:
    seq: int
    run: str
    path: Path
    size: int
    events: int

    @property
    def key(self) -> str:
        return f"airwarn-gateway-{self.run}-{self.seq}"

    def body(self) -> bytes:
        return self.path.read_bytes()


class Spool:
    """A bounded, ordered queue of batch files; thread-safe (one writer, one reader)."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self.run = uuid.uuid4().hex[:12]
        self._cond = threading.Condition()
        self._queue: deque[Batch] = deque()
        self.bytes = 0
        self.events = 0
        self.refused_batches = 0
        self.refused_events = 0
        self.recovered = 0
        self.write_error: str | None = None
        for path in sorted(folder.iterdir()):
            match = _NAME.match(path.name)
            if match is None:
                if path.name.endswith(".tmp"):
                    path.unlink()  # a batch cut short by a crash was never offered
                continue
            body = path.read_bytes()
            batch = Batch(int(match.group(1)), match.group(2), path, len(body),
                          body.count(b"\n"))
            self._queue.append(batch)
            self.bytes += batch.size
            self.events += batch.events
        self.recovered = len(self._queue)
        self._next_seq = (self._queue[-1].seq + 1) if self._queue else 1

    def put(self, lines: list[bytes]) -> Batch | None:
        """Store a batch (events as JSON lines without newlines); None if the buffer is full."""
        body = b"".join(line + b"\n" for line in lines)
        with self._cond:
            if self.bytes + len(body) > self.max_bytes:
                self.refused_batches += 1
                self.refused_events += len(lines)
                return None
            seq = self._next_seq
            self._next_seq += 1
        path = self.folder / f"{seq:012d}_{self.run}.jsonl"
        scratch = path.with_suffix(".tmp")
        try:
            scratch.write_bytes(body)
            os.replace(scratch, path)
        except OSError as error:  # a full or failing disk: as good as a full buffer
            scratch.unlink(missing_ok=True)
            with self._cond:
                self.refused_batches += 1
                self.refused_events += len(lines)
                self.write_error = f"{path}: {error.strerror or error}"
            return None
        batch = Batch(seq, self.run, path, len(body), len(lines))
        with self._cond:
            self._queue.append(batch)
            self.bytes += batch.size
            self.events += batch.events
            self._cond.notify_all()
        return batch

    def oldest(self, timeout_s: float) -> Batch | None:
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout_s)
            return self._queue[0] if self._queue else None

    def done(self, batch: Batch) -> None:
        """The server has answered this batch: forget it."""
        with self._cond:
            assert self._queue and self._queue[0] is batch
            self._queue.popleft()
            self.bytes -= batch.size
            self.events -= batch.events
            self._cond.notify_all()
        batch.path.unlink(missing_ok=True)

    def set_aside(self, batch: Batch, reason: str) -> Path:
        """A batch the server refuses as a whole (it will never take it): move it to
        `refused/` with the reason beside it, for a person to look at."""
        folder = self.folder / "refused"
        folder.mkdir(exist_ok=True)
        target = folder / batch.path.name
        os.replace(batch.path, target)
        target.with_suffix(".reason.txt").write_text(reason + "\n")
        with self._cond:
            assert self._queue and self._queue[0] is batch
            self._queue.popleft()
            self.bytes -= batch.size
            self.events -= batch.events
        return target

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def wait_empty(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue, timeout_s)
