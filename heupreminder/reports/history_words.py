"""The history page's words, Dutch and English (recorded reasons stay as recorded)."""

from __future__ import annotations

from typing import Any

from heupreminder.locales import shipped_locale

_TEXTS: dict[str, dict[str, Any]] = {
    "nl": {
        "locale": "nl",
        "title": "Je voortgang",
        "heading": "Je voortgang, {name}",
        "week": "De afgelopen 7 dagen",
        "routine": "{done} van {planned} gedaan",
        "routine_rest": "{rest} rustdag(en), niet als gemist geteld",
        "routine_idle": "geen herinneringen",
        "chart": "Pijn en oefeningen, afgelopen 4 weken",
        "chart_alt": "Grafiek: je hoogste pijn per dag en hoeveel oefeningen je per dag "
                     "deed, over de afgelopen 4 weken",
        "recent": "Wat er is gebeurd (afgelopen 14 dagen)",
        "nothing": "Nog niets vastgelegd.",
        "calendar": "In je agenda",
        "calendar_hint": "Je oefeningen van de komende 4 weken in je eigen agenda-app: abonneer "
                         "je op dit adres. Het laat alleen zien, net als deze pagina, en volgt "
                         "een rustpauze vanzelf.",
        "calendar_subscribe": "Abonneren",
        "types": {"reminder": "Herinnering", "checkin": "Antwoord", "pain": "Pijn",
                  "pause": "Rust", "escalate": "Advies", "resume": "Weer verder"},
        "status": {"sent": "verstuurd", "failed": "niet aangekomen", "skipped": "overgeslagen",
                   "missed": "gemist", "pending": "gepland", "sending": "wordt verstuurd",
                   "done": "gedaan", "rest": "rustdag (telt niet als gemist)"},
        "where": {"groin": "lies of in de heup", "outer": "buitenkant heup, dij of bil",
                  "lower-back": "onderrug", "other": "ergens anders"},
    },
    "en": {
        "locale": "en",
        "title": "Your progress",
        "heading": "Your progress, {name}",
        "week": "The last 7 days",
        "routine": "{done} of {planned} done",
        "routine_rest": "{rest} rest day(s), not counted as missed",
        "routine_idle": "no reminders",
        "chart": "Pain and exercises, 4 weeks",
        "chart_alt": "Chart: your highest pain per day and the exercises you did per day, "
                     "over the last 4 weeks",
        "recent": "What happened (14 days)",
        "nothing": "Nothing recorded yet.",
        "calendar": "In your calendar",
        "calendar_hint": "Your routines of the coming 4 weeks in your own calendar app: "
                         "subscribe to this address. Like this page it only shows, and it "
                         "follows a rest pause by itself.",
        "calendar_subscribe": "Subscribe",
        "types": {"reminder": "Reminder", "checkin": "Check-in", "pain": "Pain",
                  "pause": "Rest", "escalate": "Advice", "resume": "Resumed"},
        "status": {"sent": "sent", "failed": "did not arrive", "skipped": "skipped",
                   "missed": "missed", "pending": "planned", "sending": "being sent",
                   "done": "done", "rest": "rest day (not counted as missed)"},
        "where": {"groin": "groin or inside the hip", "outer": "outer hip, thigh or buttock",
                  "lower-back": "lower back", "other": "somewhere else"},
    },
}


def history_texts(locale: str) -> dict[str, Any]:
    return _TEXTS[shipped_locale(locale)]
