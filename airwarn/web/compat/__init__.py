"""Compatibility feeds: airwarn's warnings in the shapes that clients people already run read.

- `homefront`: the Home Front Command's (Pikud HaOref's) alert JSON (live alert, history,
  areas) and Tzeva Adom's city list, for `oref`, `pikudhaoref`, Home Assistant's `oref_alert`
  and the like;
- `alertsinua`: an alerts.in.ua-style REST API (active alerts, IoT status strings, history),
  for the `alerts-in-ua` client and the devices built on it.

Both read one `board` (the zones under alert now, folded from the decision log) and are mounted
beside the other routers; how to point an existing client at them is in docs/compat.md.
"""
