"""Ukraine's places as alerts.in.ua names and numbers them, and which of them a zone lies in.

The numbers (`location_uid`) are alerts.in.ua's own, copied from the table its published Python
client ships (`alerts_in_ua.LocationUidResolver`, alerts-in-ua 0.4.0, MIT licence; a test
checks the copy against the installed client). airwarn never makes numbers up: a zone is matched
to an oblast, a raion or a city by its Ukrainian name, as the Ukrainian importer keeps it
(`oblast_uk`, `raion_uk`); a hromada carries a number only if its zone has one in the property
`alerts_in_ua_uid`, or else the number the packaged alarm-region crosswalk gives its KATOTTG
code (the client's table has none for hromadas; the crosswalk, from the alert services' own
region list, has).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UID_TO_LOCATION: dict[int, str] = {
    31: "м. Київ",
    30: "м. Севастополь",
    8: "Волинська область",
    38: "Володимирський район",
    41: "Камінь-Каширський район",
    40: "Ковельський район",
    39: "Луцький район",
    4: "Вінницька область",
    36: "Вінницький район",
    37: "Гайсинський район",
    35: "Жмеринський район",
    33: "Могилів-Подільський район",
    32: "Тульчинський район",
    34: "Хмільницький район",
    9: "Дніпропетровська область",
    44: "Дніпровський район",
    42: "Кам'янський район",
    46: "Криворізький район",
    47: "Нікопольський район",
    45: "Павлоградський район",
    43: "Самарівський район",
    48: "Синельниківський район",
    28: "Донецька область",
    54: "Бахмутський район",
    55: "Волноваський район",
    51: "Горлівський район",
    53: "Донецький район",
    49: "Кальміуський район",
    50: "Краматорський район",
    52: "Маріупольський район",
    56: "Покровський район",
    10: "Житомирська область",
    57: "Бердичівський район",
    59: "Житомирський район",
    60: "Звягельський район",
    58: "Коростенський район",
    11: "Закарпатська область",
    61: "Берегівський район",
    65: "Мукачівський район",
    63: "Рахівський район",
    64: "Тячівський район",
    66: "Ужгородський район",
    62: "Хустський район",
    12: "Запорізька область",
    147: "Бердянський район",
    146: "Василівський район",
    149: "Запорізький район",
    148: "Мелітопольський район",
    145: "Пологівський район",
    14: "Київська область",
    78: "Бориспільський район",
    79: "Броварський район",
    75: "Бучанський район",
    73: "Білоцерківський район",
    74: "Вишгородський район",
    76: "Обухівський район",
    77: "Фастівський район",
    15: "Кіровоградська область",
    82: "Голованівський район",
    81: "Кропивницький район",
    83: "Новоукраїнський район",
    80: "Олександрійський район",
    16: "Луганська область",
    1803: "Алчевський район",
    1804: "Довжанський район",
    1801: "Луганський район",
    1802: "Ровеньківський район",
    85: "Сватівський район",
    86: "Старобільський район",
    84: "Сіверськодонецький район",
    87: "Щастинський район",
    27: "Львівська область",
    91: "Дрогобицький район",
    94: "Золочівський район",
    90: "Львівський район",
    88: "Самбірський район",
    89: "Стрийський район",
    92: "Шептицький район",
    93: "Яворівський район",
    17: "Миколаївська область",
    96: "Баштанський район",
    95: "Вознесенський район",
    98: "Миколаївський район",
    97: "Первомайський район",
    18: "Одеська область",
    100: "Березівський район",
    105: "Болградський район",
    102: "Білгород-Дністровський район",
    104: "Одеський район",
    99: "Подільський район",
    103: "Роздільнянський район",
    101: "Ізмаїльський район",
    19: "Полтавська область",
    107: "Кременчуцький район",
    106: "Лубенський район",
    108: "Миргородський район",
    109: "Полтавський район",
    5: "Рівненська область",
    110: "Вараський район",
    111: "Дубенський район",
    112: "Рівненський район",
    113: "Сарненський район",
    20: "Сумська область",
    117: "Конотопський район",
    118: "Охтирський район",
    116: "Роменський район",
    114: "Сумський район",
    115: "Шосткинський район",
    21: "Тернопільська область",
    120: "Кременецький район",
    119: "Тернопільський район",
    121: "Чортківський район",
    22: "Харківська область",
    127: "Берестинський район",
    126: "Богодухівський район",
    123: "Куп'янський район",
    128: "Лозівський район",
    124: "Харківський район",
    122: "Чугуївський район",
    125: "Ізюмський район",
    23: "Херсонська область",
    129: "Бериславський район",
    133: "Генічеський район",
    131: "Каховський район",
    130: "Скадовський район",
    132: "Херсонський район",
    3: "Хмельницька область",
    135: "Кам'янець-Подільський район",
    134: "Хмельницький район",
    136: "Шепетівський район",
    24: "Черкаська область",
    150: "Звенигородський район",
    153: "Золотоніський район",
    151: "Уманський район",
    152: "Черкаський район",
    26: "Чернівецька область",
    138: "Вижницький район",
    139: "Дністровський район",
    137: "Чернівецький район",
    25: "Чернігівська область",
    144: "Корюківський район",
    141: "Новгород-Сіверський район",
    142: "Ніжинський район",
    143: "Прилуцький район",
    140: "Чернігівський район",
    13: "Івано-Франківська область",
    67: "Верховинський район",
    71: "Калуський район",
    70: "Коломийський район",
    69: "Косівський район",
    72: "Надвірнянський район",
    68: "Івано-Франківський район",
    1293: "м. Харків",
    564: "м. Запоріжжя",
    29: "Автономна Республіка Крим",
}
LOCATION_TO_UID: dict[str, int] = {name: uid for uid, name in UID_TO_LOCATION.items()}

# The fixed order of the 27-letter oblast string (`/v1/iot/active_air_raid_alerts_by_oblast.json`),
# as the client reads it (`AirRaidAlertOblastStatuses.LOCATIONS`).
OBLAST_ORDER: tuple[str, ...] = (
    "Автономна Республіка Крим",
    "Волинська область",
    "Вінницька область",
    "Дніпропетровська область",
    "Донецька область",
    "Житомирська область",
    "Закарпатська область",
    "Запорізька область",
    "Івано-Франківська область",
    "м. Київ",
    "Київська область",
    "Кіровоградська область",
    "Луганська область",
    "Львівська область",
    "Миколаївська область",
    "Одеська область",
    "Полтавська область",
    "Рівненська область",
    "м. Севастополь",
    "Сумська область",
    "Тернопільська область",
    "Харківська область",
    "Херсонська область",
    "Хмельницька область",
    "Черкаська область",
    "Чернівецька область",
    "Чернігівська область",
)

# Raions renamed since the boundary layers were drawn (2021-2024 decisions of the Verkhovna
# Rada); alerts.in.ua uses the new names. Old name -> new name, nothing else changes.
RENAMED_RAIONS = {
    "Володимир-Волинський район": "Володимирський район",
    "Красноградський район": "Берестинський район",
    "Червоноградський район": "Шептицький район",
    "Сєвєродонецький район": "Сіверськодонецький район",
}

# The layers write the apostrophe as U+2019 (or U+02BC); alerts.in.ua as ASCII.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'"})
HROMADA = "територіальна громада"


@dataclass(frozen=True)
class Place:
    """Where one zone lies, in alerts.in.ua's terms; None where it cannot be told."""

    title: str  # location_title of the zone itself
    title_en: str | None
    kind: str  # location_type: hromada, city (or raion / oblast for coarser zone sets)
    uid: str | None  # location_uid of the zone itself, when published
    oblast: str | None  # location_oblast, in alerts.in.ua's spelling
    oblast_uid: int | None
    raion: str | None
    raion_uid: int | None
    oblast_en: str | None = None
    raion_en: str | None = None


