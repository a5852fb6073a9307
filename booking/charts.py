"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing to load.

The drawing is sized for a phone (360 units wide, scaled up by CSS on wider screens), so
its text stays readable. It is one image to assistive technology (role="img" with a title
and a description); pages put the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 34, 18, 10, 26
MAX_LABELS = 6


@dataclass(frozen=True)
class Bar:
    label: str  # short, under the axis ("3 Mar")
    value: int
    title: str  # in full, shown on hover ("Tuesday 3 March: 4 tickets")


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `value` (min 1)."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(bars: Sequence[Bar], *, chart_id: str, title: str, description: str) -> Markup:
    """An accessible SVG bar chart of `bars`, left to right."""
    top = nice_ceiling(max((b.value for b in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(bars))
    gap = min(slot * 0.2, 4)
    ids = f"{chart_id}-title {chart_id}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{ids}"'
        ' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for step in (0, 0.5, 1):
        y = TOP + plot_h * (1 - step)
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_number(y)}"'
            f' y2="{_number(y)}" stroke="#b1b4b6" stroke-width="1"/>'
        )
        if step == 0.5 and top % 2:
            continue  # an odd top has no whole middle value to write
        parts.append(
            f'<text class="chart__label" x="{LEFT - 4}" y="{_number(y + 4)}"'
            f' text-anchor="end" font-size="13" fill="#0b0c0c">{int(top * step)}</text>'
        )
    every = max(1, math.ceil(len(bars) / MAX_LABELS))
    for n, bar in enumerate(bars):
        height = plot_h * bar.value / top
        x = LEFT + n * slot + gap / 2
        parts.append(
            f'<rect class="chart__bar" x="{_number(x)}" y="{_number(TOP + plot_h - height)}"'
            f' width="{_number(max(1.0, slot - gap))}" height="{_number(height)}"'
            f' fill="#1d70b8"><title>{escape(bar.title)}</title></rect>'
        )
        if n % every == 0:
            parts.append(
                f'<text class="chart__label" x="{_number(x + (slot - gap) / 2)}"'
                f' y="{HEIGHT - 8}" text-anchor="middle" font-size="13"'
                f' fill="#0b0c0c">{escape(bar.label)}</text>'
            )
    parts.append(
        f'<line class="chart__axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}"'
        f' y2="{TOP + plot_h}" stroke="#0b0c0c" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every piece of text above is escaped)
