"""The one-tap check-in page behind a reminder's signed link, through Flask's
test client on a real database (SQLite and PostgreSQL).

GET only shows; POST writes; a link that is tampered with, expired, or signed
for someone else's reminder writes nothing and says so plainly.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from heupreminder.catalog import get_entry
from heupreminder.config import Settings
from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Notice,
    Occurrence,
    PainReport,
    PauseRow,
    Routine,
)
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.context import WebContext
from tests.helpers import BRIDGE, load, migrated, person, person_config

# A Wednesday; 07:30 in Amsterdam (CET, UTC+1) is 06:30 UTC.
MORNING = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)
BERT = person("bert", "Bert", ["push"], routines=BRIDGE)
WRITTEN = (CheckIn, PainReport, DecisionRow, Notice, PauseRow)


@dataclass
class Site:
    settings: Settings
    sessions: sessionmaker[Session]
    client: FlaskClient
    signer: LinkSigner
    occurrence: dict[str, int]  # person id -> that person's bridge occurrence
    wakes: list[int] = field(default_factory=list)

    def token(self, person_id: str, occurrence_id: int | None) -> str:
        return self.signer.token(LinkTarget(person_id, occurrence_id))

    def counts(self) -> dict[str, int]:
        with self.sessions() as session:
            return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                    or 0 for model in WRITTEN}


def make_site(tmp_path: Path, database_url: str, *, two_people: bool = False) -> Site:
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": "json://127.0.0.1:9/notify"},
        routines=BRIDGE, public_url="https://heup.example.org",
        extra=BERT if two_people else ""))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node", clock=lambda: MORNING)
    dispatcher.schedule_due(MORNING)  # one pending bridge occurrence per person
    with sessions() as session:
        rows = session.execute(select(Routine.person_id, Occurrence.id)
                               .join(Routine, Routine.id == Occurrence.routine_id)).all()
    occurrence = {person_id: occurrence_id for person_id, occurrence_id in rows}
    assert sorted(occurrence) == (["anna", "bert"] if two_people else ["anna"])
    wakes: list[int] = []
    # Many bad links in a row are the point here; the 429 after a burst is tested in
    # test_web_hardening.
    app = create_app(WebContext(sessions=sessions, settings=lambda: settings,
                                wake=lambda: wakes.append(1),
                                auth_failures=FailureLimiter(burst=1_000_000)))
    signer = LinkSigner(link_secret(sessions), settings.config.service.link_lifetime)
    return Site(settings, sessions, app.test_client(), signer, occurrence, wakes)


def text_of(body: bytes) -> str:
    return html.unescape(body.decode("utf-8"))


def by_id(body: bytes, element_id: str) -> str | None:
    """The text inside the element with this id, or None if there is none."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', text_of(body), re.S)
    return match.group(2).strip() if match else None


def redirect_query(response: TestResponse) -> dict[str, str]:
    """The ?saved= / ?error= of a 303 back to the page."""
    assert response.status_code == 303, response.data
    location = urlsplit(response.headers["Location"])
    assert location.path.startswith("/c/")
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def bridge_title() -> str:
    entry = get_entry("bridge")
    assert entry is not None
    return entry.title("nl")


# -- GET shows, never writes ---------------------------------------------------------


