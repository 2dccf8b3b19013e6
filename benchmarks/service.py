"""Start the real `heupreminder run` process on a benchmark database and watch it.

The config owns nothing but the channel: `[service] manage_people =
"database"` tells the service to use the people and routines rows as they
are (a config with a million routines is impractical, and a config-owned
service would deactivate everyone not in the file). Readiness is the
service's own word: READY=1 on $NOTIFY_SOCKET (sd_notify), which it sends
when start-up is complete; then /healthz confirms the clock ticks.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import PYTHON, bench_env, free_port, stop_process

CONFIG = """\
# Written by benchmarks/service.py; the database owns people and routines.
[service]
database = {database}
manage_people = "database"
listen = "127.0.0.1:{listen}"
catch_up = "30m"
send_workers = {workers}

[channels]
bench = {channel}
"""


class ServiceError(RuntimeError):
    pass


@dataclass
class RunningService:
    process: subprocess.Popen[bytes]
    started: float  # time.monotonic() just before Popen
    started_wall: float
    listen: int
    log: Path
    ready_seconds: float | None = None
    healthy_seconds: float | None = None
    notify: socket.socket | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int | None:
        code = stop_process(self.process, timeout)
        if self.notify is not None:
            self.notify.close()
        return code


def write_config(workdir: Path, database_url: str, receiver_url: str, workers: int,
                 listen: int) -> Path:
    path = workdir / "heupreminder-bench.toml"
    path.write_text(CONFIG.format(database=json.dumps(database_url), listen=listen,
                                  workers=workers, channel=json.dumps(receiver_url)),
                    encoding="utf-8")
    return path


def start_service(workdir: Path, database_url: str, receiver_url: str, *, product: Path | None,
                  workers: int = 8, ready_timeout: float = 120.0,
                  log_name: str = "service.log",
                  extra_env: dict[str, str] | None = None) -> RunningService:
    """Start the service; return once it said READY=1 and /healthz answered 200."""
    listen = free_port()
    config = write_config(workdir, database_url, receiver_url, workers, listen)
    notify_path = workdir / "notify.sock"
    notify_path.unlink(missing_ok=True)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    env = bench_env(product)
    env["NOTIFY_SOCKET"] = str(notify_path)
    env.update(extra_env or {})
    log = workdir / log_name
    with log.open("wb") as out:
        started_wall, started = time.time(), time.monotonic()
        process = subprocess.Popen(
            [PYTHON, "-m", "heupreminder", "--log-level", "info", "run", "--config",
             str(config)], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    service = RunningService(process, started, started_wall, listen, log, notify=notify)
    try:
        _wait_ready(service, ready_timeout)
    except BaseException:
        service.stop()
        raise
    return service


def _wait_ready(service: RunningService, timeout: float) -> None:
    assert service.notify is not None
    deadline = service.started + timeout
    while service.ready_seconds is None:
        if service.process.poll() is not None:
            tail = service.log_tail()
            hint = ""
            if "manage_people" in tail:
                hint = ("\nThe service under test does not know [service] manage_people yet; "
                        "see benchmarks/README.md (product requirements).")
            raise ServiceError(f"the service exited ({service.process.returncode}) before it "
                               f"was ready:{hint}\n{tail}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceError(f"the service was not ready within {timeout:.0f} s:\n"
                               f"{service.log_tail()}")
        service.notify.settimeout(min(0.5, remaining))
        try:
            message = service.notify.recv(4096).decode(errors="replace")
        except TimeoutError:
            continue
        if "READY=1" in message.split("\n"):
            service.ready_seconds = time.monotonic() - service.started
    while service.healthy_seconds is None:
        if time.monotonic() > deadline or service.process.poll() is not None:
            raise ServiceError(f"/healthz never answered 200:\n{service.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{service.listen}/healthz",
                                        timeout=5) as response:
                if response.status == 200:
                    service.healthy_seconds = time.monotonic() - service.started
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
