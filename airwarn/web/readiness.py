"""Whether this process can do its part now: what `/readyz` and `/healthz` say.

`/healthz` answers while the process runs (a script waits for it to come up); whether what it
serves can be trusted is another question, which a load balancer or a monitor asks of
`/readyz`: 200 while every check holds, 503 naming each that does not. A process is not ready
when:

- its store cannot be read (a read that fails now fails for every client);
- it is on a bus and not connected to NATS, or (an edge, a standby) has not heard the leader's
  beat for longer than twice the lease: what it serves may be stale, so a load balancer should send
  readers to a process that is not cut off;
- it writes the log (one process, or the engine that leads) and a delivery channel that keeps
  a connection (MQTT) has lost it: sirens do not hear what it decides.

A relayed feed that fell silent is not this process's failure: `/healthz` lists it under
`stale_sources`, and every channel says so itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

STORE_CHECK_S = 1.0  # a store's answer is trusted this long: a monitor's polls cost one read
STORE_TIMEOUT_S = 3.0


async def problems(app: Any) -> list[str]:
    """Each check that does not hold now, as a sentence; empty when the process is ready."""
    found: list[str] = []
    store = await _store_problem(app)
    if store:
        found.append(store)
    runtime = app.state.runtime
    if runtime is not None:
        found.extend(runtime.problems())
    writes = runtime is None or runtime.leading
    if writes:
        for channel in app.state.channels:
            connected = getattr(channel, "connected", None)
            if connected is False:
                found.append(f"{channel.name}: not connected; it delivers nothing until it is")
    return found


async def _store_problem(app: Any) -> str | None:
    """The store's answer to one read, trusted for STORE_CHECK_S from when it came. One read at
    a time: probes that come while it is under way wait for it (at most STORE_TIMEOUT_S), so a
    store that hangs holds one thread, not one per probe."""
    checked = app.state.store_check
    if checked is not None and time.monotonic() - checked[0] < STORE_CHECK_S:
        return checked[1]
    reading = app.state.store_reading
    if reading is None or reading.done():
        reading = asyncio.ensure_future(run_in_threadpool(_read, app.state.db))
        reading.add_done_callback(_retrieved)
        app.state.store_reading = reading
    try:
        await asyncio.wait_for(asyncio.shield(reading), STORE_TIMEOUT_S)
        problem = None
    except TimeoutError:
        return f"store: no answer within {STORE_TIMEOUT_S:g} s"  # the read goes on
    except sa.exc.SQLAlchemyError as exc:
        problem = f"store: cannot be read ({exc.__class__.__name__})"
    app.state.store_check = (time.monotonic(), problem)
    return problem


def _retrieved(reading: asyncio.Future[None]) -> None:
    """A read that failed after every probe had stopped waiting: its error was seen (so asyncio
    does not call it unretrieved); the next probe reads again."""
    if not reading.cancelled():
        reading.exception()


def _read(db: sa.Engine) -> None:
    with db.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
