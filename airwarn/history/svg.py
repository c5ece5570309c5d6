"""Charts drawn as inline SVG, for reports that must work offline: a choropleth map from zone
outlines (no tiles), line series over months, and histograms. No plotting library needed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

# A colour-blind-safe sequential ramp (light yellow → dark purple), one colour per class.
RAMP = ["#fcfdbf", "#feca8d", "#fd9668", "#f1605d", "#cd4071", "#9e2f7f", "#721f81", "#440f76"]
NO_DATA = "#d9d9d9"
SERIES = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f"]


def classes(values: Sequence[float], n: int = len(RAMP)) -> list[float]:
    """Upper bounds of `n` classes at quantiles of the positive values (rounded for legends)."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return [1.0]
    bounds: list[float] = []
    for i in range(1, n + 1):
        q = positive[min(len(positive) - 1, math.ceil(i * len(positive) / n) - 1)]
        q = _nice(q)
        if not bounds or q > bounds[-1]:
            bounds.append(q)
    return bounds


def _nice(value: float) -> float:
    if value <= 0:
        return 0.0
    digits = 10 ** max(0, int(math.log10(value)) - 1)
    return math.ceil(value / digits) * digits


def colour(value: float | None, bounds: Sequence[float]) -> str:
    if value is None or value <= 0:
        return NO_DATA
    for index, bound in enumerate(bounds):
        if value <= bound:
            return RAMP[min(index, len(RAMP) - 1)]
    return RAMP[min(len(bounds), len(RAMP)) - 1]


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def choropleth(
    zones: Sequence[tuple[dict[str, Any], float | None, str]],
    *,
    width: int = 760,
    legend_title: str,
    unit: str = "h",
    max_ratio: float = 1.6,
    stroke: str = "#ffffff",
) -> str:
    """A map of zone outlines filled by value. `zones`: (GeoJSON geometry, value, tooltip).

    Plate carrée scaled by cos(mid-latitude), which keeps shapes true enough at these sizes.
    """
    rings = [(_rings(g), v, t) for g, v, t in zones]
    xs = [p[0] for rs, _, _ in rings for r in rs for p in r]
    ys = [p[1] for rs, _, _ in rings for r in rs for p in r]
    if not xs:
        return "<p>No zones to draw.</p>"
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    k = math.cos(math.radians((min_y + max_y) / 2))
    span_x, span_y = (max_x - min_x) * k, max_y - min_y
    scale = (width - 20) / span_x
    height = int(span_y * scale) + 20
    if height > max_ratio * width:  # tall countries: fit the height instead
        scale = (max_ratio * width - 20) / span_y
        height = int(max_ratio * width)
    bounds = classes([v for _, v, _ in rings if v is not None])
    parts = []
    for polygon_rings, value, title in rings:
        d = []
        for ring in polygon_rings:
            points = " ".join(
                f"{10 + (x - min_x) * k * scale:.1f},{10 + (max_y - y) * scale:.1f}"
                for x, y in ring
            )
            d.append(f"M{points}Z")
        parts.append(
            f'<path d="{" ".join(d)}" fill="{colour(value, bounds)}" '
            f'fill-rule="evenodd"><title>{escape(title)}</title></path>'
        )
    svg_w = int(span_x * scale) + 20
    legend = _legend(bounds, legend_title, unit)
    return (
        f'<div class="map"><svg viewBox="0 0 {svg_w} {height}" width="{svg_w}" '
        f'height="{height}" role="img" aria-label="{escape(legend_title)}">'
        f'<g stroke="{stroke}" stroke-width="0.4">{"".join(parts)}</g></svg>{legend}</div>'
    )


def _legend(bounds: Sequence[float], title: str, unit: str) -> str:
    items = [f'<span><i style="background:{NO_DATA}"></i>none</span>']
    low = 0.0
    for index, bound in enumerate(bounds):
        items.append(
            f'<span><i style="background:{RAMP[min(index, len(RAMP) - 1)]}"></i>'
            f"{_fmt(low)}–{_fmt(bound)} {unit}</span>"
        )
        low = bound
    return f'<div class="legend"><b>{escape(title)}</b>{"".join(items)}</div>'


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.1f}".rstrip("0").rstrip(".")


