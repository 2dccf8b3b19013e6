"""The history page in a real headless Chromium on a phone-sized screen: from the
check-in page's link to the person's progress, with the chart, the week's
numbers and the recent events, readable without sideways scrolling. The test
keeps a screenshot in tests/artifacts/ for a person to look at.

Same browser rules as test_browser.py: Debian's /usr/bin/chromium, never a
downloaded browser; skipped without it on a developer machine, failing in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from PIL import Image

from heupreminder.links.api_tokens import create_token
from heupreminder.links.history import history_token
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.web.app import create_app
from heupreminder.web.context import WebContext
from heupreminder.web.server import WebServer
from tests.anna_history import MOMENT, anna
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.receivers import free_port

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@contextmanager
def web(app_context: WebContext) -> Iterator[str]:
    listen = f"127.0.0.1:{free_port()}"
    server = WebServer(listen)
    server.start(create_app(app_context))
    try:
        yield f"http://{listen}"
    finally:
        server.stop()


def test_history_page_on_a_phone(tmp_path: Path, database_url: str) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    settings, sessions = anna(tmp_path, database_url)
    now = MOMENT + timedelta(minutes=5)  # the page shows the week of the fixed history
    token = history_token(settings, sessions, "anna")
    assert token is not None
    checkin = LinkSigner(link_secret(sessions), timedelta(days=3)).token(
        LinkTarget("anna", None))  # the person's general check-in link
    with sessions.begin() as session:
        api_token = create_token(session, "anna")
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    shot = ARTIFACTS / f"history-page-{backend}.png"
    shot.unlink(missing_ok=True)

    with web(WebContext(sessions, lambda: settings, clock=lambda: now)) as base, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                device_scale_factor=2, locale="nl-NL")
            page = context.new_page()
            page.set_default_timeout(15_000)

            # From the check-in page (the person's general link) to the history, whose
            # link is its own read-only token.
            assert (response := page.goto(f"{base}/c/{checkin}")) and response.status == 200
            page.locator("#history-link").click()
            page.wait_for_url(f"{base}/h/{token}")
            expect(page.locator("h1")).to_have_text("Je voortgang, Anna")
            expect(page.locator("#short")).to_have_text(
                "Deze week deed je 3 van de 5 oefensessies. 2 rustdagen tellen niet als "
                "gemist. Pijn: gemiddeld 2,8, lager dan vorige week (5,5). "
                "Je oefeningen staan nu stil.")
            expect(page.locator("#routines li").first).to_contain_text("3 van 5 gedaan")
            expect(page.locator("#pauses")).to_contain_text("je heup bleef pijn doen")
            events = page.locator("#events li")
            expect(events.first).to_contain_text("29-11 10:00")  # newest first
            expect(page.locator("#events")).to_contain_text("na het fietsen")
            expect(page.locator("#events")).not_to_contain_text("9/10")  # after "now"

            chart = page.locator("img#chart")
            chart.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => document.querySelector('#chart').complete"
                " && document.querySelector('#chart').naturalWidth > 0")
            assert chart.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1280, 960]
            box = chart.bounding_box()
            assert box is not None and 300 <= box["width"] <= 390  # fits the phone's width
            # Readable on a phone: nothing wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(shot), full_page=True)

            # The page's CSP allows its own styles: the layout above proves they applied.
            # The write-capable API token never opens it (it must not live in a URL) ...
            response = page.goto(f"{base}/h/{api_token}")
            assert response is not None and response.status == 400
            # ... and a damaged link shows the check-in page's problem page.
            response = page.goto(f"{base}/h/{token[:-3]}xyz")
            assert response is not None and response.status == 400
            expect(page.locator("#problem")).to_be_visible()
            response = page.goto(f"{base}/h/{token[:-3]}xyz/chart.png")
            assert response is not None and response.status == 400
        finally:
            browser.close()

    assert shot.exists() and shot.stat().st_size > 10_000
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size[0] == 390 * 2
