"""The weekly summary in Dutch and English, in our own words.

Contracts:

- ``summary_message(locale, name, summary)`` returns ``(title, body)``. The body
  is paragraphs separated by one blank line; its **first paragraph is the short
  version** (sessions done, pain trend, paused or not) that push channels get,
  so ``short_text(body)`` needs no second copy in the outbox.
- ``chart_line`` and ``link_line`` are the extra lines the sender adds per
  channel (email: the chart is attached; push: where to see it).
- An unknown locale falls back to English; numbers use the locale's decimal
  mark (3,5 in Dutch), dates a short day and month (3 nov / 3 Nov).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from heupreminder.locales import shipped_locale
from heupreminder.reports.summary import PauseNow, WeeklySummary

_MONTHS = {
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

_T: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "title": "Je week in het kort",
        "sessions": "Deze week deed je {done} van de {planned} oefensessies.",
        "all_rest": "Je oefeningen stonden deze week stil.",
        "no_sessions": "Er stonden deze week geen oefeningen op je schema.",
        "rest": "{rest} rustdag telt niet als gemist.",
        "rests": "{rest} rustdagen tellen niet als gemist.",
        "pain_none": "Je hebt deze week geen pijn gemeld.",
        "pain_new": "Pijn: gemiddeld {avg}, hoogste {max}.",
        "pain_down": "Pijn: gemiddeld {avg}, lager dan vorige week ({prev}).",
        "pain_up": "Pijn: gemiddeld {avg}, hoger dan vorige week ({prev}).",
        "pain_steady": "Pijn: gemiddeld {avg}, ongeveer even hoog als vorige week ({prev}).",
        "paused_now": "Je oefeningen staan nu stil.",
        "routine": "• {title}: {done} van {planned} gedaan",
        "routine_rest": ", {rest} rustdag",
        "routine_rests": ", {rest} rustdagen",
        "routine_idle": "• {title}: deze week geen herinneringen",
        "pain_detail": "Pijnmeldingen: {count}, hoogste {max} van 10.",
        "pause_all": "Alle oefeningen staan stil sinds {since}{until}: {why}.",
        "pause_one": "{title} staat stil sinds {since}{until}: {why}.",
        "until": " (tot {date})",
        "chart": "In de bijlage: je pijn en je oefeningen per dag over de afgelopen 4 weken.",
        "link": "Je grafiek en geschiedenis: {url}",
        "persisting": "je heup bleef pijn doen",
        "rising": "de pijn werd erger",
        "severe": "je had op meer dan één dag veel pijn",
        "manual": "zelf stilgezet",
        "other": "rust voor je heup",
    },
    "en": {
        "title": "Your week at a glance",
        "sessions": "This week you did {done} of {planned} exercise sessions.",
        "all_rest": "Your exercises were resting this week.",
        "no_sessions": "There were no exercises on your schedule this week.",
        "rest": "{rest} rest day does not count as missed.",
        "rests": "{rest} rest days do not count as missed.",
        "pain_none": "You reported no pain this week.",
        "pain_new": "Pain: average {avg}, highest {max}.",
        "pain_down": "Pain: average {avg}, lower than last week ({prev}).",
        "pain_up": "Pain: average {avg}, higher than last week ({prev}).",
        "pain_steady": "Pain: average {avg}, about the same as last week ({prev}).",
        "paused_now": "Your exercises are resting now.",
        "routine": "• {title}: {done} of {planned} done",
        "routine_rest": ", {rest} rest day",
        "routine_rests": ", {rest} rest days",
        "routine_idle": "• {title}: no reminders this week",
        "pain_detail": "Pain reports: {count}, highest {max} out of 10.",
        "pause_all": "All exercises resting since {since}{until}: {why}.",
        "pause_one": "{title} resting since {since}{until}: {why}.",
        "until": " (until {date})",
        "chart": "Attached: your pain and your exercises per day over the last 4 weeks.",
        "link": "Your chart and history: {url}",
        "persisting": "your hip kept hurting",
        "rising": "the pain was getting worse",
        "severe": "your hip was very painful on more than one day",
        "manual": "paused by you",
        "other": "rest for your hip",
    },
}


PAUSE_CODES = ("persisting", "rising", "severe", "manual")


def words(locale: str) -> Mapping[str, str]:
    return _T[shipped_locale(locale)]


def number(value: float, locale: str) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if locale == "nl" else text


def short_date(day: date | datetime, locale: str, zone: ZoneInfo | None = None) -> str:
    if isinstance(day, datetime):
        day = day.astimezone(zone).date() if zone else day.date()
    months = _MONTHS[shipped_locale(locale)]
    return f"{day.day} {months[day.month - 1]}"


def summary_message(locale: str, name: str, summary: WeeklySummary,
                    zone: ZoneInfo) -> tuple[str, str]:
    """The summary's title and body; see the module docstring for the shape."""
    t = words(locale)
    return t["title"], "\n\n".join(p for p in (
        short_paragraph(locale, summary), routine_paragraph(locale, summary),
        pain_paragraph(locale, summary), pause_paragraph(locale, summary, zone)) if p)


