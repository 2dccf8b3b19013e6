"""Issue 14, property-based: the JSON API and the check-in form get arbitrary Unicode
(lone surrogates included), deep nesting, big bodies and every JSON type. They never
answer 500, everything under /api/ answers JSON, and a refusal writes nothing.

Through the Flask test client for speed (the real server is in test_web_hardening);
bounded and derandomized so the suite stays fast and repeatable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import CheckIn, DecisionRow, Notice, PainReport, PauseRow
from heupreminder.links.api_tokens import create_token
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.context import WebContext
from tests.helpers import BRIDGE, load, migrated, person_config

PROFILE = settings(deadline=None, database=None, derandomize=True, max_examples=150,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow, HealthCheck.data_too_large])
WRITES = (PainReport, CheckIn, DecisionRow, PauseRow, Notice)

any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # surrogates too
keys = st.one_of(st.sampled_from(["level", "where", "routine", "note", "at", "person",
                                  "person_id", "Level", ""]), any_text)
scalars = st.one_of(
    st.none(), st.booleans(), any_text,
    st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 3, 10, 11, -1, "5", "1_0", "١٠", "５", 5.0, "bridge", "outer",
                     "1970-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00",
                     "\ud800", "x\udfffy", "\x00"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=6)
bodies = st.one_of(st.dictionaries(keys, values, max_size=5), values)


def nested(depth: int) -> bytes:
    return b'{"level": ' + b"[" * depth + b"]" * depth + b"}"


raw_bodies = st.one_of(
    st.binary(max_size=80),
    st.builds(nested, st.integers(1, 40_000)),
    st.builds(lambda n: json.dumps({"level": 3, "note": "n" * n}).encode(),
              st.integers(0, 80_000)),
)


def counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in WRITES)


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[tuple[Any, str, str,
                                                                 sessionmaker[Session]]]:
    config = load(tmp_path, person_config(
        database_url=database_url, channels={"log": "console://"},
        routines=BRIDGE))
    sessions = migrated(config, datetime.now(UTC) - timedelta(days=1))
    with sessions.begin() as session:
        token = create_token(session, "anna")
    link = LinkSigner(link_secret(sessions), timedelta(days=3)).token(LinkTarget("anna", None))
    # Wrong tokens are only part of the input here; the 429 has its own test.
    app = create_app(WebContext(sessions, lambda: config,
                                auth_failures=FailureLimiter(burst=1_000_000)))
    yield app.test_client(), token, link, sessions
    sessions.kw["bind"].dispose()


@settings(PROFILE)
@example(path="/api/v1/pain", body={"level": 3, "note": "x\ud800y"}, raw=None, good=True)
@example(path="/api/v1/done", body={"routine": "\ud800"}, raw=None, good=True)
@example(path="/api/v1/pain", body=None, raw=nested(100_000)[:60_000], good=True)
@example(path="/api/v1/pain", body={"level": "1_0"}, raw=None, good=True)
@example(path="/api/v1/pain", body={"level": 3, "person_id": "bert"}, raw=None, good=True)
@given(path=st.sampled_from(["/api/v1/pain", "/api/v1/done", "/api/v1/skip",
                             "/api/v1/status", "/api/v1/nope"]),
       body=bodies, raw=st.one_of(st.none(), st.none(), raw_bodies), good=st.booleans())
def test_api_never_answers_500_and_a_refusal_writes_nothing(
        world: tuple[Any, str, str, sessionmaker[Session]], path: str, body: Any,
        raw: bytes | None, good: bool) -> None:
    client, token, _, sessions = world
    # ensure_ascii keeps lone surrogates as \\ud800 escapes: valid JSON text, unstorable.
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token if good else 'heup_wrong'}"}
    before = counts(sessions)
    response = client.post(path, data=data, headers=headers, content_type="application/json")
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert response.is_json, response.get_data()[:300]
    answer = response.get_json()
    if response.status_code != 201:
        assert counts(sessions) == before
        assert len(answer["error"]) < 400  # a short prefix of the bad value at most
    else:
        assert isinstance(body, dict) and good


form_values = st.one_of(any_text.filter(lambda s: "\x00" not in s), st.sampled_from(
    ["", "0", "10", "11", "-1", "1_0", "١٠", "５", "5.0", " 5 ", "outer", "x" * 3000]))


@settings(PROFILE)
@example(fields={"action": "pain", "level": "1_0"})
@example(fields={"action": "pain", "level": "5", "note": "a\ud800b"})
@given(fields=st.dictionaries(
    st.sampled_from(["action", "level", "where", "note", "with_routine", "submission",
                     "extra"]),
    st.one_of(form_values, st.sampled_from(["pain", "done", "skipped", "nope"])), max_size=6))
def test_check_in_form_never_answers_500_and_a_refusal_writes_nothing(
        world: tuple[Any, str, str, sessionmaker[Session]], fields: dict[str, str]) -> None:
    client, _, link, sessions = world
    # A browser sends the form as UTF-8; a lone surrogate goes as its (invalid) bytes.
    body = "&".join(
        f"{k}={''.join(f'%{b:02X}' for b in v.encode('utf-8', 'surrogatepass'))}"
        for k, v in fields.items()).encode()
    before = counts(sessions)
    response = client.post(f"/c/{link}", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (303, 400, 413), response.status_code
    saved = "saved=" in response.headers.get("Location", "")
    if not saved:
        assert counts(sessions) == before
    else:
        level = fields.get("level", "").strip()
        assert fields.get("action") == "pain" and level.isascii() and level.isdigit()
