"""What a feed gives its follower, and the pause between two polls.

A feed's `watch` is an endless async iterator: each `Observation` says the source answered,
and either what it holds now (`wants`, the whole of it, per zone id) or, with `wants` None,
that nothing changed (a 304, a heartbeat). A feed raises `Trouble` or `Failed`
(`airwarn.follow.fetch`) when it cannot tell; the follower backs off and calls `watch` again,
and the feed carries on from where it was (its validators, its last event id).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from airwarn.follow.wants import Want

JITTER = 0.1  # each pause is the cadence ±10 %, so that many followers do not poll in step


@dataclass(frozen=True)
class Observation:
    """The source answered: what it holds now (None: the same as before)."""

    wants: dict[str, Want] | None
    clear_since_ms: int | None = None  # the source's time for the clears, if it gives one
    note: str | None = None  # something the operators should know (places not found here)


class Feed(Protocol):
    async def watch(self, http: httpx.AsyncClient) -> AsyncIterator[Observation]:
        """Observations for as long as the source answers."""
        yield Observation(None)  # pragma: no cover - a protocol's body


async def every(seconds: float) -> None:
    """Wait one polling interval, ±10 %."""
    await asyncio.sleep(seconds * (1 + JITTER * (2 * random.random() - 1)))  # noqa: S311 (jitter, no secret)
