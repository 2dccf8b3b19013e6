"""Send one message to one channel, with one error type.

- HTTP channels (ntfy, Gotify, webhooks, ...): Apprise builds the request, which
  goes over a kept-alive connection (`http_capture.py`, `http_client.py`).
- Email (mailto://, mailtos://) is built here as a real multipart message
  (`mail.py`) and sent over the connection Apprise parsed from the URL (`smtp.py`).
- ntfy gets Markdown, tags and the one-tap link as its click action (`push.py`).
- Everything else goes through Apprise as plain text, with a fresh Apprise
  object per send: Apprise throttles a reused plugin object (seconds between
  sends to the same service), which would serialise a morning's reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import apprise
from apprise.attachment.memory import AttachMemory

from heupreminder.config.loader import Channel
from heupreminder.delivery.errors import TransportError
from heupreminder.delivery.http_client import HttpError, HttpRequest, post
from heupreminder.delivery.http_template import TEMPLATES, slot
from heupreminder.delivery.mail import Image, build_email
from heupreminder.delivery.messages import checkin_link_in
from heupreminder.delivery.push import Button, is_ntfy, ntfy_actions, ntfy_message, ntfy_url
from heupreminder.delivery.smtp import address, email_plugin, is_smtp_plugin, send_messages
from heupreminder.locales import shipped_locale
from heupreminder.masking import MASKER

__all__ = ["Attachment", "TransportError", "apprise_message", "http_request", "send"]

# What an image attachment is called in the HTML part, per language.
_IMAGE_ALT = {"nl": "Grafiek: je pijn en je oefeningen per dag",
              "en": "Chart: your pain and your exercises per day"}


@dataclass(frozen=True)
class Attachment:
    """A file sent along (e.g. the weekly chart), kept in memory: no temp files."""

    name: str
    content: bytes = field(repr=False)
    mimetype: str = "application/octet-stream"


def send(channel: Channel, title: str, body: str, attach: Attachment | None = None, *,
         link: str | None = None, kind: str | None = None, locale: str | None = None,
         buttons: Sequence[Button] = ()) -> None:
    """Deliver to `channel` or raise TransportError (message already masked).

    `body` is plain text in the shape `layout.py` reads. Optional hints:
    `link` the one-tap check-in link (a push's tap target; by default the
    check-in line or first link in `body`), `kind` what the message is
    (exercise, supplement, tip, rest, resume, checkin, summary, admin: ntfy's
    tag), `locale` the person's language (by default read from the check-in
    line, else English), `buttons` action buttons (ntfy's, see push.py).
    `attach` goes along where the service supports attachments; email shows
    an image inline.
    """
    request = http_request(channel.url, title, body, link=link, kind=kind, buttons=buttons) \
        if attach is None else None
    if request is not None:
        try:
            post(request)
        except HttpError as exc:
            raise TransportError(MASKER.mask(str(exc))) from None
        return
    url, title, body = apprise_message(channel.url, title, body, link=link, kind=kind,
                                       buttons=buttons)
    mail_plugin = email_plugin(url)  # parsed once per URL
    if mail_plugin is not None:
        _send_email(mail_plugin, title, body, attach, locale)
        return
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise TransportError(f"Apprise cannot use channel {channel.name!r}", permanent=True)
    if is_smtp_plugin(plugin):
        _send_email(plugin, title, body, attach, locale)
        return
    notifier = apprise.Apprise()
    notifier.add(plugin)
    files = None if attach is None else AttachMemory(  # type: ignore[no-untyped-call]
        content=attach.content, name=attach.name, mimetype=attach.mimetype)
    result = notifier.notify(title=title, body=body, attach=files)
    if result:
        return
    problems = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    detail = problems[-1] if problems else "the service did not accept the message"
    raise TransportError(MASKER.mask(_strip_log_prefix(detail)))


def apprise_message(url: str, title: str, body: str, *, link: str | None = None,
                    kind: str | None = None,
                    buttons: Sequence[Button] = ()) -> tuple[str, str, str]:
    """The URL, title and body Apprise gets for this message on this channel."""
    if is_ntfy(url):
        body, click = ntfy_message(body, link)
        url = ntfy_url(url, click=click, kind=kind,
                       actions=ntfy_actions(buttons) if buttons else None)
    return url, title, body


def http_request(url: str, title: str, body: str, *, link: str | None = None,
                 kind: str | None = None,
                 buttons: Sequence[Button] = ()) -> HttpRequest | None:
    """The request Apprise builds for this message (what `apprise_message` gives
    Apprise), or None if the channel needs Apprise itself.

    From a template per channel (`http_template.py`): the per-message click
    link of ntfy is a slot in the template's URL, so one template serves
    every message of the channel. ntfy's action buttons are a slot too; their
    text (spaces, commas) sends the message the slow way, over the same
    kept-alive connections.
    """
    if not is_ntfy(url):
        return TEMPLATES.request(url, title, body)
    body, click = _ntfy_message(body, link)
    template_url = _ntfy_template_url(url, kind, bool(click), bool(buttons))
    options = {"click": click} if click and slot("click") in template_url else {}
    if buttons and slot("actions") in template_url:
        options["actions"] = ntfy_actions(buttons)
    return TEMPLATES.request(template_url, title, body, options)


# A morning's reminders share a few texts (a routine's words per language), and
# reading the layout is most of what a message costs once the template is filled.
_ntfy_message = lru_cache(maxsize=4096)(ntfy_message)


# Per channel URL: a burst to 10,000 people's own topics has as many.
@lru_cache(maxsize=32768)
def _ntfy_template_url(url: str, kind: str | None, has_click: bool,
                       has_actions: bool = False) -> str:
    if "?" not in url and "#" not in url and urlunsplit(urlsplit(url)) == url:
        # No options of the person's own: ntfy_url() only appends ours, the same
        # for every such URL (worked out once, not per person's topic).
        return url + _ntfy_options(kind, has_click, has_actions)
    return ntfy_url(url, click=slot("click") if has_click else None, kind=kind,
                    actions=slot("actions") if has_actions else None)


@lru_cache(maxsize=256)
def _ntfy_options(kind: str | None, has_click: bool, has_actions: bool) -> str:
    """What ntfy_url() appends to a URL without a query: "?click=...&tags=..."."""
    base = "ntfy://host/topic"
    return ntfy_url(base, click=slot("click") if has_click else None, kind=kind,
                    actions=slot("actions") if has_actions else None).removeprefix(base)


def _send_email(plugin: Any, title: str, body: str, attach: Attachment | None,
                locale: str | None) -> None:
    lang = locale or _locale_of(body)
    image = None
    if attach is not None:
        image = Image(name=attach.name, content=attach.content, mimetype=attach.mimetype,
                      alt=_IMAGE_ALT[shipped_locale(lang)])
    sender = address(plugin.from_addr)
    cc = [address(a, plugin.names) for a in sorted(plugin.cc)]
    reply_to = [address(a, plugin.names) for a in sorted(plugin.reply_to)]
    messages = []
    # One message per recipient, like Apprise: nobody sees the others' addresses.
    for target in plugin.targets:
        recipient = address(target)
        message = build_email(title=title, body=body, sender=sender, recipient=recipient,
                              cc=cc, reply_to=reply_to, image=image, lang=lang,
                              headers=dict(plugin.headers))
        envelope = [recipient.addr_spec, *(a.addr_spec for a in cc), *sorted(plugin.bcc)]
        messages.append((message, envelope))
    if not messages:
        raise TransportError("the email channel names no recipient", permanent=True)
    try:
        send_messages(plugin, messages)
    except TransportError as exc:
        raise TransportError(MASKER.mask(exc.message), permanent=exc.permanent) from None


def _locale_of(body: str) -> str:
    for line in body.splitlines():
        found = checkin_link_in(line)
        if found is not None:
            return found[0]
    return "en"


def _strip_log_prefix(line: str) -> str:
    # Apprise log entries read "2026-11-25 07:30:00,123 - WARNING - text".
    return line.split(" - ", 2)[-1]
