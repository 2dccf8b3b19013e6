"""Logging pain and check-ins through the CLI and the JSON API, on SQLite and
PostgreSQL: what gets written, what is refused, and the policy's decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config import Settings
from heupreminder.db.models import CheckIn, DecisionRow, Notice, PainReport, PauseRow
from heupreminder.links.api_tokens import create_token
from heupreminder.web.app import create_app
from heupreminder.web.context import WebContext
from tests.helpers import BRIDGE_AND_MAGNESIUM, load, migrated, person, person_config, routine


def two_people(routines: str) -> str:
    return routines + "\n" + person("bert", "Bert", ["log"], locale="en",
                                     routines=routine("walk", at="09:00"))


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> tuple[Path, Settings, sessionmaker[Session]]:
    text = person_config(database_url=database_url, channels={"log": "console://"},
                         routines=two_people(BRIDGE_AND_MAGNESIUM))
    settings = load(tmp_path, text)
    now = datetime.now(UTC)
    sessions = migrated(settings, now, added_at=now - timedelta(days=7))
    return settings.path, settings, sessions


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (PainReport, CheckIn, PauseRow, DecisionRow, Notice)}


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "message"), [
    (["pain", "11", "-p", "anna"], "level: 11 is not between 0 and 10"),
    (["pain", "-p", "anna", "--", "-1"], "level: -1 is not between 0 and 10"),
    (["pain", "abc", "-p", "anna"], "level: 'abc' is not a number from 0 to 10"),
    (["pain", "5", "-p", "anna", "--routine", "cartwheel"], "routine: anna has no routine"),
    (["pain", "5", "-p", "nobody"], "person: no person 'nobody'"),
    (["done", "cartwheel", "-p", "anna"], "routine: anna has no routine 'cartwheel'"),
    (["skip", "bridge", "-p", "nobody"], "person: no person 'nobody'"),
    (["resume", "--all", "-p", "anna"], "nothing of 'anna' is paused"),
    (["pain", "5"], "say which person with --person"),
])
def test_bad_cli_input_is_refused_and_writes_nothing(setup, args, message) -> None:
    config, _, sessions = setup
    before = counts(sessions)
    code, output = cli(config, *args)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output
    assert counts(sessions) == before


def test_pain_twice_a_day_apart_pauses_exercises_but_not_supplements(setup) -> None:
    config, _, sessions = setup
    yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    assert cli(config, "pain", "5", "-p", "anna", "--where", "outer", "--at", yesterday)[0] == 0
    code, output = cli(config, "pain", "6", "-p", "anna", "--note", "after the stairs")
    assert code == 0, output
    assert "pause:" in output

    code, output = cli(config, "status", "--json")
    anna = next(p for p in json.loads(output) if p["person"] == "anna")
    [pause] = anna["pauses"]
    assert pause["scope"] == "all exercises" and "reports" in pause["reason"]
    routines = {r["routine"]: r for r in anna["routines"]}
    assert routines["bridge"]["paused"] and routines["magnesium"]["paused"] is None
    bert = next(p for p in json.loads(output) if p["person"] == "bert")
    assert bert["pauses"] == []  # one person's pain never pauses another

    with sessions() as session:
        [notice] = session.scalars(select(Notice)).all()
        assert notice.kind == "rest" and notice.person_id == "anna"
        [decision] = session.scalars(select(DecisionRow)).all()
        assert decision.action == "pause" and len(decision.report_ids) == 2

    code, output = cli(config, "history", "-p", "anna")
    assert "pain" in output and "6/10" in output and "after the stairs" in output
    assert "pause" in output
    code, output = cli(config, "resume", "--all", "-p", "anna")
    assert code == 0 and "resumed" in output
    code, output = cli(config, "status", "--json")
    assert next(p for p in json.loads(output) if p["person"] == "anna")["pauses"] == []


def test_manual_pause_and_done(setup) -> None:
    config, _, sessions = setup
    code, output = cli(config, "pause", "bridge", "-p", "anna", "--until", "2d")
    assert code == 0, output
    code, output = cli(config, "status")
    assert "PAUSED bridge" in output
    assert cli(config, "done", "magnesium", "-p", "anna")[0] == 0
    assert cli(config, "skip", "walk", "-p", "bert")[0] == 0
    with sessions() as session:
        rows = {(c.person_id, c.outcome) for c in session.scalars(select(CheckIn))}
    assert rows == {("anna", "done"), ("bert", "skipped")}


# -- the JSON API --------------------------------------------------------------


@pytest.fixture
def api(setup):
    _, settings, sessions = setup
    with sessions.begin() as session:
        tokens = {p: create_token(session, p) for p in ("anna", "bert")}
    app = create_app(WebContext(sessions, lambda: settings))
    return app.test_client(), tokens, sessions


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_logs_pain_for_the_tokens_person_only(api) -> None:
    client, tokens, sessions = api
    response = client.post("/api/v1/pain", json={"level": 3, "where": "groin"},
                           headers=auth(tokens["anna"]))
    assert response.status_code == 201, response.json
    refused = client.post("/api/v1/pain", json={"level": 3, "person": "bert"},
                          headers=auth(tokens["anna"]))
    assert refused.status_code == 403
    with sessions() as session:
        assert [r.person_id for r in session.scalars(select(PainReport))] == ["anna"]
    status = client.get("/api/v1/status", headers=auth(tokens["bert"])).json
    assert status["person"] == "bert"
    assert [r["routine"] for r in status["routines"]] == ["walk"]
    assert client.post("/api/v1/done", json={"routine": "bridge"},
                       headers=auth(tokens["bert"])).status_code == 400  # anna's routine


@pytest.mark.parametrize(("body", "message"), [
    ({"level": 11}, "level: 11 is not between 0 and 10"),
    ({"level": -1}, "level: -1 is not between 0 and 10"),
    ({"level": "abc"}, "level: 'abc' is not a number"),
    ({"level": True}, "level: True is not a number"),
    ({}, "level: is required"),
    ({"level": 4, "routine": "cartwheel"}, "routine: anna has no routine 'cartwheel'"),
    ({"level": 4, "where": "elbow"}, "where: 'elbow' is not one of"),
    ({"level": 4, "at": "yesterday"}, "at: 'yesterday' is not an ISO 8601 time"),
])
def test_api_bad_input_is_400_and_writes_nothing(api, body, message) -> None:
    client, tokens, sessions = api
    before = counts(sessions)
    response = client.post("/api/v1/pain", json=body, headers=auth(tokens["anna"]))
    assert response.status_code == 400
    assert message in response.json["error"]
    assert counts(sessions) == before


def test_api_needs_a_valid_token(api) -> None:
    client, _, sessions = api
    assert client.post("/api/v1/pain", json={"level": 3}).status_code == 401
    assert client.post("/api/v1/pain", json={"level": 3},
                       headers=auth("heup_forged")).status_code == 401
    assert client.get("/api/v1/status").status_code == 401
    assert counts(sessions)["pain_reports"] == 0
