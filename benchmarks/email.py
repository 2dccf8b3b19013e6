"""The email burst: an SMTP sink, the smtplib limits, and the email targets.

    python -m benchmarks.email sink --ready-file F     # the sink, as its own process
    python -m benchmarks.email limit --db URL --url mailto://... --connections 1

The sink is a minimal asyncio SMTP server (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; no TLS, no AUTH) in its own process, so its CPU never competes with the
measured process for an interpreter lock. aiosmtpd (its Sink handler, own
process) capped the one-connection smtplib limit at ~650/s on this machine;
this sink took 860-1,300/s in the same comparison (load average 2.8), so the
limit measures smtplib, not the sink. Every message whose DATA ends is one arrival
(time.time() at the final dot, before the 250). It answers the same control
requests as `receiver.py` (GET /_count, /_stats, POST /_reset) on a second
port, so the harness's `Receiver` drives it unchanged; /_stats also says how
many connections it accepted.

The limit: the messages heupreminder builds for each routine (`mail.build_email`
with the channel's sender and recipient, as `sender.py` does), built before
the clock starts, sent with smtplib over 1 (and 8) kept-open connections, no
scheduling. The naive contender is `naive.py` with the mailto:// URL: Apprise's
own email plugin, a new connection (and TLS context) per reminder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import smtplib
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import PYTHON, REPO_DIR, bench_env, check, child
from benchmarks.receiver import HttpProtocol, Inbox
from benchmarks.receiver_process import Receiver

# Burst sizes for email (the naive script sends ~50/s: 1,000 takes it 20 s).
SIZES = {"smoke": (200,), "full": (1_000,)}
# The email targets (2-core machine). Never lowered here: a miss is reported.
TARGETS = {"ratio_to_limit": 0.3, "ratio_to_naive": 5.0, "cpu_ms_per_email": 3.0}
SENDER = "heup@example.org"
RECIPIENT = "anna@example.org"


# -- the sink -------------------------------------------------------------------------


class MailInbox(Inbox):
    """The receiver's inbox, plus the SMTP connections accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    def reset(self) -> None:
        super().reset()
        self.connections = 0

    def stats(self, full: bool) -> dict[str, object]:
        return {**super().stats(full), "connections": self.connections}


class SmtpSink(asyncio.Protocol):
    """Just enough SMTP for smtplib and Apprise: every complete DATA is an arrival."""

    def __init__(self, inbox: MailInbox) -> None:
        self.inbox = inbox
        self.buffer = bytearray()
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.inbox.connections += 1
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                content = bytes(self.buffer[:end])
                del self.buffer[:end + 5]
                self.in_data = False
                self.inbox.arrivals.append(time.time())
                if b"Subject:" not in content:
                    self.inbox.bad += 1
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end])
            del self.buffer[:end + 2]
            self.command(line[:4].upper())

    def command(self, verb: bytes) -> None:
        assert self.transport is not None
        if verb == b"EHLO":
            self.transport.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                                 b"250 SIZE 33554432\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 end with <CRLF>.<CRLF>\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.transport.write(b"250 OK\r\n")
        else:
            self.transport.write(b"502 not implemented\r\n")


async def serve(ready_file: str) -> None:
    inbox = MailInbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SmtpSink(inbox), "127.0.0.1", 0, backlog=4096)
    control = await loop.create_server(lambda: HttpProtocol(inbox), "127.0.0.1", 0)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ports = [s.sockets[0].getsockname()[1] for s in (control, smtp)]
    Path(ready_file).write_text(" ".join(map(str, ports)), encoding="utf-8")
    async with smtp, control:
        await stop.wait()


@dataclass
class MailSink(Receiver):
    """The sink process: `port` is its control port (the harness's Receiver), and
    `smtp_port` where mail goes."""

    smtp_port: int = 0

    @property
    def mailto_url(self) -> str:
        """Plain SMTP, as the issue's figures: no TLS, no login."""
        return f"mailto://127.0.0.1:{self.smtp_port}?from={SENDER}&to={RECIPIENT}"


def start_sink(workdir: Path) -> MailSink:
    ready = workdir / "smtp-sink.ports"
    ready.unlink(missing_ok=True)
    log = (workdir / "smtp-sink.log").open("wb")
    process = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.email", "sink", "--ready-file", str(ready)],
        cwd=REPO_DIR, env=bench_env(None), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not ready.exists() or len(ready.read_text().split()) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the SMTP sink did not start; see {workdir / 'smtp-sink.log'}")
        time.sleep(0.02)
    control, smtp = (int(p) for p in ready.read_text().split())
    return MailSink(process, control, smtp)


# -- the limit ----------------------------------------------------------------------


