"""ntfy's action buttons land here: ``POST /a/<token>`` answers a reminder or the check-in.

Contracts (tokens: ``web.action_links``):

- Only POST writes; a GET (a link previewer, a curious person) gets 405 and
  changes nothing, like every other way in.
- Done or Skip answers its one reminder; pressed twice, it stays one answer
  (``log_checkin``). A pain button logs one report with the token's one-time
  value; pressed twice, still one report (``log_pain``'s ``submission``).
  A report goes through the pain policy like any other.
- An expired token answers 410; a forged or foreign one 400, logged and counted
  against the client's address (``web.auth_failures``), which gets 429 after a
  burst. The answers are short plain text: ntfy shows only whether it worked.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.wrappers import Response

from heupreminder.db.models import Occurrence, Person
from heupreminder.input_text import InputError
from heupreminder.links.actions import Answer, PainAnswer
from heupreminder.links.signing import LinkError
from heupreminder.pain.records import log_checkin, log_pain
from heupreminder.web.context import WebContext

actions = Blueprint("actions", __name__)


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context


def _text(status: int, message: str) -> Response:
    return Response(f"{message}\n", status=status, mimetype="text/plain")


@actions.post("/a/<token>")
def act(token: str) -> Response:
    context = _context()
    address = request.remote_addr or "unknown"
    wait = context.auth_failures.retry_after(address)
    if wait is not None:
        response = _text(429, "too many failed attempts; try again later")
        response.headers["Retry-After"] = str(wait)
        return response
    signer = context.link_keys.actions(context.settings().config.service.link_lifetime)
    try:
        target = signer.read(token)
        with context.sessions.begin() as session:
            person = session.get(Person, target.person_id)
            if person is None or not person.active:
                raise LinkError(expired=False)
            now = context.clock()
            if isinstance(target, Answer):
                occurrence = session.get(Occurrence, target.occurrence_id)
                if occurrence is None or occurrence.routine.person_id != person.id:
                    raise LinkError(expired=False)
                log_checkin(session, person.id, occurrence.routine.key, target.outcome,
                            source="link", now=now, occurrence_id=occurrence.id)
                saved = target.outcome
            else:
                assert isinstance(target, PainAnswer)
                log_pain(session, context.settings(), person.id, target.level,
                         source="link", now=now, submission=target.once)
                saved = f"pain {target.level}"
    except LinkError as error:
        if error.expired:  # an old button is a person's; a forged one is a guess
            return _text(410, "this button has expired; open the reminder's link instead")
        context.auth_failures.failed(address, what="bad action link")
        return _text(400, "this button is not valid")
    except InputError as error:  # e.g. a routine removed since the reminder was sent
        return _text(400, str(error))
    context.wake()  # a pain report may have paused or resumed something: tell them now
    return _text(200, f"saved: {saved}")
