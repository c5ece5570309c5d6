"""Gateways: take sensor data in the formats sensors really publish, and post it to an airwarn
server as Contract v1 events, as a sensor does.

`airwarn gateway asterix` is the first: EUROCONTROL ASTERIX over UDP (CAT048 monoradar target
reports, CAT062 system tracks), decoded with libasterix. The flow, one module a step:

    udp.py (datagrams, kernel drops) -> decode.py (records; + layout.py, its fast path) ->
    mapping.py (+ polar.py, kinds.py: events) -> spool.py (batches on disk, bounded) ->
    poster.py (HTTP, Idempotency-Key, retries)

`run.py` ties them together with the counters and the status line; `encode.py`, `raid.py` and
`player.py` make ASTERIX from a simulated raid and play it on UDP, for tests and trials.
"""
