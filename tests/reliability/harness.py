"""Shared pieces of the reliability tests: the real service process, receivers
that can be slow, fail or hang, bulk people in the database, and a TCP proxy
that can cut the database connection. Everything listens on loopback only and
every wait is bounded."""

from __future__ import annotations

import json
import os
import select as io_select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from heupreminder.db.engine import make_engine
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import Delivery, Occurrence, Person, Routine
from tests.receivers import free_port

REPO = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], object], timeout: float = 30.0,
               what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# -- the service process ----------------------------------------------------------


class ServiceProcess:
    """`heupreminder --log-level debug run --config FILE` with its log in a file."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None,
                 log_level: str = "debug") -> None:
        self.config, self.log = config, log
        self._out = log.open("ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "--log-level", log_level, "run",
             "--config", str(config)],
            stdout=self._out, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, **(env or {})})

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 40.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited ({self.process.returncode}):\n"
                                     + self.text()[-3000:])
            return "heupreminder ready" in self.text()
        wait_until(ready, timeout, "the service to be ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()


@contextmanager
def running(config: Path, log: Path, env: dict[str, str] | None = None,
            ready: bool = True) -> Iterator[ServiceProcess]:
    service = ServiceProcess(config, log, env)
    try:
        if ready:
            service.wait_ready()
        yield service
    finally:
        service.close()


def service_config(tmp_path: Path, database_url: str, channels: dict[str, str], *,
                   catch_up: str = "30m", extra_service: str = "", people: str = "",
                   manage_people: str | None = "database", name: str = "heupreminder.toml",
                   listen: str | None = None) -> Path:
    """A config file; by default people live in the database (bulk tests)."""
    lines = [
        "[service]",
        f'database = "{database_url}"',
        'timezone = "UTC"',
        'locale = "en"',
        f'catch_up = "{catch_up}"',
        f'listen = "{listen or f"127.0.0.1:{free_port()}"}"',
    ]
    if manage_people:
        lines.append(f'manage_people = "{manage_people}"')
    lines += [extra_service, "", "[channels]"]
    lines += [f'{key} = "{url}"' for key, url in channels.items()]
    lines += ["", people]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- people and routines straight in the database ----------------------------------


def migrated_engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    upgrade(engine)
    return engine


def add_people(engine: Engine, prefix: str, due: list[datetime], channels: list[str], *,
               timezone: str = "UTC", schedule: str | None = None,
               exercise: str | None = None) -> list[str]:
    """One person with one routine per due time; returns the routine titles.

    Each routine has its own title (`{prefix}-{i}`), so a receiver can tell
    the reminders apart. The schedule is daily at the due time's wall clock
    (UTC) unless given, and next_due_at is the due time itself.
    """
    now = datetime.now(UTC)
    people, routines, titles = [], [], []
    for i, when in enumerate(due):
        person = f"{prefix}-{i}"
        title = f"{prefix}-{i}"
        people.append({"id": person, "name": person.title(), "timezone": timezone,
                       "locale": "en", "quiet_hours": None, "channels": channels,
                       "active": True, "updated_at": now})
        routines.append({
            "person_id": person, "key": "routine", "kind": "tip",
            "exercise": exercise, "side": None,
            "title": None if exercise else title, "text": None if exercise else f"Text {title}",
            "schedule": schedule or f"at {when.astimezone(UTC):%H:%M:%S} daily",
            "active": True, "next_due_at": when, "created_at": now, "updated_at": now})
        titles.append(title)
    with engine.begin() as connection:
        connection.execute(insert(Person), people)
        connection.execute(insert(Routine), routines)
    return titles


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())


def occurrence_states(engine: Engine, prefix: str) -> list[Any]:
    """(person, status, outcome_unknown, reason, due_at, ...) of every occurrence of
    the `prefix` people, with aware UTC times on every backend."""
    query = (select(Routine.person_id.label("person"), Occurrence.status,
                    Occurrence.outcome_unknown, Occurrence.reason, Occurrence.due_at,
                    Occurrence.finished_at, Occurrence.claimed_by, Occurrence.id)
             .join(Routine, Routine.id == Occurrence.routine_id)
             .where(Routine.person_id.like(f"{prefix}-%"))
             .order_by(Routine.person_id, Occurrence.due_at))
    with engine.connect() as connection:
        return list(connection.execute(query).all())


def next_due_of(engine: Engine, person: str) -> datetime | None:
    with engine.connect() as connection:
        return connection.scalar(select(Routine.next_due_at).where(Routine.person_id == person))


# -- an HTTP receiver (Apprise json://) that can be slow, fail or hang -------------


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # read the request, then never answer (until the test ends)
    fail_first: int = 0  # > 0: answer `status` that many times, then 200


@dataclass
class Post:
    path: str
    title: str
    message: str
    at: float  # time.monotonic() when the request was read
    status: int
    wall: float = 0.0  # time.time() then


@dataclass
class Receiver:
    """A push service on loopback: one URL per channel (path), each with a behaviour.

    A request counts as received as soon as it is read: a person's push
    service would have it, whether or not our answer reaches the sender.
    """

    port: int
    default: Behaviour = field(default_factory=Behaviour)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    on_post: Callable[[Post], None] | None = None
    gets: list[str] = field(default_factory=list)

    def url(self, path: str = "notify", query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}/{path}" + (f"?{query}" if query else "")

    def behaviour(self, path: str) -> Behaviour:
        return self.behaviours.get(path.strip("/").split("?")[0], self.default)

    def titles(self, status: int | None = 200) -> Counter[str]:
        with self.lock:
            return Counter(p.title for p in self.posts if status is None or p.status == status)

    def for_path(self, path: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.path.strip("/").split("?")[0] == path]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog, read when the server starts listening (in __init__):
    # three nodes open up to 32 connections each at once, and a backlog of 5
    # would drop their handshakes for a second or more.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender killed mid-request resets the connection: expected here


@contextmanager
def receiver() -> Iterator[Receiver]:
    inbox = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:  # cut off: the sender was killed while sending
                return
            behaviour = inbox.behaviour(self.path)
            with inbox.lock:
                status = behaviour.status
                if behaviour.fail_first:
                    earlier = sum(p.path == self.path for p in inbox.posts)
                    status = behaviour.status if earlier < behaviour.fail_first else 200
                post = Post(self.path, str(body.get("title")), str(body.get("message")),
                            time.monotonic(), status, time.time())
                inbox.posts.append(post)
            if inbox.on_post is not None:
                inbox.on_post(post)
            if behaviour.hang:
                inbox.release.wait(120)
                self.close_connection = True
                return
            if behaviour.delay:
                time.sleep(behaviour.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the sender is gone (killed mid-send)
                pass

        def do_GET(self) -> None:
            with inbox.lock:
                inbox.gets.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", inbox.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        inbox.release.set()
        server.shutdown()
        server.server_close()


# -- an SMTP server that answers what the test says -----------------------------------


@dataclass
class Smtp:
    port: int
    answer: str = "250 OK"
    received: list[tuple[str, float, str]] = field(default_factory=list)  # subject, at, answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email

        subject = str(email.message_from_bytes(envelope.content)["Subject"])
        self.received.append((subject, time.monotonic(), self.answer))
        return self.answer

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        return AuthResult(success=isinstance(auth_data, LoginPassword), handled=False)

    def url(self, user: str = "heup", password: str = "pw") -> str:
        return (f"mailto://{user}:{password}@127.0.0.1:{self.port}"
                f"?from=heup@example.org&to=anna@example.org&mode=insecure")


@contextmanager
def smtp(answer: str = "250 OK") -> Iterator[Smtp]:
    inbox = Smtp(port=free_port(), answer=answer)
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


# -- a TCP proxy that can cut the connection to PostgreSQL ----------------------------


class TcpProxy:
    """Loopback port -> target; `cut()` drops every connection and refuses new
    ones (the server seems gone), `restore()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.accepted = 0
        self._open = False

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._open = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._open or listener is not self._listener:
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        try:
            while True:
                ready, _, _ = io_select.select(sockets, [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in sockets:
                with suppress(OSError):
                    sock.close()

    def cut(self) -> None:
        self._open = False
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restore(self) -> None:
        self.start()

    def url_for(self, database_url: str) -> str:
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)


def pg_target(database_url: str) -> tuple[str, int]:
    url = make_url(database_url)
    return url.host or "127.0.0.1", url.port or 5432


def plain_engine(database_url: str) -> Engine:
    return create_engine(database_url)


def soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def deliveries(engine: Engine, prefix: str) -> dict[tuple[str, str], Any]:
    """(person, channel) -> the delivery row (status, attempts, error)."""
    query = (select(Routine.person_id.label("person"), Delivery.channel, Delivery.status,
                    Delivery.attempts, Delivery.error)
             .join(Occurrence, Occurrence.id == Delivery.occurrence_id)
             .join(Routine, Routine.id == Occurrence.routine_id)
             .where(Routine.person_id.like(f"{prefix}-%")))
    with engine.connect() as connection:
        return {(r.person, r.channel): r for r in connection.execute(query).all()}
