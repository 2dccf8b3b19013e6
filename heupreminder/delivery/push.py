"""Push channels in their best format.

ntfy gets the message as Markdown (its web and phone apps render it), tags,
and the one-tap link as the click action: tapping the notification opens the
check-in page. These are Apprise's own ntfy URL options (`click`, `tags`,
`format`), added to the channel's URL for this one send; an option the
person set in their URL wins. Every other service gets the plain text, whose
line breaks push services keep.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from heupreminder.delivery.layout import (
    Block,
    CheckIn,
    ItemList,
    Link,
    Paragraph,
    first_link,
    read_layout,
)

NTFY_SCHEMES = ("ntfy", "ntfys")

# ntfy shows a tag that is an emoji short code as that emoji.
_TAGS = {"exercise": "muscle", "supplement": "pill", "tip": "bulb", "rest": "zzz",
         "resume": "+1", "checkin": "wave", "summary": "bar_chart", "admin": "warning"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def is_ntfy(url: str) -> bool:
    return url.split("://", 1)[0].lower() in NTFY_SCHEMES


def ntfy_url(url: str, *, click: str | None, kind: str | None) -> str:
    """`url` with click, tags and Markdown added (the person's own options win)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key.lower() for key, _ in query}
    extra: list[tuple[str, str]] = []
    if click and "click" not in present:
        extra.append(("click", click))
    if "tags" not in present and "xtags" not in present:
        extra.append(("tags", ",".join(["heupreminder"] + ([_TAGS[kind]] if kind in _TAGS
                                                            else []))))
    if "format" not in present:
        extra.append(("format", "markdown"))
    return urlunsplit(parts._replace(query=urlencode(query + extra)))


def ntfy_message(body: str, link: str | None = None) -> tuple[str, str | None]:
    """(Markdown body, click link) for ntfy."""
    blocks = read_layout(body)
    return markdown(blocks), link or first_link(blocks)


def markdown(blocks: list[Block]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            # Two trailing spaces: a line break that Markdown keeps.
            parts.append("  \n".join(_escape(line) for line in block.lines))
        elif isinstance(block, ItemList):
            parts.append("\n".join(f"{n}. {_escape(item)}" if block.ordered
                                   else f"- {_escape(item)}"
                                   for n, item in enumerate(block.items, start=1)))
        elif isinstance(block, (Link, CheckIn)):
            label = block.label or block.url
            parts.append(f"[{_escape(label)}]({block.url})")
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
