"""The live hub at scale: heartbeats spread over their interval, and young garbage
collections kept rare (see `airwarn.web.hub`)."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import pytest

from airwarn.web.hub import BEAT, GC_THRESHOLDS, Hub


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop for the hub, and the process's thresholds put back afterwards."""
    before = gc.get_threshold()
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()
        gc.set_threshold(*before)


def test_heartbeats_go_a_slice_at_a_time_and_every_feed_keeps_its_pace(
    loop: asyncio.AbstractEventLoop,
) -> None:
    every_s, slices, feeds = 0.4, 4, 200

    async def run() -> dict[int, list[float]]:
        hub = Hub(asyncio.get_running_loop())
        beats: dict[int, list[float]] = {i: [] for i in range(feeds)}

        async def feed(i: int) -> None:
            queue = hub.subscribe()
            while True:
                assert await queue.get() is BEAT
                beats[i].append(asyncio.get_running_loop().time())

        tasks = [asyncio.create_task(feed(i)) for i in range(feeds)]
        beater = asyncio.create_task(hub.beat(every_s, slices))
        await asyncio.sleep(2.5 * every_s)
        for task in [beater, *tasks]:
            task.cancel()
        await asyncio.gather(beater, *tasks, return_exceptions=True)
        return beats

    beats = loop.run_until_complete(run())
    assert all(len(times) >= 2 for times in beats.values()), Counter(map(len, beats.values()))
    gaps = [b - a for times in beats.values() for a, b in pairwise(times)]
    assert min(gaps) > every_s - 0.05 and max(gaps) < every_s + 0.2  # the timer drifts a little
    # the beats of one moment (one slice) reach some of the feeds, never all of them
    moments = Counter(round(times[0] / (every_s / slices)) for times in beats.values())
    assert len(moments) == slices
    assert max(moments.values()) < feeds / 2


def test_a_hub_makes_young_collections_rare(loop: asyncio.AbstractEventLoop) -> None:
    gc.set_threshold(700, 10, 10)
    Hub(loop)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] >= 100 * 700


def test_a_hub_keeps_higher_thresholds(loop: asyncio.AbstractEventLoop) -> None:
    gc.set_threshold(500_000, 5, 200)
    Hub(loop)
    assert gc.get_threshold() == (500_000, GC_THRESHOLDS[1], 200)
