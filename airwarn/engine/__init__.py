"""The engine: the pure core that turns events into decisions, with no clock, no I/O and no
randomness (docs/engine.md, docs/architecture.md).

- `zones`: zone sets, their projection to metres and spatial indexes;
  `projection`: the local map projection shared by zones and threats;
- `physics`: free flight over the WGS84 Earth; `threat_kinds`: per-kind speeds, turn rates,
  horizons and timeouts;
- `tracks`: one estimator per threat; `predict/`: where a rocket or ballistic missile lands
  (`ballistic`) and where a drone or cruise missile can be (`corridor`);
- `policy`: which zones a threat endangers now; `lifecycle`: the zones' lifecycle (`Engine`:
  apply(event) -> decisions); `relay`: relayed feeds' lanes; `replay`: the streaming batch form.
"""

from airwarn.engine.lifecycle import Engine, EngineConfig, EngineStats, run

__all__ = ["Engine", "EngineConfig", "EngineStats", "run"]
