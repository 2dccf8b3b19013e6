"""The structure of a message body, read from its plain text.

Every message heupreminder sends (reminders, rest and resume notices, the
weekly summary, the test message) is composed as plain text with a light,
fixed shape, so push channels can send it as it is:

- a blank line separates paragraphs; a single line break is kept as one;
- lines starting with "1. ", "2. ", ... are the steps of an exercise (an
  ordered list), lines starting with "• " or "- " a bulleted list;
- a line that ends in a web address ("Your chart and history: https://...")
  is a link; the one-tap check-in line (`messages.with_link`) becomes the
  Done / Skip / pain buttons.

`read_layout` turns such a text into blocks that the email (`mail.py`) and
push (`push.py`) renderers draw in their own format. It never drops a word:
joining the blocks' texts gives the message back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from heupreminder.delivery.messages import checkin_link_in

URL = re.compile(r"https?://[^\s<>\"]+")
_ORDERED_ITEM = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)$")
_BULLET_ITEM = re.compile(r"^\s*[•\-*]\s+(.*)$")
# "Label: https://..." or a bare address, alone on its line.
_LINK_LINE = re.compile(r"^\s*(?:(?P<label>.*?\S)\s*:?\s+)?(?P<url>https?://[^\s<>\"]+)\s*$")


@dataclass(frozen=True)
class Paragraph:
    """Lines of running text; the line breaks are the author's and are kept."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class ItemList:
    items: tuple[str, ...]
    ordered: bool


@dataclass(frozen=True)
class Link:
    """A line that is a link: a label (may be empty) and the address."""

    label: str
    url: str


@dataclass(frozen=True)
class CheckIn:
    """The one-tap check-in link, drawn as Done / Skip / pain buttons."""

    label: str
    url: str
    locale: Literal["nl", "en"]


Block = Paragraph | ItemList | Link | CheckIn


def read_layout(body: str) -> list[Block]:
    """The blocks of `body`, in order (see the module docstring for the shape)."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n[ \t]*\n", body.replace("\r\n", "\n").strip()):
        blocks.extend(_read_paragraph(chunk.split("\n")))
    return blocks


def _read_paragraph(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    text: list[str] = []
    items: list[str] = []
    ordered = False

    def flush_text() -> None:
        if text:
            blocks.append(Paragraph(tuple(text)))
            text.clear()

    def flush_items() -> None:
        if items:
            blocks.append(ItemList(tuple(items), ordered))
            items.clear()

    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        item = _list_item(line)
        if item is not None:
            flush_text()
            item_text, is_ordered = item
            if items and is_ordered != ordered:
                flush_items()
            ordered = is_ordered
            items.append(item_text)
            continue
        flush_items()
        link = link_in_line(line)
        if link is not None:
            flush_text()
            blocks.append(link)
            continue
        text.append(line.strip())
    flush_text()
    flush_items()
    return blocks


def link_in_line(line: str) -> Link | CheckIn | None:
    """The link `line` is, if it is one: the check-in line, "Label: URL" or a bare URL."""
    checkin = checkin_link_in(line.strip())
    if checkin is not None:
        locale, label, url = checkin
        return CheckIn(label=label, url=url, locale=locale)
    link = _LINK_LINE.match(line)
    if link is None:
        return None
    return Link(label=(link.group("label") or "").rstrip(":"), url=link.group("url"))


def _list_item(line: str) -> tuple[str, bool] | None:
    """(text, ordered) if `line` is a list item."""
    numbered = _ORDERED_ITEM.match(line)
    if numbered is not None:
        return numbered.group(2).strip(), True
    bullet = _BULLET_ITEM.match(line)
    if bullet is not None:
        return bullet.group(1).strip(), False
    return None


def first_link(blocks: list[Block]) -> str | None:
    """The check-in link if there is one, else the first link: a push's tap target."""
    for block in blocks:
        if isinstance(block, CheckIn):
            return block.url
    for block in blocks:
        if isinstance(block, Link):
            return block.url
    return None
