"""The check-in page's words, Dutch and English."""

from __future__ import annotations

from typing import Any

from heupreminder.locales import shipped_locale

_TEXTS: dict[str, dict[str, Any]] = {
    "nl": {
        "locale": "nl",
        "heading": "Hoe ging het?",
        "hello": "Hoi {name}",
        "done": "Gedaan",
        "skip": "Overgeslagen",
        "pain_heading": "Hoe voelt je heup nu?",
        "pain_help": "0 = geen pijn, 10 = de ergste pijn die je kunt bedenken.",
        "where": "Waar voel je het?",
        "where_options": {"groin": "lies of in de heup", "outer": "buitenkant heup, dij of bil",
                          "lower-back": "onderrug", "other": "ergens anders"},
        "with_routine": "Kwam het bij deze oefening?",
        "note": "Notitie (mag leeg blijven)",
        "save_pain": "Pijn opslaan",
        "saved": {"done": "Opgeslagen: gedaan. Goed bezig!",
                  "skipped": "Opgeslagen: overgeslagen. Geen probleem.",
                  "pain": "Opgeslagen. Dank je, zo kan heupreminder op je letten."},
        "expired": "Deze link is verlopen. Open de nieuwste herinnering voor een verse link.",
        "invalid": "Deze link klopt niet (misschien is hij onvolledig gekopieerd).",
        "problem_title": "Link werkt niet",
        "history": "Bekijk je voortgang: grafiek en geschiedenis",
    },
    "en": {
        "locale": "en",
        "heading": "How did it go?",
        "hello": "Hi {name}",
        "done": "Done",
        "skip": "Skipped",
        "pain_heading": "How does your hip feel now?",
        "pain_help": "0 = no pain, 10 = the worst pain you can imagine.",
        "where": "Where do you feel it?",
        "where_options": {"groin": "groin or inside the hip",
                          "outer": "outer hip, thigh or buttock",
                          "lower-back": "lower back", "other": "somewhere else"},
        "with_routine": "Did it come with this exercise?",
        "note": "Note (optional)",
        "save_pain": "Save pain",
        "saved": {"done": "Saved: done. Well done!",
                  "skipped": "Saved: skipped. That's fine.",
                  "pain": "Saved. Thank you, this helps heupreminder look out for you."},
        "expired": "This link has expired. Open your latest reminder for a fresh link.",
        "invalid": "This link is not valid (perhaps it was copied incompletely).",
        "problem_title": "Link not working",
        "history": "See your progress: chart and history",
    },
}


def page_texts(locale: str | None) -> dict[str, Any]:
    return _TEXTS[shipped_locale(locale)]
