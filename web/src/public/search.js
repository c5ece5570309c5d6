// Find zones by name in any of their languages, ignoring case, accents, niqqud and harakat.
import { allNames } from "./i18n.js";

/** Fold a name for comparison: lower case, no combining marks, one kind of apostrophe and
 *  dash, Russian ё as е, Arabic letter variants unified, spaces collapsed. */
export function fold(text) {
  return String(text)
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/ё/g, "е")
    .replace(/[أإآٱ]/g, "ا").replace(/ى/g, "ي").replace(/ة/g, "ه")
    .replace(/[ʼʻ’‘'`״׳"]/g, "")
    .replace(/[-‐–—_.,()/]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export class ZoneSearch {
  constructor(features) {
    this.entries = [];
    for (const feature of features) {
      const props = feature.properties;
      for (const name of allNames(props)) this.entries.push({ id: props.id, key: fold(name) });
    }
  }

  /** Zone ids whose names contain `query`, those that start with it first, shortest first. */
  find(query, limit = 8) {
    const q = fold(query);
    if (!q) return [];
    const best = new Map();
    for (const { id, key } of this.entries) {
      const at = key.indexOf(q);
      if (at < 0) continue;
      const wordStart = at === 0 || key[at - 1] === " ";
      const rank = (at === 0 ? 0 : wordStart ? 1 : 2) * 1000 + key.length;
      if (!best.has(id) || best.get(id) > rank) best.set(id, rank);
    }
    return [...best.entries()].sort((a, b) => a[1] - b[1]).slice(0, limit).map(([id]) => id);
  }
}
