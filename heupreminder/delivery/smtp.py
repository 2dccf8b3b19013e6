"""Send our own MIME message over kept-open SMTP connections to the server an
Apprise mailto:// URL describes.

Apprise parses the URL (host, port, ssl / starttls / insecure, login, from,
to, cc, bcc, reply-to, provider defaults such as Gmail's host): we reuse that
parsed plugin object so every mailto:// URL means exactly what it means in
Apprise. Apprise's own email body is not used: it turns our HTML back into
text for the plain part, which loses the line breaks and the link addresses.

Connections are pooled (`SmtpPool`), a few per server, keyed by host, port,
TLS mode, certificate checking and login, because a new connection per email
costs a TCP and TLS handshake, a login and, in CPU, a new TLS context (79 % of
the service's CPU per email before the pool). One TLS context per process and
verify setting (and CA bundle from SSL_CERT_FILE / SSL_CERT_DIR), built once.
Opening and closing one connection, and the words for a refusal, are in
`heupreminder.delivery.smtp_connection`.

Delivery is at-least-once, like every channel, but a message the server has
accepted is never sent to it again from here: a send is repeated at once, on a
fresh connection, only when a pooled connection turns out dead before the
message's DATA began (the server closed it: idle timeout, restart) or when the
server answered 421 (closing; nothing accepted). A connection lost *during*
DATA leaves the outcome unknown: that is an ordinary transient failure, which
the dispatcher retries later like any other.

What is permanent: an SMTP 5xx reply (sender, every recipient, the message, a
login) fails the channel at once with the server's words; a 4xx and a lost
connection are transient and retried until the reminder's deadline.

Errors say what went wrong in words a person can act on, never with the URL
or the password (`TransportError` messages are masked by the caller too).
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from heupreminder.delivery.errors import TransportError
from heupreminder.delivery.smtp_connection import (
    Server,
    SmtpClient,
    close_smtp,
    is_permanent,
    open_smtp,
    quit_smtp,
    reason,
    reply_text,
    tls_context,
)

__all__ = ["POOL", "Server", "SmtpPool", "address", "email_plugin", "is_smtp_plugin",
           "send_messages", "tls_context"]

# Connections kept per server. A few, not `send_workers`: mail servers limit
# concurrent connections per client (often to 5-10) and one kept-open
# connection already sends hundreds of messages a second.
PER_SERVER = 4
# A connection idle longer than this gets a NOOP before it carries a message:
# cheap insurance against a server that closed it meanwhile.
CHECK_AFTER_SECONDS = 10.0
# Idle longer than this: not worth a NOOP, servers time out idle clients
# (RFC 5321 asks for at least 5 minutes; many use 30-60 s). Closed, not reused.
MAX_IDLE_SECONDS = 50.0
# Old connections are replaced so a server's per-connection limits and
# rotated certificates are met in time.
MAX_AGE_SECONDS = 300.0


def is_smtp_plugin(plugin: object) -> bool:
    """True for Apprise's SMTP email plugin (mailto://, mailtos://)."""
    from apprise.plugins.email.base import NotifyEmail

    return isinstance(plugin, NotifyEmail)


@lru_cache(maxsize=4096)
def email_plugin(url: str) -> Any | None:
    """Apprise's parsed plugin for a mailto:// or mailtos:// URL, made once per URL
    (~0.4 ms each); None for any other URL.

    Shared by the send threads: only its attributes are read (`Server.of`, the
    addresses), its own send() is never called, so Apprise's per-object
    throttling does not apply.
    """
    if url.partition(":")[0].lower() not in ("mailto", "mailtos"):
        return None
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return plugin if is_smtp_plugin(plugin) else None


def address(entry: Any, names: dict[str, Any] | None = None) -> Address:
    """An Apprise address entry ((name, email), or an email) as an email.Address."""
    if isinstance(entry, (tuple, list)):
        name, email = entry[0], entry[1]
    else:
        name, email = (names or {}).get(entry), entry
    username, _, domain = str(email).partition("@")
    return Address(display_name=name or "", username=username, domain=domain)


