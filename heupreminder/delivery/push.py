"""Push channels in their best format.

ntfy gets the message as Markdown (its web and phone apps render it), tags,
the one-tap link as the click action (tapping the notification opens the
check-in page) and, when the message has them, action buttons (`Button`:
Done and Skip that answer with one POST, Pain... that opens the page). These
are Apprise's own ntfy URL options (`click`, `tags`, `format`, `actions`, the
last sent as ntfy's `X-Actions` header), added to the channel's URL for this
one send; an option the person set in their URL wins. Every other service
gets the plain text, whose line breaks push services keep.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

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
MAX_NTFY_ACTIONS = 3  # ntfy shows at most three buttons and refuses a fourth

# ntfy shows a tag that is an emoji short code as that emoji.
_TAGS = {"exercise": "muscle", "supplement": "pill", "tip": "bulb", "rest": "zzz",
         "resume": "+1", "checkin": "wave", "summary": "bar_chart", "admin": "warning"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


@dataclass(frozen=True)
class Button:
    """An action button on a push message: `post` ones answer by themselves (ntfy's
    `http` action: a POST, then the notification clears), the others open `url`."""

    label: str
    url: str
    post: bool = True


def is_ntfy(url: str) -> bool:
    return url.split("://", 1)[0].lower() in NTFY_SCHEMES


def ntfy_actions(buttons: Sequence[Button]) -> str:
    """The buttons in ntfy's short header form (``X-Actions``), e.g.
    ``action=http, label=Done, url=https://..., method=POST, clear=true; ...``."""
    if len(buttons) > MAX_NTFY_ACTIONS:
        raise ValueError(f"ntfy takes at most {MAX_NTFY_ACTIONS} actions, not {len(buttons)}")
    actions = []
    for button in buttons:
        fields = [("action", "http" if button.post else "view"), ("label", button.label),
                  ("url", button.url)]
        if button.post:
            fields += [("method", "POST"), ("clear", "true")]
        actions.append(", ".join(f"{key}={_action_value(value)}" for key, value in fields))
    return "; ".join(actions)


def _action_value(value: str) -> str:
    """A value as ntfy's parser reads it back: quoted if it holds a separator."""
    if not any(c in value for c in ",;\"'=") and value == value.strip():
        return value
    for mark in ('"', "'"):
        if mark not in value:
            return f"{mark}{value}{mark}"
    raise ValueError(f"an action value cannot hold both kinds of quotes: {value[:40]!r}")


def ntfy_url(url: str, *, click: str | None, kind: str | None,
             actions: str | None = None) -> str:
    """`url` with click, tags, Markdown and action buttons (`ntfy_actions`) added
    (the person's own options win)."""
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
    encoded = urlencode(query + extra)
    if actions and "actions" not in present:
        # %20, not "+": Apprise reads the value back without turning "+" into a space.
        encoded += f"&actions={quote(actions, safe='')}"
    return urlunsplit(parts._replace(query=encoded))


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
