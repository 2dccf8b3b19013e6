"""The JSON API for Home Assistant, phone shortcuts and scripts.

Every request carries a person's token (`Authorization: Bearer ...`); the
token decides whose data is read or written, so one person's token can never
reach another person's data. A body naming another person is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from heupreminder.db.models import ApiToken, Person
from heupreminder.pain.records import (
    InputError,
    active_pauses,
    get_person,
    log_checkin,
    log_pain,
)
from heupreminder.status import person_status
from heupreminder.web.context import WebContext

api = Blueprint("api", __name__, url_prefix="/api/v1")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, person_id: str) -> str:
    """A new API token for the person; only its hash is stored, so show it now."""
    get_person(session, person_id)
    token = f"heup_{secrets.token_urlsafe(24)}"
    session.add(ApiToken(token_hash=hash_token(token), person_id=person_id))
    return token


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _person_id(session: Session) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    row = session.get(ApiToken, hash_token(token.strip()))
    return row.person_id if row else None


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("body: send a JSON object")
    if _has_nul(data):  # PostgreSQL refuses to store it
        raise InputError("body: text must not contain NUL characters")
    return data


def _has_nul(data: object) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _at(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"at: {value!r} is not an ISO 8601 time") from None


def _handle(write: bool, action: Any) -> tuple[Response, int]:
    context = _context()
    try:
        with (context.sessions.begin() if write else context.sessions()) as session:
            person_id = _person_id(session)
            if person_id is None:
                return _error(401, "missing or unknown API token")
            body = _body() if write else {}
            if body.get("person") not in (None, person_id):
                return _error(403, "this token is not for that person")
            result = action(session, person_id, body)
    except InputError as error:
        return _error(400, str(error))
    if write:
        context.wake()
    return jsonify(result), 201 if write else 200


@api.post("/pain")
def pain() -> tuple[Response, int]:
    def action(session: Session, person_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if "level" not in body:
            raise InputError("level: is required")
        logged = log_pain(session, _context().settings(), person_id, body["level"],
                          where=body.get("where"), routine_key=body.get("routine"),
                          note=body.get("note"), at=_at(body.get("at")), source="api",
                          now=_context().clock())
        return {"id": logged.report_id,
                "decisions": [{"action": d.action, "scope": d.scope, "reason": d.reason}
                              for d in logged.decisions]}
    return _handle(True, action)


def _checkin(outcome: str) -> tuple[Response, int]:
    def action(session: Session, person_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("routine"):
            raise InputError("routine: is required")
        row = log_checkin(session, person_id, str(body["routine"]), outcome, source="api",
                          now=_context().clock())
        return {"routine": body["routine"], "outcome": row.outcome}
    return _handle(True, action)


@api.post("/done")
def done() -> tuple[Response, int]:
    return _checkin("done")


@api.post("/skip")
def skip() -> tuple[Response, int]:
    return _checkin("skipped")


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

