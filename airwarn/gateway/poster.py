"""Posts the spool's batches to an airwarn server, oldest first, one request at a time, as a
sensor. Batches that wait while the server answers earlier ones go together in one request, up
to `post_events` events (see `Spool.next_post`).

Each post goes with its Idempotency-Key until the server answers it with 200; only then are its
batches forgotten. Whatever else happens is retried with the same key, after a pause that
doubles up to `max_backoff_s` (with jitter): a refused connection or a timeout (the server is
restarting), 503 (its store is unavailable), 202 (a bus deployment stored the batch but no
engine answered yet: the retry gets the engine's answer once it has one), 429 (Retry-After is
honoured) and other 5xx. A wrong token (401, 403) is retried slowly and reported: the batches
wait in the spool. A batch the server refuses as such (413, 422) can never succeed: it is set
aside in `refused/` and counted, with the reason of its first line; batches refused together
are first posted again one by one.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from airwarn.gateway.spool import Batch, Post, Spool

RETRY = {202, 429, 500, 502, 503, 504}


@dataclass
class PostCounts:
    batches: int = 0
    posts: int = 0  # requests answered (a post carries one batch or more)
    events: int = 0  # accepted by the server
    rejected_lines: int = 0  # lines the server refused (the reason of the first is kept)
    first_rejection: str | None = None
    replayed: int = 0  # batches the server had already taken (a retry after a lost answer)
    retries: int = 0
    refused_batches: int = 0  # set aside in refused/
    refused_lines: int = 0  # the lines of those batches
    first_refusal: str | None = None  # why the first was refused (its first line's reason)
    last_error: str | None = None
    down_since: float | None = None  # monotonic time the server stopped answering
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))
    post_s: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))  # answered
    cpu_s: float = 0.0  # the poster thread's CPU time, when it has stopped


class Poster(threading.Thread):
    """The thread that empties the spool into the server."""

    def __init__(
        self,
        spool: Spool,
        url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        max_backoff_s: float = 5.0,
        post_events: int = 5000,
        received: Callable[[Batch], list[float]] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        super().__init__(name="airwarn-gateway-poster", daemon=True)
        self.spool = spool
        self.counts = PostCounts()
        self.max_backoff_s = max_backoff_s
        self.post_events = post_events
        self.received = received
        self.log = log
        self._halt = threading.Event()
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        )

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                post = self.spool.next_post(0.2, self.post_events)
                if post is None:
                    continue
                try:
                    self._deliver(post)
                except OSError as error:  # its file went from under us: nothing to post
                    self.log(
                        f"cannot read batches {post.batches[0].path} to "
                        f"{post.batches[-1].path.name}: {error.strerror or error}; "
                        "skipping them"
                    )
                    self.spool.done(post)
        finally:
            self._client.close()
            self.counts.cpu_s = time.thread_time()

    def _deliver(self, post: Post) -> None:
        backoff = 0.1
        body = post.body()
        while not self._halt.is_set():
            try:
                wait = self._attempt(post, body)
            except (ValueError, httpx.HTTPError) as error:  # e.g. a 200 that is not JSON
                self._down(f"unexpected answer: {type(error).__name__}: {error}")
                wait = 5.0
            if wait is None:
                return
            self.counts.retries += 1
            backoff = min(backoff * 2, self.max_backoff_s)
            self._halt.wait(max(wait, backoff * random.uniform(0.5, 1.0)))

    def _attempt(self, post: Post, body: bytes) -> float | None:
        """Post once; None when the post is done with, else seconds to wait at least."""
        counts = self.counts
        started = time.monotonic()
        try:
            response = self._client.post(
                "/v1/events", content=body, headers={"Idempotency-Key": post.key}
            )
        except httpx.TransportError as error:
            self._down(f"{type(error).__name__}: {error}")
            return 0.0
        status = response.status_code
        if status == 200:
            counts.post_s.append(time.monotonic() - started)
            self._answered(post, response.json())
            return None
        if status in (401, 403):
            self._down(
                f"{status}: the server refuses this token ({_error(response)}); make a "
                "sensor token with `airwarn tokens create --role sensor`"
            )
            return 30.0
        if status in (413, 422):
            reason = f"{status}: {_error(response)}"
            if len(post.batches) > 1:
                self.log(
                    f"the server refused {len(post.batches)} batches posted together "
                    f"({reason}); posting them one by one"
                )
                self.spool.single(post)
                return None
            where = self.spool.set_aside(post, reason)
            counts.refused_batches += 1
            counts.refused_lines += post.events
            if counts.first_refusal is None:
                counts.first_refusal = _first_rejected(response) or reason
            self.log(f"the server refused a whole batch ({reason}); set aside in {where}")
            return None
        if status in RETRY or status >= 500:
            retry_after = response.headers.get("retry-after", "")
            self._down(f"{status}: {_error(response)}")
            return float(retry_after) if retry_after.isdigit() else 0.0
        self._down(f"{status}: {_error(response)}")
        return 5.0

    def _answered(self, post: Post, answer: dict[str, Any]) -> None:
        counts = self.counts
        if counts.down_since is not None:
            self.log(
                f"server answering again after {time.monotonic() - counts.down_since:.1f} "
                f"s; {len(self.spool)} batches waiting"
            )
            counts.down_since = None
        counts.posts += 1
        counts.batches += len(post.batches)
        counts.events += int(answer.get("accepted", 0))
        rejected = answer.get("rejected") or []
        counts.rejected_lines += len(rejected)
        if rejected and counts.first_rejection is None:
            counts.first_rejection = _rejection(rejected[0])
            self.log(
                f"the server rejected {len(rejected)} lines of a batch; first: "
                f"{counts.first_rejection}"
            )
        if answer.get("replayed"):
            counts.replayed += 1
        if self.received is not None:
            now = time.monotonic()
            for batch in post.batches:
                counts.latencies_s.extend(now - t for t in self.received(batch))
        self.spool.done(post)

    def _down(self, reason: str) -> None:
        counts = self.counts
        counts.last_error = reason
        if counts.down_since is None:
            counts.down_since = time.monotonic()
            self.log(
                f"server not taking batches ({reason}); keeping them in the buffer and retrying"
            )


def _rejection(line: dict[str, Any]) -> str:
    """One rejected line of an answer, as the summaries say it."""
    return (
        f"line {line.get('line')}: {line.get('error')} "
        f"(field {line.get('field')}, value {line.get('value')})"
    )


def _first_rejected(response: httpx.Response) -> str | None:
    """The first rejected line of a batch refused whole (422 lists each line's reason)."""
    try:
        rejected = response.json().get("rejected")
    except (ValueError, AttributeError):
        return None
    if not isinstance(rejected, list) or not rejected or not isinstance(rejected[0], dict):
        return None
    return _rejection(rejected[0])


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))[:300]
    except ValueError:
        return response.text[:300]
