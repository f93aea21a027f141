"""Pages of the dashboard's browser tests: a page in a context of its own, and a figure read
from the page by its `data-metric`."""

from __future__ import annotations

from collections.abc import Iterator

from playwright.sync_api import Browser, Page


def open_page(browser: Browser, width: int, height: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def shown(page: Page, metric: str) -> float:
    """The number an element marked `data-metric="<metric>"` shows ("1,234", "42%")."""
    text = page.locator(f'[data-metric="{metric}"]').inner_text()
    return float(text.replace(",", "").rstrip("%"))
