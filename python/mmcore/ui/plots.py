"""The run report's interactive plots (Bokeh): one column of panels per symbol.

Every panel of the report shares one time axis (zoom or pan one, all follow), has round-number
ticks, hover read-outs and a legend whose entries hide their line when clicked. The data is
the recorder's samples and fills and the PnL decomposition path (:mod:`mmcore.analytics.pnl`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    GridPlot,
    HoverTool,
    Legend,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from mmcore.analytics.pnl import Interval, PnlPath
from mmcore.ui.recorder import FillRow, Sample

__all__ = ["PANELS", "shared_time_range", "symbol_panels"]

#: the panel titles of each symbol, top to bottom
PANELS = (
    "price: market, our quotes and fills",
    "inventory",
    "PnL and its decomposition",
    "spread: market and advised",
    "advice: size factor, risk score, toxic-flow probability",
)
_HEIGHTS = (340, 220, 300, 220, 220)
_TOOLS = "xpan,box_zoom,xwheel_zoom,wheel_zoom,reset,save"
_VALUE = "0,0.[0000]"  # thousands separators, up to 4 decimals, no trailing zeros
_BUY, _SELL = "#1b7a3d", "#c0392b"
_MARKED = "#f0a030"  # the shading of marked intervals (e.g. informed-flow episodes)


def shared_time_range(samples: Sequence[Sample], fills: Sequence[FillRow]) -> Range1d:
    """One x range (seconds since start) for every panel of the report."""
    times = [s.t for s in samples] + [f.t for f in fills]
    lo, hi = (min(times), max(times)) if times else (0.0, 1.0)
    return Range1d(lo, hi if hi > lo else lo + 1.0, bounds=(lo, max(hi, lo + 1.0)))


def _figure(title: str, height: int, x_range: Range1d, y_label: str) -> figure:
    fig = figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        x_range=x_range,
        tools=_TOOLS,
        active_drag="box_zoom",
        active_scroll=None,
        toolbar_location="right",
    )
    fig.xaxis.formatter = NumeralTickFormatter(format="0,0.[00]")
    fig.yaxis.axis_label = y_label
    fig.yaxis.formatter = NumeralTickFormatter(format=_VALUE)
    fig.title.text_font_size = "13px"
    legend = Legend(
        orientation="horizontal",
        click_policy="hide",
        spacing=14,
        padding=2,
        margin=2,
        border_line_alpha=0,
        background_fill_alpha=0,
        label_height=12,
        glyph_height=12,
        label_text_font_size="11px",
        location="top_left",
    )
    fig.add_layout(legend, "above")
    return fig


def _hover(fig: figure, renderers: list, fields: list[tuple[str, str]]) -> None:
    fig.add_tools(
        HoverTool(
            renderers=renderers,
            tooltips=[("", "$name"), ("t", "@t{0,0.000} s"), *fields],
            mode="mouse",
        )
    )


def _lines(
    fig: figure,
    source: ColumnDataSource,
    columns: Sequence[tuple[str, str, str]],
    *,
    step: bool = False,
    width: float = 1.6,
) -> None:
    """One line per (column, label, colour), hover showing that column."""
    for col, label, color in columns:
        kw = {"line_color": color, "line_width": width, "legend_label": label, "name": label}
        r = (
            fig.step("t", col, source=source, mode="after", **kw)
            if step
            else fig.line("t", col, source=source, **kw)
        )
        _hover(fig, [r], [("value", f"@{{{col}}}{{{_VALUE}}}")])


def _price(x: Range1d, source: ColumnDataSource, fills: Sequence[FillRow]) -> figure:
    fig = _figure(PANELS[0], _HEIGHTS[0], x, "price")
    _lines(
        fig,
        source,
        [("best_bid", "best bid", "#9bb7d4"), ("best_ask", "best ask", "#e3a6a6")],
        width=1.0,
    )
    _lines(fig, source, [("mid", "mid", "#555555")], width=1.2)
    _lines(
        fig,
        source,
        [("our_bid", "our bid", "#2a9d55"), ("our_ask", "our ask", "#d1495b")],
        step=True,
    )
    for sign, label, color, marker in (
        (1, "we bought", _BUY, "triangle"),
        (-1, "we sold", _SELL, "inverted_triangle"),
    ):
        mine = [f for f in fills if f.sign == sign]
        fill_src = ColumnDataSource(
            {
                "t": [f.t for f in mine],
                "price": [f.price for f in mine],
                "qty": [f.qty for f in mine],
                "mid": [f.mid for f in mine],
                "edge": [f.sign * (f.mid - f.price) * f.qty for f in mine],
                "fee": [f.fee for f in mine],
            }
        )
        r = fig.scatter(
            "t",
            "price",
            source=fill_src,
            marker=marker,
            size=9,
            color=color,
            line_color="white",
            legend_label=label,
            name=label,
        )
        _hover(
            fig,
            [r],
            [
                ("price", f"@price{{{_VALUE}}}"),
                ("qty", "@qty{0,0.[000000]}"),
                ("mid at fill", f"@mid{{{_VALUE}}}"),
                ("spread captured", "@edge{0,0.[0000]}"),
                ("fee", "@fee{0,0.[000000]}"),
            ],
        )
    return fig


def symbol_panels(
    symbol: str,
    samples: Sequence[Sample],
    fills: Sequence[FillRow],
    pnl: PnlPath,
    x_range: Range1d,
    horizon_s: float,
    intervals: Sequence[Interval] = (),
) -> GridPlot:
    """The panels of one symbol (:data:`PANELS`), aligned, one toolbar, named ``symbol``;
    each of ``intervals`` (the symbol's) is shaded on every panel."""
    cols = {
        name: np.array([getattr(s, name) for s in samples], float)
        for name in (
            "t",
            "best_bid",
            "best_ask",
            "mid",
            "our_bid",
            "our_ask",
            "position",
            "pnl",
            "spread_bps",
            "advice_spread_bps",
            "advice_size_factor",
            "advice_risk_score",
            "advice_toxic_prob",
        )
    }
    source = ColumnDataSource(cols)
    price = _price(x_range, source, fills)

    inventory = _figure(PANELS[1], _HEIGHTS[1], x_range, "position (base)")
    _lines(inventory, source, [("position", "position", "#3366cc")], step=True)

    parts = ColumnDataSource(
        {
            "t": pnl.times,
            "total": pnl.total,
            "spread": pnl.spread,
            "adverse": pnl.adverse,
            "inventory": pnl.inventory,
            "fees": pnl.fees,
        }
    )
    decomposition = _figure(PANELS[2], _HEIGHTS[2], x_range, "PnL (quote)")
    _lines(
        decomposition,
        parts,
        [
            ("total", "total (net of fees)", "#222222"),
            ("spread", "spread captured", "#2a9d55"),
            ("adverse", f"adverse selection ({horizon_s:g} s markout)", "#d1495b"),
            ("inventory", "inventory (mark to market)", "#3366cc"),
            ("fees", "fees", "#c77c02"),
        ],
        width=1.8,
    )

    spread = _figure(PANELS[3], _HEIGHTS[3], x_range, "spread (bps)")
    _lines(spread, source, [("spread_bps", "market spread", "#c77c02")])
    _lines(spread, source, [("advice_spread_bps", "advised spread", "#3366cc")], step=True)

    advice = _figure(PANELS[4], _HEIGHTS[4], x_range, "factor / probability")
    advice.xaxis.axis_label = "time since start (s)"
    _lines(
        advice,
        source,
        [
            ("advice_size_factor", "size factor", "#2a9d55"),
            ("advice_risk_score", "risk score", "#d1495b"),
            ("advice_toxic_prob", "toxic prob", "#7b3fa0"),
        ],
        step=True,
    )
    figures = [price, inventory, decomposition, spread, advice]
    for fig in figures:
        for i in intervals:
            fig.add_layout(
                BoxAnnotation(
                    left=i.start, right=i.end, fill_color=_MARKED, fill_alpha=0.15, name=i.label
                )
            )
    grid = gridplot(
        [[f] for f in figures],
        sizing_mode="stretch_width",
        merge_tools=True,
        toolbar_location="right",
    )
    grid.name = symbol
    return grid