def send_messages(plugin: Any, messages: Iterable[tuple[EmailMessage, list[str]]]) -> None:
    """Send each (message, envelope recipients) over a pooled connection, or raise
    TransportError (permanent for a 5xx reply)."""
    POOL.send(Server.of(plugin), plugin.from_addr[1], messages)


# -- the pool: connections kept open between sends ------------------------------------


@dataclass(eq=False)
class _Connection:
    smtp: SmtpClient
    opened: float
    used: float  # when it last carried a message or answered a NOOP
    generation: int  # the pool's generation when opened; close() starts a new one
    sent: int = 0  # messages accepted over it


class SmtpPool:
    """Kept-open SMTP connections, at most `per_server` per `Server`, shared by
    the service's send threads.

    A connection is held by one thread at a time (taken from the pool for one
    `send`, put back after). A thread that finds all of a server's connections
    busy waits for one, at most the server's timeout.
    """

    def __init__(self, per_server: int = PER_SERVER, *,
                 check_after: float = CHECK_AFTER_SECONDS,
                 max_idle: float = MAX_IDLE_SECONDS, max_age: float = MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_server = per_server
        self.check_after = check_after
        self.max_idle = max_idle
        self.max_age = max_age
        self._clock = clock
        self._changed = threading.Condition()
        self._idle: dict[Server, list[_Connection]] = {}
        self._open: dict[Server, int] = {}  # idle + in use, per server
        self._generation = 0
        self.opened = 0  # connections opened over the pool's life (tests, metrics)

    # -- the public part ----------------------------------------------------------

    def send(self, server: Server, sender: str,
             messages: Iterable[tuple[EmailMessage, list[str]]]) -> None:
        """Send each (message, envelope recipients) from `sender`, in order, or raise
        TransportError at the first that fails (the ones before it were accepted)."""
        connection = self._take(server)
        try:
            for message, recipients in messages:
                connection, error = self._send_one(server, connection, sender, message,
                                                   recipients)
                if error is not None:
                    raise error
        finally:
            self._give_back(server, connection)

    def close(self) -> None:
        """Say QUIT on every idle connection; connections in use are closed when
        their send ends. The pool stays usable (a new service in this process)."""
        with self._changed:
            idle = [c for connections in self._idle.values() for c in connections]
            for server, connections in self._idle.items():
                self._open[server] -= len(connections)
            self._idle.clear()
            self._generation += 1
            self._changed.notify_all()
        for connection in idle:
            quit_smtp(connection.smtp)

    def idle_count(self, server: Server | None = None) -> int:
        """Connections waiting in the pool (for one server, or all)."""
        with self._changed:
            if server is not None:
                return len(self._idle.get(server, []))
            return sum(len(c) for c in self._idle.values())

    # -- taking and giving back -----------------------------------------------------

    def _take(self, server: Server) -> _Connection:
        """A usable connection to `server`: a checked idle one, or a new one."""
        deadline = self._clock() + server.timeout
        with self._changed:
            while True:
                idle = self._idle.get(server)
                if idle:
                    pooled: _Connection | None = idle.pop()  # the most recently used
                    break
                if self._open.get(server, 0) < self.per_server:
                    self._open[server] = self._open.get(server, 0) + 1  # a slot for a new one
                    pooled = None
                    break
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise TransportError(f"{server.where}: all {self.per_server} connections "
                                         "stayed busy; try again")
                self._changed.wait(remaining)
        # The slot is ours from here: any failure below must give it back.
        try:
            if pooled is not None and not self._still_good(pooled):
                close_smtp(pooled.smtp)
                pooled = None
            return pooled if pooled is not None else self._connect(server)
        except BaseException:
            self._release_slot(server)
            raise

    def _give_back(self, server: Server, connection: _Connection | None) -> None:
        if connection is None or connection.smtp.sock is None:  # closed by a failure
            self._release_slot(server)
            return
        with self._changed:
            if connection.generation == self._generation:
                self._idle.setdefault(server, []).append(connection)
                self._changed.notify()
                return
        self._release_slot(server)  # the pool was closed while this one was sending
        quit_smtp(connection.smtp)

    def _release_slot(self, server: Server) -> None:
        with self._changed:
            self._open[server] -= 1
            self._changed.notify()

    def _still_good(self, connection: _Connection) -> bool:
        now = self._clock()
        idle = now - connection.used
        if idle > self.max_idle or now - connection.opened > self.max_age:
            return False
        if idle <= self.check_after:
            return True  # a dead one is still caught by the send (one retry, below)
        try:
            code, _ = connection.smtp.noop()
        except (OSError, smtplib.SMTPException):
            return False
        connection.used = now
        return code == 250

    def _connect(self, server: Server) -> _Connection:
        smtp = open_smtp(server)
        with self._changed:
            self.opened += 1
            generation = self._generation
        now = self._clock()
        return _Connection(smtp, opened=now, used=now, generation=generation)

    # -- one message ----------------------------------------------------------------

    def _send_one(self, server: Server, connection: _Connection, sender: str,
                  message: EmailMessage, recipients: list[str],
                  ) -> tuple[_Connection, TransportError | None]:
        """Send one message; once more on a fresh connection if a reused one was dead
        before anything could be accepted. Returns the connection to go on with (closed
        if unusable) and the error, if any."""
        try:
            refused = _transaction(connection, sender, message, recipients)
        except (OSError, smtplib.SMTPException) as exc:
            if connection.sent == 0 or not _nothing_accepted(connection.smtp, exc):
                _close_if_unusable(connection.smtp, exc)
                return connection, _error(server, exc)
            close_smtp(connection.smtp)  # dead since it was last used: the server closed it
            connection = self._connect(server)  # if this raises, the caller holds a closed one
            try:
                refused = _transaction(connection, sender, message, recipients)
            except (OSError, smtplib.SMTPException) as again:
                _close_if_unusable(connection.smtp, again)
                return connection, _error(server, again)
        connection.sent += 1
        connection.used = self._clock()
        if refused:  # accepted for some recipients: repeating it would reach them twice
            return connection, TransportError(f"{server.where} refused {_refusals(refused)}",
                                              permanent=_all_permanent(refused))
        return connection, None


POOL = SmtpPool()
"""The process's pool; the service closes it at shutdown."""


def _transaction(connection: _Connection, sender: str, message: EmailMessage,
                 recipients: list[str]) -> dict[str, tuple[int, bytes]]:
    """MAIL, RCPT, DATA for one message, exactly as smtplib's send_message flattens it."""
    connection.smtp.data_started = False
    return connection.smtp.send_message(message, from_addr=sender, to_addrs=recipients)


def _nothing_accepted(smtp: SmtpClient, exc: BaseException) -> bool:
    """True if the server surely did not accept the message and closed (or lost) the
    connection: safe to send it again on a new one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421  # "closing the channel": a reply, so not accepted
    if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
            exc, smtplib.SMTPException):
        return not smtp.data_started  # lost mid-DATA: it may have arrived
    return False


def _close_if_unusable(smtp: SmtpClient, exc: BaseException) -> None:
    # After a plain refusal smtplib has sent RSET and the connection goes on;
    # after a lost connection, a 421 or anything unexpected, it is closed.
    refusal = isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))
    if not refusal or _nothing_accepted(smtp, exc):
        close_smtp(smtp)


def _error(server: Server, exc: BaseException) -> TransportError:
    where = server.where
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return TransportError(f"{where} refused every recipient: {_refusals(exc.recipients)}",
                              permanent=_all_permanent(exc.recipients))
    if isinstance(exc, smtplib.SMTPResponseException):
        return TransportError(f"{where} refused the message: {reason(exc)}",
                              permanent=is_permanent(exc.smtp_code))
    return TransportError(f"{where}: sending failed: {reason(exc)}")


def _all_permanent(refused: dict[str, tuple[int, bytes]]) -> bool:
    return all(is_permanent(code) for code, _ in refused.values())


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{who} ({code} {reply_text(reply)})"
                     for who, (code, reply) in refused.items())