def built_messages(database_url: str, channel_url: str) -> list[EmailMessage]:
    """heupreminder's message for each routine, as the service builds it for email."""
    import apprise
    from sqlalchemy import create_engine, text

    from heupreminder.delivery.mail import build_email
    from heupreminder.delivery.messages import compose
    from heupreminder.delivery.smtp import address

    plugin = apprise.Apprise.instantiate(channel_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT r.key, r.kind, r.exercise, r.side, r.title, r.text, p.timezone, p.locale "
            "FROM routines r JOIN people p ON p.id = r.person_id WHERE r.active "
            "ORDER BY r.id")).all()
    engine.dispose()
    out = []
    for row in rows:
        routine = SimpleNamespace(key=row.key, kind=row.kind, exercise=row.exercise,
                                  side=row.side, title=row.title, text=row.text)
        message = compose(routine, row.locale,  # type: ignore[arg-type]
                          datetime.now(ZoneInfo(row.timezone)).date())
        [target] = plugin.targets
        out.append(build_email(title=message.title, body=message.body,
                               sender=address(plugin.from_addr), recipient=address(target),
                               lang=row.locale, headers=dict(plugin.headers)))
    return out


def send_all(messages: list[EmailMessage], host: str, port: int,
             connections: int) -> dict[str, Any]:
    """smtplib over `connections` kept-open connections, sharing the messages."""
    lock = threading.Lock()
    position = [0]
    errors = [0]

    def worker() -> None:
        smtp = smtplib.SMTP(host, port, timeout=30)
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(messages):
                break
            try:
                smtp.send_message(messages[index], from_addr=SENDER, to_addrs=[RECIPIENT])
            except (OSError, smtplib.SMTPException):
                errors[0] += 1
                smtp.close()
                smtp = smtplib.SMTP(host, port, timeout=30)
        smtp.quit()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    cpu_before, started, started_wall = time.process_time(), time.perf_counter(), time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"posts": len(messages), "errors": errors[0], "seconds": seconds,
            "started_wall": started_wall, "concurrency": connections,
            "cpu_seconds": time.process_time() - cpu_before,
            "per_second": len(messages) / seconds if seconds else None}


def burst_limit(ctx: Any, url: str, n: int) -> dict[str, Any]:
    """The one-connection limit (the ratio's reference), with the 8-connection one in it."""
    results = {}
    for connections in (1, ctx.workers):
        ctx.receiver.reset()
        result = child(["benchmarks.email", "limit", "--db", url, "--url", ctx.channel_url,
                        "--connections", str(connections)], ctx, timeout=600)
        stats = ctx.receiver.stats()
        result["receiver_count"] = stats["count"]
        result["receiver_connections"] = stats.get("connections")
        result["cpu_ms_per_reminder"] = 1000 * result["cpu_seconds"] / max(1, result["posts"])
        results[connections] = result
    one = results[1]
    one["more_connections"] = results[ctx.workers]
    return one


# -- targets ------------------------------------------------------------------------


def targets(db: str, label: str, burst: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    """The email burst's own targets (targets.evaluate checks delivery for every burst)."""
    rows = []
    if "ratio_to_limit" in burst:
        rows.append(check(db, label, "throughput / smtplib, 1 connection",
                          burst["ratio_to_limit"], TARGETS["ratio_to_limit"], at_most=False,
                          unit="x", note=scope))
    if "ratio_to_naive" in burst:
        rows.append(check(db, label, "throughput / naive APScheduler + Apprise",
                          burst["ratio_to_naive"], TARGETS["ratio_to_naive"], at_most=False,
                          unit="x", note=scope))
    heup = burst.get("heupreminder")
    if heup:
        rows.append(check(db, label, "CPU per email (service + child)",
                          heup.get("cpu_ms_per_reminder"), TARGETS["cpu_ms_per_email"],
                          at_most=True, unit="ms", note=scope))
        arrived = heup["receiver"]["delivered"]
        rows.append(check(db, label, "arrived at the sink exactly once (sink count - due)",
                          float(arrived - burst["reminders"]), 0.0, at_most=True, unit="",
                          note="negative: lost; positive: sent twice",
                          failed=None if arrived == burst["reminders"] else
                          f"{arrived:,} arrived for {burst['reminders']:,} due"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sink = commands.add_parser("sink", help="run the SMTP sink until SIGTERM")
    sink.add_argument("--ready-file", required=True,
                      help="written with 'CONTROL_PORT SMTP_PORT' once listening")
    limit = commands.add_parser("limit", help="send the burst's messages with smtplib")
    limit.add_argument("--db", required=True)
    limit.add_argument("--url", required=True, help="mailto://127.0.0.1:PORT?from=..&to=..")
    limit.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    if args.command == "sink":
        asyncio.run(serve(args.ready_file))
        return
    import apprise

    from heupreminder.delivery.smtp import Server

    server = Server.of(apprise.Apprise.instantiate(args.url))
    if server.host not in ("127.0.0.1", "localhost", "::1") or server.mode != "insecure":
        raise SystemExit("the limit sends to a loopback sink over plain SMTP only")
    result = send_all(built_messages(args.db, args.url), server.host, server.port,
                      args.connections)
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
