"""The one-tap check-in page behind a reminder's signed link.

GET only shows the page (link previewers and mail scanners fetch links);
only the form's POST writes. Works without JavaScript, readable on a phone.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from heupreminder.catalog import NOT_MEDICAL_ADVICE
from heupreminder.db.models import CheckinOutcome, Occurrence, Person
from heupreminder.delivery.messages import routine_title
from heupreminder.input_text import InputError
from heupreminder.links.history import history_token
from heupreminder.links.signing import LinkError, LinkTarget
from heupreminder.locales import LOCALES
from heupreminder.pain.records import LOCATIONS, log_checkin, log_pain
from heupreminder.web.checkin_words import page_texts
from heupreminder.web.context import WebContext

pages = Blueprint("pages", __name__)


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context


def _read(token: str) -> LinkTarget:
    context = _context()
    lifetime = context.settings().config.service.link_lifetime
    try:
        return context.link_keys.checkin(lifetime).read(token)
    except LinkError as error:
        if not error.expired:  # an old link is a person's, a forged one is a guess
            context.auth_failures.failed(request.remote_addr or "unknown",
                                         what="bad check-in link")
        raise


@pages.before_request
def _not_while_limited() -> Response | None:
    """429 for an address that just failed too often (see web.auth_failures)."""
    wait = _context().auth_failures.retry_after(request.remote_addr or "unknown")
    if wait is None:
        return None
    texts = page_texts(request.accept_languages.best_match(LOCALES))
    return Response(render_template("problem.html", t=texts, message=texts["invalid"]),
                    status=429, headers={"Retry-After": str(wait)}, mimetype="text/html")


def _resolve(session: Session, target: LinkTarget) -> tuple[Person, Occurrence | None]:
    """The link's person and occurrence; LinkError unless they exist and belong together."""
    person = session.get(Person, target.person_id)
    if person is None or not person.active:
        raise LinkError(expired=False)
    occurrence = None
    if target.occurrence_id is not None:
        occurrence = session.get(Occurrence, target.occurrence_id)
        if occurrence is None or occurrence.routine.person_id != person.id:
            raise LinkError(expired=False)
    return person, occurrence


def _history_path(person_id: str) -> str | None:
    """The person's read-only history link (never this write-capable check-in token)."""
    context = _context()
    history = history_token(context.settings(), context.sessions, person_id)
    return url_for("history.page", token=history) if history else None


def _link_problem(error: LinkError) -> tuple[str, int]:
    texts = page_texts(request.accept_languages.best_match(LOCALES))
    message = texts["expired"] if error.expired else texts["invalid"]
    return render_template("problem.html", t=texts, message=message), 410 if error.expired else 400


@pages.get("/c/<token>")
def checkin_page(token: str) -> tuple[str, int] | str:
    try:
        target = _read(token)
    except LinkError as error:
        return _link_problem(error)
    context = _context()
    with context.sessions() as session:
        try:
            person, occurrence = _resolve(session, target)
        except LinkError as error:
            return _link_problem(error)
        texts = page_texts(person.locale)
        title = routine_title(occurrence.routine, person.locale) if occurrence else None
        # Only pain during an exercise can pause it; a supplement or tip is not asked about.
        exercise = occurrence is not None and occurrence.routine.kind == "exercise"
        return render_template(
            "checkin.html", t=texts, token=token, name=person.name, routine_title=title,
            ask_with_routine=exercise, submission=secrets.token_urlsafe(18),
            saved=request.args.get("saved"), error=request.args.get("error"),
            locations=LOCATIONS, disclaimer=NOT_MEDICAL_ADVICE[texts["locale"]],
            history_url=_history_path(person.id))


@pages.post("/c/<token>")
def checkin_post(token: str) -> Response | tuple[str, int]:
    try:
        target = _read(token)
    except LinkError as error:
        return _link_problem(error)
    context = _context()
    form: Any = request.form
    action = form.get("action", "")
    try:
        with context.sessions.begin() as session:
            person, occurrence = _resolve(session, target)  # the same check as the GET
            now = context.clock()
            if action in tuple(CheckinOutcome):
                if occurrence is None:
                    raise InputError("routine: this link is not for a reminder")
                log_checkin(session, person.id, occurrence.routine.key, action,
                            source="link", now=now, occurrence_id=occurrence.id)
            elif action == "pain":
                routine_key = (occurrence.routine.key
                               if occurrence is not None and occurrence.routine.kind == "exercise"
                               and form.get("with_routine") else None)
                # The form's one-time value: posting the same form twice records once.
                log_pain(session, context.settings(), person.id, form.get("level"),
                         where=form.get("where") or None, routine_key=routine_key,
                         note=form.get("note") or None, source="link", now=now,
                         submission=form.get("submission") or None)
            else:
                raise InputError(f"action: {action!r} is not done, skipped or pain")
    except LinkError as error:
        return _link_problem(error)
    except InputError as error:
        return redirect(url_for("pages.checkin_page", token=token, error=str(error)), 303)
    context.wake()
    return redirect(url_for("pages.checkin_page", token=token, saved=action), 303)
