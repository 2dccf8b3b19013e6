"""Messages about pain pauses, in Dutch and English, in our own words.

Contracts:

- Every function returns ``(title, body)``; titles are one line, bodies at most
  ``MAX_MESSAGE_CHARS`` characters, short enough for a push notification.
- Nothing here ever encourages exercising through pain: rest texts say rest, resume texts
  say to build up calmly and end with the catalog's stop-if-it-hurts line.
- An unknown locale raises ``ValueError``; so does a decision of the wrong kind
  (``rest_message`` takes "pause" or "escalate", ``resume_message`` takes "resume").
- A blank person name or routine title is left out rather than shown empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from heupreminder.catalog import LOCALES, STOP_IF_IT_HURTS, Locale
from heupreminder.pain.policy import Decision

MAX_MESSAGE_CHARS = 600

_SPACE = re.compile(r"\s+")

# Why the routines stopped, by decision code; "escalate" decisions use the "escalate" entry.
_WHY: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "persisting": "Je heup blijft pijn doen",
        "rising": "De pijn in je heup wordt erger",
        "severe": "Je hebt op meer dan één dag veel pijn in je heup gehad",
        "escalate": "Ook na een paar dagen rust doet je heup nog flink pijn",
    },
    "en": {
        "persisting": "Your hip keeps hurting",
        "rising": "Your hip pain is getting worse",
        "severe": "Your hip has been very painful on more than one day",
        "escalate": "Your hip still hurts a lot after several days of rest",
    },
}

_REST: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "Even rust voor je heup",
        "title_care": "Laat je heup nakijken",
        "all": "je oefenherinneringen",
        "one": "je herinneringen voor “{routine}”",
        "one_unnamed": "je herinneringen voor die oefening",
        "paused": "{why}, dus {what} staan voorlopig stil. Geef je heup nu de tijd om te "
        "herstellen.",
        "kept": "{why}. {what} blijven stilstaan.",
        "soreness": "Een beetje spierpijn op de dag na het oefenen is heel gewoon; blijft de "
        "pijn hangen of wordt die erger, dan is rust beter.",
        "care": "Maak een afspraak met je huisarts of fysiotherapeut om naar deze pijn te "
        "laten kijken.",
        "rest": "Herinneringen voor je supplementen krijg je gewoon.",
        "rest_one": "Je andere herinneringen, ook die voor je supplementen, gaan gewoon door.",
        "ask": "We vragen je elke dag hoe het met je heup gaat.",
    },
    "en": {
        "title": "Time to rest your hip",
        "title_care": "Have your hip checked",
        "all": "your exercise reminders",
        "one": "your “{routine}” reminders",
        "one_unnamed": "your reminders for that exercise",
        "paused": "{why}, so {what} are on hold for now. Give your hip time to recover.",
        "kept": "{why}. {what} stay on hold.",
        "soreness": "Some soreness the day after exercising is quite normal; when the pain "
        "lingers or grows, rest is the better choice.",
        "care": "Please make an appointment with your doctor or physiotherapist to have this "
        "pain looked at.",
        "rest": "Your supplement reminders carry on as usual.",
        "rest_one": "Your other reminders, supplements included, carry on as usual.",
        "ask": "We will ask you every day how your hip is doing.",
    },
}

_RESUME: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "Je oefeningen gaan weer van start",
        "rested": "Je heup heeft rust gehad en je meldde weinig pijn, dus {what} komen terug.",
        "manual": "{what} staan weer aan.",
        "calm": "Bouw rustig op: begin licht en doe het de eerste dagen wat kalmer aan.",
    },
    "en": {
        "title": "Your exercises are back",
        "rested": "Your hip has had its rest and you reported little pain, so {what} are "
        "back.",
        "manual": "{what} are switched back on.",
        "calm": "Build up calmly: start light and take it easy for the first few days.",
    },
}

_CHECKIN: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "Hoe gaat het met je heup?",
        "greeting": "Hoi {name},",
        "body": "je oefeningen rusten nog even. Hoe voelt je heup vandaag? Geef je pijn een "
        "cijfer van 0 (geen pijn) tot 10 (ergste pijn). Als je heup genoeg rust heeft gehad "
        "en de pijn laag blijft, starten je oefeningen vanzelf weer.",
    },
    "en": {
        "title": "How is your hip today?",
        "greeting": "Hi {name},",
        "body": "your exercises are still resting. How does your hip feel today? Give your "
        "pain a number from 0 (no pain) to 10 (worst pain). Once your hip has rested long "
        "enough and the pain stays low, your exercises start again by themselves.",
    },
}

_CAREGIVER: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "heupreminder: bericht over {name}",
        "someone": "Iemand voor wie je zorgt",
        "pause": "{name} heeft op meer dan één dag veel pijn in de heup gemeld.",
        "escalate": "{name} heeft na een paar dagen rust nog steeds veel pijn in de heup "
        "gemeld.",
        "rest": "De oefenherinneringen staan stil en we hebben aangeraden om naar de huisarts "
        "of fysiotherapeut te gaan. Misschien wil je even contact opnemen.",
    },
    "en": {
        "title": "heupreminder: a note about {name}",
        "someone": "Someone you care for",
        "pause": "{name} has reported severe hip pain on more than one day.",
        "escalate": "{name} still reports severe hip pain after several days of rest.",
        "rest": "Their exercise reminders are on hold and we have advised them to see their "
        "doctor or physiotherapist. You may want to check in with them.",
    },
}


def rest_message(locale: Locale, decision: Decision,
                 routine_title: str | None) -> tuple[str, str]:
    """Tell a person why their exercises paused (or stay paused, for an escalation) and to rest.

    ``routine_title`` names the paused routine when ``decision.scope`` is a routine; it is
    ignored for all-routines pauses. Adds the care-provider advice when
    ``decision.advise_care``.
    """
    words = _REST[_check_locale(locale)]
    if decision.action == "pause":
        why = _WHY[locale].get(decision.code, _WHY[locale]["persisting"])
        first = words["paused"].format(why=why, what=_what(words, decision, routine_title))
    elif decision.action == "escalate":
        what = _what(words, decision, routine_title)
        first = words["kept"].format(why=_WHY[locale]["escalate"], what=_capital(what))
    else:
        raise ValueError(
            f"rest_message needs a pause or escalate decision, not {decision.action!r}"
        )
    parts = [first, words["soreness"]]
    if decision.advise_care:
        parts.append(words["care"])
    parts.append(words["rest"] if decision.scope is None else words["rest_one"])
    parts.append(words["ask"])
    title = words["title_care"] if decision.advise_care else words["title"]
    return title, " ".join(parts)


def resume_message(locale: Locale, decision: Decision,
                   routine_title: str | None = None) -> tuple[str, str]:
    """Tell a person their exercises are back: build up calmly, stop if it hurts."""
    words = _RESUME[_check_locale(locale)]
    if decision.action != "resume":
        raise ValueError(f"resume_message needs a resume decision, not {decision.action!r}")
    what = _what(_REST[locale], decision, routine_title)
    key = "manual" if decision.code == "manual" else "rested"
    first = words[key].format(what=what)
    body = " ".join((_capital(first), words["calm"], STOP_IF_IT_HURTS[locale]))
    return words["title"], body


def checkin_message(locale: Locale, person_name: str) -> tuple[str, str]:
    """The gentle daily question while paused: how is your hip today?"""
    words = _CHECKIN[_check_locale(locale)]
    name = _clean(person_name)
    if name:
        return words["title"], f"{words['greeting'].format(name=name)} {words['body']}"
    return words["title"], _capital(words["body"])


def caregiver_message(locale: Locale, person_name: str,
                      decision: Decision) -> tuple[str, str]:
    """Let a caregiver know the person reported severe pain and was advised to seek care."""
    words = _CAREGIVER[_check_locale(locale)]
    name = _clean(person_name)
    kind = "escalate" if decision.action == "escalate" else "pause"
    title = words["title"].format(name=name or words["someone"].lower())
    body = f"{words[kind].format(name=name or words['someone'])} {words['rest']}"
    return title, body


def _what(words: Mapping[str, str], decision: Decision, routine_title: str | None) -> str:
    if decision.scope is None:
        return words["all"]
    title = _clean(routine_title or "")
    return words["one"].format(routine=title) if title else words["one_unnamed"]


def _check_locale(locale: str) -> Locale:
    for known in LOCALES:
        if locale == known:
            return known
    raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
