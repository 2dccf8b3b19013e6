"""HTTP sends in a child process, so that a burst uses both cores.

In a morning burst the service's own CPU is about half database work (claim,
compose, record) and half HTTP (aiohttp, ~0.09 ms a request). In one process
both take turns on one interpreter lock, so the burst ran at the speed of a
single core. The sends of a batch therefore go to a child process: a plain
`python -m heupreminder.delivery.sending_process` that imports only aiohttp
and this package's HTTP client (no database, no config, no Apprise), gets
batches over a socket pair and answers with each send's result as it comes.
The parent hands it finished requests: Apprise built them in the parent
(`http_capture.py`, filled into a per-channel template Apprise proved,
`http_template.py`, ~10-40 us a message), so the child needs neither Apprise
(30 MB, 0.3 s to load) nor a channel's URL, only what goes on the wire.

What the child never does: decide anything. The parent claims, records and
retries. If the child dies, every send it had not answered counts as failed
("the sending process stopped") and goes through the usual retry path; the
next batch starts a new child. The child ignores SIGINT and SIGTERM (a stop
signal to the whole process group must not cut the parent's drain short) and
exits as soon as the parent closes its end, which the parent does only after
draining, so nothing is sent after the parent has handed its claims back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from heupreminder.delivery.http_client import CLIENT, HttpError, HttpRequest, load
from heupreminder.ops.memory import freeze_what_start_up_loaded

log = logging.getLogger(__name__)
T = TypeVar("T")

# Over the socket: parent -> child [(token, (request per channel, ...))];
# child -> parent [(token, [error or None per channel])].
Job = tuple[int, tuple[HttpRequest, ...]]
Answer = tuple[int, list[str | None]]
STOPPED = "the sending process stopped"


@dataclass
class Send(Generic[T]):
    """One message to one or more channels; `item` comes back with the result."""

    item: T
    requests: dict[str, HttpRequest]  # channel name -> its request, as Apprise built it


@dataclass
class _Waiting(Generic[T]):
    send: Send[T]
    batch: _Batch
    connection: Connection  # the child it went to


@dataclass
class _Batch:
    left: int
    done: Future[None] = field(default_factory=Future)


class SendingProcess(Generic[T]):
    """The parent's handle on the child: submit batches, get each result back.

    `on_result(item, errors)` runs on a reader thread, once per send, with
    None for every channel that took the message (or STOPPED for every one,
    if the child died before answering).
    """

    def __init__(self, on_result: Callable[[T, dict[str, str | None]], None]) -> None:
        self._on_result = on_result
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self._waiting: dict[int, _Waiting[T]] = {}
        self._child: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._reader: threading.Thread | None = None
        self._closed: set[Connection] = set()  # ended by close(), not by a crash

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def start(self) -> None:
        """Start the child now (else on the first batch): it takes ~0.2 s to load."""
        with self._lock:
            self._ensure_started()

    def submit(self, sends: Sequence[Send[T]]) -> Future[None]:
        """Hand a batch to the child; the future is done when every send is answered."""
        batch = _Batch(left=len(sends))
        if not sends:
            batch.done.set_result(None)
            return batch.done
        jobs: list[Job] = []
        with self._lock:
            connection = self._ensure_started()
            for send in sends:
                token = next(self._tokens)
                self._waiting[token] = _Waiting(send, batch, connection)
                jobs.append((token, tuple(send.requests.values())))
            with contextlib.suppress(OSError):  # gone: its reader thread fails these sends
                connection.send(jobs)
        return batch.done

    def close(self, timeout: float = 2.0) -> None:
        """Stop the child. Sends not yet answered are abandoned: no result comes
        for them (the caller still holds their claims), their batches are done."""
        with self._lock:
            child, connection, reader = self._child, self._connection, self._reader
            self._child = self._connection = self._reader = None
            if connection is not None:
                self._closed.add(connection)
        if connection is not None:
            # Shut down, not just closed: that wakes our reader thread too, and
            # the child exits when it reads the end.
            with contextlib.suppress(OSError), \
                    socket.socket(fileno=os.dup(connection.fileno())) as end:
                end.shutdown(socket.SHUT_RDWR)
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if reader is not None:
            reader.join(timeout)  # the answers it already has are delivered first

    def _ensure_started(self) -> Connection:
        # Called with the lock held.
        if self._connection is not None and self._child is not None \
                and self._child.poll() is None:
            return self._connection
        ours, theirs = socket.socketpair()
        with theirs:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        connection = Connection(ours.detach())
        self._child, self._connection = child, connection
        self._reader = threading.Thread(target=self._read, args=(connection, child),
                                        name="send-results", daemon=True)
        self._reader.start()
        return connection

    def _read(self, connection: Connection, child: subprocess.Popen[bytes]) -> None:
        """Deliver the child's answers; when it is gone, fail what it did not answer."""
        try:
            while True:
                answers: list[Answer] = connection.recv()
                for token, errors in answers:
                    with self._lock:
                        waiting = self._waiting.pop(token, None)
                    if waiting is not None:
                        self._finish(waiting, list(zip(waiting.send.requests, errors, strict=True)))
        except (EOFError, OSError):
            pass
        with self._lock:
            # A crash, unless close() ended it. (A batch may already have started
            # a new child: this one's sends are still this reader's to fail.)
            died = connection not in self._closed
            self._closed.discard(connection)
            if self._connection is connection:
                self._child = self._connection = None
            if died:
                log.error("the sending process stopped (exit status %s); its unanswered "
                          "sends are retried", child.poll())
            orphans = {token: waiting for token, waiting in self._waiting.items()
                       if waiting.connection is connection}
            for token in orphans:
                del self._waiting[token]
        connection.close()
        for waiting in orphans.values():
            if died:
                self._finish(waiting, [(name, STOPPED) for name in waiting.send.requests])
            else:  # abandoned by close(): the caller keeps their claims
                self._count_down(waiting.batch)

    def _finish(self, waiting: _Waiting[T], errors: list[tuple[str, str | None]]) -> None:
        try:
            self._on_result(waiting.send.item, dict(errors))
        except Exception:
            log.exception("recording a send's result failed")
        self._count_down(waiting.batch)

    @staticmethod
    def _count_down(batch: _Batch) -> None:
        batch.left -= 1  # only the reader thread of one child counts down a batch
        if batch.left == 0:
            batch.done.set_result(None)


