"""The bus: how airwarn outgrows one process, on NATS JetStream.

Without `--bus` one process does everything (the default, on SQLite). With
`--bus nats://...` processes take roles and share a PostgreSQL store:

- **engine** processes (run two: one active, one standby) compete for a lease in a NATS
  key-value bucket. The holder is the one writer: it takes requests (sensor batches, operators'
  actions, inbound CAP) from the durable `AIRWARN_REQUESTS` stream, applies them through the
  service, commits, and publishes each committed step on `airwarn.steps` (the
  `AIRWARN_STEPS` stream keeps them for other consumers). It also ticks the clock and feeds
  the channels (MQTT, webhooks, Web Push). The standby follows the steps, so it holds the same
  state; when the lease lapses it takes over, reads from the store what the old writer
  committed but did not publish, and goes on.
- **edge** processes serve HTTP, SSE, WebSocket and CAP. They never write the log: a write
  request goes over the bus to whichever engine leads, and the answer comes back. They follow
  the steps to keep their own copy of the state (and their live clients fed), and heal any gap
  from the store, so any number of them can run and any can be restarted.

Decisions are a pure function of the logged events, so every process that applies the same
log holds the same state with the same decision numbers; that is what makes takeover exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from airwarn.urls import shown


@dataclass(frozen=True)
class BusSettings:
    """How a process joins the bus; built by the CLI."""

    url: str = "nats://127.0.0.1:4222"
    role: str = "engine"  # engine: may lead; edge: never leads
    name: str = ""  # this process, as the lease and logs show it
    lease_s: float = 3.0  # a leader that has not renewed for this long has lost the lease
    answer_timeout_s: float = 10.0  # an edge waits this long for the engine's answer
    replicas: int = 1  # stream replicas (a NATS cluster of 3 allows 3)
    namespace: str = "airwarn"  # several airwarn deployments (or tests) on one NATS

    @property
    def shown_url(self) -> str:
        """`url` with any password or token in it hidden (`shown`)."""
        return shown(self.url)

    # subjects, streams and the bucket; the streams are `{NS}_REQUESTS` (write requests,
    # edge to engine, a work queue) and `{NS}_STEPS` (committed steps, engine to everyone)
    @property
    def requests_stream(self) -> str:
        return f"{self.namespace.upper()}_REQUESTS"

    @property
    def steps_stream(self) -> str:
        return f"{self.namespace.upper()}_STEPS"

    @property
    def lease_bucket(self) -> str:
        return f"{self.namespace.upper()}_LEASE"

    def subject(self, what: str) -> str:
        """requests, steps, beat (the leader's place in the log), answers.<process>.<id>"""
        return f"{self.namespace}.{what}"
