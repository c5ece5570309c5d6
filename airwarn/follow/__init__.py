"""Following official alert feeds: what the state already announces, relayed into this server's
zones (`airwarn serve --follow SOURCE`; docs/follow.md).

A *feed* (`alertsinua.py`, `oref.py`, `capfeed.py`, `stream.py`) watches one upstream source
and says, each time it hears from it, what the source holds now, per zone of this server
(`Want`: a level, the source's own category, id and time). The *follower* (`follower.py`)
turns the difference between that and what the engine's relayed lane for the source holds
into `relay` events, written through the service's one write path, and keeps the source's
health (`source` events: starting, live, stale, failed, stopped) with a watchdog, so that a
silent source is shown as stale on every channel rather than taken for a quiet sky.

    upstream ──HTTP (conditional GET, or SSE)──▶ feed ──Want per zone──▶ follower ──relay/source──▶
        event log ──▶ engine (a lane per source) ──▶ decisions marked `source` ──▶ every channel

Mapping a source's places to zones: `ukraine.py` (alerts.in.ua's numbers through the packaged
crosswalk to KATOTTG zones), `israel.py` (the Home Front Command's area names in its four
languages and the aliases the history import knows).
"""

from airwarn.follow.spec import FollowSpec, parse_spec

__all__ = ["FollowSpec", "parse_spec"]
