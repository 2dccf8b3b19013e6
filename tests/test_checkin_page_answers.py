"""The check-in page answers once: the pain form posted twice (a double tap,
the browser's resend) is one report, Done then Skip for one reminder is one
answer (the latest), and a supplement's page does not ask whether the pain
came with it (only exercises can pause). Through Flask's test client on a
real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from freezegun import freeze_time
from sqlalchemy import select

from heupreminder.db.models import CheckIn, Occurrence, PainReport, Routine
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.web.app import create_app
from heupreminder.web.context import WebContext
from tests.helpers import BRIDGE, load, migrated, person_config, routine
from tests.test_links import MORNING, redirect_query, text_of

NOW = MORNING + timedelta(minutes=5)
ROUTINES = f"{BRIDGE}\n{routine('magnesium', at='07:30')}"


def site(tmp_path: Path, database_url: str):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": "json://127.0.0.1:9/notify"},
        routines=ROUTINES, public_url="https://heup.example.org"))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    Dispatcher(sessions, lambda: settings, "test-node").schedule_due(MORNING)
    with sessions() as session:
        occurrence = {key: occurrence_id for key, occurrence_id in session.execute(
            select(Routine.key, Occurrence.id).join(Routine, Routine.id == Occurrence.routine_id))}
    client = create_app(WebContext(sessions=sessions, settings=lambda: settings)).test_client()
    signer = LinkSigner(link_secret(sessions), settings.config.service.link_lifetime)
    with freeze_time(NOW):  # signed when the reminder went out
        tokens = {key: signer.token(LinkTarget("anna", occurrence_id))
                  for key, occurrence_id in occurrence.items()}
    return sessions, client, tokens


def submission_of(page: bytes) -> str:
    match = re.search(r'name="submission" value="([^"]+)"', text_of(page))
    assert match, "the pain form carries a one-time value"
    return match.group(1)


def test_a_pain_form_posted_twice_records_one_report(tmp_path, database_url) -> None:
    sessions, client, tokens = site(tmp_path, database_url)
    with freeze_time(NOW):
        page = client.get(f"/c/{tokens['bridge']}")
        assert page.status_code == 200
        form = {"action": "pain", "level": "5", "where": "outer", "with_routine": "on",
                "submission": submission_of(page.data)}
        for _ in range(2):
            assert redirect_query(client.post(f"/c/{tokens['bridge']}", data=form)) == {
                "saved": "pain"}
        # A fresh page is a fresh form: a new value, a second report.
        again = client.get(f"/c/{tokens['bridge']}")
        assert submission_of(again.data) != form["submission"]
        client.post(f"/c/{tokens['bridge']}", data=form | {
            "submission": submission_of(again.data), "level": "3"})
    with sessions() as session:
        levels = session.scalars(select(PainReport.level).order_by(PainReport.id)).all()
    assert levels == [5, 3]


def test_done_then_skip_is_one_answer_the_latest(tmp_path, database_url) -> None:
    sessions, client, tokens = site(tmp_path, database_url)
    with freeze_time(NOW):
        for action in ("done", "done", "skipped"):
            assert redirect_query(client.post(f"/c/{tokens['bridge']}",
                                              data={"action": action})) == {"saved": action}
    with sessions() as session:
        assert session.scalars(select(CheckIn.outcome)).all() == ["skipped"]


def test_only_an_exercise_page_asks_whether_the_pain_came_with_it(
        tmp_path, database_url) -> None:
    sessions, client, tokens = site(tmp_path, database_url)
    with freeze_time(NOW):
        bridge = client.get(f"/c/{tokens['bridge']}")
        magnesium = client.get(f"/c/{tokens['magnesium']}")
        assert 'name="with_routine"' in text_of(bridge.data)
        assert 'name="with_routine"' not in text_of(magnesium.data)
        # Even a crafted post from the supplement's page links no pain to it.
        client.post(f"/c/{tokens['magnesium']}", data={
            "action": "pain", "level": "6", "with_routine": "on",
            "submission": submission_of(magnesium.data)})
    with sessions() as session:
        assert session.scalars(select(PainReport.routine_id)).all() == [None]
