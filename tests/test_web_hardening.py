"""Issue 14 through the real waitress server on loopback (SQLite and PostgreSQL):
headers on every page and API answer, foreign Host names refused, JSON errors
under /api/, the history page's own rotatable link (and no API token in a URL),
revoked tokens and tokens of inactive people refused, 429 after a burst of
wrong tokens (on a clock the test drives), and the masker's secrets."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import apprise
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config.loader import Settings
from heupreminder.db.models import PainReport, Person
from heupreminder.links.api_tokens import create_token
from heupreminder.links.history import history_token, rotate_history_link
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.masking import mask_custom_params, secrets_in_url
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.context import WebContext
from heupreminder.web.server import WebServer
from tests.helpers import BRIDGE, load, migrated, person, person_config
from tests.receivers import free_port

PUBLIC_HOST = "heup.example.org"
BERT = person("bert", "Bert", ["log"])


class DrivenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    settings: Settings
    sessions: sessionmaker[Session]
    port: int
    clock: DrivenClock
    token: str  # anna's API token

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None,
                host: str | None = None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=True)
            connection.putheader("Host", host or f"127.0.0.1:{self.port}")
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body or b"")))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, \
                response.read()
        finally:
            connection.close()

    def api(self, method: str, path: str, payload: object = None, token: str | None = None,
            host: str | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None if payload is None else json.dumps(payload).encode()
        return self.request(method, f"/api/v1{path}", body, headers, host)

    def reports(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(PainReport)) or 0


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    port = free_port()
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"log": "console://"},
        routines=BRIDGE,
        listen=f"127.0.0.1:{port}", public_url=f"https://{PUBLIC_HOST}", extra=BERT))
    sessions = migrated(settings, datetime.now(UTC) - timedelta(days=1))
    with sessions.begin() as session:
        token = create_token(session, "anna")
    clock = DrivenClock()
    context = WebContext(sessions, lambda: settings,
                         auth_failures=FailureLimiter(burst=10, window=60, clock=clock))
    server = WebServer(f"127.0.0.1:{port}")
    server.start(create_app(context))
    try:
        yield Site(settings, sessions, port, clock, token)
    finally:
        server.stop()
        sessions.kw["bind"].dispose()


def assert_hardened(headers: dict[str, str], what: str) -> None:
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, what
    assert "default-src 'none'" in policy, what
    assert "script-src" not in policy and "unsafe-inline" not in policy, what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("cache-control") == "no-store", what


def test_every_page_and_api_answer_carries_the_headers(site: Site) -> None:
    checkin = LinkSigner(link_secret(site.sessions), timedelta(days=3)).token(
        LinkTarget("anna", None))
    history = history_token(site.settings, site.sessions, "anna")
    answers = {
        "check-in page": site.request("GET", f"/c/{checkin}"),
        "history page": site.request("GET", f"/h/{history}"),
        "chart": site.request("GET", f"/h/{history}/chart.png"),
        "bad link": site.request("GET", "/c/nonsense"),
        "healthz": site.request("GET", "/healthz"),
        "metrics": site.request("GET", "/metrics"),
        "api status": site.api("GET", "/status", token=site.token),
        "api 401": site.api("GET", "/status"),
        "api 400": site.api("POST", "/pain", {"level": "5"}, token=site.token),
        "page 404": site.request("GET", "/nowhere"),
    }
    for what, (status, headers, _) in answers.items():
        assert status < 500, what
        assert_hardened(headers, what)
    assert answers["check-in page"][0] == 200 and answers["history page"][0] == 200
    # The inline styles the pages really send are the ones the policy allows by hash.
    policy = answers["history page"][1]["content-security-policy"]
    html = answers["history page"][2].decode() + answers["check-in page"][2].decode()
    blocks = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def test_errors_under_api_are_json(site: Site) -> None:
    for method, path, payload, status in [
            ("GET", "/nowhere", None, 404), ("POST", "/status", {}, 405),
            ("GET", "/pain", None, 405), ("DELETE", "/done", None, 405)]:
        code, headers, body = site.api(method, path, payload, token=site.token)
        assert code == status, (method, path)
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]
    # Over 64 KiB: 413 in JSON, nothing written; the note is not echoed back.
    big = json.dumps({"level": 3, "note": "x" * 70_000}).encode()
    code, headers, body = site.request("POST", "/api/v1/pain", big, {
        "Content-Type": "application/json", "Authorization": f"Bearer {site.token}"})
    assert code == 413 and headers["content-type"] == "application/json"
    assert len(body) < 300 and site.reports() == 0
    # A megabyte-long routine name (under waitress' backstop) gets a short 400.
    code, _, body = site.api("POST", "/done", {"routine": "r" * 60_000}, token=site.token)
    assert code == 400 and len(body) < 300, body[:300]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io",
                                  "heup.example.org.evil.example"])
def test_a_foreign_host_is_refused(site: Site, host: str) -> None:
    for path in ("/healthz", "/metrics", "/api/v1/status"):
        code, headers, _ = site.request("GET", path, host=host,
                                        headers={"Authorization": f"Bearer {site.token}"})
        assert code in (400, 421), (host, path, code)
        assert_hardened(headers, path)


@pytest.mark.parametrize("host", [PUBLIC_HOST, f"{PUBLIC_HOST}:443", "localhost", "[::1]:1"])
def test_our_host_names_are_answered(site: Site, host: str) -> None:
    assert site.request("GET", "/healthz", host=host)[0] == 200


def test_history_link_works_rotates_and_an_old_one_is_refused(site: Site) -> None:
    first = history_token(site.settings, site.sessions, "anna")
    assert first and site.request("GET", f"/h/{first}")[0] == 200
    assert history_token(site.settings, site.sessions, "anna") == first  # stable bookmark
    # Neither the API token nor a (write-capable) check-in link opens the history page.
    assert site.request("GET", f"/h/{site.token}")[0] == 400
    checkin = LinkSigner(link_secret(site.sessions), timedelta(days=3)).token(
        LinkTarget("anna", None))
    assert site.request("GET", f"/h/{checkin}")[0] == 400
    # ... and the check-in page links to the history token, not to itself.
    page = site.request("GET", f"/c/{checkin}")[2].decode()
    assert f'href="/h/{first}"' in page and f"/h/{checkin}" not in page

    with site.sessions.begin() as session:
        rotate_history_link(session, "anna", datetime.now(UTC))
    second = history_token(site.settings, site.sessions, "anna")
    assert second and second != first
    assert site.request("GET", f"/h/{first}")[0] == 400
    assert site.request("GET", f"/h/{first}/chart.png")[0] == 400
    assert site.request("GET", f"/h/{second}")[0] == 200
    # Bert's link opens Bert's page only, and a link signed for a made-up person nothing.
    bert = history_token(site.settings, site.sessions, "bert")
    assert b"Bert" in site.request("GET", f"/h/{bert}")[2]


def test_token_command_rotates_and_revokes(site: Site) -> None:
    runner = CliRunner()
    config = str(site.settings.path)

    def token(*args: str) -> str:
        result = runner.invoke(main, ["token", "anna", *args, "--config", config])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    link, feed = token("--history").splitlines()  # the history page and its calendar feed
    assert link.startswith(f"https://{PUBLIC_HOST}/h/")
    assert feed == link.replace("/h/", "/cal/") + ".ics"
    path = link.removeprefix(f"https://{PUBLIC_HOST}")
    assert site.request("GET", path)[0] == 200
    new_link = token("--history", "--rotate").splitlines()[0]
    assert new_link != link
    assert site.request("GET", path)[0] == 400
    assert site.request("GET", new_link.removeprefix(f"https://{PUBLIC_HOST}"))[0] == 200
    token("--history", "--revoke")
    assert site.request("GET", new_link.removeprefix(f"https://{PUBLIC_HOST}"))[0] == 400
    assert history_token(site.settings, site.sessions, "anna") is None
    refused = runner.invoke(main, ["token", "anna", "--history", "--config", config])
    assert refused.exit_code == 2 and "revoked" in refused.output

    assert site.api("GET", "/status", token=site.token)[0] == 200
    rotated = token("--rotate")
    assert rotated.startswith("heup_") and rotated not in link
    assert site.api("GET", "/status", token=site.token)[0] == 401  # replaced
    assert site.api("GET", "/status", token=rotated)[0] == 200
    assert "1 API token(s) revoked" in token("--revoke")
    assert site.api("GET", "/status", token=rotated)[0] == 401
    both = runner.invoke(main, ["token", "anna", "--rotate", "--revoke", "--config", config])
    assert both.exit_code == 2


def test_tokens_of_an_inactive_person_are_refused_everywhere(site: Site) -> None:
    history = history_token(site.settings, site.sessions, "anna")
    assert site.api("GET", "/status", token=site.token)[0] == 200
    with site.sessions.begin() as session:
        session.execute(update(Person).where(Person.id == "anna").values(active=False))
    assert site.api("GET", "/status", token=site.token)[0] == 401
    assert site.api("POST", "/pain", {"level": 3}, token=site.token)[0] == 401
    assert site.request("GET", f"/h/{history}")[0] == 400
    assert site.reports() == 0


def test_a_burst_of_wrong_tokens_gets_429_and_the_right_one_works_after_the_window(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "heupreminder.web.auth_failures")
    answers = [site.api("GET", "/status", token=f"heup_wrong{i}")[0:2] for i in range(20)]
    codes = [code for code, _ in answers]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 10
    assert all(int(headers["retry-after"]) > 0 for code, headers in answers if code == 429)
    # The right token waits too (it comes from the same address), until the window ends;
    # a history link is limited the same way.
    assert site.api("GET", "/status", token=site.token)[0] == 429
    history = history_token(site.settings, site.sessions, "anna")
    assert site.request("GET", f"/h/{history}")[0] == 429
    site.clock.now += 61
    assert site.api("GET", "/status", token=site.token)[0] == 200
    assert site.request("GET", f"/h/{history}")[0] == 200
    # Forged check-in links count as well, and their page is limited too.
    assert [site.request("GET", f"/c/forged{i}")[0] for i in range(12)] == [400] * 10 + [429] * 2
    assert site.request("GET", f"/h/{history}")[0] == 429
    site.clock.now += 61
    assert site.request("GET", f"/h/{history}")[0] == 200
    # Failures are logged with the client address, never with the token.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1" in logged and "heup_wrong" not in logged
    assert site.token not in logged


def test_a_wrong_history_link_names_the_person_but_not_the_token(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "heupreminder.web.auth_failures")
    old = history_token(site.settings, site.sessions, "anna")
    with site.sessions.begin() as session:
        rotate_history_link(session, "anna", datetime.now(UTC))
    assert site.request("GET", f"/h/{old}")[0] == 400
    [record] = [r for r in caplog.records if "history link" in r.getMessage()]
    assert "anna" in record.getMessage() and str(old) not in record.getMessage()


def test_the_api_refuses_what_it_cannot_store_and_writes_nothing(site: Site) -> None:
    def post(path: str, raw: bytes) -> tuple[int, str]:
        code, headers, body = site.request("POST", f"/api/v1{path}", raw, {
            "Content-Type": "application/json", "Authorization": f"Bearer {site.token}"})
        assert headers["content-type"] == "application/json"
        return code, json.loads(body).get("error", "")

    cases = {
        b'{"level": 3, "note": "x\\ud800y"}': "note:",
        b'{"level": 3, "routine": "\\ud800"}': "routine:",
        b'{"routine": "\\udfff"}': "routine:",
        b'{"level": 3, "\\ud800": 1}': "key",
        b"[" * 100_000: "413",  # over 64 KiB
        b"[" * 60_000 + b"]" * 60_000: "413",
        b'{"level": ' + b"[" * 1000 + b"]" * 1000 + b"}": "nested more than",
        b'{"level": NaN}': "NaN",
        b'{"level": "1_0"}': "level:",
        b'{"level": "\xd9\xa1\xd9\xa0"}': "level:",
        b'{"level": 5.0}': "level:",
        b'{"level": 3, "person_id": "bert"}': "'person_id': unknown key",
        b'{"level": 3, "at": "1970-01-01T00:00:00+00:00"}': "report_window",
        b'{"level": 3, "at": "0001-01-01T00:00:00+00:00"}': "14 days",
        b'{"level": 3, "where": "' + b"w" * 5000 + b'"}': "where:",
        b"\xff\xfe{}": "UTF-8",
    }
    for raw, expected in cases.items():
        for path in ("/pain", "/done", "/skip") if b"routine" in raw else ("/pain",):
            code, error = post(path, raw)
            assert code in (400, 413), (raw[:60], code, error)
            if expected == "413":
                assert code == 413
            else:
                assert expected in error, (raw[:60], error)
            assert len(error) < 300
    assert site.reports() == 0
    assert post("/pain", b'{"level": 3, "note": "fine \\ud83e\\uddb5"}')[0] == 201


def test_a_report_dated_before_the_day_a_person_was_added_is_refused(site: Site) -> None:
    """Anna was added (synced) yesterday: that day counts whole, the day before it does
    not; the API and the CLI refuse it, naming the day, and write nothing."""
    with site.sessions() as session:
        added = session.get(Person, "anna").added_at  # type: ignore[union-attr]
    assert added is not None
    local = added.astimezone(ZoneInfo("Europe/Amsterdam"))
    first_day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    before = (first_day - timedelta(minutes=1)).isoformat()

    code, _, body = site.api("POST", "/pain", {"level": 4, "at": before}, site.token)
    assert code == 400
    assert json.loads(body)["error"] == (
        f"at: {before} is before the day anna was added ({first_day:%Y-%m-%d}); "
        "leave the time out to log it as now")
    result = CliRunner().invoke(main, ["pain", "4", "--config", str(site.settings.path),
                                       "-p", "anna", "--at", before])
    assert result.exit_code == 2 and "before the day anna was added" in result.output
    assert "Traceback" not in result.output
    assert site.reports() == 0

    code, _, body = site.api("POST", "/pain", {"level": 4, "at": first_day.isoformat()},
                             site.token)
    assert code == 201, body
    assert site.reports() == 1


def test_option_words_of_a_url_are_not_secrets() -> None:
    url = "mailto://user:Fake-Mail-Pw-1234@example.com?mode=insecure&to=a@example.com"
    plugin = apprise.Apprise.instantiate(url)
    found = secrets_in_url(url, mask_custom_params(plugin.url(privacy=True)))
    assert "Fake-Mail-Pw-1234" in found
    assert not {"mode", "insecure", "user", "example.com"} & found
    hook = "json://127.0.0.1:9/notify?+X-Api-Key=Fake-Key-5678&-token=Fake-Token-90"
    plugin = apprise.Apprise.instantiate(hook)
    found = secrets_in_url(hook, mask_custom_params(plugin.url(privacy=True)))
    assert {"Fake-Key-5678", "Fake-Token-90"} <= found and "notify" not in found


@pytest.mark.parametrize(("content", "expected"), [
    ("[" * 100_000 + "]" * 100_000, "nested more than"),
    ('{"format": "heupreminder-export", "person": {"name": "A\\ud800"}}', "lone surrogate"),
    ('{"format": NaN}', "NaN"),
])
def test_import_refuses_what_it_cannot_store(site: Site, tmp_path: Path, content: str,
                                             expected: str) -> None:
    file = tmp_path / "hostile.json"
    file.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(file), "--config", str(site.settings.path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert site.reports() == 0
