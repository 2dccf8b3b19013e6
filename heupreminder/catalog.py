"""The built-in catalog: every reminder text heupreminder ships, in Dutch and English.

The facts come from the source article (see ``seed/FACTS.md``); every sentence here is
our own wording. Texts are plain data; the few functions below only pick, fill in and
append to them. Contracts:

- ``CatalogEntry.body()`` of an exercise always ends with ``STOP_IF_IT_HURTS``.
- Every title and body fits in a push notification (``MAX_BODY_CHARS``).
- ``side`` is ``None``, ``"left"`` or ``"right"`` (the side that hurts); anything else
  raises ``ValueError``. Entries that are not side-aware ignore it.
- An unknown locale raises ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from heupreminder.locales import LOCALES as LOCALES  # re-exported: the catalog's languages
from heupreminder.locales import Locale as Locale
from heupreminder.locales import check_locale

Kind = Literal["exercise", "supplement", "tip"]

KINDS: tuple[Kind, ...] = get_args(Kind)
SIDES = ("left", "right")
MAX_BODY_CHARS = 400

STOP_IF_IT_HURTS: Mapping[Locale, str] = MappingProxyType(
    {
        "nl": "Stop zodra het pijn doet.",
        "en": "Stop as soon as it hurts.",
    }
)

NOT_MEDICAL_ADVICE: Mapping[Locale, str] = MappingProxyType(
    {
        "nl": "heupreminder herinnert je alleen aan je oefeningen en geeft geen medisch advies: "
        "vraag je huisarts of fysiotherapeut om raad.",
        "en": "heupreminder only reminds you of your routines and is not medical advice: "
        "ask your doctor or physiotherapist.",
    }
)


@dataclass(frozen=True)
class EntryTexts:
    """One entry's texts in one language.

    ``bodies`` holds one body, or several that rotate (see ``CatalogEntry.body``).
    Bodies of side-aware entries are templates with ``{knee}`` and ``{lean}``.
    The stop-if-it-hurts line is not part of the data: ``body()`` appends it.
    """

    title: str
    summary: str
    bodies: tuple[str, ...]


# Words filled into side-aware templates; None is "the side that hurts", generically.
_SIDE_WORDS: Mapping[Locale, Mapping[str | None, Mapping[str, str]]] = {
    "nl": {
        "right": {"knee": "je rechterknie", "lean": "naar links"},
        "left": {"knee": "je linkerknie", "lean": "naar rechts"},
        None: {"knee": "de knie aan de kant die pijn doet", "lean": "naar de andere kant"},
    },
    "en": {
        "right": {"knee": "your right knee", "lean": "to the left"},
        "left": {"knee": "your left knee", "lean": "to the right"},
        None: {"knee": "the knee of the side that hurts", "lean": "to the other side"},
    },
}

_SIDE_LABELS: Mapping[Locale, Mapping[str, str]] = {
    "nl": {"left": "links", "right": "rechts"},
    "en": {"left": "left", "right": "right"},
}


@dataclass(frozen=True)
class CatalogEntry:
    """A built-in reminder: an exercise, a supplement or a (rotating) tip."""

    key: str
    kind: Kind
    side_aware: bool
    texts: Mapping[Locale, EntryTexts] = field(repr=False, compare=False)

    def title(self, locale: Locale, side: str | None = None) -> str:
        """The notification title, e.g. "Heupstretch (rechts)" for a side-aware entry."""
        texts = self.texts[check_locale(locale)]
        side = _check_side(side)
        if self.side_aware and side is not None:
            return f"{texts.title} ({_SIDE_LABELS[locale][side]})"
        return texts.title

    def body(self, locale: Locale, side: str | None = None, rotation: int = 0) -> str:
        """The notification body; ``rotation`` picks a variant (modulo their number)."""
        texts = self.texts[check_locale(locale)]
        side = _check_side(side)
        text = texts.bodies[rotation % len(texts.bodies)]
        if self.side_aware:
            text = text.format_map(_SIDE_WORDS[locale][side])
        if self.kind == "exercise":
            text = f"{text}\n{STOP_IF_IT_HURTS[locale]}"
        return text

    def summary(self, locale: Locale) -> str:
        """A one-line description for ``heupreminder catalog``."""
        return self.texts[check_locale(locale)].summary


def _check_side(side: str | None) -> str | None:
    if side is not None and side not in SIDES:
        raise ValueError(f"unknown side {side!r}; expected None, 'left' or 'right'")
    return side


def _entry(
    key: str, kind: Kind, nl: EntryTexts, en: EntryTexts, *, side_aware: bool = False
) -> CatalogEntry:
    return CatalogEntry(key, kind, side_aware, MappingProxyType({"nl": nl, "en": en}))


_ENTRIES = (
    _entry(
        "bridge",
        "exercise",
        nl=EntryTexts(
            title="Ochtendbrug",
            summary="De brug voor 's ochtends: maakt je spieren wakker en is goed voor je houding.",
            bodies=(
                "Tijd voor de brug. Ga op je rug liggen met je knieën gebogen en je voeten "
                "plat op de vloer. Span je billen aan en duw je heupen omhoog, houd dat een paar "
                "tellen vast en laat ze dan langzaam weer zakken. Doe dit zo'n 10 keer. Je "
                "spieren worden er wakker van en je staat de rest van de dag steviger rechtop.",
            ),
        ),
        en=EntryTexts(
            title="Morning bridge",
            summary="Bridge in the morning: wakes up your muscles and helps your posture.",
            bodies=(
                "Time for the bridge. Lie on your back, knees bent, feet flat on "
                "the floor. Squeeze your buttocks and lift your hips, hold for a few seconds, "
                "then lower slowly. Do this about 10 times. It wakes up your muscles and helps "
                "you stand tall for the rest of the day.",
            ),
        ),
    ),
    _entry(
        "inner-thigh-squeeze",
        "exercise",
        nl=EntryTexts(
            title="Bal knijpen (binnenkant dij)",
            summary="Een bal tussen je knieën samenknijpen, voor de spieren aan de binnenkant van "
            "je dij.",
            bodies=(
                "Ga op je rug liggen met gebogen knieën en klem een bal tussen je knieën, "
                "bijvoorbeeld een voetbal die niet te veel veert. Knijp de bal samen, houd even "
                "vast en laat weer los; herhaal dit zo'n 10 keer. De spieren aan de binnenkant "
                "van je dij geven je heup steun.",
            ),
        ),
        en=EntryTexts(
            title="Ball squeeze (inner thigh)",
            summary="Squeeze a ball between your knees to train your inner thigh.",
            bodies=(
                "Lie on your back with your knees bent and put a ball between them, for example "
                "a football that is not too bouncy. Squeeze the ball, hold for a moment and let "
                "go; repeat about 10 times. The muscles on the inside of your thigh help support "
                "your hip.",
            ),
        ),
    ),
    _entry(
        "outer-thigh",
        "exercise",
        nl=EntryTexts(
            title="Buitenkant dij versterken",
            summary="Op je zij liggend je been optillen, voor sterkere spieren aan de buitenkant "
            "van je dij.",
            bodies=(
                "Ga op je zij liggen met je onderste knie licht gebogen. Til je bovenste been "
                "gestrekt een stukje op, houd kort vast en laat het rustig zakken. Doe dit zo'n "
                "10 keer en wissel dan van kant. Heb je heupartrose, dan is het juist goed om de "
                "spieren aan de buitenkant van je dij te versterken.",
            ),
        ),
        en=EntryTexts(
            title="Outer thigh strengthening",
            summary="Side-lying leg lifts to strengthen the outside of your thigh.",
            bodies=(
                "Lie on your side with your lower knee slightly bent. Lift your straight upper "
                "leg a little, hold briefly and lower it slowly. Do about 10, then switch sides. "
                "With hip osteoarthritis, the muscles on the outside of your thigh are the ones "
                "to build up.",
            ),
        ),
    ),
    _entry(
        "hip-stretch",
        "exercise",
        side_aware=True,
        nl=EntryTexts(
            title="Heupstretch",
            summary="Rekoefening voor de heup, geknield: 30 seconden vasthouden, één of twee keer "
            "herhalen.",
            bodies=(
                "Kniel op {knee} en houd je vast aan iets stevigs. Kantel je bekken naar voren "
                "en span je billen aan. Leun dan {lean} tot je bovenaan je heupbot rek voelt. "
                "Houd dat 30 seconden vast en doe het daarna nog één of twee keer.",
            ),
        ),
        en=EntryTexts(
            title="Hip stretch",
            summary="Kneeling hip stretch: hold 30 seconds, repeat once or twice.",
            bodies=(
                "Kneel on {knee} and hold on to something sturdy. Tilt your pelvis forward while "
                "tightening your buttocks. Then lean {lean} until you feel a stretch at the top "
                "of your hip bone. Hold it for 30 seconds, then repeat once or twice.",
            ),
        ),
    ),
    _entry(
        "walk",
        "exercise",
        nl=EntryTexts(
            title="Wandelen",
            summary="Een wandeling: beweging die je heupen weinig belast.",
            bodies=(
                "Tijd voor een wandeling! Wandelen belast je heupen maar weinig. Heb je "
                "artritis of een slijmbeursontsteking, kies dan voor wandelen in plaats van "
                "hardlopen of springen: harde schokken kunnen gevoelige gewrichten laten "
                "opzwellen. Begin rustig en bouw het langzaam op.",
            ),
        ),
        en=EntryTexts(
            title="Go for a walk",
            summary="A walk: exercise that is gentle on your hips.",
            bodies=(
                "Time for a walk! Walking is gentle on your hips. If you have arthritis or "
                "bursitis, choose walking over running and jumping: hard impacts can make "
                "sensitive joints swell. Start easy and build up gradually.",
            ),
        ),
    ),
    _entry(
        "magnesium",
        "supplement",
        nl=EntryTexts(
            title="Magnesium",
            summary="Herinnering voor je magnesium (overleg eerst met je huisarts).",
            bodies=(
                "Tijd voor je magnesium. Je spieren hebben magnesium nodig om samen te trekken "
                "en weer te ontspannen, en het speelt ook een rol bij je zenuwen en je energie. "
                "Wil je met een nieuw supplement beginnen? Overleg dan eerst met je huisarts.",
            ),
        ),
        en=EntryTexts(
            title="Magnesium",
            summary="Reminder for your magnesium (ask your doctor first).",
            bodies=(
                "Time for your magnesium. Your muscles need it to contract and relax again, "
                "and it also plays a part in your nerves and your energy. New to a supplement? "
                "Ask your doctor first.",
            ),
        ),
    ),
    _entry(
        "glucosamine",
        "supplement",
        nl=EntryTexts(
            title="Glucosamine",
            summary="Herinnering voor je glucosamine (overleg eerst met je huisarts).",
            bodies=(
                "Tijd voor je glucosamine. Glucosaminesulfaat wordt gebruikt om het kraakbeen "
                "in je gewrichten te ondersteunen. Wil je met een nieuw supplement beginnen? "
                "Overleg dan eerst met je huisarts.",
            ),
        ),
        en=EntryTexts(
            title="Glucosamine",
            summary="Reminder for your glucosamine (ask your doctor first).",
            bodies=(
                "Time for your glucosamine. Glucosamine sulfate is taken to support the "
                "cartilage in your joints. New to a supplement? Ask your doctor first.",
            ),
        ),
    ),
    _entry(
        "nutrition-tip",
        "tip",
        nl=EntryTexts(
            title="Voedingstip",
            summary="Elke keer een andere tip over eten voor sterke botten en gewrichten.",
            bodies=(
                "Zet deze week eens vis op het menu: vis levert ijzer en fosfor, en daar hebben "
                "je botten en gewrichten baat bij.",
                "Vitamine A, C en D helpen je lichaam collageen te maken, een bouwstof van je "
                "gewrichten. Zorg dat ze in je maaltijden zitten.",
                "Pak vandaag eens een sinaasappel of mandarijn: citrusvruchten worden genoemd "
                "als fruit dat kan helpen tegen zwelling in je gewrichten.",
                "Zin in iets zoets? Mango, ananas, meloen en aardbeien zijn fruitsoorten die "
                "vaak worden aangeraden bij gezwollen gewrichten.",
                "Kook vandaag eens met wortel, artisjok of knoflook: die staan erom bekend dat "
                "ze zwelling in je gewrichten helpen tegengaan.",
                "Een gevarieerd, evenwichtig eetpatroon is de basis voor sterke botten en "
                "gewrichten. Hoe kleurrijk is jouw bord vandaag?",
            ),
        ),
        en=EntryTexts(
            title="Nutrition tip",
            summary="A different tip each time about food for strong bones and joints.",
            bodies=(
                "Put fish on the menu this week: it gives you iron and phosphorus, which your "
                "bones and joints benefit from.",
                "Vitamins A, C and D help your body make collagen, a building block of your "
                "joints. Make sure your meals include them.",
                "Have an orange or a mandarin today: citrus fruit is named among the foods that "
                "may help against swelling in your joints.",
                "Fancy something sweet? Mango, pineapple, melon and strawberries are fruits "
                "often suggested for swollen joints.",
                "Cook with carrot, artichoke or garlic today: vegetables known for helping to "
                "ease swelling in your joints.",
                "A varied, balanced diet is the foundation for strong bones and joints. How "
                "colourful is your plate today?",
            ),
        ),
    ),
)

CATALOG: Mapping[str, CatalogEntry] = MappingProxyType({e.key: e for e in _ENTRIES})


def get_entry(key: str) -> CatalogEntry | None:
    """The built-in entry called ``key``, or None if there is none."""
    return CATALOG.get(key)


def describe_catalog(locale: Locale) -> list[tuple[str, str, str]]:
    """(key, kind, one-line summary) for every entry, in catalog order."""
    return [(e.key, e.kind, e.summary(locale)) for e in CATALOG.values()]


def _normalise(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!")


def custom_body(text: str, locale: Locale, kind: Kind = "exercise") -> str:
    """The body for a custom routine text.

    Exercises get ``STOP_IF_IT_HURTS`` on a line of its own, unless the text already
    contains that line (case and whitespace ignored). Raises ValueError for a blank text.
    """
    stop_line = STOP_IF_IT_HURTS[check_locale(locale)]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    text = text.strip()
    if not text:
        raise ValueError("custom reminder text is empty")
    if kind == "exercise" and _normalise(stop_line) not in _normalise(text):
        return f"{text}\n{stop_line}"
    return text


_TEST_MESSAGE: Mapping[Locale, tuple[str, str, str]] = {
    # (title, greeting with a name, body after the greeting)
    "nl": (
        "Testbericht van heupreminder",
        "Hoi {name}!",
        "Dit is een test van heupreminder. Zo komen je herinneringen bij je binnen.",
    ),
    "en": (
        "Test message from heupreminder",
        "Hi {name}!",
        "This is a test from heupreminder. Your reminders will arrive like this.",
    ),
}

_RE_SPACE = re.compile(r"\s+")


def test_message(locale: Locale, person_name: str) -> tuple[str, str]:
    """(title, body) of the ``send-test`` message, greeting ``person_name`` if given."""
    title, greeting, body = _TEST_MESSAGE[check_locale(locale)]
    name = _RE_SPACE.sub(" ", person_name).strip()
    if name:
        return title, f"{greeting.format(name=name)} {body}"
    return title, body


# Not a pytest test, despite its name.
test_message.__test__ = False  # type: ignore[attr-defined]
