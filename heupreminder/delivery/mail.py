"""An email that reads like email: multipart/alternative, built from one message.

- text/plain keeps the message's lines; each link stands on its own line, so
  a phone makes it tappable and nothing rewraps it (quoted-printable keeps
  long lines intact).
- text/html draws the same blocks (`layout.py`): paragraphs, the exercise
  steps as a list, the one-tap link as Done / Skip / pain buttons, and an
  image attachment (the weekly chart) inline through `cid:`. One column at
  most 560 px wide, text that wraps, system fonts, light and dark colours, no
  remote images, no scripts: readable at 400 px and in dark mode.

Structure: alternative(plain, related(html, image)) when there is an image,
the layout mail clients agree on; other attachments wrap it in mixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from html import escape
from typing import cast

from heupreminder.delivery.layout import (
    URL,
    Block,
    CheckIn,
    ItemList,
    Link,
    Paragraph,
    link_in_line,
    read_layout,
)

# Button labels and where each one lands on the check-in page (its element ids).
_CHECKIN_BUTTONS = {
    "nl": (("Gedaan", ""), ("Overgeslagen", "#skip"), ("Pijn melden", "#pain-form")),
    "en": (("Done", ""), ("Skip", "#skip"), ("Log pain", "#pain-form")),
}

_ACCENT = "#1f6f5c"
_STYLE = """
:root { color-scheme: light dark; supported-color-schemes: light dark; }
body { margin: 0; padding: 0; }
a { color: #1f6f5c; }
@media (prefers-color-scheme: dark) {
  body, .page { background: #16191d !important; color: #e8eaed !important; }
  a { color: #7fd3bd !important; }
  a.button { background: #2f8f77 !important; color: #ffffff !important; }
  a.button.quiet { background: #2a3036 !important; color: #e8eaed !important; }
  .muted { color: #aab1b8 !important; }
}
"""


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each header class once.

    The stdlib's registry builds a new class (`type(...)`) for every header it
    parses or folds, ~50 µs each and ~30 per email: most of the CPU an email
    cost the service. The classes it would build are the same every time, so
    the message and its bytes are exactly what the default policy gives.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:  # two threads may both make it: harmless, one is kept
            made = self._made[key] = super().__getitem__(name)
        return made


# email.policy.default (what EmailMessage() uses), with the header classes made once.
POLICY = default_policy.clone(header_factory=_HeaderClasses())


@dataclass(frozen=True)
class Image:
    """An image shown in the HTML part (and attached for plain-text readers)."""

    name: str
    content: bytes
    mimetype: str
    alt: str


def plain_text(body: str) -> str:
    """The text/plain part: the message's own lines, each link on a line of its own."""
    lines: list[str] = []
    for line in body.replace("\r\n", "\n").strip().split("\n"):
        link = link_in_line(line)
        if link is not None and link.label:
            lines += [f"{link.label}:", link.url]
        else:
            lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def html_text(title: str, blocks: Iterable[Block], image: Image | None = None,
              lang: str = "en") -> str:
    """The text/html part: a small, self-contained page (no remote content)."""
    body: list[str] = []
    image_drawn = image is None
    for block in blocks:
        if isinstance(block, (Link, CheckIn)) and not image_drawn and image is not None:
            body.append(_image_html(image))  # the chart above the link to its page
            image_drawn = True
        body.append(_block_html(block))
    if not image_drawn and image is not None:
        body.append(_image_html(image))
    font = ("-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, "
            "sans-serif")
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="supported-color-schemes" content="light dark">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f'<body style="margin:0;padding:0;background:#ffffff;color:#1d2125;">\n'
        f'<div class="page" style="max-width:560px;margin:0 auto;padding:16px 18px;'
        f"font-family:{font};font-size:16px;line-height:1.5;color:#1d2125;"
        'overflow-wrap:break-word;word-wrap:break-word;">\n'
        f'<h1 style="font-size:20px;line-height:1.3;margin:0 0 12px;">{escape(title)}</h1>\n'
        + "\n".join(body)
        + "\n</div>\n</body>\n</html>\n"
    )


def build_email(*, title: str, body: str, sender: Address, recipient: Address,
                cc: Iterable[Address] = (), reply_to: Iterable[Address] = (),
                image: Image | None = None, lang: str = "en",
                headers: dict[str, str] | None = None) -> EmailMessage:
    """The whole message for one recipient: headers, both parts, the inline image."""
    blocks = read_layout(body)
    message = EmailMessage(policy=POLICY)
    message["Subject"] = title
    message["From"] = sender
    message["To"] = recipient
    cc = list(cc)
    if cc:
        message["Cc"] = cc
    reply_to = list(reply_to)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.domain or None)
    message["Auto-Submitted"] = "auto-generated"  # a reminder, not a person: no vacation replies
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(plain_text(body), subtype="plain", charset="utf-8",
                        cte="quoted-printable")
    html = html_text(title, blocks, image, lang)
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if image is not None:
        html_part = cast(EmailMessage, list(message.iter_parts())[1])
        maintype, _, subtype = image.mimetype.partition("/")
        html_part.add_related(image.content, maintype=maintype, subtype=subtype,
                              cid=f"<{image.name}>", filename=image.name,
                              disposition="inline")
    return message


def _block_html(block: Block) -> str:
    if isinstance(block, Paragraph):
        return ('<p style="margin:0 0 14px;">'
                + "<br>\n".join(_inline(line) for line in block.lines) + "</p>")
    if isinstance(block, ItemList):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f'<li style="margin:0 0 6px;">{_inline(item)}</li>'
                        for item in block.items)
        return f'<{tag} style="margin:0 0 14px;padding-left:24px;">{items}</{tag}>'
    if isinstance(block, CheckIn):
        buttons = [_button(label, block.url + fragment, primary=not fragment)
                   for label, fragment in _CHECKIN_BUTTONS[block.locale]]
        return (f'<p class="muted" style="margin:18px 0 8px;color:#5f6870;">'
                f"{escape(block.label)}</p>\n"
                f'<p style="margin:0 0 14px;">{" ".join(buttons)}</p>')
    label = block.label or block.url
    return f'<p style="margin:18px 0 14px;">{_button(label, block.url, primary=True)}</p>'


def _button(label: str, url: str, *, primary: bool) -> str:
    colours = (f"background:{_ACCENT};color:#ffffff;" if primary
               else "background:#e9eef0;color:#1d2125;")
    return (f'<a class="button{"" if primary else " quiet"}" href="{escape(url)}" '
            f'style="display:inline-block;margin:0 6px 8px 0;padding:11px 18px;'
            f"border-radius:8px;{colours}font-weight:600;text-decoration:none;"
            f'max-width:100%;box-sizing:border-box;">{escape(label)}</a>')


def _image_html(image: Image) -> str:
    return (f'<p style="margin:4px 0 14px;"><img src="cid:{escape(image.name)}" '
            f'alt="{escape(image.alt)}" width="524" style="display:block;width:100%;'
            'max-width:524px;height:auto;border:0;border-radius:6px;"></p>')


def _inline(text: str) -> str:
    """Escape `text`; addresses in it become links."""
    out: list[str] = []
    position = 0
    for match in URL.finditer(text):
        out.append(escape(text[position:match.start()]))
        url = match.group(0).rstrip(".,;)")
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return "".join(out)