def test_get_shows_the_routine_and_writes_nothing(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    url = f"/c/{site.token('anna', site.occurrence['anna'])}"
    before = site.counts()

    response = site.client.get(url)
    assert response.status_code == 200
    page = text_of(response.data)
    assert bridge_title() in page and "Ochtendbrug" in page
    assert "Hoi Anna" in page
    for element in ('id="done"', 'id="skip"', 'id="pain-form"', 'id="where"', 'id="save-pain"',
                    'name="with_routine"'):
        assert element in page
    assert sorted(re.findall(r'name="level" value="(\d+)"', page), key=int) == \
        [str(n) for n in range(11)]
    assert response.headers["Cache-Control"] == "no-store"
    assert by_id(response.data, "saved") is None and by_id(response.data, "error") is None

    head = site.client.head(url)
    assert head.status_code == 200 and head.data == b""
    # A mail scanner or chat preview fetching the link again and again: still nothing.
    for _ in range(3):
        assert site.client.get(url).status_code == 200
    assert site.counts() == before == dict.fromkeys(before, 0)
    assert site.wakes == []


def test_general_link_without_occurrence_shows_only_the_pain_form(
        tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    response = site.client.get(f"/c/{site.token('anna', None)}")
    assert response.status_code == 200
    page = text_of(response.data)
    assert "Hoi Anna" in page and 'id="pain-form"' in page
    assert 'id="done"' not in page and bridge_title() not in page
    assert site.counts() == dict.fromkeys(site.counts(), 0)


# -- POST writes ----------------------------------------------------------------------


def test_post_done_records_a_checkin_for_the_occurrence(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    occurrence_id = site.occurrence["anna"]
    url = f"/c/{site.token('anna', occurrence_id)}"

    response = site.client.post(url, data={"action": "done"})
    assert redirect_query(response) == {"saved": "done"}
    with site.sessions() as session:
        [checkin] = session.scalars(select(CheckIn)).all()
        routine = session.get(Routine, checkin.routine_id)
        assert routine is not None
        assert (checkin.person_id, routine.key, checkin.outcome, checkin.occurrence_id,
                checkin.source) == ("anna", "bridge", "done", occurrence_id, "link")
    assert site.wakes == [1]

    shown = site.client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert by_id(shown.data, "saved") == "Opgeslagen: gedaan. Goed bezig!"
    assert site.counts()["checkins"] == 1  # showing the saved page wrote nothing more


def test_post_skip_records_skipped(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    response = site.client.post(f"/c/{site.token('anna', site.occurrence['anna'])}",
                                data={"action": "skipped"})
    assert redirect_query(response) == {"saved": "skipped"}
    with site.sessions() as session:
        assert session.scalars(select(CheckIn.outcome)).all() == ["skipped"]


def test_post_pain_records_a_report(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    url = f"/c/{site.token('anna', site.occurrence['anna'])}"

    response = site.client.post(url, data={"action": "pain", "level": "5", "where": "outer",
                                           "note": "na het fietsen"})
    assert redirect_query(response) == {"saved": "pain"}
    with site.sessions() as session:
        [report] = session.scalars(select(PainReport)).all()
        assert (report.person_id, report.level, report.location, report.routine_id,
                report.note, report.source) == ("anna", 5, "outer", None, "na het fietsen",
                                                "link")
    assert by_id(site.client.get(response.headers["Location"]).data, "saved")

    # "It came with this exercise": the report is tied to the link's routine.
    response = site.client.post(url, data={"action": "pain", "level": "3", "where": "groin",
                                           "with_routine": "1"})
    assert redirect_query(response) == {"saved": "pain"}
    with site.sessions() as session:
        report = session.scalars(select(PainReport).where(PainReport.level == 3)).one()
        routine = session.get(Routine, report.routine_id)
        assert routine is not None and (routine.person_id, routine.key) == ("anna", "bridge")
    assert site.counts()["checkins"] == 0


# -- links that cannot be used ---------------------------------------------------------


def tampered(token: str) -> str:
    """One character of the signature changed (its first: the last one may be padding bits)."""
    payload, _, signature = token.rpartition(".")
    first = "B" if signature[0] == "A" else "A"
    return f"{payload}.{first}{signature[1:]}"


def assert_problem_page(response: TestResponse, status: int, message: str) -> None:
    assert response.status_code == status
    page = text_of(response.data)
    assert by_id(response.data, "problem") == message
    for leak in ("Traceback", "Error", "itsdangerous", "BadSignature", "File \""):
        assert leak not in page
    assert 'id="done"' not in page and 'id="pain-form"' not in page


ATTEMPTS = ({"action": "done"}, {"action": "skipped"},
            {"action": "pain", "level": "5", "where": "outer"},
            {"action": "pain", "level": "5", "with_routine": "1"})


def test_tampered_link_is_refused_and_writes_nothing(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    good = site.token("anna", site.occurrence["anna"])
    bad = tampered(good)
    assert bad != good
    invalid = "This link is not valid (perhaps it was copied incompletely)."

    assert_problem_page(site.client.get(f"/c/{bad}"), 400, invalid)
    assert site.client.head(f"/c/{bad}").status_code == 400
    for data in ATTEMPTS:
        assert_problem_page(site.client.post(f"/c/{bad}", data=data), 400, invalid)
    for garbage in ("x", "not-a-token", good[:-5], good + "A", good.replace(".", "", 1)):
        assert site.client.get(f"/c/{garbage}").status_code == 400
        assert site.client.post(f"/c/{garbage}", data={"action": "done"}).status_code == 400
    dutch = site.client.get(f"/c/{bad}", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert_problem_page(dutch, 400, "Deze link klopt niet (misschien is hij onvolledig "
                                    "gekopieerd).")
    assert site.counts() == dict.fromkeys(site.counts(), 0)
    assert site.wakes == []


def test_expired_link_is_refused_and_writes_nothing(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    lifetime = site.settings.config.service.link_lifetime
    assert lifetime == timedelta(days=3)
    now = datetime.now(UTC)
    with freeze_time(now - lifetime - timedelta(minutes=1)):
        old = site.token("anna", site.occurrence["anna"])
    with freeze_time(now - lifetime + timedelta(minutes=5)):
        recent = site.token("anna", site.occurrence["anna"])
    expired = "This link has expired. Open your latest reminder for a fresh link."

    assert_problem_page(site.client.get(f"/c/{old}"), 410, expired)
    assert site.client.head(f"/c/{old}").status_code == 410
    for data in ATTEMPTS:
        assert_problem_page(site.client.post(f"/c/{old}", data=data), 410, expired)
    dutch = site.client.get(f"/c/{old}", headers={"Accept-Language": "nl"})
    assert_problem_page(dutch, 410, "Deze link is verlopen. Open de nieuwste herinnering "
                                    "voor een verse link.")
    assert site.counts() == dict.fromkeys(site.counts(), 0)

    # Just inside the lifetime, the link still works.
    assert site.client.get(f"/c/{recent}").status_code == 200


# -- one person's link never logs for another -------------------------------------------


def rows_of(site: Site) -> dict[str, list[str]]:
    with site.sessions() as session:
        return {"checkins": list(session.scalars(select(CheckIn.person_id))),
                "pain_reports": list(session.scalars(select(PainReport.person_id)))}


def test_a_link_logs_only_for_its_own_person(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url, two_people=True)
    annas = f"/c/{site.token('anna', site.occurrence['anna'])}"
    assert "Hoi Anna" in text_of(site.client.get(annas).data)

    assert redirect_query(site.client.post(annas, data={"action": "done"})) == {"saved": "done"}
    assert redirect_query(site.client.post(
        annas, data={"action": "pain", "level": "4", "with_routine": "1",
                     "person": "bert", "person_id": "bert"})) == {"saved": "pain"}
    assert rows_of(site) == {"checkins": ["anna"], "pain_reports": ["anna"]}
    with site.sessions() as session:
        [checkin] = session.scalars(select(CheckIn)).all()
        assert checkin.occurrence_id == site.occurrence["anna"]
        [report] = session.scalars(select(PainReport)).all()
        routine = session.get(Routine, report.routine_id)
        assert routine is not None and routine.person_id == "anna"


def test_a_link_signed_for_anna_with_berts_reminder_is_refused(
        tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url, two_people=True)
    # Validly signed, but the occurrence is Bert's while the person says Anna.
    crossed = f"/c/{site.token('anna', site.occurrence['bert'])}"
    invalid = "This link is not valid (perhaps it was copied incompletely)."

    assert_problem_page(site.client.get(crossed), 400, invalid)
    for data in ATTEMPTS:
        assert_problem_page(site.client.post(crossed, data=data), 400, invalid)
    # An occurrence that does not exist at all, and a person who does not.
    missing = f"/c/{site.token('anna', max(site.occurrence.values()) + 1000)}"
    nobody = f"/c/{site.token('carla', site.occurrence['anna'])}"
    for url in (missing, nobody):
        assert_problem_page(site.client.get(url), 400, invalid)
        for data in ATTEMPTS:
            assert_problem_page(site.client.post(url, data=data), 400, invalid)
    assert site.counts() == dict.fromkeys(site.counts(), 0)
    assert site.wakes == []


# -- bad input through the form ----------------------------------------------------------


@pytest.mark.parametrize("level", ["11", "-1", "abc", "", None, "5.5", "1e1"])
def test_bad_pain_level_is_refused_with_a_message(tmp_path: Path, database_url: str,
                                                  level: str | None) -> None:
    site = make_site(tmp_path, database_url)
    url = f"/c/{site.token('anna', site.occurrence['anna'])}"
    data = {"action": "pain", "where": "outer"}
    if level is not None:
        data["level"] = level

    response = site.client.post(url, data=data)
    query = redirect_query(response)
    assert "saved" not in query
    assert "level" in query["error"]
    shown = site.client.get(response.headers["Location"])
    assert shown.status_code == 200
    error = by_id(shown.data, "error")
    assert error is not None and "level" in error and by_id(shown.data, "saved") is None
    assert site.counts() == dict.fromkeys(site.counts(), 0)
    assert site.wakes == []


@pytest.mark.parametrize(("data", "field_name"), [
    ({"action": "pain", "level": "3", "where": "knee"}, "where"),
    ({"action": "pain", "level": "3", "note": "x" * 2001}, "note"),
    ({"action": "delete"}, "action"),
    ({}, "action"),
])
def test_other_bad_input_is_refused_with_a_message(tmp_path: Path, database_url: str,
                                                   data: dict[str, str], field_name: str) -> None:
    site = make_site(tmp_path, database_url)
    url = f"/c/{site.token('anna', site.occurrence['anna'])}"
    query = redirect_query(site.client.post(url, data=data))
    assert query["error"].startswith(f"{field_name}:")
    assert site.counts() == dict.fromkeys(site.counts(), 0)


def test_done_on_a_general_link_is_refused(tmp_path: Path, database_url: str) -> None:
    site = make_site(tmp_path, database_url)
    query = redirect_query(site.client.post(f"/c/{site.token('anna', None)}",
                                            data={"action": "done"}))
    assert "routine" in query["error"]
    assert site.counts() == dict.fromkeys(site.counts(), 0)
