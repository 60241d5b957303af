"""The run report opened in a real headless Chromium: no JavaScript error, every panel drawn,
one shared time axis, nothing fetched from the network, a screenshot that is not blank."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import pytest
from PIL import Image

from mmcore.runner import RunResult
from mmcore.testing.browser import BrowserError, find_chromium, load_page
from mmcore.ui.plots import PANELS

# every element under ``root``, through Bokeh's shadow roots
_DEEP = """
const deep = (root) => {
  const out = [];
  const walk = (n) => {
    for (const e of n.querySelectorAll('*')) { out.push(e); if (e.shadowRoot) walk(e.shadowRoot); }
  };
  walk(root);
  if (root.shadowRoot) walk(root.shadowRoot);
  return out;
};
"""

_READY = f"(() => {{ {_DEEP} return deep(document).filter(e => "
_READY += "e.classList.contains('bk-Figure')).length >= %d; })()"

_PROBE = f"""(() => {{ {_DEEP}
  const roots = [...document.querySelectorAll('[data-root-id]')].map(r => {{
    const all = deep(r);
    const figures = all.filter(e => e.classList.contains('bk-Figure'));
    return {{
      figures: figures.length,
      drawn: figures.filter(f => deep(f).some(
        c => c.tagName === 'CANVAS' && c.width > 100 && c.height > 100)).length,
    }};
  }});
  const doc = Bokeh.documents[0];
  const plots = [...doc.all_models].filter(m => m.x_range !== undefined && m.title !== undefined);
  return {{
    roots,
    titles: plots.map(p => p.title.text),
    x_ranges: [...new Set(plots.map(p => p.x_range.id))].length,
    h2: [...document.querySelectorAll('h2')].map(h => h.textContent),
  }};
}})()"""


def _browse(demo_run: RunResult) -> tuple[dict, object]:
    try:
        find_chromium()
    except BrowserError as exc:
        pytest.fail(f"the report test needs a real browser: {exc}")
    symbols = 2
    page = asyncio.run(
        load_page(
            demo_run.report.resolve().as_uri(),
            ready=_READY % (len(PANELS) * symbols),
            probe=_PROBE,
            timeout_s=90,
        )
    )
    (demo_run.out_dir / "report.png").write_bytes(page.screenshot)
    return page.probe, page


def test_the_report_renders_in_headless_chromium(demo_run: RunResult):
    probe, page = _browse(demo_run)
    assert page.errors == [], page.errors
    assert probe["h2"] == ["BTCUSDT", "ETHUSDT"]
    # one Bokeh root per symbol, each with every panel drawn on a real canvas
    assert probe["roots"] == [{"figures": len(PANELS), "drawn": len(PANELS)}] * 2, probe
    assert sorted(probe["titles"]) == sorted(PANELS * 2)
    assert probe["x_ranges"] == 1  # zooming one panel zooms them all
    # self-contained: the page asked only for itself and inline data
    fetched = [u for u in page.requests if not u.startswith(("file:", "data:"))]
    assert fetched == []

    image = np.asarray(Image.open(io.BytesIO(page.screenshot)).convert("L"), float)
    assert image.shape[1] == 1400 and image.shape[0] > 2000  # the whole page, all panels
    assert image.std() > 10  # not blank
    assert (image < 200).mean() > 0.01  # ink: lines, text and markers


def test_the_report_inlines_bokehjs_once_and_nothing_else(demo_run: RunResult):
    html = demo_run.report.read_text()
    assert html.count("/* BEGIN bokeh.min.js */") == 1
    assert "<script src=" not in html and "<link" not in html
    data = json.loads(
        html.split('<script type="application/json"', 1)[1]
        .split(">", 1)[1]
        .split("</script>", 1)[0]
    )
    assert data  # the plots' data is embedded
