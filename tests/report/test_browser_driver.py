"""The browser driver: a missing browser is an error that says how to install one; a page's
JavaScript errors and console errors are reported."""

from __future__ import annotations

import pytest

from mmcore.testing.browser import BrowserError, find_chromium, load_page


def test_a_missing_browser_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MMCORE_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(BrowserError, match=r"apt-get install -y chromium"):
        find_chromium()
    monkeypatch.delenv("MMCORE_CHROMIUM")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrowserError, match=r"no chromium on the PATH.*apt-get install -y chromium"):
        find_chromium()


async def test_errors_of_the_page_are_collected():
    page = await load_page(
        "data:text/html,<p>x</p><script>console.error('bad');"
        "setTimeout(() => { throw new Error('boom') }, 0)</script>",
        ready="document.readyState === 'complete'",
        probe="document.querySelector('p').textContent",
        timeout_s=60,
    )
    assert page.probe == "x"
    assert page.console_errors == ["console.error: bad"]
    assert len(page.exceptions) == 1 and "boom" in page.exceptions[0]
    assert page.screenshot.startswith(b"\x89PNG")