def normal_name(name: str | None) -> str | None:
    """A place name in alerts.in.ua's spelling: ASCII apostrophes, current raion names."""
    if name is None:
        return None
    name = " ".join(name.translate(_APOSTROPHES).split())
    return RENAMED_RAIONS.get(name, name)


def place_of(
    zone_id: str, name: str | None, region: str | None, properties: Mapping[str, Any]
) -> Place:
    """The alerts.in.ua place of a zone, from the properties the Ukrainian importer keeps.

    A zone set from elsewhere (no `oblast_uk`) is described by its region and name, without
    numbers, so the same endpoints still answer for it."""
    oblast = normal_name(_text(properties.get("oblast_uk"))) or region
    raion = normal_name(_text(properties.get("raion_uk")))
    oblast_uid = LOCATION_TO_UID.get(oblast) if oblast else None
    raion_uid = LOCATION_TO_UID.get(raion) if raion else None
    own_uid = _text(properties.get("alerts_in_ua_uid")) or _crosswalk_uid(zone_id)
    name_uk = _text(properties.get("name_uk"))
    kind_uk = _text(properties.get("type_uk")) or ""
    oblast_en = _text(properties.get("oblast_en")) or region
    raion_en = _text(properties.get("raion_en"))
    if oblast is not None and is_city(oblast) and raion == oblast:
        # Kyiv (and Sevastopol): a city that is an oblast of its own, and its own only unit
        return Place(
            oblast,
            name,
            "city",
            own_uid or _uid_text(oblast_uid),
            oblast,
            oblast_uid,
            None,
            None,
            oblast_en,
        )
    unit = normal_name(name_uk)
    if unit is not None and unit == oblast:  # a zone set of whole oblasts
        return Place(
            unit,
            name,
            "city" if is_city(unit) else "oblast",
            own_uid or _uid_text(oblast_uid),
            oblast,
            oblast_uid,
            None,
            None,
            oblast_en,
        )
    if unit is not None and raion is None and unit.endswith(" район"):  # of whole raions
        uid = LOCATION_TO_UID.get(unit)
        return Place(
            unit,
            name,
            "raion",
            own_uid or _uid_text(uid),
            oblast,
            oblast_uid,
            unit,
            uid,
            oblast_en,
            name,
        )
    if name_uk is None:
        title = name or zone_id
    elif "громад" in kind_uk:  # the layers misspell it in a few places; the title does not
        title = f"{name_uk} {HROMADA}"
    elif kind_uk and kind_uk != "Державні території":
        title = f"{name_uk} {kind_uk}"
    else:
        title = name_uk
    return Place(
        title, name, "hromada", own_uid, oblast, oblast_uid, raion, raion_uid, oblast_en, raion_en
    )


def _crosswalk_uid(zone_id: str) -> str | None:
    """The number Ukraine's alert services give a hromada, from the packaged crosswalk (by
    its KATOTTG code, the zone id of the Ukrainian layers)."""
    from airwarn.follow.ukraine import katottg_uids

    uid = katottg_uids().get(zone_id)
    return None if uid is None else str(uid)


def is_city(title: str) -> bool:
    """Kyiv and Sevastopol are oblasts by number and cities by type."""
    return title.startswith("м. ")


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _uid_text(uid: int | None) -> str | None:
    return None if uid is None else str(uid)
