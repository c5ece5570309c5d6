"""The gateway's on-disk buffer: batches of events waiting for the server's answer.

Each batch is one file, `SEQ_RUN.jsonl`, written whole (to a scratch name, then renamed) before
it is offered to the poster, and deleted only once the server has answered it. Its
Idempotency-Key comes from its name, so a batch posted again after a server's restart, or after
the gateway's own, is applied once. The buffer is bounded (`max_bytes`): a batch that does not
fit is refused and counted, and the gateway says so, loudly.

Batches that wait while the server answers earlier ones go together (`next_post`): one
request carries the oldest batch and those after it of the same run, up to a limit of events
and bytes, so that a server that falls behind gets fewer, larger requests. Such a post's key
names its first and last batch, and it is written down (`FIRST_RUN.post`) before it is first
sent, so that a restarted gateway posts the same batches together under the same key.

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
_POST = re.compile(r"^(\d{12})_([0-9a-f]{12})\.post$")


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


@dataclass(frozen=True)
class Post:
    """The batches one request carries, oldest first."""

    batches: tuple[Batch, ...]
    record: Path | None = None  # where a post of several batches is written down

    @property
    def key(self) -> str:
        first, last = self.batches[0], self.batches[-1]
        return first.key if len(self.batches) == 1 else f"{first.key}-{last.seq}"

    @property
    def events(self) -> int:
        return sum(batch.events for batch in self.batches)

    def body(self) -> bytes:
        return b"".join(batch.body() for batch in self.batches)


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
        self._posts: dict[int, int] = {}  # first batch's seq -> last's, of posts written down
        self._single_to = 0  # batches up to this seq go one a post (see `single`)
        posts: list[tuple[int, int, Path]] = []
        for path in sorted(folder.iterdir()):
            if (post := _POST.match(path.name)) is not None:
                written = path.read_text().strip()
                if written.isdigit() and int(written) > int(post.group(1)):
                    posts.append((int(post.group(1)), int(written), path))
                else:  # not one we wrote: its batches go one by one
                    path.unlink()
                continue
            match = _NAME.match(path.name)
            if match is None:
                if path.name.endswith(".tmp"):
                    path.unlink()  # a batch cut short by a crash was never offered
                continue
            body = path.read_bytes()
            batch = Batch(int(match.group(1)), match.group(2), path, len(body), body.count(b"\n"))
            self._queue.append(batch)
            self.bytes += batch.size
            self.events += batch.events
        present = {batch.seq for batch in self._queue}
        for first, last, path in posts:
            if all(seq in present for seq in range(first, last + 1)):
                self._posts[first] = last
                continue
            # a post whose batches are not all here was answered (they are deleted only
            # then) and the gateway stopped while forgetting it: forget the rest of it
            answered = [b for b in self._queue if first <= b.seq <= last]
            for batch in answered:
                self._queue.remove(batch)
                self.bytes -= batch.size
                self.events -= batch.events
                batch.path.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
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

    def next_post(
        self, timeout_s: float, max_events: int = 1, max_bytes: int = 4 * 1024 * 1024
    ) -> Post | None:
        """The oldest batch with those waiting after it, up to `max_events` and `max_bytes`
        (always one batch at least); the same batches as before if a post of them was
        written down. None if nothing comes within `timeout_s`."""
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout_s)
            if not self._queue:
                return None
            first = self._queue[0]
            last_seq = self._posts.get(first.seq)
            taken = [first]
            events, size = first.events, first.size
            for batch in list(self._queue)[1:]:
                if last_seq is not None:
                    if batch.seq > last_seq:
                        break
                elif (
                    first.seq <= self._single_to
                    or batch.run != first.run
                    or batch.seq != taken[-1].seq + 1
                    or events + batch.events > max_events
                    or size + batch.size > max_bytes
                ):
                    break
                taken.append(batch)
                events += batch.events
                size += batch.size
        if len(taken) == 1:
            return Post((first,))
        record = self.folder / f"{first.seq:012d}_{first.run}.post"
        if last_seq is None:
            scratch = record.with_suffix(".post.tmp")
            try:
                scratch.write_text(str(taken[-1].seq))
                os.replace(scratch, record)
            except OSError:  # cannot write it down: post the oldest alone
                scratch.unlink(missing_ok=True)
                return Post((first,))
            with self._cond:
                self._posts[first.seq] = taken[-1].seq
        return Post(tuple(taken), record)

    def single(self, post: Post) -> None:
        """Post these batches one by one from now on (the server refused them together)."""
        with self._cond:
            self._single_to = max(self._single_to, post.batches[-1].seq)
            self._posts.pop(post.batches[0].seq, None)
        if post.record is not None:
            post.record.unlink(missing_ok=True)

    def done(self, post: Post | Batch) -> None:
        """The server has answered this post (or batch): forget it."""
        batches = post.batches if isinstance(post, Post) else (post,)
        with self._cond:
            for batch in batches:
                assert self._queue and self._queue[0] is batch
                self._queue.popleft()
                self.bytes -= batch.size
                self.events -= batch.events
            self._posts.pop(batches[0].seq, None)
            self._cond.notify_all()
        for batch in batches:
            batch.path.unlink(missing_ok=True)
        if isinstance(post, Post) and post.record is not None:
            post.record.unlink(missing_ok=True)  # last: see __init__

    def set_aside(self, post: Post | Batch, reason: str) -> Path:
        """A batch the server refuses as a whole (it will never take it): move it to
        `refused/` with the reason beside it, for a person to look at."""
        batches = post.batches if isinstance(post, Post) else (post,)
        folder = self.folder / "refused"
        folder.mkdir(exist_ok=True)
        for batch in batches:
            target = folder / batch.path.name
            os.replace(batch.path, target)
            target.with_suffix(".reason.txt").write_text(reason + "\n")
        with self._cond:
            for batch in batches:
                assert self._queue and self._queue[0] is batch
                self._queue.popleft()
                self.bytes -= batch.size
                self.events -= batch.events
            self._posts.pop(batches[0].seq, None)
            self._cond.notify_all()
        if isinstance(post, Post) and post.record is not None:
            post.record.unlink(missing_ok=True)
        return folder / batches[0].path.name

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def wait_empty(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue, timeout_s)
