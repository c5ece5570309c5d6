"""The service: the one writer between the inputs and the channels.

A track report (or an operator's action, or inbound CAP) enters through the web routes or the
bus, becomes a step of the writer, is committed with its decisions and CAP messages in one
transaction, and only then is handed to the listeners (live hub, channels). Modules by job:

- `writer`: `Service`, the log + engine + commit; ingest of sensor batches and clock ticks;
  restart by replaying the log;
- `operators`: operators' alerts and clears (with a second confirmation), and cancels;
- `inbound_cap`: CAP from other agencies, checked, then applied, held or kept;
- `blast_radius`: the guard that holds an alert reaching far more than its request implies;
- `views`: what the routes read (threats, warnings in force, recent and signed CAP).
"""

from airwarn.service.writer import SYSTEM, Published, Service, ServiceSettings, zones_fingerprint

__all__ = ["SYSTEM", "Published", "Service", "ServiceSettings", "zones_fingerprint"]
