"""What an import produced: the canonical zones, and notes on every quirk met on the way.

Real layers are never clean (missing ids, broken rings, units that are not what their file says).
An adapter fixes what it can by a documented rule and says so here, so that nothing is changed
silently and an operator can check each choice before the zones go live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from airwarn.engine.zones import Zone


@dataclass
class ImportResult:
    """The zones an adapter made from a layer, and human-readable notes on what it found and did.

    Each note says what was found (a count and examples) and what was done about it.
    """

    zones: list[Zone]
    notes: list[str] = field(default_factory=list)
    source: str | None = None

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def regions(self) -> list[str]:
        """The distinct regions, in order of first appearance."""
        return list(dict.fromkeys(z.region for z in self.zones if z.region is not None))

    @property
    def shelter_counts(self) -> dict[int, int]:
        """How many zones have each shelter time, longest first."""
        counts = Counter(z.shelter_s for z in self.zones)
        return dict(sorted(counts.items(), key=lambda item: -item[0]))


def examples(items: Iterable[object], limit: int = 5) -> str:
    """`a, b, c` or `a, b, c, … (+12 more)`: the first few items of a list for a note."""
    items = list(items)
    shown = ", ".join(str(item) for item in items[:limit])
    rest = len(items) - limit
    return f"{shown}, … (+{rest} more)" if rest > 0 else shown


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 zone`, `2 zones`, `1,449 zones`: a count with its noun, for notes."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def agree(count: int, one: str, many: str) -> str:
    """The verb or phrase that agrees with a count: `agree(1, "is", "are")` is `is`."""
    return one if count == 1 else many
