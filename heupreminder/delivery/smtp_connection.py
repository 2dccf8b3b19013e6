"""Opening one SMTP connection: the server, its TLS, greeting, STARTTLS and login.

`heupreminder.delivery.smtp` pools these connections and sends over them; this
module knows how to open and close one, and how to say in a person's words why
the server refused or could not be reached (never with the URL or password).
The TLS context is built once per process and verify setting (and CA bundle
from SSL_CERT_FILE / SSL_CERT_DIR): a new one per email cost most of the CPU.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Buffer

from heupreminder.delivery.errors import TransportError


@dataclass(frozen=True)
class Server:
    """An SMTP server and how to talk to it: one pool per distinct value."""

    host: str
    port: int
    mode: str  # Apprise's secure_mode: "insecure", "starttls" or "ssl"
    verify: bool = True
    timeout: float = 15.0
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr or a log

    @classmethod
    def of(cls, plugin: Any) -> Server:
        """The server an Apprise NotifyEmail plugin (a parsed mailto:// URL) names."""
        return cls(host=plugin.smtp_host, port=int(plugin.port), mode=plugin.secure_mode,
                   verify=bool(plugin.verify_certificate),
                   timeout=float(plugin.socket_connect_timeout),
                   user=plugin.user or None, password=plugin.password or None)

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"


def tls_context(verify: bool) -> ssl.SSLContext:
    """The process's TLS context for this verify setting and CA bundle.

    The CA bundle is the one `ssl.create_default_context()` reads, which
    honours SSL_CERT_FILE and SSL_CERT_DIR: they are part of the key so a
    changed environment (tests, a reload) gets a context that uses it.
    """
    return _tls_context(verify, os.environ.get("SSL_CERT_FILE"),
                        os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=8)
def _tls_context(verify: bool, cafile: str | None, capath: str | None) -> ssl.SSLContext:
    del cafile, capath  # the cache key: create_default_context() reads them itself
    context = ssl.create_default_context()
    if not verify:  # the URL's verify=no (Apprise's mode=insecure leaves TLS off altogether)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context



class SmtpClient(smtplib.SMTP):
    """smtplib.SMTP that notes when DATA began: before that, a failed send
    cannot have been accepted, so it may be repeated on another connection."""

    data_started = False

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class SmtpSslClient(SmtpClient, smtplib.SMTP_SSL):
    """Implicit TLS (mailtos://...?mode=ssl, port 465) with the same note."""


def open_smtp(server: Server) -> SmtpClient:
    """A new connection: greeting, EHLO, STARTTLS if asked, login if given."""
    context = tls_context(server.verify) if server.mode != "insecure" else None
    try:
        if server.mode == "ssl":
            smtp: SmtpClient = SmtpSslClient(server.host, server.port, timeout=server.timeout,
                                   context=context)
        else:
            smtp = SmtpClient(server.host, server.port, timeout=server.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(f"cannot connect to {server.where}: {reason(exc)}") from None
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            if server.mode == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"{server.where}: TLS failed: {reason(exc)}") from None
        if server.user and server.password:
            _login(smtp, server)
    except BaseException:
        quit_smtp(smtp)
        raise
    return smtp


def _login(smtp: smtplib.SMTP, server: Server) -> None:
    where, user = server.where, server.user
    if not smtp.has_extn("auth"):
        # smtplib says "SMTP AUTH extension not supported by server": say what to do.
        raise TransportError(
            f"{where} does not offer a login (no SMTP AUTH; often only after STARTTLS): "
            "use mailtos:// for an encrypted connection, or remove the user and password "
            "from the channel URL", permanent=True)
    try:
        smtp.login(user or "", server.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        # 535 wrong password is permanent; 454 (temporary authentication failure) is not.
        raise TransportError(f"{where} rejected the login for {user!r}: {reason(exc)}",
                             permanent=is_permanent(exc.smtp_code)) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(f"{where}: login failed: {reason(exc)}") from None


def is_permanent(code: int) -> bool:
    return 500 <= code < 600


def close_smtp(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()


def quit_smtp(smtp: smtplib.SMTP) -> None:
    """QUIT politely, but never wait long for a server that went quiet."""
    with contextlib.suppress(OSError, smtplib.SMTPException):
        if smtp.sock is not None:
            smtp.sock.settimeout(2.0)
            smtp.quit()
    close_smtp(smtp)


def reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {reply_text(exc.smtp_error)}"
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    return str(exc) or type(exc).__name__


def reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
