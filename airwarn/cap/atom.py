"""An Atom 1.0 feed of CAP messages, newest first, the way CAP aggregators poll for them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from lxml import etree

from airwarn.cap.build import CapWarning, event_text, headline

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
_A = f"{{{ATOM_NS}}}"


def atom_time(ms: int) -> str:
    """An RFC 3339 time for Atom (UTC, "Z"; Atom has no quarrel with it, unlike CAP)."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    entries: Iterable[tuple[CapWarning, str]],
    feed_id: str,
    title: str,
    updated_ms: int,
    self_url: str,
) -> bytes:
    """The feed of `entries` (each a warning and the URL of its signed CAP message).

    One entry per message, newest first: its id is the CAP identifier, its title the
    headline, its link the CAP message itself.
    """
    feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", atom_time(updated_ms))
    author = _sub(feed, "author")
    _sub(author, "name", "airwarn")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    ordered = sorted(entries, key=lambda item: (item[0].sent_ms, item[0].identifier), reverse=True)
    for warning, url in ordered:
        entry = _sub(feed, "entry")
        _sub(entry, "id", warning.identifier)
        _sub(entry, "title", headline(warning))
        _sub(entry, "updated", atom_time(warning.sent_ms))
        _sub(entry, "link", rel="alternate", type=CAP_TYPE, href=url)
        _sub(entry, "summary", _summary(warning))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def _summary(warning: CapWarning) -> str:
    names = [zone.name or zone.id for zone in warning.zones]
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    stage = {"alert": "alert", "pre_alert": "pre-alert", "clear": "all clear"}[warning.level]
    if warning.msg_type == "Cancel":
        stage = "cancellation"
    return f"{warning.status} {stage}, {event_text(warning.kind)}: {shown or 'no named area'}"


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, _A + tag, attributes)
    if text is not None:
        element.text = text
    return element
