"""Messages about pain pauses, in Dutch and English, in our own words.

Contracts:

- Every function returns ``(title, body)``; titles are one line, bodies at most
  ``MAX_MESSAGE_CHARS`` characters, short enough for a push notification.
- Nothing here ever encourages exercising through pain: rest texts say rest, resume texts
  say to build up calmly and end with the catalog's stop-if-it-hurts line.
- Every sentence is true for the decision it goes with: an escalation says how long the
  rest really lasted; a one-routine pause or resume names that routine; the caregiver is
  told exactly what is on hold; a message with care advice does not call the pain normal
  soreness; supplements are mentioned only to people who have them; a check-in promises
  that exercises come back by themselves only when the policy (not a hand) paused them.
- An unknown locale raises ``ValueError``; so does a decision of the wrong kind
  (``rest_message`` takes "pause" or "escalate", ``resume_message`` takes "resume").
- A blank person name or routine title is left out rather than shown empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from heupreminder.catalog import STOP_IF_IT_HURTS
from heupreminder.locales import Locale, check_locale
from heupreminder.policy.pain_facts import MANUAL, SEVERE_TODAY, Decision

MAX_MESSAGE_CHARS = 600

_SPACE = re.compile(r"\s+")

# Why the routines stopped, by decision code.
_WHY: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "persisting": "Je heup blijft pijn doen",
        "rising": "De pijn in je heup wordt erger",
        "worsening": "Je heup doet meer pijn dan de dag ervoor",
        "severe": "Je hebt op meer dan één dag veel pijn in je heup gehad",
        "escalate": "Je heup doet {rested} nog steeds veel pijn",
    },
    "en": {
        "persisting": "Your hip keeps hurting",
        "rising": "Your hip pain is getting worse",
        "worsening": "Your hip hurts more than it did the day before",
        "severe": "Your hip has been very painful on more than one day",
        "escalate": "Your hip still hurts a lot {rested}",
    },
}

# How long a pause has really lasted, for "still hurts after ...".
_RESTED: Mapping[Locale, Mapping[str, str]] = {
    "nl": {"short": "ondanks de rust", "hour": "na 1 uur rust", "hours": "na {n} uur rust",
           "days": "na {n} dagen rust"},
    "en": {"short": "despite the rest", "hour": "after 1 hour of rest",
           "hours": "after {n} hours of rest", "days": "after {n} days of rest"},
}

_REST: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "Even rust voor je heup",
        "title_care": "Laat je heup nakijken",
        "title_today": "Vandaag rust voor je heup",
        "all": "je oefenherinneringen",
        "one": "je herinneringen voor “{routine}”",
        "one_unnamed": "je herinneringen voor die oefening",
        "paused": "{why}, dus {what} staan voorlopig stil. Geef je heup nu rust en de tijd "
        "om te herstellen.",
        "kept": "{why}. {what} blijven stilstaan.",
        "today": "Je meldde veel pijn, dus {what} staan de rest van vandaag stil. Gun je heup "
        "rust. Blijft de pijn zo erg, ga dan naar je huisarts of fysiotherapeut.",
        "soreness": "Een beetje spierpijn de dag na het oefenen is heel gewoon; houdt de pijn "
        "aan of wordt die erger, dan kun je beter rusten.",
        "care": "Maak een afspraak met je huisarts of fysiotherapeut, zodat die naar deze "
        "pijn kan kijken.",
        "supplements": "De herinneringen voor je supplementen gaan gewoon door.",
        "others": "Je andere herinneringen gaan gewoon door.",
        "others_supplements": "Je andere herinneringen, ook die voor je supplementen, gaan "
        "gewoon door.",
        "ask": "We vragen je elke dag hoe het met je heup gaat.",
    },
    "en": {
        "title": "Time to rest your hip",
        "title_care": "Have your hip checked",
        "title_today": "Rest your hip today",
        "all": "your exercise reminders",
        "one": "your “{routine}” reminders",
        "one_unnamed": "your reminders for that exercise",
        "paused": "{why}, so {what} are on hold for now. Give your hip rest and time to "
        "recover.",
        "kept": "{why}. {what} stay on hold.",
        "today": "You reported severe pain, so {what} are on hold for the rest of today. Let "
        "your hip rest. If it stays this bad, see your doctor or physiotherapist.",
        "soreness": "Some soreness the day after exercising is quite normal; when the pain "
        "lingers or grows, rest is the better choice.",
        "care": "Please make an appointment with your doctor or physiotherapist to have this "
        "pain looked at.",
        "supplements": "Your supplement reminders carry on as usual.",
        "others": "Your other reminders carry on as usual.",
        "others_supplements": "Your other reminders, supplements included, carry on as "
        "usual.",
        "ask": "We will ask you every day how your hip is doing.",
    },
}

_RESUME: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "Je oefeningen gaan weer van start",
        "rested": "Je heup heeft rust gehad en je meldde weinig pijn, dus {what} komen terug.",
        "manual": "{what} staan weer aan.",
        "calm": "Bouw het rustig op: begin voorzichtig en doe het de eerste dagen kalm aan.",
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
        "resting": "je oefeningen staan nog even stil.",
        "ask": "Hoe voelt je heup vandaag? Geef je pijn een cijfer van 0 (geen pijn) tot 10 "
        "(ergste pijn).",
        "policy": "Heeft je heup lang genoeg gerust en is je laatste pijncijfer van het "
        "afgelopen etmaal een {level} of lager, dan starten je oefeningen vanzelf weer.",
        "by_hand": "Je hebt ze zelf stilgezet; ze komen terug als je ze weer aanzet.",
        "by_hand_until": "Je hebt ze zelf stilgezet tot {until}; je kunt ze ook eerder weer "
        "aanzetten.",
    },
    "en": {
        "title": "How is your hip today?",
        "greeting": "Hi {name},",
        "resting": "your exercises are still resting.",
        "ask": "How does your hip feel today? Give your pain a number from 0 (no pain) to 10 "
        "(worst pain).",
        "policy": "Once your hip has rested long enough and your latest pain score, from the "
        "past day, is {level} or lower, your exercises start again by themselves.",
        "by_hand": "You paused them yourself; they come back when you switch them on again.",
        "by_hand_until": "You paused them yourself until {until}; you can also switch them "
        "on earlier.",
    },
}

_CAREGIVER: Mapping[Locale, Mapping[str, str]] = {
    "nl": {
        "title": "heupreminder: bericht over {name}",
        "someone": "Iemand voor wie je zorgt",
        "pause": "{name} heeft op meer dan één dag veel pijn in de heup gemeld.",
        "escalate": "{name} meldt {rested} nog steeds veel pijn in de heup.",
        "all": "Alle oefenherinneringen staan stil",
        "one": "De herinneringen voor “{routine}” staan stil (de andere oefeningen gaan door)",
        "one_unnamed": "De herinneringen voor één oefening staan stil (de andere oefeningen "
        "gaan door)",
        "rest": "{what}, en we hebben aangeraden om naar de huisarts of fysiotherapeut te "
        "gaan. Misschien wil je even contact opnemen.",
    },
    "en": {
        "title": "heupreminder: a note about {name}",
        "someone": "Someone you care for",
        "pause": "{name} has reported severe hip pain on more than one day.",
        "escalate": "{name} still reports severe hip pain {rested}.",
        "all": "All their exercise reminders are on hold",
        "one": "Their “{routine}” reminders are on hold (their other exercises carry on)",
        "one_unnamed": "The reminders for one of their exercises are on hold (the others "
        "carry on)",
        "rest": "{what}, and we have advised them to see their doctor or physiotherapist. "
        "You may want to check in with them.",
    },
}


def rested_for(locale: Locale, paused_for: timedelta | None) -> str:
    """How long the rest really lasted, as words: "after 23 hours of rest"."""
    words = _RESTED[check_locale(locale)]
    hours = int(paused_for.total_seconds() // 3600) if paused_for is not None else 0
    if hours < 1:
        return words["short"]
    if hours == 1:
        return words["hour"]
    if hours < 48:
        return words["hours"].format(n=hours)
    return words["days"].format(n=hours // 24)


def rest_message(locale: Locale, decision: Decision, routine_title: str | None, *,
                 has_supplements: bool = False) -> tuple[str, str]:
    """Tell a person why their exercises paused (or stay paused, for an escalation) and to rest.

    ``routine_title`` names the paused routine when ``decision.scope`` is a routine; it is
    ignored for all-routines pauses. Adds the care-provider advice when
    ``decision.advise_care`` (and then leaves out that soreness is normal).
    ``has_supplements``: whether the person has supplement reminders that carry on.
    """
    words = _REST[check_locale(locale)]
    what = _what(words, decision, routine_title)
    if decision.action == "pause" and decision.code == SEVERE_TODAY:
        parts = [words["today"].format(what=what)]
        if has_supplements:
            parts.append(words["supplements"])
        return words["title_today"], " ".join(parts)
    if decision.action == "pause":
        why = _WHY[locale].get(decision.code, _WHY[locale]["persisting"])
        parts = [words["paused"].format(why=why, what=what)]
    elif decision.action == "escalate":
        why = _WHY[locale]["escalate"].format(rested=rested_for(locale, decision.paused_for))
        parts = [words["kept"].format(why=why, what=_capital(what))]
    else:
        raise ValueError(
            f"rest_message needs a pause or escalate decision, not {decision.action!r}"
        )
    parts.append(words["care"] if decision.advise_care else words["soreness"])
    if decision.scope is not None:
        parts.append(words["others_supplements"] if has_supplements else words["others"])
    elif has_supplements:
        parts.append(words["supplements"])
    parts.append(words["ask"])
    title = words["title_care"] if decision.advise_care else words["title"]
    return title, " ".join(parts)


def resume_message(locale: Locale, decision: Decision,
                   routine_title: str | None = None) -> tuple[str, str]:
    """Tell a person their exercises are back: build up calmly, stop if it hurts."""
    words = _RESUME[check_locale(locale)]
    if decision.action != "resume":
        raise ValueError(f"resume_message needs a resume decision, not {decision.action!r}")
    what = _what(_REST[locale], decision, routine_title)
    key = "manual" if decision.code == MANUAL else "rested"
    first = words[key].format(what=what)
    body = " ".join((_capital(first), words["calm"], STOP_IF_IT_HURTS[locale]))
    return words["title"], body


def checkin_message(locale: Locale, person_name: str, *, by_hand: bool = False,
                    until: str | None = None, resume_level: int = 2) -> tuple[str, str]:
    """The gentle daily question while paused: how is your hip today?

    ``by_hand``: the only pauses are ones set by hand (they do not end by a report);
    ``until``: when such a pause ends by itself, already written for the person.
    Otherwise says how the policy lets the exercises come back (``resume_level``).
    """
    words = _CHECKIN[check_locale(locale)]
    if by_hand:
        how = words["by_hand_until"].format(until=until) if until else words["by_hand"]
    else:
        how = words["policy"].format(level=resume_level)
    body = f"{words['resting']} {words['ask']} {how}"
    name = _clean(person_name)
    if name:
        return words["title"], f"{words['greeting'].format(name=name)} {body}"
    return words["title"], _capital(body)


def caregiver_message(locale: Locale, person_name: str, decision: Decision,
                      routine_title: str | None = None) -> tuple[str, str]:
    """Let a caregiver know the person reported severe pain, what is on hold, and that they
    were advised to seek care."""
    words = _CAREGIVER[check_locale(locale)]
    name = _clean(person_name)
    title = words["title"].format(name=name or words["someone"].lower())
    who = name or words["someone"]
    if decision.action == "escalate":
        first = words["escalate"].format(name=who,
                                         rested=rested_for(locale, decision.paused_for))
    else:
        first = words["pause"].format(name=who)
    return title, f"{first} {words['rest'].format(what=_what(words, decision, routine_title))}"


def _what(words: Mapping[str, str], decision: Decision, routine_title: str | None) -> str:
    if decision.scope is None:
        return words["all"]
    title = _clean(routine_title or "")
    return words["one"].format(routine=title) if title else words["one_unnamed"]



def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
