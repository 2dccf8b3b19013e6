"""The delivery latency histogram has room for fast sends (0.03 s after due is
not "0.5 to 1 s"), and a bad Apprise URL is one config problem, without
Apprise's own ERROR line beside it (while other threads still log)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heupreminder.config.loader import _apprise_quiet
from heupreminder.db.models import utcnow
from heupreminder.ops.metrics import REGISTRY, record_delivery
from heupreminder.scheduler.dispatcher import Dispatcher
from tests.helpers import load, migrated, person_config
from tests.receivers import HttpInbox

HISTOGRAM = "heupreminder_delivery_latency_seconds"
MORNING = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)  # 07:30 in Amsterdam


def buckets(channel_type: str) -> dict[str, float]:
    """Cumulative count per upper bound (``le``) for one channel type."""
    return {sample.labels["le"]: sample.value for metric in REGISTRY.collect()
            if metric.name == HISTOGRAM for sample in metric.samples
            if sample.name == f"{HISTOGRAM}_bucket"
            and sample.labels["channel_type"] == channel_type}


def test_a_send_003_s_after_due_lands_in_the_up_to_005_s_bucket() -> None:
    due = utcnow() - timedelta(seconds=5)
    # The dispatcher writes a burst's results a tick later (here 5 s): the latency is
    # the moment the channel accepted it, not the moment of writing.
    record_delivery("test-fast", None, due, delivered_at=due + timedelta(seconds=0.03))
    record_delivery("test-fast", None, due, delivered_at=due + timedelta(seconds=0.03))
    counts = buckets("test-fast")
    assert counts["0.025"] == 0 and counts["0.05"] == 2  # in (0.025, 0.05]
    assert counts["0.5"] == counts["1.0"] == counts["+Inf"] == 2


def test_without_a_delivery_time_now_is_the_arrival() -> None:
    record_delivery("test-now", None, utcnow() - timedelta(seconds=0.03))
    counts = buckets("test-now")
    assert counts["0.025"] == 0 and counts["0.1"] == 1
    record_delivery("test-now", "refused", utcnow())  # a failure is no latency
    assert buckets("test-now")["+Inf"] == 1


def test_check_config_reports_a_bad_apprise_url_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f"""
[service]
database = "sqlite:///{tmp_path / 'x.db'}"
[channels]
mail = "mailto://nouser@"
[[people]]
id = "anna"
name = "Anna"
timezone = "Europe/Amsterdam"
channels = ["mail"]
[[people.routines]]
exercise = "bridge"
at = "07:30"
""", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "heupreminder", "check-config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "heupreminder: the config has problems:",
        f"  {config}: channels.mail: Apprise cannot use this URL (mailto://...)"]


def test_only_the_validating_thread_is_silenced(caplog: pytest.LogCaptureFixture) -> None:
    apprise_log = logging.getLogger("apprise")
    with caplog.at_level(logging.WARNING, logger="apprise"), _apprise_quiet():
        apprise_log.error("from the validating thread")
        other = threading.Thread(target=apprise_log.error, args=("from a sending thread",))
        other.start()
        other.join()
    apprise_log.error("after validation")
    assert [r.getMessage() for r in caplog.records] == ["from a sending thread",
                                                        "after validation"]


def test_the_dispatcher_times_a_delivery_when_it_happened_not_when_it_was_written(
        tmp_path: Path, receiver: HttpInbox) -> None:
    settings = load(tmp_path, person_config(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", channels={"push": receiver.url},
        routines='[[people.routines]]\nexercise = "bridge"\nat = "07:30"\n'))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    dispatcher = Dispatcher(sessions, lambda: settings, "node", clock=lambda: MORNING)
    dispatcher.schedule_due(MORNING)
    [job] = dispatcher.prepare(dispatcher.claim(MORNING, 10))
    result = dispatcher.send_job(job)
    result.finished_at = MORNING + timedelta(seconds=0.03)  # when the receiver took it
    before = buckets("json")
    dispatcher.clock = lambda: MORNING + timedelta(seconds=5)  # written a while later
    assert dispatcher.record([result]) == ["sent"]
    after = buckets("json")
    assert after["0.05"] - before.get("0.05", 0) == 1
    assert after["0.025"] - before.get("0.025", 0) == 0
