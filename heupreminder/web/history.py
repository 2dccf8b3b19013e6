"""The per-person history page: ``/h/<token>`` and its chart ``/h/<token>/chart.png``.

Contracts:

- ``<token>`` is the person's history link token (``links.history``): read-only,
  signed, good until it is rotated or revoked. Check-in links and API tokens do
  not open it (an API token can write and never goes in a URL). Anything else,
  or a person who is no longer active, answers the check-in page's "link not
  valid" page (400); the failure is logged and counted against the client's
  address, which gets 429 after a burst.
- The page only reads; it shows the last 7 days' numbers (the weekly
  summary's rules), current pauses, the 4-week chart and the last 14 days'
  events, newest first, in the person's language, readable on a phone.
- The page shows the person's calendar feed (``web.calendar``, the same token)
  to subscribe to.
- The chart is the weekly summary's PNG, drawn at twice the size for sharp
  phone screens, ending today in the person's time zone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from heupreminder.catalog import NOT_MEDICAL_ADVICE
from heupreminder.db.models import OccurrenceStatus, Routine
from heupreminder.delivery.messages import routine_title
from heupreminder.links.history import HistoryLinkError, calendar_path
from heupreminder.locales import LOCALES, shipped_locale
from heupreminder.reports.chart import chart_data, render_chart
from heupreminder.reports.events import event_rows
from heupreminder.reports.history_words import history_texts
from heupreminder.reports.rows import ReportRow
from heupreminder.reports.summary import weekly_summary
from heupreminder.reports.summary_words import PAUSE_CODES, pause_line, short_paragraph, words
from heupreminder.web.checkin_words import page_texts
from heupreminder.web.context import WebContext

history = Blueprint("history", __name__)

RECENT = timedelta(days=14)


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context



def _problem(status: int = 400) -> tuple[str, int]:
    texts = page_texts(request.accept_languages.best_match(LOCALES))
    return render_template("problem.html", t=texts, message=texts["invalid"]), status


def _refused(error: HistoryLinkError) -> tuple[str, int]:
    _context().auth_failures.failed(request.remote_addr or "unknown", what="bad history link",
                                    person_id=error.person_id)
    return _problem()


def _limited() -> Response | None:
    """The 429 answer for an address that failed too often just now, else None."""
    wait = _context().auth_failures.retry_after(request.remote_addr or "unknown")
    if wait is None:
        return None
    body, status = _problem(429)
    return Response(body, status=status, headers={"Retry-After": str(wait)},
                    mimetype="text/html")


@history.get("/h/<token>")
def page(token: str) -> Response | tuple[str, int] | str:
    context = _context()
    if (limited := _limited()) is not None:
        return limited
    with context.sessions() as session:
        try:
            person = context.link_keys.history_person(session, token)
        except HistoryLinkError as error:
            return _refused(error)
        now = context.clock()
        zone = ZoneInfo(person.timezone)
        t = history_texts(person.locale)
        summary = weekly_summary(session, person, now)
        titles = {r.key: routine_title(r, person.locale) for r in session.scalars(
            select(Routine).where(Routine.person_id == person.id))}
        events = [_event(row, t, titles) for row in reversed(
            event_rows(session, person, now - RECENT, now))]
        return render_template(
            "history.html", t=t, name=person.name,
            short=short_paragraph(person.locale, summary),
            routines=[{"title": r.title,
                       "numbers": (t["routine"].format(done=r.done, planned=r.planned)
                                   if r.planned or r.rest else t["routine_idle"]),
                       "rest": t["routine_rest"].format(rest=r.rest) if r.rest else ""}
                      for r in summary.routines],
            pauses=[pause_line(person.locale, p, zone) for p in summary.pauses],
            chart_url=url_for("history.chart", token=token), events=events,
            **_calendar_links(token),
            disclaimer=NOT_MEDICAL_ADVICE[shipped_locale(person.locale)])


@history.get("/h/<token>/chart.png")
def chart(token: str) -> Response | tuple[str, int]:
    context = _context()
    if (limited := _limited()) is not None:
        return limited
    with context.sessions() as session:
        try:
            person = context.link_keys.history_person(session, token)
        except HistoryLinkError as error:
            return _refused(error)
        today = context.clock().astimezone(ZoneInfo(person.timezone)).date()
        png = render_chart(chart_data(session, person, today), person.locale, scale=2)
    return Response(png, mimetype="image/png")


def _calendar_links(token: str) -> dict[str, str]:
    """The calendar feed's address to copy, and a webcal:// link that subscribes
    (an https:// link would import the events once instead)."""
    base = _context().settings().config.service.public_url or request.url_root
    url = f"{base.rstrip('/')}{calendar_path(token)}"
    return {"calendar_url": url, "calendar_subscribe": "webcal://" + url.split("://", 1)[1]}


def _event(row: ReportRow, t: dict[str, Any], titles: dict[str, str]) -> dict[str, str]:
    """One line of the page's event list, in the person's words where we have them."""
    if row.type == "pain":
        parts = [f"{row.level}/10"]
        if row.location:
            parts.append(t["where"].get(row.location, row.location))
        if row.note:
            parts.append(row.note)
        what = ", ".join(parts)
    elif row.type in ("reminder", "checkin"):
        what = t["status"].get(row.status or "", row.status or "")
        if row.type == "reminder" and row.paused:
            what = t["status"]["rest"]  # a rest day, not a miss
        elif row.reason and row.status in (OccurrenceStatus.SKIPPED, OccurrenceStatus.MISSED,
                                            OccurrenceStatus.FAILED):
            what += f" ({row.reason})"
    elif row.type == "pause" and row.status in PAUSE_CODES:
        what = words(t["locale"])[row.status or ""]  # why, in the person's words
    else:
        what = row.reason or ""
    return {"when": row.at.strftime("%d-%m %H:%M"), "type": t["types"].get(row.type, row.type),
            "routine": titles.get(row.routine, row.routine) if row.routine else "",
            "what": what}
