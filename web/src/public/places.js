// The places a person watches (home, family, work...), kept in this browser only.

const STORE_KEY = "airwarn.places";
export const LABELS = ["home", "family", "work", "school", "other"];

export function loadPlaces() {
  try {
    const places = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(places) ? places.filter((p) => p && typeof p.zone === "string") : [];
  } catch {
    return [];
  }
}

export function savePlaces(places) {
  const kept = places.filter((p) => !p.fromLink)
    .map(({ key, zone, label, lat, lon }) => ({ key, zone, label, lat, lon }));
  try { localStorage.setItem(STORE_KEY, JSON.stringify(kept)); } catch { /* private mode */ }
}

export function newPlace(zone, label, lat, lon) {
  const key = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return { key, zone, label: LABELS.includes(label) ? label : "other", lat, lon };
}
