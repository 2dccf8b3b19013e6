"""Email over kept-open SMTP connections (`heupreminder.delivery.smtp`), against a
real aiosmtpd server on loopback that counts connections and can misbehave:
close connections (a restart, an idle timeout), answer 421, 4xx or 5xx at each
stage, accept a message and drop the connection before saying so; plain,
STARTTLS and implicit TLS with a throwaway CA (trustme)."""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from sqlalchemy import select

from heupreminder.config.loader import Channel
from heupreminder.db.models import Delivery
from heupreminder.delivery import smtp as smtp_module
from heupreminder.delivery.errors import TransportError
from heupreminder.delivery.sender import send
from heupreminder.delivery.smtp import POOL, Server, SmtpPool
from heupreminder.scheduler.dispatcher import Dispatcher
from tests.dispatching import send_claimed
from tests.helpers import BRIDGE, load, migrated, person_config
from tests.receivers import free_port

FROM = "heup@example.org"


# -- the sink --------------------------------------------------------------------------


@dataclass
class Sink:
    """What the server saw, and how it should answer. Answers are scripted per
    command ("MAIL", "RCPT", "DATA"): the next answer in the list, else 250."""

    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    connections: int = 0  # TCP connections accepted
    open: int = 0  # connections not yet closed
    noops: int = 0
    quits: int = 0
    logins: list[str] = field(default_factory=list)  # user names only
    answers: dict[str, list[str]] = field(default_factory=dict)
    drop_after_data: bool = False  # accept the message, then close without answering
    sessions: list[SMTP] = field(default_factory=list)
    closed: threading.Condition = field(default_factory=threading.Condition)
    loop: asyncio.AbstractEventLoop | None = None

    def _scripted(self, command: str) -> str | None:
        queue = self.answers.get(command)
        return queue.pop(0) if queue else None

    async def handle_MAIL(self, server: SMTP, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        answer = self._scripted("MAIL")
        if answer:
            return answer
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        answer = self._scripted("RCPT")
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        answer = self._scripted("DATA")
        if answer:
            return answer
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelopes.append(list(envelope.rcpt_tos))
        if self.drop_after_data:
            assert server.transport is not None
            server.transport.close()  # stored, but the client never hears "250"
        return "250 OK"

    async def handle_NOOP(self, server: SMTP, session: Any, envelope: Any, arg: str) -> str:
        self.noops += 1
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append(auth_data.login.decode())
            right = auth_data.password == b"right"
            return AuthResult(success=right, handled=right)  # handled=False: aiosmtpd says 535
        return AuthResult(success=False, handled=False)

    def close_all(self) -> None:
        """Close every connection from the server's side (a restart, an idle
        timeout) and wait until they are closed."""
        assert self.loop is not None
        for session in list(self.sessions):
            if session.transport is not None:
                self.loop.call_soon_threadsafe(session.transport.close)
        self.wait_closed()

    def wait_closed(self) -> None:
        with self.closed:
            assert self.closed.wait_for(lambda: self.open == 0, timeout=10)


class _CountingController(Controller):
    def __init__(self, sink: Sink, **kwargs: Any) -> None:
        super().__init__(sink, **kwargs)
        self.sink = sink
        sink.loop = self.loop

    def factory(self) -> SMTP:
        sink = self.sink

        class Session(SMTP):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if self.transport is None:  # not the second call after STARTTLS
                    sink.connections += 1
                    sink.open += 1
                    sink.sessions.append(self)
                super().connection_made(transport)

            def connection_lost(self, error: Exception | None) -> None:
                super().connection_lost(error)
                with sink.closed:
                    sink.open -= 1
                    sink.closed.notify_all()

        return Session(self.handler, **self.SMTP_kwargs)


@contextmanager
def sink_server(*, implicit_tls: ssl.SSLContext | None = None,
                starttls: ssl.SSLContext | None = None, timeout: float = 300) -> Iterator[Sink]:
    sink = Sink(port=free_port())
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": sink.port,
                              "authenticator": sink.authenticate, "timeout": timeout,
                              "server_hostname": "sink.test"}
    if implicit_tls is not None:
        kwargs["ssl_context"] = implicit_tls
        kwargs["auth_require_tls"] = False  # the whole connection is TLS already
    elif starttls is not None:
        kwargs["tls_context"] = starttls
        kwargs["require_starttls"] = True
    else:
        kwargs["auth_require_tls"] = False
    controller = _CountingController(sink, **kwargs)
    controller.start()
    sink.wait_closed()  # start() checks the server with a connection of its own
    sink.connections, sink.quits, sink.sessions = 0, 0, []
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with sink_server() as server:
        yield server


