"""Charts as SVG text, drawn on the server: no script, no CDN, no style attribute.

The CSP (web/security.py) forbids inline styles, so colours and fonts are presentation
attributes (fill=, font-size=). Each chart is an `<svg role="img">` with a `<title>` and
an aria-label; every bar (or column) is one `<g class="bar">` with its own `<title>`, so
a pointer shows its value. The page puts the same numbers in a table beside the chart:
that table, not the drawing, is what a screen reader should read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
ROW = 26
BAR = 16
FONT = 12
CHAR = 6.6  # average width of a character at FONT px, for laying out labels
LABEL_MAX = 34  # characters; a longer label is cut, its <title> keeps it whole
INK = "#1d2430"
# Okabe & Ito's colour-blind-safe palette, darkened where white text or thin bars need it.
PALETTE = (
    "#005a8c", "#d55e00", "#009e73", "#cc79a7", "#b07c00", "#56b4e9", "#6b4c9a", "#8c8c8c",
    "#1b6b3a",
)  # fmt: skip


def number(value: float | None) -> str:
    """A number as Swedes write it: a decimal comma, "–" for nothing."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """Horizontal bars, one per (label, value) row, the value printed after the bar."""
    left = _label_width(label for label, _ in rows)
    scale = _scale(max((value for _, value in rows), default=0), WIDTH - left - 60)
    body = []
    for i, (text, value) in enumerate(rows):
        y = 8 + i * ROW
        width = value * scale
        body.append(
            _group(
                f"{text}: {number(value)}{unit}",
                _label(left - 6, y + BAR - 4, text, anchor="end")
                + _rect(left, y, width, BAR, PALETTE[0])
                + _text(left + width + 4, y + BAR - 4, number(value) + unit),
            )
        )
    return _svg(title, 16 + len(rows) * ROW, "".join(body))


def grouped_bars(
    title: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str = "",
) -> str:
    """Horizontal bars in groups: one group per row, one bar per series (None: no bar)."""
    left = _label_width(label for label, _ in rows)
    values = [v for _, row in rows for v in row if v is not None]
    scale = _scale(max(values, default=0), WIDTH - left - 70)
    legend, top = _legend([(s, _colour(j)) for j, s in enumerate(series)], left)
    group_height = len(series) * (BAR + 2) + 10
    body = []
    for i, (text, row) in enumerate(rows):
        y = top + i * group_height
        bars = _label(left - 6, y + BAR - 4, text, anchor="end")
        for j, value in enumerate(row):
            if value is None:
                continue
            bar_y = y + j * (BAR + 2)
            bars += _rect(left, bar_y, value * scale, BAR, _colour(j))
            bars += _text(left + value * scale + 4, bar_y + BAR - 4, number(value) + unit)
        summary = ", ".join(f"{s} {number(v)}{unit}" for s, v in zip(series, row, strict=True))
        body.append(_group(f"{text}: {summary}", bars))
    return _svg(title, top + len(rows) * group_height + 4, legend + "".join(body))


def stacked_columns(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> str:
    """Vertical columns, one per category, stacked from the series; the total on top."""
    shown = [(i, name, values) for i, (name, values) in enumerate(series) if any(values)]
    legend, top = _legend([(name, _colour(i)) for i, name, _ in shown], 40)
    totals = [sum(values[c] for _, _, values in shown) for c in range(len(categories))]
    plot = 200
    scale = _scale(max(totals, default=0), plot - 16)
    step = max(min((WIDTH - 50) / max(len(categories), 1), 80), 8)
    width = max(step * 0.7, 4)
    # Many categories (years of months): name every n-th, so the names do not overlap.
    every = math.ceil(max((len(c) for c in categories), default=1) * CHAR / step)
    base = top + plot
    body = []
    for c, category in enumerate(categories):
        x = 40 + c * step
        y = base
        parts = []
        for i, name, values in shown:
            if not values[c]:
                continue
            y -= values[c] * scale
            tip = f"{name}: {number(values[c])}"
            parts.append(_rect(x, y, width, values[c] * scale, _colour(i), tip))
        parts.append(_text(x + width / 2, y - 4, number(totals[c]), anchor="middle"))
        if c % every == 0:
            parts.append(_text(x + width / 2, base + 14, category, anchor="middle", size=FONT - 2))
        body.append(_group(f"{category}: {number(totals[c])}", "".join(parts)))
    total_width = max(WIDTH, 40 + len(categories) * step + 10)
    return _svg(title, base + 24, legend + "".join(body), width=total_width)


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _scale(biggest: float, room: float) -> float:
    return room / biggest if biggest > 0 else 0.0


def _label_width(labels: Iterable[str]) -> float:
    longest = max((min(len(text), LABEL_MAX) for text in labels), default=0)
    return min(longest * CHAR + 12, WIDTH / 2)


def _legend(entries: Sequence[tuple[str, str]], left: float) -> tuple[str, float]:
    """Colour swatches with names (wrapping), and the y where the plot starts below them."""
    parts, x, y = [], left, 8.0
    for name, colour in entries:
        width = len(name) * CHAR + 26
        if x + width > WIDTH and x > left:
            x, y = left, y + 18
        parts.append(_rect(x, y, 12, 12, colour))
        parts.append(_text(x + 16, y + 10, name))
        x += width
    return "".join(parts), (y + 24 if entries else 8.0)


def _svg(title: str, height: float, body: str, *, width: float = WIDTH) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" aria-label={quoteattr(title)} '
        f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="{INK}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _group(title: str, body: str) -> str:
    return f'<g class="bar"><title>{escape(title)}</title>{body}</g>'


def _rect(x: float, y: float, width: float, height: float, fill: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}" '
        f'fill="{fill}">{tip}</rect>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT) -> str:
    font = f' font-size="{size}"' if size != FONT else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{font}>{escape(text)}</text>'


def _label(x: float, y: float, text: str, *, anchor: str) -> str:
    cut = text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"
    return _text(x, y, cut, anchor=anchor)
