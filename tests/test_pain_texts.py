"""Pause messages: both languages, short, caring, in our own words, never 'push through'."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from heupreminder.catalog import LOCALES, STOP_IF_IT_HURTS, Locale
from heupreminder.pain.rest_messages import (
    MAX_MESSAGE_CHARS,
    caregiver_message,
    checkin_message,
    rest_message,
    rested_for,
    resume_message,
)
from heupreminder.policy.pain_facts import Decision
from tests.article import article_runs, word_runs

PAUSES = {
    "persisting": Decision("pause", None, "persisting", "r", (1, 2)),
    "rising": Decision("pause", None, "rising", "r", (1, 2, 3)),
    "severe": Decision("pause", None, "severe", "r", (1, 2), advise_care=True,
                       notify_caregiver=True),
    "scoped": Decision("pause", "bridge", "persisting", "r", (1, 2)),
    "escalate": Decision("escalate", None, "severe-while-paused", "r", (5,), pause_id=1,
                         advise_care=True, notify_caregiver=True,
                         paused_for=timedelta(hours=80)),
    "worsening": Decision("pause", None, "worsening", "r", (1, 2)),
    "severe-today": Decision("pause", None, "severe-today", "r", (1,),
                             until=datetime(2026, 3, 3, 23, 0, tzinfo=UTC)),
}
RESUMES = {
    "rested": Decision("resume", None, "rested", "r", (9,), pause_id=1),
    "manual": Decision("resume", "bridge", "manual", "r", (), pause_id=1),
}
CARE_WORDS = {"nl": ("huisarts", "fysiotherapeut"), "en": ("doctor", "physiotherapist")}
SORENESS_WORDS = {"nl": ("spierpijn", "dag na"), "en": ("soreness", "day after")}
# Phrases that would nudge someone to keep exercising while it hurts.
PUSHING = (
    "push through", "through the pain", "despite the pain", "no pain, no gain", "keep going",
    "don't give up", "tough it out", "doorzetten", "door de pijn", "ondanks de pijn",
    "zet door", "niet opgeven", "bijt door",
)


def all_messages(locale: Locale) -> Iterator[tuple[str, str]]:
    for decision in PAUSES.values():
        for supplements in (True, False):
            yield rest_message(locale, decision, "Bruggetje" if locale == "nl" else "Bridge",
                               has_supplements=supplements)
            yield rest_message(locale, decision, None, has_supplements=supplements)
        if decision.notify_caregiver:
            yield caregiver_message(locale, "Anna", decision)
            yield caregiver_message(locale, " ", decision, "Bridge")
    for decision in RESUMES.values():
        yield resume_message(locale, decision)
        yield resume_message(locale, decision, "Bridge")
    yield checkin_message(locale, "Anna")
    yield checkin_message(locale, "")
    yield checkin_message(locale, "Anna", by_hand=True)
    yield checkin_message(locale, "Anna", by_hand=True, until="05-03 10:00")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_short_and_filled_in(locale: Locale) -> None:
    for title, body in all_messages(locale):
        assert title.strip() and "\n" not in title and len(title) <= 80
        assert body.strip() and len(body) <= MAX_MESSAGE_CHARS, (len(body), body)
        assert "{" not in title + body and "  " not in body and not body[0].islower()


def test_dutch_and_english_differ() -> None:
    assert list(all_messages("nl")) != list(all_messages("en"))
    for nl, en in zip(all_messages("nl"), all_messages("en"), strict=True):
        assert nl != en


@pytest.mark.parametrize("locale", LOCALES)
def test_rest_message_says_rest_and_soreness_is_normal_only_without_care(locale: Locale) -> None:
    for decision in PAUSES.values():
        _, body = rest_message(locale, decision, None, has_supplements=True)
        says_normal = all(word in body.lower() for word in SORENESS_WORDS[locale])
        assert says_normal == (not decision.advise_care and decision.code != "severe-today"), body
        assert ("rust" if locale == "nl" else "rest") in body.lower()
        assert "supplement" in body.lower(), "supplement reminders keep going"


@pytest.mark.parametrize("locale", LOCALES)
def test_supplements_are_mentioned_only_to_people_who_have_them(locale: Locale) -> None:
    for decision in PAUSES.values():
        for title in (None, "Bridge"):
            _, body = rest_message(locale, decision, title, has_supplements=False)
            assert "supplement" not in body.lower(), body


@pytest.mark.parametrize("locale", LOCALES)
def test_rest_message_advises_care_only_when_asked(locale: Locale) -> None:
    for decision in PAUSES.values():
        _, body = rest_message(locale, decision, None)
        mentions_care = any(word in body.lower() for word in CARE_WORDS[locale])
        # A rest day says "if it stays this bad, see ..." without advising it now.
        assert mentions_care == (decision.advise_care or decision.code == "severe-today"), body
    care_title, _ = rest_message(locale, PAUSES["severe"], None)
    assert care_title != rest_message(locale, PAUSES["persisting"], None)[0]


def test_rest_message_says_why() -> None:
    assert "blijft pijn doen" in rest_message("nl", PAUSES["persisting"], None)[1]
    assert "erger" in rest_message("nl", PAUSES["rising"], None)[1]
    assert "keeps hurting" in rest_message("en", PAUSES["persisting"], None)[1]
    assert "getting worse" in rest_message("en", PAUSES["rising"], None)[1]
    assert "after 3 days of rest" in rest_message("en", PAUSES["escalate"], None)[1]
    assert "meer pijn dan de dag ervoor" in rest_message("nl", PAUSES["worsening"], None)[1]
    assert "more than it did the day before" in rest_message("en", PAUSES["worsening"],
                                                             None)[1]


@pytest.mark.parametrize(("hours", "nl", "en"), [
    (0.5, "ondanks de rust", "despite the rest"),
    (1, "na 1 uur rust", "after 1 hour of rest"),
    (23, "na 23 uur rust", "after 23 hours of rest"),
    (47, "na 47 uur rust", "after 47 hours of rest"),
    (74, "na 3 dagen rust", "after 3 days of rest"),
])
def test_escalation_says_the_real_time_rested(hours: float, nl: str, en: str) -> None:
    decision = replace(PAUSES["escalate"], paused_for=timedelta(hours=hours))
    assert nl in rest_message("nl", decision, None)[1]
    assert en in rest_message("en", decision, None)[1]
    assert nl in caregiver_message("nl", "Anna", decision)[1]
    assert en in caregiver_message("en", "Anna", decision)[1]
    assert rested_for("en", None) == "despite the rest"
    assert "several days" not in rest_message("en", decision, None)[1]


@pytest.mark.parametrize("locale", LOCALES)
def test_severe_today_says_rest_today_and_when_to_see_a_care_provider(locale: Locale) -> None:
    title, body = rest_message(locale, PAUSES["severe-today"], None)
    assert ("vandaag" if locale == "nl" else "today") in (title + body).lower()
    assert any(word in body for word in CARE_WORDS[locale])
    assert ("elke dag" if locale == "nl" else "every day") not in body  # no daily check-in


def test_rest_message_names_the_paused_routine() -> None:
    _, nl = rest_message("nl", PAUSES["scoped"], "Bruggetje")
    _, en = rest_message("en", PAUSES["scoped"], "Bridge")
    assert "“Bruggetje”" in nl and "“Bridge”" in en
    _, unnamed = rest_message("en", PAUSES["scoped"], "  ")
    assert "that exercise" in unnamed and "“" not in unnamed
    _, all_routines = rest_message("en", PAUSES["persisting"], "Bridge")
    assert "Bridge" not in all_routines and "exercise reminders" in all_routines


@pytest.mark.parametrize("locale", LOCALES)
def test_resume_message_builds_up_calmly_and_stops_if_it_hurts(locale: Locale) -> None:
    for decision in RESUMES.values():
        _, body = resume_message(locale, decision)
        assert body.endswith(STOP_IF_IT_HURTS[locale])
        assert ("rustig" if locale == "nl" else "calmly") in body
    assert "Bridge" in resume_message(locale, RESUMES["manual"], "Bridge")[1]
    rested_one = replace(RESUMES["rested"], scope="bridge")
    assert "“Bridge”" in resume_message(locale, rested_one, "Bridge")[1]


@pytest.mark.parametrize("locale", LOCALES)
def test_checkin_asks_how_the_hip_is(locale: Locale) -> None:
    title, body = checkin_message(locale, "  Anna  ", resume_level=3)
    assert "?" in title and "Anna" in body and "0" in body and "10" in body
    assert checkin_message(locale, "")[1][0].isupper()
    assert ("vanzelf" if locale == "nl" else "by themselves") in body and " 3 " in body


@pytest.mark.parametrize("locale", LOCALES)
def test_checkin_during_a_pause_by_hand_promises_no_restart_by_itself(locale: Locale) -> None:
    _, body = checkin_message(locale, "Anna", by_hand=True)
    assert ("vanzelf" if locale == "nl" else "by themselves") not in body
    assert ("zelf stilgezet" if locale == "nl" else "paused them yourself") in body
    _, until = checkin_message(locale, "Anna", by_hand=True, until="05-03 10:00")
    assert "05-03 10:00" in until


@pytest.mark.parametrize("locale", LOCALES)
def test_caregiver_message(locale: Locale) -> None:
    title, body = caregiver_message(locale, "Anna", PAUSES["severe"])
    assert "Anna" in title and body.startswith("Anna")
    assert any(word in body for word in CARE_WORDS[locale])
    assert ("alle oefenherinneringen" if locale == "nl" else "all their exercise") in \
        body.lower()
    _, later = caregiver_message(locale, "Anna", PAUSES["escalate"])
    assert later != body
    one = replace(PAUSES["severe"], scope="bridge")
    _, scoped = caregiver_message(locale, "Anna", one, "Bridge")
    assert "“Bridge”" in scoped and "alle" not in scoped.lower() and "all " not in scoped


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_encourages_pushing_through_pain(locale: Locale) -> None:
    for title, body in all_messages(locale):
        text = f"{title} {body}".lower()
        assert not [phrase for phrase in PUSHING if phrase in text], text


def test_wrong_decisions_and_locales_are_refused() -> None:
    with pytest.raises(ValueError, match="pause or escalate"):
        rest_message("en", RESUMES["rested"], None)
    with pytest.raises(ValueError, match="resume decision"):
        resume_message("en", PAUSES["persisting"])
    with pytest.raises(ValueError, match="locale"):
        checkin_message("de", "Anna")  # type: ignore[arg-type]


def test_no_dutch_text_is_copied_from_the_article() -> None:
    article = article_runs()  # fingerprints of the source article (tests/article.py)
    assert word_runs("Het is normaal dat je de dag na de training wat pijn voelt") & article
    for title, body in all_messages("nl"):
        assert not word_runs(f"{title} {body}") & article, body
