"""Promise 9, the input half: property-based tests (hypothesis) feed the
config loader, the JSON API and the `pain` command random and hostile input.
The loader raises ConfigError or succeeds; the API answers 201, 400, 401 or
403, never 500; `pain` exits 0 or 2 without a traceback; and a refused
request or command writes nothing."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config.loader import ConfigError, load_settings
from heupreminder.db.models import CheckIn, DecisionRow, Notice, PainReport, PauseRow
from heupreminder.links.api_tokens import create_token
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.context import WebContext
from tests.helpers import BRIDGE, load, migrated, person_config

PROFILE = settings(deadline=None, database=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow, HealthCheck.data_too_large])

# -- values that tend to break things -----------------------------------------------

NASTY_STRINGS = [
    "", " ", "\x00", "\n", "07:30", "7h30", "25:00", "23:59:60", "00:00", "-1", "0", "10",
    "11", "1e3", "nan", "inf", "１０", "mon-fri", "sun 18:00", "off", "daily", "funday",
    "0 18 * * *", "*/0 * * * *", "99 99 * * *", "* * * * * * *", "Europe/Amsterdam",
    "Mars/Olympus_Mons", "../../etc/passwd", "UTC", "30m", "0s", "-5m", "1h30m",
    "99999999999d", "999999999999999999999h", "bridge", "hip-stretch", "left", "right", "nl",
    "en", "exercise", "tip", "json://127.0.0.1:9/x", "console://", "mailto://u:p@127.0.0.1",
    "nosuch://x", "${NOPE}", "${HOME}", "22:00-07:00", "07:00-07:00", "database", "config",
    "sqlite:///:memory:", "postgresql://", "not a url", "127.0.0.1:0", "http://x", "ftp://x",
    "x" * 300, "🦵", "\ud7ff", "a\tb", "'", '"', "\\", "2026-02-30T10:00", "0001-01-01T00:00+14:00",
    "9999-12-31T23:59:59-14:00", "2026-05-01T18:00", "2026-05-01T18:00+02:00",
]
KEYS = ["service", "database", "timezone", "locale", "catch_up", "send_workers", "listen",
        "public_url", "link_lifetime", "heartbeat_url", "admin_channel", "manage_people",
        "lease", "channels", "pain", "threshold", "persist_span", "severe_level",
        "severe_pause_age", "resume_level", "min_rest", "checkin_at", "people", "id", "name",
        "quiet_hours", "caregiver_channels", "summary", "routines", "exercise", "side", "title",
        "text", "kind", "at", "days", "cron", "enabled"]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
scalars = st.one_of(
    st.sampled_from(NASTY_STRINGS), text, st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 10, 11, 256, 257, 2**31, 2**63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.times(), st.dates(), st.datetimes(),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), text), inner, max_size=4)), max_leaves=8)


def field(*likely: object) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(likely), values) if likely else values


ROUTINE = st.fixed_dictionaries({}, optional={
    "id": field("bridge-2", "a", "A", "-x"), "exercise": field("bridge", "hip-stretch", "nope"),
    "side": field("left", "right"), "title": field("T"), "text": field("Text"),
    "kind": field("exercise", "tip", "supplement"), "at": field("07:30", "25:00"),
    "days": field("mon-fri", "sat,sun", "daily"), "cron": field("0 18 * * *"),
    "enabled": field(True, False), "extra": values})
PERSON = st.fixed_dictionaries({}, optional={
    "id": field("anna", "Anna"), "name": field("Anna"), "timezone": field("Europe/Amsterdam"),
    "locale": field("nl", "en"), "channels": field(["log"], ["nope"], []),
    "quiet_hours": field("22:00-07:00"), "caregiver_channels": field(["log"]),
    "summary": field("sun 18:00", "off"),
    "pain": st.dictionaries(st.sampled_from(KEYS[15:22]), values, max_size=3),
    "routines": st.lists(ROUTINE, max_size=3)})
CONFIG = st.fixed_dictionaries({}, optional={
    "service": st.dictionaries(st.sampled_from(KEYS[1:13]), field("30m", "UTC", 4), max_size=5),
    "channels": st.one_of(st.just({"log": "console://"}),
                          st.dictionaries(st.sampled_from(["log", "x"]), values, max_size=2)),
    "pain": st.dictionaries(st.sampled_from(KEYS[15:22]), field(4, "24h", "10:00"), max_size=3),
    "people": st.lists(PERSON, max_size=2), "unknown": values})


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(
            value) else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml(config: dict[str, Any]) -> str:
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in config.items()) + "\n"


@pytest.fixture
def no_env_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEUPREMINDER_DATABASE_URL", raising=False)


def check_loader(path: Path) -> None:
    try:
        load_settings(path)
    except ConfigError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)


@PROFILE
@example(config={"service": {"catch_up": "99999999999d"}})
@example(config={"service": {"lease": 2**62}})
@example(config={"pain": {"min_rest": "999999999999999999999h"}})
@example(config={"people": [{"id": "anna", "name": "A", "channels": ["log"],
                             "routines": [{"exercise": "bridge", "at": "07:30:00.5"}]}],
                 "channels": {"log": "console://"}})
@given(config=CONFIG)
def test_config_loader_never_fails_with_anything_but_config_error(
        tmp_path: Path, no_env_database: None, config: dict[str, Any]) -> None:
    path = tmp_path / "random.toml"
    path.write_text(toml(config), encoding="utf-8")
    check_loader(path)


@PROFILE
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode).filter(
    lambda b: True)))
def test_config_loader_on_random_bytes(tmp_path: Path, no_env_database: None, raw: bytes) -> None:
    path = tmp_path / "random.toml"
    path.write_bytes(raw)
    check_loader(path)


# -- the JSON API ---------------------------------------------------------------------

BODY_KEYS = ["level", "where", "note", "at", "routine", "person"]
BODY_VALUES = st.one_of(st.sampled_from(["bridge", "outer", "groin", "anna", 3, 0, 10, "5"]),
                        st.sampled_from(NASTY_STRINGS), values)
VALID_BODY = {"level": 3, "where": "outer", "note": "after the stairs",
              "at": "2026-01-01T10:00:00+01:00", "routine": "bridge", "person": "anna"}
BODIES = st.one_of(
    # A valid body with one field replaced by something hostile (and maybe one left out)...
    st.builds(lambda key, value, drop: {**{k: v for k, v in VALID_BODY.items() if k not in drop},
                                        key: value},
              st.sampled_from(["note", "routine", "at", "where", "person", "level"]),
              BODY_VALUES, st.sets(st.sampled_from(["note", "at", "where", "person"]),
                                   max_size=1)),
    st.dictionaries(st.sampled_from(BODY_KEYS), BODY_VALUES, max_size=6),
    values,  # ... or not an object at all
)
WRITES = (PainReport, CheckIn, DecisionRow, PauseRow, Notice)


def counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in WRITES)


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[tuple[Any, str, sessionmaker[Session]]]:
    settings_ = load(tmp_path, person_config(
        database_url=database_url, channels={"log": "console://"},
        routines=BRIDGE))
    sessions = migrated(settings_, datetime.now(UTC) - timedelta(days=1))
    with sessions.begin() as session:
        token = create_token(session, "anna")
    # Wrong tokens are part of the input here; the 429 after a burst has its own test.
    app = create_app(WebContext(sessions, lambda: settings_,
                                auth_failures=FailureLimiter(burst=1_000_000)))
    yield app.test_client(), token, sessions
    sessions.kw["bind"].dispose()


def hostile(path: str, **fields: Any) -> Any:
    """A valid body with `fields` replaced: one explicit example, always run."""
    return example(path=path, body={**VALID_BODY, **fields}, raw=None, auth="good",
                   content_type="application/json")


@settings(PROFILE, max_examples=300)
@hostile("/api/v1/pain", note=123)
@hostile("/api/v1/pain", note=["a", "list"])
@hostile("/api/v1/pain", note="a\x00b")
@hostile("/api/v1/pain", routine=5)
@hostile("/api/v1/pain", routine={"a": 1})
@hostile("/api/v1/pain", routine="bri\x00dge")
@hostile("/api/v1/pain", where=["outer"])
@hostile("/api/v1/pain", at="0001-01-01T00:00:00+14:00")
@hostile("/api/v1/pain", at="9999-12-31T23:59:59-14:00")
@hostile("/api/v1/pain", level=2**70)
@hostile("/api/v1/done", routine="bri\x00dge")
@hostile("/api/v1/skip", routine=["bridge"])
@given(path=st.sampled_from(["/api/v1/pain", "/api/v1/done", "/api/v1/skip"]),
       body=BODIES, raw=st.one_of(st.none(), st.none(), st.none(), st.binary(max_size=50)),
       auth=st.sampled_from(["good"] * 6 + ["none", "wrong", "basic", "bearer-only"]),
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_api_answers_201_400_401_403_and_writes_nothing_on_error(
        api: tuple[Any, str, sessionmaker[Session]], path: str, body: Any, raw: bytes | None,
        auth: str, content_type: str | None) -> None:
    client, token, sessions = api
    headers = {"good": {"Authorization": f"Bearer {token}"}, "none": {},
               "wrong": {"Authorization": "Bearer heup_wrong"},
               "basic": {"Authorization": "Basic YW5uYTpwdw=="},
               "bearer-only": {"Authorization": "Bearer "}}[auth]
    data = raw if raw is not None else json.dumps(body, default=str).encode()
    before = counts(sessions)
    response = client.post(path, data=data, headers=headers, content_type=content_type)
    assert response.status_code in (201, 400, 401, 403), (response.status_code,
                                                          response.get_data(as_text=True)[:500])
    assert (response.is_json and "error" in response.get_json()) or response.status_code == 201
    if response.status_code != 201:
        assert counts(sessions) == before


# -- the `pain` command ---------------------------------------------------------------

ARGS = st.lists(st.one_of(
    st.sampled_from(["--where", "--routine", "--note", "--at", "--person", "-p", "--config",
                     "--help", "5", "0", "10", "11", "-1", "outer", "bridge", "anna", "bert",
                     "2d", "12h", "-2d"]),
    st.sampled_from([s for s in NASTY_STRINGS if "\x00" not in s]),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
), max_size=6)


@settings(PROFILE, max_examples=100)
@example(args=["5", "--at", "99999999999d"])
@example(args=["5", "--at", "0001-01-01T00:00+14:00"])
@example(args=["5", "--at", "-99999999999d"])
@example(args=["5", "--routine", "nope"])
@example(args=["--routine"])
@given(args=ARGS)
def test_pain_command_exits_0_or_2_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    config = tmp_path / "heupreminder.toml"
    if not config.exists():
        config.write_text(person_config(
            database_url=f"sqlite:///{tmp_path / 'h.db'}", channels={"log": "console://"},
            routines=BRIDGE), encoding="utf-8")
    runner = CliRunner()
    before = runner.invoke(main, ["history", "--json", "--config", str(config)])
    result = runner.invoke(main, ["pain", *args, "--config", str(config)])
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, repr(result.exception))
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        after = runner.invoke(main, ["history", "--json", "--config", str(config)])
        assert after.output == before.output, args
