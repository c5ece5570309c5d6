"""The live hub keeps the garbage collector's young collections rare (see
`airwarn.web.hub.spare_live_clients_from_gc`), and never lowers thresholds set higher."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from airwarn.web.hub import GC_THRESHOLDS, Hub


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


def test_a_hub_makes_young_collections_rare(loop: asyncio.AbstractEventLoop) -> None:
    gc.set_threshold(700, 10, 10)
    Hub(loop)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] >= 100 * 700


def test_a_hub_keeps_higher_thresholds(loop: asyncio.AbstractEventLoop) -> None:
    gc.set_threshold(500_000, 5, 200)
    Hub(loop)
    assert gc.get_threshold() == (500_000, GC_THRESHOLDS[1], 200)