def short_text(body: str) -> str:
    """The short version of a summary body: its first paragraph."""
    return body.split("\n\n", 1)[0]


def short_paragraph(locale: str, summary: WeeklySummary) -> str:
    t = words(locale)
    total = summary.total("exercise")
    parts = []
    if total.planned:
        parts.append(t["sessions"].format(done=total.done, planned=total.planned))
    else:
        parts.append(t["all_rest"] if total.rest else t["no_sessions"])
    if total.rest and total.planned:
        parts.append(t["rest" if total.rest == 1 else "rests"].format(rest=total.rest))
    pain = summary.pain
    if pain.average is None:
        parts.append(t["pain_none"])
    else:
        values = {"avg": number(pain.average, locale), "max": pain.highest,
                  "prev": number(pain.previous_average, locale)
                  if pain.previous_average is not None else ""}
        parts.append(t[f"pain_{pain.trend}"].format(**values))
    if any(p.scope is None for p in summary.pauses):
        parts.append(t["paused_now"])
    return " ".join(parts)


def routine_paragraph(locale: str, summary: WeeklySummary) -> str:
    t = words(locale)
    lines = []
    for r in summary.routines:
        if not (r.planned or r.rest):
            lines.append(t["routine_idle"].format(title=r.title))
            continue
        line = t["routine"].format(title=r.title, done=r.done, planned=r.planned)
        rest = t["routine_rest" if r.rest == 1 else "routine_rests"].format(rest=r.rest)
        lines.append(line + (rest if r.rest else ""))
    return "\n".join(lines)


def pain_paragraph(locale: str, summary: WeeklySummary) -> str:
    pain = summary.pain
    if not pain.reports:
        return ""
    return words(locale)["pain_detail"].format(count=pain.reports, max=pain.highest)


def pause_paragraph(locale: str, summary: WeeklySummary, zone: ZoneInfo) -> str:
    return "\n".join(pause_line(locale, p, zone) for p in summary.pauses)


def pause_line(locale: str, pause: PauseNow, zone: ZoneInfo) -> str:
    t = words(locale)
    until = (t["until"].format(date=short_date(pause.until, locale, zone))
             if pause.until else "")
    why = t[pause.code] if pause.code in PAUSE_CODES else t["other"]
    since = short_date(pause.since, locale, zone)
    if pause.scope is None:
        return t["pause_all"].format(since=since, until=until, why=why)
    return t["pause_one"].format(title=pause.scope_title or pause.scope, since=since,
                                 until=until, why=why)


def chart_line(locale: str) -> str:
    return words(locale)["chart"]


def link_line(locale: str, url: str) -> str:
    return words(locale)["link"].format(url=url)
