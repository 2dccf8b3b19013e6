"""The built-in catalog: complete, short, safe, side-aware, rotating, in our own words."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from heupreminder import catalog
from heupreminder.catalog import (
    CATALOG,
    LOCALES,
    MAX_BODY_CHARS,
    NOT_MEDICAL_ADVICE,
    STOP_IF_IT_HURTS,
    CatalogEntry,
    custom_body,
    describe_catalog,
    get_entry,
)
from tests.article import article_runs, word_runs

SIDE_CHOICES = (None, "left", "right")
EXPECTED_KEYS = [
    "bridge",
    "inner-thigh-squeeze",
    "outer-thigh",
    "hip-stretch",
    "walk",
    "magnesium",
    "glucosamine",
    "nutrition-tip",
]
TIP = CATALOG["nutrition-tip"]
TIP_COUNT = len(TIP.texts["nl"].bodies)


def all_bodies(entry: CatalogEntry, locale: catalog.Locale) -> Iterator[str]:
    """Every body the entry can produce: each side and each rotation."""
    for side in SIDE_CHOICES:
        for rotation in range(len(entry.texts[locale].bodies)):
            yield entry.body(locale, side=side, rotation=rotation)


def test_catalog_has_the_listed_entries_in_order() -> None:
    assert list(CATALOG) == EXPECTED_KEYS
    assert all(key == entry.key for key, entry in CATALOG.items())
    assert [key for key, e in CATALOG.items() if e.side_aware] == ["hip-stretch"]
    assert get_entry("bridge") is CATALOG["bridge"]
    assert get_entry("no-such-thing") is None


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_every_entry_has_short_non_empty_texts(key: str, locale: catalog.Locale) -> None:
    entry = CATALOG[key]
    for side in SIDE_CHOICES:
        title = entry.title(locale, side=side)
        assert title.strip() and len(title) <= 80
    assert entry.summary(locale).strip() and "\n" not in entry.summary(locale)
    for body in all_bodies(entry, locale):
        assert body.strip()
        assert len(body) <= MAX_BODY_CHARS, (key, locale, len(body))
        assert "{" not in body and "}" not in body  # templates all filled in


def test_dutch_and_english_texts_differ() -> None:
    for entry in CATALOG.values():
        assert entry.body("nl") != entry.body("en")
        assert entry.texts["nl"].bodies != entry.texts["en"].bodies


def test_stop_line_wording() -> None:
    assert "pijn" in STOP_IF_IT_HURTS["nl"].lower()
    assert "hurt" in STOP_IF_IT_HURTS["en"].lower()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", [k for k, e in CATALOG.items() if e.kind == "exercise"])
def test_every_exercise_ends_with_stop_if_it_hurts(key: str, locale: catalog.Locale) -> None:
    for body in all_bodies(CATALOG[key], locale):
        assert body.endswith(STOP_IF_IT_HURTS[locale])


@pytest.mark.parametrize(("locale", "words"), [("nl", ("arts",)), ("en", ("doctor",))])
def test_supplements_say_ask_your_doctor(locale: catalog.Locale, words: tuple[str, ...]) -> None:
    supplements = [e for e in CATALOG.values() if e.kind == "supplement"]
    assert {e.key for e in supplements} == {"magnesium", "glucosamine"}
    for entry in supplements:
        body = entry.body(locale).lower()
        assert any(word in body for word in words), entry.key
        assert STOP_IF_IT_HURTS[locale] not in entry.body(locale)


def test_hip_stretch_right_side() -> None:
    stretch = CATALOG["hip-stretch"]
    nl, en = stretch.body("nl", side="right"), stretch.body("en", side="right")
    assert "rechterknie" in nl and "naar links" in nl and "linker" not in nl
    assert "right knee" in en and "to the left" in en and "left knee" not in en
    assert stretch.title("nl", side="right") == "Heupstretch (rechts)"
    assert stretch.title("en", side="right") == "Hip stretch (right)"


def test_hip_stretch_left_side_is_mirrored() -> None:
    stretch = CATALOG["hip-stretch"]
    nl, en = stretch.body("nl", side="left"), stretch.body("en", side="left")
    assert "linkerknie" in nl and "naar rechts" in nl and "rechter" not in nl
    assert "left knee" in en and "to the right" in en and "right knee" not in en
    assert stretch.title("nl", side="left") == "Heupstretch (links)"
    assert stretch.title("en", side="left") == "Hip stretch (left)"


def test_hip_stretch_without_side_is_generic() -> None:
    stretch = CATALOG["hip-stretch"]
    for locale in LOCALES:
        body = stretch.body(locale)
        assert "30" in body
        assert body not in (stretch.body(locale, "left"), stretch.body(locale, "right"))
    assert "andere kant" in stretch.body("nl")
    assert "other side" in stretch.body("en")
    assert not re.search(r"\b(links|rechts|linker|rechter)", stretch.body("nl"))
    assert not re.search(r"\b(left|right)\b", stretch.body("en"))
    assert stretch.title("nl") == "Heupstretch"


def test_side_is_ignored_by_entries_that_are_not_side_aware() -> None:
    bridge = CATALOG["bridge"]
    assert bridge.body("en", side="left") == bridge.body("en")
    assert bridge.title("nl", side="right") == bridge.title("nl")


@pytest.mark.parametrize("bad_side", ["links", "Right", ""])
def test_unknown_side_is_refused(bad_side: str) -> None:
    with pytest.raises(ValueError, match="side"):
        CATALOG["hip-stretch"].body("nl", side=bad_side)
    with pytest.raises(ValueError, match="side"):
        CATALOG["bridge"].title("nl", side=bad_side)


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="locale"):
        CATALOG["bridge"].body("de")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="locale"):
        custom_body("Squats", "fr")  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", LOCALES)
def test_nutrition_tip_rotates(locale: catalog.Locale) -> None:
    tips = [TIP.body(locale, rotation=i) for i in range(TIP_COUNT)]
    assert TIP_COUNT >= 6
    assert len(set(tips)) == TIP_COUNT
    for i in range(3 * TIP_COUNT):
        assert TIP.body(locale, rotation=i) != TIP.body(locale, rotation=i + 1)
    assert TIP.body(locale, rotation=TIP_COUNT) == tips[0]
    assert TIP.body(locale, rotation=TIP_COUNT * 1000 + 2) == tips[2]
    assert TIP.body(locale, rotation=-1) == tips[-1]


def test_rotation_does_not_change_single_body_entries() -> None:
    bridge = CATALOG["bridge"]
    assert bridge.body("nl", rotation=5) == bridge.body("nl")


@pytest.mark.parametrize("locale", LOCALES)
def test_custom_body_appends_stop_line_to_exercises(locale: catalog.Locale) -> None:
    stop = STOP_IF_IT_HURTS[locale]
    text = "  10 squats against the wall  "
    assert custom_body(text, locale) == f"10 squats against the wall\n{stop}"
    assert custom_body("Squats", locale, kind="exercise").endswith(stop)


@pytest.mark.parametrize("locale", LOCALES)
def test_custom_body_does_not_repeat_the_stop_line(locale: catalog.Locale) -> None:
    stop = STOP_IF_IT_HURTS[locale]
    text = f"Squats. {stop.upper()}"
    assert custom_body(text, locale) == text
    assert custom_body(f"Squats.\n{stop.rstrip('.')}!", locale).count("\n") == 1


@pytest.mark.parametrize("kind", ["supplement", "tip"])
def test_custom_body_leaves_other_kinds_alone(kind: catalog.Kind) -> None:
    assert custom_body("Vitamin D, 1 tablet", "en", kind=kind) == "Vitamin D, 1 tablet"
    assert "pijn" not in custom_body("Vitamine D, 1 tablet", "nl", kind=kind)


def test_custom_body_refuses_blank_text_and_unknown_kind() -> None:
    with pytest.raises(ValueError, match="empty"):
        custom_body("   ", "nl")
    with pytest.raises(ValueError, match="kind"):
        custom_body("Squats", "nl", kind="stretch")  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", LOCALES)
def test_send_test_message(locale: catalog.Locale) -> None:
    title, body = catalog.test_message(locale, "Anna")
    assert "heupreminder" in title and "heupreminder" in body
    assert "Anna" in body and len(body) <= MAX_BODY_CHARS
    assert ("test" in body.lower()) and ("herinneringen" in body or "reminders" in body)
    _, anonymous = catalog.test_message(locale, "  ")
    assert anonymous and "  " not in anonymous and "{" not in anonymous


def test_not_medical_advice_is_one_sentence() -> None:
    assert "medisch advies" in NOT_MEDICAL_ADVICE["nl"] and "arts" in NOT_MEDICAL_ADVICE["nl"]
    assert "medical advice" in NOT_MEDICAL_ADVICE["en"] and "doctor" in NOT_MEDICAL_ADVICE["en"]
    for sentence in NOT_MEDICAL_ADVICE.values():
        assert "\n" not in sentence and sentence.endswith(".")
        assert sentence.count(". ") == 0


@pytest.mark.parametrize("locale", LOCALES)
def test_describe_catalog(locale: catalog.Locale) -> None:
    rows = describe_catalog(locale)
    assert [key for key, _, _ in rows] == EXPECTED_KEYS
    assert all(kind in catalog.KINDS and summary for _, kind, summary in rows)


# --- our own words: no 8-word run of a Dutch text may come from the source article ---

def dutch_texts() -> Iterator[str]:
    for entry in CATALOG.values():
        yield entry.title("nl", side="right")
        yield entry.summary("nl")
        yield from all_bodies(entry, "nl")
    yield NOT_MEDICAL_ADVICE["nl"]
    yield from catalog.test_message("nl", "Anna")


def test_no_dutch_text_is_copied_from_the_article() -> None:
    article = article_runs()  # fingerprints: the article itself stays outside the repository
    # The guard can see a copied sentence, so an empty result below means something.
    assert word_runs("Hou dit gedurende 30 seconden vast. Daarna herhaal je de oefening") & article
    for text in dutch_texts():
        assert not word_runs(text) & article, text


def test_catalog_command_lists_every_entry_and_the_disclaimer() -> None:
    from click.testing import CliRunner

    from heupreminder.cli import main

    for locale in ("en", "nl"):
        result = CliRunner().invoke(main, ["catalog", "--locale", locale])
        assert result.exit_code == 0
        listed = [line.split()[0] for line in result.output.splitlines()[: len(CATALOG)]]
        assert listed == list(CATALOG)
        assert NOT_MEDICAL_ADVICE[locale] in result.output  # type: ignore[index]
