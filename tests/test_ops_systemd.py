"""systemd integration: sd_notify datagrams on a real socket, the unit file, and
the real service process telling a (test) systemd it is ready, alive, stopping."""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heupreminder.db.models import utcnow
from heupreminder.ops import systemd
from tests.helpers import person_config

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "heupreminder.service"


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock, self.name = sock, name

    def receive(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def receive_until(self, wanted: str, timeout: float) -> list[str]:
        """Messages up to and including `wanted`; fails if it does not come in time."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {wanted!r} within {timeout} s; got {seen}")
            try:
                seen.append(self.receive(left))
            except TimeoutError:
                continue
            if seen[-1] == wanted:
                return seen

    def nothing(self, wait: float = 0.3) -> bool:
        try:
            self.receive(wait)
        except TimeoutError:
            return True
        return False


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    path = tmp_path / "notify.sock"
    short = None
    if len(str(path)) > 100:  # AF_UNIX paths are limited to ~108 bytes
        short = tempfile.mkdtemp(prefix="heup-")
        path = Path(short) / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        yield NotifySocket(sock, str(path))
    finally:
        sock.close()
        if short:
            shutil.rmtree(short, ignore_errors=True)


def test_messages_arrive_as_exact_datagrams(notify_socket: NotifySocket,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.name)
    assert systemd.ready() is True
    assert notify_socket.receive() == "READY=1"
    assert systemd.watchdog() is True
    assert notify_socket.receive() == "WATCHDOG=1"
    assert systemd.stopping() is True
    assert notify_socket.receive() == "STOPPING=1"
    assert systemd.notify("EXTEND_TIMEOUT_USEC=1000000") is True
    assert notify_socket.receive() == "EXTEND_TIMEOUT_USEC=1000000"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux")
def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"heupreminder-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.ready() is True
        sock.settimeout(5)
        assert sock.recv(4096) == b"READY=1"


def test_outside_systemd_nothing_happens(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.ready() is False
    assert systemd.watchdog() is False
    # A socket that is gone (systemd restarted) or a strange value: no error either.
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert systemd.stopping() is False
    monkeypatch.setenv("NOTIFY_SOCKET", "not-a-socket")
    assert systemd.ready() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert systemd.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    assert systemd.watchdog_interval() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert systemd.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert systemd.watchdog_interval() is None


def test_watchdog_is_fed_only_while_the_clock_ticks(
        tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch) -> None:
    from heupreminder.scheduler.service import Service

    config = tmp_path / "heupreminder.toml"
    config.write_text(person_config(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", channels={"log": "console://"},
        routines='[[people.routines]]\nexercise = "bridge"\nat = "07:30"\n'), encoding="utf-8")
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.name)
    service = Service(config)
    try:
        service._feed_watchdog()  # never ticked
        assert notify_socket.nothing()
        service.last_tick = utcnow() - timedelta(seconds=30)  # a stuck scheduler
        service._feed_watchdog()
        assert notify_socket.nothing()
        service.last_tick = utcnow()
        service._feed_watchdog()
        assert notify_socket.receive() == "WATCHDOG=1"
    finally:
        service.pool.shutdown()
        service.engine.dispose()


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_file() -> None:
    unit = _unit()
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "60"
    assert service["Restart"] == "on-failure"
    assert service["DynamicUser"] == "yes"
    assert service["StateDirectory"] == "heupreminder"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ExecStart"] == ("/opt/heupreminder/bin/heupreminder run "
                                    "--config /etc/heupreminder/heupreminder.toml")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    text = UNIT.read_text(encoding="utf-8")
    assert "Environment=HEUPREMINDER_DATABASE_URL=sqlite:////var/lib/heupreminder/" in text
    assert "SystemCallFilter=@system-service" in text
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    # The service pings at half the interval and only while ticking (10 s), well inside it.
    from heupreminder.scheduler.service import WATCHDOG_MAX_TICK_AGE
    assert WATCHDOG_MAX_TICK_AGE.total_seconds() < int(service["WatchdogSec"]) / 2


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify also checks that ExecStart exists; point it at a binary this machine has.
    unit = tmp_path / "heupreminder.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(
        "/opt/heupreminder/bin/heupreminder", "/bin/true"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if "heupreminder.service" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_service_tells_systemd_ready_watchdog_and_stopping(
        tmp_path: Path, notify_socket: NotifySocket) -> None:
    later = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(hours=1)).strftime("%H:%M")
    config = tmp_path / "heupreminder.toml"
    config.write_text(person_config(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", channels={"log": "console://"},
        routines=f'[[people.routines]]\nexercise = "bridge"\nat = "{later}"\n'),
        encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.name, "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    env.pop("HEUPREMINDER_DATABASE_URL", None)
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "run", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            before = notify_socket.receive_until("READY=1", timeout=30)
            assert "WATCHDOG=1" not in before and "STOPPING=1" not in before
            assert "heupreminder ready" in log.read_text()
            ready_at = time.monotonic()
            notify_socket.receive_until("WATCHDOG=1", timeout=3)
            assert time.monotonic() - ready_at < 3
            notify_socket.receive_until("WATCHDOG=1", timeout=3)  # and it keeps coming
            process.send_signal(signal.SIGTERM)
            notify_socket.receive_until("STOPPING=1", timeout=10)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "heupreminder stopped" in log.read_text()
