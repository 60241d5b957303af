"""A small inline-SVG line chart: no plotting dependency, the report stays one text file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Markers", "Series", "line_chart"]

_W, _H = 900, 240
_L, _R, _T, _B = 70, 150, 28, 30  # margins: room for y labels on the left, legend on the right


@dataclass(frozen=True)
class Series:
    """A line; NaN values break it."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    step: bool = False


@dataclass(frozen=True)
class Markers:
    """Points drawn as small triangles (up or down)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    up: bool = True


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v == v and not math.isinf(v)]


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _fmt(v: float) -> str:
    return f"{v:,.6g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def line_chart(
    title: str, series: Sequence[Series], markers: Sequence[Markers] = (), y_label: str = ""
) -> str:
    """An ``<svg>`` element plotting ``series`` and ``markers`` against time (seconds)."""
    xs = _finite([x for s in (*series, *markers) for x in s.xs])
    ys = _finite([y for s in (*series, *markers) for y in s.ys])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" class="chart" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{_L}" y="18" class="title">{escape(title)}</text>',
    ]
    if not xs or not ys:
        parts.append(f'<text x="{_W / 2}" y="{_H / 2}" class="empty">no data</text></svg>')
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(x: float) -> float:
        return _L + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return _T + (1 - (y - y0) / (y1 - y0)) * ph

    parts.append(f'<rect x="{_L}" y="{_T}" width="{pw}" height="{ph}" class="frame"/>')
    for v in _ticks(y0, y1):
        parts.append(
            f'<line x1="{_L}" x2="{_L + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="grid"/>'
            f'<text x="{_L - 4}" y="{py(v) + 4:.1f}" class="ylab">{_fmt(v)}</text>'
        )
    for v in _ticks(x0, x1, 6):
        parts.append(f'<text x="{px(v):.1f}" y="{_H - 10}" class="xlab">{v:.0f}s</text>')
    if y_label:
        parts.append(f'<text x="12" y="{_T + ph / 2}" class="axis">{escape(y_label)}</text>')
    for i, s in enumerate(series):
        path, pen_down, last_y = [], False, None
        for x, y in zip(s.xs, s.ys, strict=True):
            if y != y or math.isinf(y):
                pen_down = False
                continue
            if s.step and pen_down and last_y is not None:
                path.append(f"L{px(x):.1f},{py(last_y):.1f}")
            path.append(f"{'L' if pen_down else 'M'}{px(x):.1f},{py(y):.1f}")
            pen_down, last_y = True, y
        if path:
            parts.append(f'<path d="{"".join(path)}" stroke="{s.color}" class="line"/>')
        parts.append(_legend(i, s.label, s.color))
    for j, m in enumerate(markers):
        for x, y in zip(m.xs, m.ys, strict=True):
            if y == y:
                cx, cy = px(x), py(y)
                d = 5 if m.up else -5
                parts.append(
                    f'<path d="M{cx:.1f},{cy - d:.1f} L{cx - 4:.1f},{cy + d:.1f} '
                    f'L{cx + 4:.1f},{cy + d:.1f} Z" fill="{m.color}"/>'
                )
        parts.append(_legend(len(series) + j, m.label, m.color))
    parts.append("</svg>")
    return "".join(parts)


def _legend(i: int, label: str, color: str) -> str:
    y = _T + 12 + 16 * i
    x = _W - _R + 10
    return (
        f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
        f'<text x="{x + 14}" y="{y + 1}" class="legend">{escape(label)}</text>'
    )
