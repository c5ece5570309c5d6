"""Finding 2, at the source: no page script turns a string into markup. Leaflet renders a
string given to a tooltip or popup as HTML, so those get DOM nodes; innerHTML and its kin, eval
and document.write are not used at all. A check of web/src that fails as soon as someone
writes one (the browser test in this folder proves the pages as they are now).

On 50965d2 this fails: map.js gave Leaflet a template string and set a legend's innerHTML.
"""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "web" / "src"
FORBIDDEN = re.compile(
    r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|"
    r"\beval\s*\(|new\s+Function\s*\(|\bsrcdoc\b|createContextualFragment|"
    r"\bsetHTMLUnsafe\b|DOMParser"
)
# Leaflet's content setters: their first argument is a node (`el(...)`), never a string or a
# template literal (a heuristic: it sees literals, not a variable that holds a string)
LEAFLET = re.compile(
    r"\.(bindTooltip|bindPopup|setContent|setTooltipContent|"
    r"setPopupContent)\(\s*(?!el\()"
)


def scripts() -> list[Path]:
    return sorted(SOURCE.rglob("*.js"))


def test_no_page_script_sets_markup_from_a_string() -> None:
    assert scripts(), f"no scripts found under {SOURCE}"
    found = []
    for path in scripts():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if FORBIDDEN.search(line) or LEAFLET.search(line):
                found.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert found == [], (
        "page scripts must build DOM nodes (dom.js `el`, textContent), never "
        "markup from strings:\n" + "\n".join(found)
    )