# -- the child ------------------------------------------------------------------------


def serve(connection: Connection) -> None:
    """Send every batch that arrives, answer as sends finish, exit at end of input."""
    answers: list[Answer] = []
    flushing = False

    def flush() -> None:  # on the loop: one message for all that finished meanwhile
        nonlocal flushing
        flushing = False
        batch = answers[:]
        answers.clear()
        try:
            connection.send(batch)
        except OSError:
            os._exit(0)  # the parent is gone: nobody to answer

    async def send(job: Job) -> None:
        nonlocal flushing
        token, requests = job
        errors: list[str | None] = []
        for request in requests:
            try:
                await CLIENT.send(request)
                errors.append(None)
            except HttpError as exc:
                errors.append(str(exc))
            except Exception as exc:  # a bug must still answer, never hang the parent
                errors.append(f"unexpected error: {type(exc).__name__}")
        answers.append((token, errors))
        if not flushing:
            flushing = True
            asyncio.get_running_loop().call_soon(flush)

    async def send_all(jobs: list[Job]) -> None:
        await asyncio.gather(*(send(job) for job in jobs))

    while True:
        try:
            jobs: list[Job] = connection.recv()
        except (EOFError, OSError):
            break
        CLIENT.run(send_all(jobs))
    # The parent has drained what it waits for and handed back its claims:
    # anything still in flight here must not be sent after all.
    os._exit(0)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    load()  # aiohttp, before the first request rather than during it
    freeze_what_start_up_loaded()  # aiohttp and the client: ~2 ms collections, not ~20
    serve(Connection(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