def line_chart(
    series: Mapping[str, Sequence[tuple[str, float]]],
    *,
    y_label: str,
    width: int = 760,
    height: int = 260,
) -> str:
    """Lines over sorted period labels (e.g. months `2023-10`), one per series, with a legend."""
    labels = sorted({x for points in series.values() for x, _ in points})
    if not labels:
        return "<p>No data.</p>"
    top = max((y for points in series.values() for _, y in points), default=1.0) or 1.0
    top = _nice(top)
    left, right, upper, lower = 56, 10, 12, 40
    plot_w, plot_h = width - left - right, height - upper - lower
    step = plot_w / max(1, len(labels) - 1)
    position = {x: left + i * step for i, x in enumerate(labels)}
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'class="chart" role="img" aria-label="{escape(y_label)}">'
    ]
    for i in range(5):
        value = top * i / 4
        y = upper + plot_h * (1 - i / 4)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_fmt(value)}</text>'
        )
    every = max(1, len(labels) // 12)
    for i, x in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text x="{position[x]:.1f}" y="{height - lower + 16}" '
                f'text-anchor="middle">{escape(x)}</text>'
            )
    out.append(
        f'<text x="12" y="{upper + plot_h / 2}" transform="rotate(-90 12 '
        f'{upper + plot_h / 2})" text-anchor="middle">{escape(y_label)}</text>'
    )
    legend = []
    for index, (name, given) in enumerate(series.items()):
        colour_ = SERIES[index % len(SERIES)]
        # a period with no alert is a zero, not a gap to draw across
        values = dict(given)
        first, last = labels.index(min(values)), labels.index(max(values))
        points = [(x, values.get(x, 0.0)) for x in labels[first : last + 1]]
        coords = " ".join(
            f"{position[x]:.1f},{upper + plot_h * (1 - y / top):.1f}" for x, y in sorted(points)
        )
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour_}" '
            f'stroke-width="1.6"><title>{escape(name)}</title></polyline>'
        )
        legend.append(f'<span><i style="background:{colour_}"></i>{escape(name)}</span>')
    out.append("</svg>")
    return f'<div class="chartbox">{"".join(out)}<div class="legend">{"".join(legend)}</div></div>'


def histogram(
    series: Mapping[str, Sequence[float]],
    edges: Sequence[float],
    *,
    x_label: str,
    width: int = 760,
    height: int = 240,
) -> str:
    """Share of values per bin (bins given by `edges`), bars side by side per series."""
    if not series:
        return "<p>No data.</p>"
    bins = len(edges) - 1
    shares: dict[str, list[float]] = {}
    for name, values in series.items():
        counts = [0] * bins
        for v in values:
            for i in range(bins):
                if edges[i] <= v < edges[i + 1] or (i == bins - 1 and v >= edges[i + 1]):
                    counts[i] += 1
                    break
        total = sum(counts) or 1
        shares[name] = [c / total for c in counts]
    top = max(max(s) for s in shares.values()) or 1.0
    left, right, upper, lower = 48, 10, 12, 44
    plot_w, plot_h = width - left - right, height - upper - lower
    slot = plot_w / bins
    bar = slot * 0.8 / len(shares)
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'class="chart" role="img" aria-label="{escape(x_label)}">'
    ]
    for i in range(5):
        y = upper + plot_h * (1 - i / 4)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{top * i / 4:.0%}</text>'
        )
    legend = []
    for s_index, (name, values) in enumerate(shares.items()):
        colour_ = SERIES[s_index % len(SERIES)]
        for i, share in enumerate(values):
            x = left + i * slot + slot * 0.1 + s_index * bar
            h = plot_h * share / top
            out.append(
                f'<rect x="{x:.1f}" y="{upper + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour_}"><title>{escape(name)}: '
                f"{share:.1%}</title></rect>"
            )
        legend.append(f'<span><i style="background:{colour_}"></i>{escape(name)}</span>')
    for i in range(bins):
        label = f"{_fmt(edges[i])}–{_fmt(edges[i + 1])}" if i < bins - 1 else f"≥ {_fmt(edges[i])}"
        out.append(
            f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - lower + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text></svg>"
    )
    return f'<div class="chartbox">{"".join(out)}<div class="legend">{"".join(legend)}</div></div>'
