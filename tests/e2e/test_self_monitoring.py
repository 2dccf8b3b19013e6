"""Self-monitoring on the running service: heartbeat pings, and the admin
channel told when a channel stops delivering and after a crash (kill -9)."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.test_service import due_after_ready, service, wait_until
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox, free_port


def test_heartbeat_and_admin_channel(tmp_path: Path, receiver: HttpInbox) -> None:
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    config = tmp_path / "heupreminder.toml"

    def write_config(due_in: timedelta) -> None:
        due = (datetime.now(ZoneInfo("Europe/Amsterdam")) + due_in).strftime("%H:%M:%S")
        config.write_text(person_config(
            database_url=f"sqlite:///{tmp_path / 'h.db'}", catch_up="10s",
            channels={"phone": dead, "admin": receiver.url}, person_channels=["phone"],
            extra_service=(f'heartbeat_url = "http://127.0.0.1:{receiver.port}/ping/a1b2c3d4e5f6"\n'
                           'admin_channel = "admin"'),
            routines=routine("bridge", at=due)), encoding="utf-8")

    write_config(timedelta(hours=1))
    log = tmp_path / "service.log"
    with service(config, log) as process:
        due_after_ready(process, log, lambda: write_config(timedelta(seconds=3)))
        wait_until(lambda: receiver.posts, timeout=60)  # after retries at +2 s and +5 s
        assert receiver.posts[0]["title"] == "heupreminder: channel 'phone' is not delivering"
        wait_until(lambda: receiver.gets, timeout=30)
        assert receiver.gets[0] == "/ping/a1b2c3d4e5f6"
        process.send_signal(signal.SIGKILL)  # a crash
        process.wait()
    assert "a1b2c3d4e5f6" not in log.read_text()  # the ping token is a secret

    with service(config, tmp_path / "second.log") as process:
        wait_until(lambda: any("after a crash" in p["title"] for p in receiver.posts))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    crash_notices = [p for p in receiver.posts if "after a crash" in p["title"]]
    assert len(crash_notices) == 1

    with service(config, tmp_path / "third.log") as process:  # after a clean stop: no notice
        wait_until(lambda: "heupreminder ready" in (tmp_path / "third.log").read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert len([p for p in receiver.posts if "after a crash" in p["title"]]) == 1
