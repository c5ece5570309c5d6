// What is known of each zone: its real level (with when it began and the threat's kind), when
// an alert there last ended, and any drill on the exercise/test lane. A relayed official feed
// (alerts.in.ua, the Home Front Command...) counts as real: a zone shows the highest level any
// lane holds (`in_force` on a decision says another lane still holds it), and which feed said
// it (`source`).

export const ENDED_SHOW_MS = 10 * 60 * 1000; // "event ended" stays up ten minutes
const SEVERITY = { alert: 5, pre_alert: 4, exercise: 3, test: 3, ended: 2, clear: 1, unknown: 0 };
const RANK = { clear: 0, pre_alert: 1, alert: 2 };

export function isDrill(decision) {
  return decision.status && decision.status !== "actual";
}

export class ZoneStatus {
  constructor() {
    this.zones = new Map(); // id -> {level, t, kind, endedAt, drill}
  }

  get(id) {
    let zone = this.zones.get(id);
    if (!zone) {
      zone = { level: "clear", t: null, kind: null, endedAt: null, drill: null, source: null };
      this.zones.set(id, zone);
    }
    return zone;
  }

  /** Levels of every zone from GET /v1/zones; keeps what history told of times and kinds. */
  setLevels(rows) {
    for (const row of rows) {
      const zone = this.get(row.id);
      // its own level, or a relayed feed's when that is higher
      let level = row.level;
      let source = null;
      for (const [name, relayed] of Object.entries(row.relayed || {})) {
        if (RANK[relayed] > RANK[level]) { level = relayed; source = name; }
      }
      if (zone.level !== level) Object.assign(zone, { level, t: null, kind: null, source });
      if (row.drill) {
        const same = zone.drill && zone.drill.status === row.drill.status;
        zone.drill = same ? zone.drill : { status: row.drill.status, level: "alert",
                                           kind: row.drill.kind, t: null };
      } else {
        zone.drill = null;
      }
      zone.drillLanes = zone.drill ? { [zone.drill.status]: zone.drill } : {};
    }
  }

  /** A zone's recent decisions, newest first (GET /v1/history?zone=): when its level began,
   *  the kind, whether an alert just ended, and the drill lane's level. */
  setHistory(id, decisions) {
    const zone = this.get(id);
    const real = decisions.filter((d) => !isDrill(d));
    const drill = decisions.find(isDrill);
    if (real.length) {
      const [newest, before] = real;
      const level = newest.in_force || newest.level;
      if (newest.in_force) {
        if (zone.level !== level) Object.assign(zone, { level, t: null, kind: null, source: null });
      } else {
        Object.assign(zone, { level, t: Date.parse(newest.t), kind: newest.kind,
                              source: newest.source ? newest.source.name : null });
      }
      zone.endedAt = level === "clear" && before && before.level === "alert"
        ? Date.parse(newest.t) : null;
    }
    if (drill && drill.level !== "clear") {
      zone.drill = { status: drill.status, level: drill.level, kind: drill.kind,
                     t: Date.parse(drill.t) };
    } else if (drill) {
      zone.drill = null;
    }
    if (drill) zone.drillLanes = zone.drill ? { [zone.drill.status]: zone.drill } : {};
  }

  /** Apply one live decision; answers the zone's state before and after. */
  apply(decision) {
    const zone = this.get(decision.zone);
    const t = Date.parse(decision.t);
    if (isDrill(decision)) {
      // a zone may be under a drill and a test at once, each its own lane: it shows the drill
      const lanes = zone.drillLanes || {};
      if (decision.level === "clear") delete lanes[decision.status];
      else lanes[decision.status] = { status: decision.status, level: decision.level,
                                      kind: decision.kind, t };
      zone.drillLanes = lanes;
      zone.drill = lanes.exercise || lanes.test || null;
      return;
    }
    if (decision.in_force) {
      // this lane went lower, another still holds the zone: no all-clear
      if (zone.level !== decision.in_force) {
        Object.assign(zone, { level: decision.in_force, t, kind: null, source: null });
      }
      zone.endedAt = null;
      return;
    }
    zone.endedAt = decision.level === "clear" && zone.level === "alert" ? t : null;
    Object.assign(zone, { level: decision.level, t, kind: decision.kind,
                          source: decision.source ? decision.source.name : null });
  }

  /** The map's colour for a zone: its real level, else its drill, else clear. */
  mapLevel(id) {
    const zone = this.zones.get(id);
    if (!zone) return "clear";
    if (zone.level !== "clear") return zone.level;
    return zone.drill ? "drill" : "clear";
  }

  /** The one state a person sees for a zone at `nowMs`: alert, pre_alert, ended, exercise,
   *  test or clear, with what goes with it. A real alert always outranks a drill. */
  view(id, nowMs) {
    const zone = this.get(id);
    if (zone.level === "alert" || zone.level === "pre_alert") {
      return { state: zone.level, t: zone.t, kind: zone.kind, source: zone.source };
    }
    if (zone.endedAt != null && nowMs - zone.endedAt < ENDED_SHOW_MS) {
      return { state: "ended", t: zone.endedAt, kind: null };
    }
    if (zone.drill) {
      return { state: zone.drill.status === "test" ? "test" : "exercise", t: zone.drill.t,
               kind: zone.drill.kind, drillLevel: zone.drill.level };
    }
    return { state: "clear", t: null, kind: null };
  }
}

export function severity(state) {
  return SEVERITY[state] ?? 0;
}
