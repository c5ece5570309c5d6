// What the console knows about zones: their properties from the zone set, their current real
// level and any drill on them, and what relayed official feeds hold there (a lane per source,
// kept apart from the zone's own level: the operator sees which is which). Kept up to date from
// the live feed; views subscribe to changes.

export class ZoneState {
  constructor(features) {
    this.info = new Map(); // id -> {id, name, region, shelter_s, properties}
    this.level = new Map(); // id -> "clear" | "pre_alert" | "alert" (the real lane)
    this.drill = new Map(); // id -> "exercise" | "test" (drill lanes; absent when none)
    // id -> Map(status -> level): a zone may be under a drill and a test at once, each its lane
    this.drillLanes = new Map();
    this.relayed = new Map(); // id -> Map(source -> "pre_alert" | "alert"), relayed feeds
    this.regions = new Map(); // region -> [ids]
    this.listeners = [];
    this.pending = new Set(); // ids changed by decisions not yet shown
    for (const feature of features) {
      const p = feature.properties;
      const id = String(p.id);
      this.info.set(id, { id, name: p.name || id, region: p.region || "", shelter_s: p.shelter_s,
                          properties: p });
      this.level.set(id, "clear");
      const region = p.region || "(no region)";
      if (!this.regions.has(region)) this.regions.set(region, []);
      this.regions.get(region).push(id);
    }
  }

  name(id) {
    return this.info.get(id)?.name ?? id;
  }

  /** Levels and drills from `GET /v1/zones`. */
  load(summaries) {
    const changed = [];
    for (const zone of summaries) {
      const id = String(zone.id);
      if (!this.info.has(id)) continue;
      this.level.set(id, zone.level);
      this.drillLanes.delete(id);
      if (zone.drill) this.drillLanes.set(id, new Map([[zone.drill.status, zone.drill.level]]));
      this.showDrill(id);
      const relayed = Object.entries(zone.relayed || {}).filter(([, level]) => level !== "clear");
      if (relayed.length) this.relayed.set(id, new Map(relayed));
      else this.relayed.delete(id);
      changed.push(id);
    }
    this.emit(changed);
  }

  /** The drill a zone shows: the drill (exercise) while it is under one, else the test. */
  showDrill(id) {
    const lanes = this.drillLanes.get(id);
    if (!lanes) this.drill.delete(id);
    else this.drill.set(id, lanes.has("exercise") ? "exercise" : "test");
  }

  /** One decision from the feed: a drill's decision carries its `status`; a real one none. */
  apply(decision) {
    const id = String(decision.zone);
    if (!this.info.has(id)) return;
    if (decision.status && decision.status !== "actual") {
      const lanes = this.drillLanes.get(id) || new Map();
      if (decision.level === "clear") lanes.delete(decision.status);
      else lanes.set(decision.status, decision.level);
      if (lanes.size) this.drillLanes.set(id, lanes);
      else this.drillLanes.delete(id);
      this.showDrill(id);
    } else if (decision.source) {
      const lanes = this.relayed.get(id) || new Map();
      if (decision.level === "clear") lanes.delete(decision.source.name);
      else lanes.set(decision.source.name, decision.level);
      if (lanes.size) this.relayed.set(id, lanes);
      else this.relayed.delete(id);
    } else {
      this.level.set(id, decision.level);
    }
    this.pending.add(id);
  }

  /** Tell the views about the decisions applied since the last flush. */
  flush() {
    if (!this.pending.size) return;
    const changed = [...this.pending];
    this.pending.clear();
    this.emit(changed);
  }

  emit(changed) {
    for (const listener of this.listeners) listener(changed);
  }

  /** The highest level relayed feeds hold in a zone ("clear" when none). */
  relayedLevel(id) {
    const lanes = this.relayed.get(id);
    if (!lanes) return "clear";
    const levels = [...lanes.values()];
    return levels.includes("alert") ? "alert" : levels.includes("pre_alert") ? "pre_alert" : "clear";
  }

  counts() {
    let alert = 0, pre = 0;
    for (const level of this.level.values()) {
      if (level === "alert") alert += 1;
      else if (level === "pre_alert") pre += 1;
    }
    return { alert, pre, drill: this.drill.size, relayed: this.relayed.size };
  }
}
