"""Send our own MIME message over the SMTP connection an Apprise mailto:// URL describes.

Apprise parses the URL (host, port, ssl / starttls / insecure, login, from,
to, cc, bcc, reply-to, provider defaults such as Gmail's host): we reuse that
parsed plugin object so every mailto:// URL means exactly what it means in
Apprise. Apprise's own email body is not used: it turns our HTML back into
text for the plain part, which loses the line breaks and the link addresses.

Errors say what went wrong in words a person can act on, never with the URL
or the password (`TransportError` messages are masked by the caller too).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from heupreminder.delivery.errors import TransportError


def is_smtp_plugin(plugin: object) -> bool:
    """True for Apprise's SMTP email plugin (mailto://, mailtos://)."""
    from apprise.plugins.email.base import NotifyEmail

    return isinstance(plugin, NotifyEmail)


def address(entry: Any, names: dict[str, Any] | None = None) -> Address:
    """An Apprise address entry ((name, email), or an email) as an email.Address."""
    if isinstance(entry, (tuple, list)):
        name, email = entry[0], entry[1]
    else:
        name, email = (names or {}).get(entry), entry
    username, _, domain = str(email).partition("@")
    return Address(display_name=name or "", username=username, domain=domain)


def send_messages(plugin: Any, messages: Iterable[tuple[EmailMessage, list[str]]]) -> None:
    """Send each (message, envelope recipients) over one connection, or raise TransportError."""
    host, port = plugin.smtp_host, int(plugin.port)
    where = f"SMTP server {host}:{port}"
    context = ssl.create_default_context()
    if not plugin.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        if plugin.secure_mode == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=plugin.socket_connect_timeout, context=context)
        else:
            connection = smtplib.SMTP(host, port, timeout=plugin.socket_connect_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(f"cannot connect to {where}: {_reason(exc)}") from None
    with connection:
        try:
            connection.ehlo_or_helo_if_needed()
            if plugin.secure_mode == "starttls":
                connection.starttls(context=context)
                connection.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"{where}: TLS failed: {_reason(exc)}") from None
        if plugin.user and plugin.password:
            _login(connection, where, plugin.user, plugin.password)
        sender = plugin.from_addr[1]
        for message, recipients in messages:
            try:
                refused = connection.send_message(message, from_addr=sender,
                                                  to_addrs=recipients)
            except smtplib.SMTPRecipientsRefused as exc:
                raise TransportError(f"{where} refused every recipient: "
                                     f"{_refusals(exc.recipients)}") from None
            except smtplib.SMTPResponseException as exc:
                raise TransportError(f"{where} refused the message: {_reason(exc)}",
                                     permanent=500 <= exc.smtp_code < 600) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise TransportError(f"{where}: sending failed: {_reason(exc)}") from None
            if refused:
                raise TransportError(f"{where} refused {_refusals(refused)}")


def _login(connection: smtplib.SMTP, where: str, user: str, password: str) -> None:
    if not connection.has_extn("auth"):
        # smtplib says "SMTP AUTH extension not supported by server": say what to do.
        raise TransportError(
            f"{where} does not offer a login (no SMTP AUTH; often only after STARTTLS): "
            "use mailtos:// for an encrypted connection, or remove the user and password "
            "from the channel URL", permanent=True)
    try:
        connection.login(user, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise TransportError(f"{where} rejected the login for {user!r}: {_reason(exc)}",
                             permanent=True) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(f"{where}: login failed: {_reason(exc)}") from None


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{who} ({code} {_text(reply)})" for who, (code, reply) in refused.items())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    return str(exc) or type(exc).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
