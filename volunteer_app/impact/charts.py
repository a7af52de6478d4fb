"""Server-rendered SVG charts and the embeddable badge: no JavaScript, nothing from a CDN.

Every chart is an <svg role="img"> named by its <title> and described by its <desc>
(aria-labelledby), drawn in a small viewBox that scales to the width of its container, so it
reads on a 320 px phone and prints crisply. The pages put the data table behind each chart
next to it. Colours are given as presentation attributes, which the Content Security Policy
allows (inline style attributes it does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320
INK = "#1b1f24"
MUTED = "#4a5560"
GRID = "#c9d1d9"
BAR = "#0b5c8a"
PROGRESS = "#1d7a3e"
TRACK = "#e8f1f8"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str  # short axis label ("Apr")
    value: float
    value_text: str  # the value as people read it ("1,240 hours")
    long_label: str = ""  # the full name for the tooltip ("April 2025")


@dataclass(frozen=True)
class ProgressRow:
    label: str
    value: float
    target: float
    value_text: str  # "62 of 100 trees, 62%"


def _f(number: float) -> str:
    """Coordinates with at most one decimal, so the markup stays small and stable."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _open_svg(chart_id: str, title: str, description: str, height: float, css_class: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'viewBox="0 0 {WIDTH} {_f(height)}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )


def _nice_max(value: float) -> float:
    """A round number at or above `value` for the top of the axis (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: list[Bar],
    *,
    max_value: float | None = None,
    axis_format=lambda v: f"{v:,.0f}",
) -> Markup:
    """Vertical bars, one per bucket, with a light axis of three gridlines."""
    height, top, bottom, left, right = 190, 14, 30, 40, 6
    plot_height = height - top - bottom
    plot_width = WIDTH - left - right
    top_value = (
        max_value if max_value is not None else _nice_max(max((b.value for b in bars), default=0))
    )
    parts = [_open_svg(chart_id, title, description, height, "bar-chart")]
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{_f(y)}" y2="{_f(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{_f(y + 3.5)}" text-anchor="end" font-size="10" '
            f'fill="{MUTED}">{escape(axis_format(top_value * fraction))}</text>'
        )
    count = max(len(bars), 1)
    slot = plot_width / count
    bar_width = max(slot * 0.7, 1)
    # Label every bar when there is room, else every second, third... bar.
    label_every = math.ceil(24 / slot) if slot < 24 else 1
    for index, bar in enumerate(bars):
        value = min(max(bar.value, 0), top_value)
        bar_height = plot_height * value / top_value if top_value else 0
        x = left + slot * index + (slot - bar_width) / 2
        y = top + plot_height - bar_height
        tooltip = f"{bar.long_label or bar.label}: {bar.value_text}"
        parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(bar_width)}" height="{_f(bar_height)}" '
            f'fill="{BAR}"><title>{escape(tooltip)}</title></rect>'
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{_f(x + bar_width / 2)}" y="{height - bottom + 14}" '
                f'text-anchor="middle" font-size="10" fill="{INK}">{escape(bar.label)}</text>'
            )
    if not bars:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{top + plot_height / 2}" text-anchor="middle" '
            f'font-size="12" fill="{MUTED}">-</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def progress_chart(chart_id: str, title: str, description: str, rows: list[ProgressRow]) -> Markup:
    """One horizontal bar per goal: the share of its target reached, capped at the target."""
    row_height, label_height, bar_height, pad = 40, 15, 14, 6
    height = max(len(rows), 1) * row_height + pad
    parts = [_open_svg(chart_id, title, description, height, "progress-chart")]
    track = WIDTH - 2
    for index, row in enumerate(rows):
        y = pad + index * row_height
        share = min(max(row.value / row.target, 0), 1) if row.target else 0
        label = row.label if len(row.label) <= 48 else row.label[:47] + "…"
        parts.append(
            f'<text x="1" y="{_f(y + label_height - 4)}" font-size="11" fill="{INK}">'
            f"{escape(label)}</text>"
            f'<rect x="1" y="{_f(y + label_height)}" width="{_f(track)}" height="{bar_height}" '
            f'fill="{TRACK}" stroke="{GRID}" stroke-width="1"/>'
            f'<rect x="1" y="{_f(y + label_height)}" width="{_f(track * share)}" '
            f'height="{bar_height}" fill="{PROGRESS}">'
            f"<title>{escape(row.label)}: {escape(row.value_text)}</title></rect>"
            f'<text x="{WIDTH - 2}" y="{_f(y + label_height + bar_height + 10)}" '
            f'text-anchor="end" font-size="10" fill="{MUTED}">{escape(row.value_text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _text_width(text: str, size: float = 11) -> float:
    """A generous estimate of the width of `text` in a sans-serif at `size` px."""
    return sum(size * (0.36 if ch in "il.,:;'|!· " else 0.62) for ch in text) + 2


def badge(label: str, message: str, description: str) -> str:
    """A standalone SVG badge ("Volunteer hours | 1,240 · 62% of goal") for partner sites."""
    left = round(_text_width(label) + 12)
    right = round(_text_width(message) + 12)
    width = left + right
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="22" '
        f'viewBox="0 0 {width} 22" role="img" aria-labelledby="badge-title badge-desc">'
        f'<title id="badge-title">{escape(label)}: {escape(message)}</title>'
        f'<desc id="badge-desc">{escape(description)}</desc>'
        f'<rect width="{left}" height="22" rx="3" fill="#073f60"/>'
        f'<rect x="{left}" width="{right}" height="22" rx="3" fill="{PROGRESS}"/>'
        f'<rect x="{left - 3}" width="6" height="22" fill="{PROGRESS}"/>'
        f'<g font-family="{FONT}" font-size="11" fill="#ffffff">'
        f'<text x="{left / 2}" y="15" text-anchor="middle">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="15" text-anchor="middle" font-weight="bold">'
        f"{escape(message)}</text></g></svg>"
    )
