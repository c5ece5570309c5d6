"""What a push says: a small JSON object per decision, in the subscriber's language.

The service worker shows `title` and `text` as the notification and may use the rest (zone,
level, seq) to replace an older notification of the same zone and to drop repeats: a push can
arrive twice (at-least-once after a restart) or late (a retry), never with a smaller `seq` for
the same zone meaning anything newer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airwarn.channels.webpush.vapid import b64url

# level -> the short text; drill and test pushes carry a marker first (never read as real)
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "alert": "Air threat: go to a shelter now",
        "pre_alert": "Alerts are expected in your area in the coming minutes",
        "clear": "All clear: you may leave the shelter",
        "exercise": "DRILL",
        "test": "TEST",
        "shelter": "{s} s to reach shelter",
        "still_alert": "The zone is still under alert: stay in the shelter",
        "still_pre_alert": "Alerts are still expected in your area",
    },
    "he": {
        "alert": "איום אווירי: היכנסו למרחב המוגן",
        "pre_alert": "בדקות הקרובות צפויות להתקבל התרעות באזורך",
        "clear": "האירוע הסתיים: ניתן לצאת מהמרחב המוגן",
        "exercise": "תרגיל",
        "test": "בדיקה",
        "shelter": "{s} שניות להגיע למרחב מוגן",
        "still_alert": "האזור עדיין בהתרעה: הישארו במרחב המוגן",
        "still_pre_alert": "עדיין צפויות התרעות באזורך",
    },
    "uk": {
        "alert": "Повітряна тривога: негайно прямуйте в укриття",
        "pre_alert": "Найближчими хвилинами можлива тривога у вашому районі",
        "clear": "Відбій тривоги: можна залишити укриття",
        "exercise": "НАВЧАННЯ",
        "test": "ТЕСТ",
        "shelter": "{s} с, щоб дістатися укриття",
        "still_alert": "Тривога у вашій зоні триває: залишайтеся в укритті",
        "still_pre_alert": "У вашому районі все ще можлива тривога",
    },
}
LANGUAGES = tuple(TEXTS)


def language(tag: str) -> str:
    """The language the texts are written in for a BCP 47 tag (`he-IL` → `he`); English when
    there are none in it yet."""
    primary = tag.split("-", 1)[0].lower()
    return primary if primary in TEXTS else "en"


def urgency(level: str, status: str) -> str:
    """RFC 8030 Urgency: `high` wakes a phone at once, so real alerts and pre-alerts (relayed
    ones too) use it; all-clears, drills and tests can wait for the device's next wake."""
    return "high" if status == "actual" and level != "clear" else "normal"


def topic(status: str, zone: str) -> str:
    """RFC 8030 Topic: a push service keeps only the newest undelivered push per topic, so a
    phone that was offline gets the zone's latest state, not the whole raid. At most 32
    base64url characters, so a hash of the zone rather than its id."""
    return b64url(hashlib.sha256(f"{status}\x00{zone}".encode()).digest()[:24])


def build(
    decision: dict[str, Any],
    *,
    zone_name: str | None,
    shelter_s: int | None,
    identifier: str | None,
    lang: str,
) -> str:
    """The payload for one decision (`seq`, `t`, `zone`, `level`, `kind`, `status`, and for a
    relayed feed's `source`; `in_force` when another lane still holds the zone higher).

    A relayed decision names its source first (`alerts.in.ua: ...`); a clear while the zone
    is still held by another lane (this server's own, or another source) says so instead of
    an all-clear: nobody leaves a shelter because one of two feeds went quiet."""
    texts = TEXTS[language(lang)]
    level, status = decision["level"], decision["status"]
    in_force = decision.get("in_force")
    text = texts[level] if not in_force else texts[f"still_{in_force}"]
    if level == "alert" and shelter_s:
        text += ". " + texts["shelter"].format(s=shelter_s)
    title = zone_name or decision["zone"]
    source = decision.get("source")
    if source:
        text = f"{source}: {text}"
    if status != "actual":
        title = f"{texts[status]}: {title}"
        text = f"{texts[status]}: {text}"
    body = {
        "v": 1,
        "seq": decision["seq"],
        "t": decision["t"],
        "zone": decision["zone"],
        "level": level,
        "kind": decision["kind"],
        "status": status,
        "identifier": identifier,
        "title": title,
        "text": text,
    }
    if source:
        body["source"] = source
        if decision.get("since"):
            body["since"] = decision["since"]
    if in_force:
        body["in_force"] = in_force
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
