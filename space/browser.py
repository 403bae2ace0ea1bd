"""Driving the Space in a real headless browser: Debian's Chromium through Playwright.

Used by the browser test (tests/app/test_browser.py) and by ``python -m space.browser URL OUT.png``,
which makes the README screenshot. Playwright's own browser download needs a CDN CI cannot reach,
so the system Chromium (``.ci/setup-browser.sh``) is used.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
LANES = ("base", "tuned")


@contextlib.contextmanager
def open_page(url: str, width: int = 1400, height: int = 1000) -> Iterator:
    """A loaded page of the Space (the run button is there); the browser closes on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_selector("#run-button", timeout=60_000)
            yield page
        finally:
            browser.close()


def load_example(page, label: str = "test #1") -> None:
    """Open the paste tab and click one of its examples (it fills the events table)."""
    page.get_by_role("tab", name="Type or paste").click()
    page.get_by_text(label, exact=True).click()
    page.wait_for_function(
        "document.querySelector('#input-status')?.innerText.includes('Loaded the pasted problem')", timeout=30_000
    )


def paste(page, text: str, expect: str = "Loaded the pasted problem") -> None:
    """Paste ``text`` into the paste box as a user with their own day would, and wait for the status to say ``expect``."""
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("tab", name="Type or paste").click()
    page.fill("#paste-box textarea", text)
    page.click("#paste-button")
    page.wait_for_function(f"document.querySelector('#input-status')?.innerText.includes({expect!r})", timeout=30_000)


def run_both(page, timeout_ms: int = 300_000) -> None:
    """Press the run button and wait until every configured lane has its final card."""
    page.click("#run-button")
    for lane in LANES:
        page.wait_for_function(
            f"""() => {{
                const card = document.querySelector('#{lane}-card');
                if (!card) return false;
                const text = card.innerText;
                return text.includes('generated in') || text.includes('could not') || text.includes('not in this checkout');
            }}""",
            timeout=timeout_ms,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the Space after running an example.")
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--example", default="test #1")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    with open_page(args.url, width=args.width) as page:
        load_example(page, args.example)
        run_both(page)
        page.get_by_role("tab", name="Test problems").click()
        page.wait_for_timeout(1000)
        page.screenshot(path=args.out, full_page=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