@pytest.fixture
def pool() -> Iterator[SmtpPool]:
    pool = SmtpPool()
    yield pool
    pool.close()


def server_for(sink: Sink, mode: str = "insecure", **kwargs: Any) -> Server:
    return Server("127.0.0.1", sink.port, mode, timeout=10, **kwargs)


def message(n: int, to: str = "anna@example.org") -> tuple[EmailMessage, list[str]]:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = FROM, to, f"reminder {n}"
    mail.set_content(f"body {n}\n")
    return mail, [to]


def subjects(sink: Sink) -> list[str]:
    return [str(m["Subject"]) for m in sink.messages]


# -- reuse -----------------------------------------------------------------------------


def test_one_connection_carries_many_messages(sink: Sink, pool: SmtpPool) -> None:
    for n in range(5):
        pool.send(server_for(sink), FROM, [message(n)])
    assert subjects(sink) == [f"reminder {n}" for n in range(5)]
    assert sink.connections == 1 and pool.opened == 1
    assert sink.noops == 0  # used moments ago: no check needed


def test_threads_share_a_few_connections_and_lose_nothing(sink: Sink) -> None:
    pool = SmtpPool(per_server=3)
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        try:
            for n in range(first, first + 25):
                pool.send(server_for(sink), FROM, [message(n)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 25,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()
    assert errors == []
    assert sorted(subjects(sink)) == sorted(f"reminder {n}" for n in range(200))  # once each
    assert 1 <= sink.connections <= 3


def test_each_login_and_mode_gets_its_own_connections(sink: Sink, pool: SmtpPool) -> None:
    pool.send(server_for(sink), FROM, [message(1)])
    pool.send(server_for(sink, user="anna", password="right"), FROM, [message(2)])
    pool.send(server_for(sink, user="anna", password="right"), FROM, [message(3)])
    assert sink.connections == 2 and sink.logins == ["anna"]  # one login per connection
    assert "right" not in repr(server_for(sink, user="anna", password="right"))


# -- the server closes connections -------------------------------------------------------


def test_a_pooled_connection_closed_by_the_server_is_replaced_once(
        sink: Sink, pool: SmtpPool) -> None:
    pool.send(server_for(sink), FROM, [message(1)])
    sink.close_all()  # a restart: the pooled connection is dead, and it was used just now
    pool.send(server_for(sink), FROM, [message(2)])
    assert subjects(sink) == ["reminder 1", "reminder 2"]
    assert sink.connections == 2


def test_an_idle_connection_the_server_timed_out_is_checked_with_noop() -> None:
    pool = SmtpPool(check_after=0)  # every reuse is checked first
    with sink_server(timeout=0.3) as sink:  # aiosmtpd closes connections idle for 0.3 s
        pool.send(server_for(sink), FROM, [message(1)])
        sink.wait_closed()
        pool.send(server_for(sink), FROM, [message(2)])
        pool.send(server_for(sink), FROM, [message(3)])
        assert subjects(sink) == ["reminder 1", "reminder 2", "reminder 3"]
        assert sink.connections == 2
        pool.close()


def test_a_connection_idle_too_long_is_replaced_without_trying_it(sink: Sink) -> None:
    now = [1000.0]
    pool = SmtpPool(max_idle=50, clock=lambda: now[0])
    pool.send(server_for(sink), FROM, [message(1)])
    now[0] += 51
    pool.send(server_for(sink), FROM, [message(2)])
    assert sink.connections == 2 and sink.noops == 0
    assert subjects(sink) == ["reminder 1", "reminder 2"]
    pool.close()


def test_421_on_a_pooled_connection_reconnects_and_sends_once(
        sink: Sink, pool: SmtpPool) -> None:
    pool.send(server_for(sink), FROM, [message(1)])
    sink.answers["MAIL"] = ["421 4.7.0 too many messages on this connection"]
    pool.send(server_for(sink), FROM, [message(2)])
    assert subjects(sink) == ["reminder 1", "reminder 2"]
    assert sink.connections == 2


def test_421_twice_is_a_transient_failure(sink: Sink, pool: SmtpPool) -> None:
    pool.send(server_for(sink), FROM, [message(1)])
    sink.answers["MAIL"] = ["421 4.3.2 shutting down", "421 4.3.2 shutting down"]
    with pytest.raises(TransportError) as failure:
        pool.send(server_for(sink), FROM, [message(2)])
    assert not failure.value.permanent and "421" in failure.value.message
    assert sink.connections == 2  # one fresh try, not more
    pool.send(server_for(sink), FROM, [message(3)])  # and the pool goes on
    assert subjects(sink) == ["reminder 1", "reminder 3"]


def test_a_message_accepted_before_the_connection_dropped_is_not_sent_again(
        sink: Sink, pool: SmtpPool) -> None:
    pool.send(server_for(sink), FROM, [message(1)])
    sink.drop_after_data = True
    with pytest.raises(TransportError) as failure:
        pool.send(server_for(sink), FROM, [message(2)])
    assert not failure.value.permanent  # outcome unknown: the dispatcher retries later
    assert subjects(sink) == ["reminder 1", "reminder 2"]  # not a second "reminder 2"
    assert sink.connections == 1
    sink.drop_after_data = False
    pool.send(server_for(sink), FROM, [message(3)])
    assert subjects(sink) == ["reminder 1", "reminder 2", "reminder 3"]


# -- what the server answers -------------------------------------------------------------


@pytest.mark.parametrize(("stage", "answer", "permanent"), [
    ("MAIL", "553 5.1.8 sender address rejected", True),
    ("RCPT", "550 5.1.1 no such user", True),
    ("DATA", "554 5.7.1 message refused", True),
    ("MAIL", "451 4.3.0 try again later", False),
    ("RCPT", "450 4.2.1 mailbox busy", False),
    ("DATA", "452 4.3.1 insufficient storage", False),
])
def test_5xx_is_permanent_4xx_transient_with_the_servers_words(
        sink: Sink, pool: SmtpPool, stage: str, answer: str, permanent: bool) -> None:
    sink.answers[stage] = [answer]
    with pytest.raises(TransportError) as failure:
        pool.send(server_for(sink), FROM, [message(1)])
    assert failure.value.permanent is permanent
    assert answer.split(" ", 1)[1] in failure.value.message
    assert answer[:3] in failure.value.message
    pool.send(server_for(sink), FROM, [message(2)])  # the same connection goes on (RSET)
    assert subjects(sink) == ["reminder 2"] and sink.connections == 1


def test_a_wrong_password_is_permanent_and_never_shown(sink: Sink, pool: SmtpPool) -> None:
    with pytest.raises(TransportError) as failure:
        pool.send(server_for(sink, user="anna", password="wrong-secret"), FROM, [message(1)])
    assert failure.value.permanent and "535" in failure.value.message
    assert "wrong-secret" not in failure.value.message
    assert pool.idle_count() == 0 and sink.messages == []


def test_a_server_that_is_down_is_transient(pool: SmtpPool) -> None:
    with pytest.raises(TransportError) as failure:
        pool.send(Server("127.0.0.1", free_port(), "insecure", timeout=5), FROM, [message(1)])
    assert not failure.value.permanent and "connection refused" in failure.value.message
    pool.close()  # its slot was given back: nothing to close, nothing stuck


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A throwaway CA the client trusts (SSL_CERT_FILE, as OpenSSL reads it)."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return authority


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_as_the_url_says_with_one_context_per_process(
        ca: trustme.CA, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    context = server_context(ca)
    tls = {"implicit_tls": context} if mode == "ssl" else {"starttls": context}
    made: list[object] = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(args)
        return create(*args, **kwargs)

    with sink_server(**tls) as sink:  # type: ignore[arg-type]
        monkeypatch.setattr(ssl, "create_default_context", counting)
        # Through the real sender: Apprise parses the URL, the pool sends.
        url = (f"mailtos://anna:right@127.0.0.1:{sink.port}?mode={mode}"
               f"&from={FROM}&to=bob@example.org")
        for n in range(3):
            send(Channel("mail", url, "mail"), f"reminder {n}", f"body {n}")
        assert subjects(sink) == ["reminder 0", "reminder 1", "reminder 2"]
        assert sink.logins == ["anna"]  # after STARTTLS: AUTH is offered only over TLS
        assert sink.connections == 1
        assert len(made) <= 1  # one TLS context for every send (none if cached already)
        POOL.close()
        sink.wait_closed()
        assert sink.quits == 1


def test_an_unknown_ca_is_refused(tmp_path: Path) -> None:
    stranger = trustme.CA()  # the client does not trust it
    with sink_server(starttls=server_context(stranger)) as sink:
        pool = SmtpPool()
        with pytest.raises(TransportError) as failure:
            pool.send(server_for(sink, "starttls"), FROM, [message(1)])
        assert "TLS" in failure.value.message and sink.messages == []
        # verify=no in the URL: the process's second context, without checks
        pool.send(server_for(sink, "starttls", verify=False), FROM, [message(2)])
        assert subjects(sink) == ["reminder 2"]
        assert smtp_module.tls_context(False) is smtp_module.tls_context(False)
        pool.close()


# -- through the dispatcher and the service ------------------------------------------------

MORNING = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)  # 07:30 in Amsterdam


def _dispatcher(tmp_path: Path, database_url: str, sink: Sink) -> tuple[Any, Dispatcher]:
    url = f"mailto://127.0.0.1:{sink.port}?from={FROM}&to=anna@example.org"
    settings = load(tmp_path, person_config(database_url=database_url,
                                            channels={"mail": url}, routines=BRIDGE))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    return sessions, Dispatcher(sessions, lambda: settings, "test-node")


def _deliver(dispatcher: Dispatcher, now: datetime) -> list[str]:
    dispatcher.clock = lambda: now
    dispatcher.schedule_due(now)
    return send_claimed(dispatcher, dispatcher.claim(now, 100))


def test_a_5xx_recipient_refusal_is_recorded_failed_at_once_with_its_reason(
        tmp_path: Path, database_url: str, sink: Sink) -> None:
    sessions, dispatcher = _dispatcher(tmp_path, database_url, sink)
    sink.answers["RCPT"] = ["550 5.1.1 no such user here"]
    assert _deliver(dispatcher, MORNING) == ["failed"]  # not retried until the deadline
    with sessions() as session:
        [delivery] = session.scalars(select(Delivery)).all()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "550 5.1.1 no such user here" in (delivery.error or "")


def test_a_4xx_is_retried_and_then_sent_once(
        tmp_path: Path, database_url: str, sink: Sink) -> None:
    sessions, dispatcher = _dispatcher(tmp_path, database_url, sink)
    sink.answers["RCPT"] = ["450 4.2.1 mailbox busy"]
    assert _deliver(dispatcher, MORNING) == ["retry"]
    assert _deliver(dispatcher, MORNING + timedelta(seconds=30)) == ["sent"]
    with sessions() as session:
        [delivery] = session.scalars(select(Delivery)).all()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(sink.messages) == 1


def test_the_service_closes_the_pool_at_shutdown(
        tmp_path: Path, database_url: str, sink: Sink) -> None:
    from heupreminder.scheduler.service import Service

    url = f"mailto://127.0.0.1:{sink.port}?from={FROM}&to=anna@example.org"
    settings = load(tmp_path, person_config(database_url=database_url,
                                            channels={"mail": url}, routines=BRIDGE))
    send(Channel("mail", url, "mail"), "hello", "a message before the service stops")
    assert POOL.idle_count() >= 1 and sink.open == 1
    service = Service(settings.path)
    service.startup()
    service.shutdown()
    sink.wait_closed()
    assert sink.quits == 1 and POOL.idle_count() == 0


# -- the message's bytes -----------------------------------------------------------------


def test_the_cached_header_classes_give_exactly_the_default_policys_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """mail.POLICY only saves the stdlib from building a class per header."""
    import email.policy
    import io
    import random
    from email.generator import BytesGenerator
    from email.headerregistry import Address

    from heupreminder.delivery import mail

    monkeypatch.setattr(mail, "formatdate", lambda **_: "Wed, 07 Jan 2026 06:30:00 -0000")
    monkeypatch.setattr(mail, "make_msgid", lambda **_: "<1@example.org>")

    def flattened(policy: email.policy.EmailPolicy) -> bytes:
        monkeypatch.setattr(mail, "POLICY", policy)
        random.seed(13)  # the multipart boundaries
        message = mail.build_email(
            title="Ochtendbrug — één keer, lang genoeg om de onderwerpregel te vouwen " * 2,
            body="Til je heup op.\n1. Lig op je rug\n2. Til op\nhttps://example.org/c/abc",
            sender=Address("Heup Reminder", "heup", "example.org"),
            recipient=Address("Anna de Vries", "anna", "example.org"),
            cc=[Address("", "bob", "example.org")], reply_to=[Address("", "zorg", "example.org")],
            image=mail.Image("chart.png", b"\x89PNG" * 300, "image/png", "grafiek"),
            lang="nl", headers={"X-Heupreminder": "bridge"})
        out = io.BytesIO()
        BytesGenerator(out).flatten(message, linesep="\r\n")
        return out.getvalue()

    assert flattened(mail.POLICY) == flattened(email.policy.default)
