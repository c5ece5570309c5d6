// Languages of the public page: strings, plural forms, numbers, times, threat kinds, zone names.
import ar from "../i18n/ar.json";
import en from "../i18n/en.json";
import he from "../i18n/he.json";
import ru from "../i18n/ru.json";
import uk from "../i18n/uk.json";

export const STRINGS = { en, uk, he, ar, ru };
export const LANGS = ["en", "uk", "he", "ar", "ru"];
const RTL = new Set(["he", "ar"]);
const STORE_KEY = "airwarn.lang";
// Older or regional codes browsers still send
const ALIASES = { iw: "he", ua: "uk" };
// Zone names: which language's property to try first, then which to fall back on
const NAME_ORDER = { en: ["en"], uk: ["uk", "en"], ru: ["ru", "uk", "en"], he: ["he", "en"],
                     ar: ["ar", "en"] };

let current = "en";

export function lang() { return current; }

/** The language to start with: ?lang=, then the one remembered, then the browser's, then en. */
export function pickLanguage() {
  const wanted = [new URLSearchParams(location.search).get("lang")];
  try { wanted.push(localStorage.getItem(STORE_KEY)); } catch { /* private mode */ }
  wanted.push(...(navigator.languages || [navigator.language]));
  for (const code of wanted) {
    if (!code) continue;
    const base = code.toLowerCase().split("-")[0];
    const known = ALIASES[base] || base;
    if (LANGS.includes(known)) return known;
  }
  return "en";
}

export function setLanguage(code, remember) {
  current = LANGS.includes(code) ? code : "en";
  document.documentElement.lang = current;
  document.documentElement.dir = RTL.has(current) ? "rtl" : "ltr";
  if (remember) {
    try { localStorage.setItem(STORE_KEY, current); } catch { /* private mode */ }
  }
}

/** The string `key` in the current language (English if missing), with {name} filled in. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function num(n) {
  return new Intl.NumberFormat(current).format(n);
}

/** "90 seconds" with the right plural form for the language. */
export function seconds(n) {
  const form = new Intl.PluralRules(current).select(n);
  const table = STRINGS[current];
  const word = table[`seconds.${form}`] ?? table["seconds.other"] ?? STRINGS.en["seconds.other"];
  return `${num(n)} ${word}`;
}

export function secondsWord(n) {
  return seconds(n).slice(num(n).length + 1);
}

export function clockTime(ms) {
  return new Intl.DateTimeFormat(current, { hour: "2-digit", minute: "2-digit",
                                            second: "2-digit" }).format(new Date(ms));
}

/** A threat kind or an operator's category in words; an unknown category as it was given. */
export function kindWords(kind) {
  if (!kind) return t("kind.unknown");
  const key = `kind.${String(kind).toLowerCase()}`;
  return key in STRINGS.en ? t(key) : String(kind);
}

/** A zone's name in the current language, from the layer's own names (Israel: area_he,
 *  area_en, area_ru, area_ar; Ukraine: name_uk, name_en), else its `name`, else its id. */
export function zoneName(props) {
  if (!props) return "";
  for (const code of NAME_ORDER[current]) {
    const name = props[`area_${code}`] || props[`name_${code}`];
    if (name) return name;
  }
  return props.name || props.id;
}

/** Every name a zone has, in any language, for search. */
export function allNames(props) {
  const names = new Set();
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === "string" && value && (key === "name" || key === "id" ||
        /^(area|name)_[a-z]{2}$/.test(key))) names.add(value);
  }
  return [...names];
}
