"""End to end in a real browser: the real `heupreminder run` process sends a
reminder to a real HTTP receiver, and headless Chromium (Debian's package,
driven by Playwright) opens its one-tap link on a phone-sized screen, taps
Done, logs pain, and the database has exactly those rows.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` Python
package; never `playwright install` (no browser downloads). Skipped without
Chromium on a developer machine; in CI (CI set) a missing browser fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from heupreminder.catalog import get_entry
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update",
                 "--disable-sync"]
ZONE = ZoneInfo("Europe/Amsterdam")


def require_browser() -> None:
    """Skip only on a developer machine without Chromium; in CI anything missing fails."""
    has_chromium = CHROMIUM.exists()
    has_playwright = importlib.util.find_spec("playwright") is not None
    if not has_chromium and not os.environ.get("CI"):
        pytest.skip("install Debian's chromium")
    if not has_chromium:
        pytest.fail(f"CI is set but {CHROMIUM} is missing: apt-get install -y chromium",
                    pytrace=False)
    if not has_playwright:
        pytest.fail("the playwright package is missing: pip install -e '.[test]' "
                    "(never `playwright install`; the test uses /usr/bin/chromium)",
                    pytrace=False)


def wait_until(condition: Callable[[], object], what: str, log: Path,
               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            output = log.read_text(errors="replace") if log.exists() else ""
            raise AssertionError(f"timed out waiting for {what}; service log:\n{output[-4000:]}")
        time.sleep(0.1)


@contextmanager
def service(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "--log-level", "debug", "run",
             "--config", str(config)], stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def rows(database_url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_reminder_link_works_in_a_phone_browser(tmp_path: Path, receiver: HttpInbox) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp_path / 'heupreminder.db'}"
    due = (datetime.now(ZONE) + timedelta(seconds=3)).strftime("%H:%M:%S")
    config = tmp_path / "heupreminder.toml"
    config.write_text(person_config(
        database_url=database_url, channels={"phone": receiver.url},
        listen=f"127.0.0.1:{port}", public_url=base,
        routines=routine("bridge", at=due)), encoding="utf-8")
    bridge = get_entry("bridge")
    assert bridge is not None
    log = tmp_path / "service.log"
    shot = tmp_path / "checkin.png"

    with service(config, log) as process:
        wait_until(lambda: receiver.posts, "the reminder at the receiver", log)
        [push] = receiver.posts
        assert push["title"] == bridge.title("nl")
        found = re.findall(rf"{re.escape(base)}/c/\S+", push["message"])
        assert len(found) == 1, push["message"]
        link = found[0]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(  # a phone-sized screen
                    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                    device_scale_factor=2, locale="nl-NL")
                page = context.new_page()
                page.set_default_timeout(15_000)

                response = page.goto(link)
                assert response is not None and response.status == 200
                expect(page.locator("h2").first).to_contain_text(bridge.title("nl"))
                expect(page.locator("h1")).to_have_text("Hoi Anna")
                # Readable on a phone: nothing wider than the screen.
                assert page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth")
                # Opening the link (as a previewer would) recorded nothing.
                assert rows(database_url, "SELECT count(*) FROM checkins") == [(0,)]

                page.locator("#done").click()
                expect(page.locator("p#saved")).to_be_visible()
                expect(page.locator("p#saved")).to_have_text("Opgeslagen: gedaan. Goed bezig!")
                assert "saved=done" in page.url and page.locator("p#error").count() == 0

                page.locator('label:has(input[name="level"][value="3"])').click()
                expect(page.locator('input[name="level"][value="3"]')).to_be_checked()
                page.locator("#where").select_option("outer")
                page.locator("#save-pain").click()
                expect(page.locator("p#saved")).to_contain_text("Opgeslagen. Dank je")
                assert "saved=pain" in page.url and page.locator("p#error").count() == 0

                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    assert shot.exists() and shot.stat().st_size > 1000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rows(database_url, "SELECT c.person_id, r.key, c.outcome, c.source, "
                "c.occurrence_id = o.id FROM checkins c JOIN routines r ON r.id = c.routine_id "
                "JOIN occurrences o ON o.routine_id = r.id") == [("anna", "bridge", "done",
                                                                  "link", 1)]
    assert rows(database_url, "SELECT person_id, level, location, source FROM pain_reports") == [
        ("anna", 3, "outer", "link")]
    assert len(receiver.posts) == 1  # one reminder; level 3 pauses nothing, so no notices
    print(f"browser end-to-end took {time.monotonic() - started:.1f} s")
