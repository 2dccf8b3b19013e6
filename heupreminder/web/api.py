"""The JSON API for Home Assistant, phone shortcuts and scripts.

Every request carries a person's token (`Authorization: Bearer ...`); the
token decides whose data is read or written, so one person's token can never
reach another person's data. A body naming another person is refused, and so
is a token of a person who is no longer active. The token never goes in a URL.

Bodies are read strictly (`strict_json`): only the keys an endpoint knows, text
that can be stored, levels that are JSON integers; every refusal is a 400 that
names the key and quotes at most a short prefix of the bad value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from heupreminder.db.models import ApiToken, CheckinOutcome, Person
from heupreminder.input_text import InputError
from heupreminder.links.api_tokens import hash_token
from heupreminder.pain.pauses import active_pauses
from heupreminder.pain.records import log_checkin, log_pain
from heupreminder.status import person_status
from heupreminder.web.context import WebContext
from heupreminder.web.strict_json import load_json, quote

api = Blueprint("api", __name__, url_prefix="/api/v1")


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _client() -> str:
    return request.remote_addr or "unknown"


def _authenticate(session: Session) -> str | tuple[Response, int]:
    """The token's person id, or the answer for a request that is not allowed in.

    A failure is logged (with the person when the token is theirs, never the token)
    and counted against the client address, which gets 429 after a burst.
    """
    limiter = _context().auth_failures
    wait = limiter.retry_after(_client())
    if wait is not None:
        response, status = _error(429, "too many failed attempts; try again later")
        response.headers["Retry-After"] = str(wait)
        return response, status
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        limiter.failed(_client(), what="API request without a bearer token")
        return _error(401, "missing or unknown API token")
    row = session.get(ApiToken, hash_token(token.strip()))
    if row is None:
        limiter.failed(_client(), what="unknown API token")
        return _error(401, "missing or unknown API token")
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        # The person was removed from the config: their tokens stop with them.
        limiter.failed(_client(), what="API token of an inactive person",
                       person_id=row.person_id)
        return _error(401, "missing or unknown API token")
    return person.id


def _body(allowed: frozenset[str]) -> dict[str, Any]:
    """The request's JSON object: storable text, shallow, only keys we know."""
    if not request.is_json:
        raise InputError("body: send a JSON object (Content-Type: application/json)")
    data = load_json(request.get_data(cache=False))  # 413 over guards.MAX_BODY
    if not isinstance(data, dict):
        raise InputError("body: send a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(f"{quote(unknown[0])}: unknown key (known: {', '.join(sorted(allowed))})")
    return data


def _text(body: dict[str, Any], key: str, *, max_length: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{key}: {quote(value)} is not text")
    if len(value) > max_length:
        raise InputError(f"{key}: {quote(value)} is longer than {max_length} characters")
    return value


def _level(body: dict[str, Any]) -> int:
    if "level" not in body:
        raise InputError("level: is required")
    value = body["level"]
    # A JSON integer only: "5", 5.0, true or "1_0" are not levels.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"level: {quote(value)} is not a number from 0 to 10 "
                         "(send a JSON integer)")
    return value


def _at(body: dict[str, Any]) -> datetime | None:
    value = _text(body, "at", max_length=64)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"at: {quote(value)} is not an ISO 8601 time") from None


def _handle(write: bool, action: Any,
            allowed: frozenset[str] = frozenset()) -> tuple[Response, int]:
    context = _context()
    try:
        with (context.sessions.begin() if write else context.sessions()) as session:
            person_id = _authenticate(session)
            if not isinstance(person_id, str):
                return person_id
            body = _body(allowed | {"person"}) if write else {}
            if body.get("person") not in (None, person_id):
                return _error(403, "this token is not for that person")
            result = action(session, person_id, body)
    except InputError as error:
        return _error(400, str(error))
    if write:
        context.wake()
    return jsonify(result), 201 if write else 200


PAIN_KEYS = frozenset({"level", "where", "routine", "note", "at"})
CHECKIN_KEYS = frozenset({"routine"})
ROUTINE_KEY_LENGTH = 64  # config.model.Slug
NOTE_LENGTH = 2000  # records.log_pain refuses longer notes as well


@api.post("/pain")
def pain() -> tuple[Response, int]:
    def action(session: Session, person_id: str, body: dict[str, Any]) -> dict[str, Any]:
        logged = log_pain(session, _context().settings(), person_id, _level(body),
                          where=_text(body, "where", max_length=ROUTINE_KEY_LENGTH),
                          routine_key=_text(body, "routine", max_length=ROUTINE_KEY_LENGTH),
                          note=_text(body, "note", max_length=NOTE_LENGTH), at=_at(body),
                          source="api", now=_context().clock())
        return {"id": logged.report_id,
                "decisions": [{"action": d.action, "scope": d.scope, "reason": d.reason}
                              for d in logged.decisions]}
    return _handle(True, action, PAIN_KEYS)


def _checkin(outcome: str) -> tuple[Response, int]:
    def action(session: Session, person_id: str, body: dict[str, Any]) -> dict[str, Any]:
        routine = _text(body, "routine", max_length=ROUTINE_KEY_LENGTH)
        if not routine:
            raise InputError("routine: is required")
        row = log_checkin(session, person_id, routine, outcome, source="api",
                          now=_context().clock())
        return {"routine": routine, "outcome": row.outcome}
    return _handle(True, action, CHECKIN_KEYS)


@api.post("/done")
def done() -> tuple[Response, int]:
    return _checkin(CheckinOutcome.DONE)


@api.post("/skip")
def skip() -> tuple[Response, int]:
    return _checkin(CheckinOutcome.SKIPPED)


@api.get("/status")
def status() -> tuple[Response, int]:
    def action(session: Session, person_id: str, _body: dict[str, Any]) -> dict[str, Any]:
        person = session.get(Person, person_id)
        assert person is not None
        result = person_status(session, person)
        result["paused"] = [{"scope": p.scope or "all exercises", "since": p.since.isoformat(),
                             "reason": p.reason} for p in active_pauses(session, person_id)]
        return result
    return _handle(False, action)

