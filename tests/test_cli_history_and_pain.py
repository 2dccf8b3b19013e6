"""`history` as data a script can use (numbers, not "3/10"; times to the second,
events within a minute in order), `pain -1` answered by the level check, and
the import summary's singular and plural (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select

from heupreminder.cli import main
from heupreminder.db.models import PainReport
from tests.anna_history import anna
from tests.test_reports_transfer import empty_database

AFTER_THE_HISTORY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Monday 13:00 in Amsterdam


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]],
                                env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_history_json_gives_a_pain_report_as_data(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    with freeze_time(AFTER_THE_HISTORY):
        code, text = cli(settings.path, "history", "-p", "anna", "--days", "60", "--json")
    assert code == 0, text
    events = json.loads(text)
    fietsen = next(e for e in events if e.get("note") == "na het fietsen")
    assert fietsen["type"] == "pain"
    assert fietsen["level"] == 4 and isinstance(fietsen["level"], int)
    assert (fietsen["where"], fietsen["routine"], fietsen["at"]) == (
        "outer", None, "2026-11-25T18:00:00+01:00")
    with_routine = next(e for e in events if e["type"] == "pain" and e["level"] == 6)
    assert with_routine["routine"] == "bridge" and with_routine["where"] == "groin"
    assert with_routine["note"] is None
    # The other kinds keep their own fields beside the table's text.
    reminder = next(e for e in events if e["type"] == "reminder" and e["status"] == "skipped")
    assert reminder["reason"] == "paused: paused by hand (cli)"
    pause = next(e for e in events if e["type"] == "pause" and e["code"] == "persisting")
    assert pause["reason"].startswith("pain 5+ reported 2 times")


def test_history_is_precise_to_the_second_and_in_order_within_a_minute(
        tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    with freeze_time(AFTER_THE_HISTORY):
        # Logged out of order: the later one first, so row ids disagree with the times.
        for level, at in (("2", "2026-11-30T12:40:50"), ("1", "2026-11-30T12:40:10"),
                          ("0", "2026-11-30T12:40:30")):
            code, text = cli(settings.path, "pain", level, "-p", "anna", "--at", at)
            assert code == 0, text
        code, text = cli(settings.path, "history", "-p", "anna", "--days", "1", "--json")
        assert code == 0, text
        newest = [(e["at"], e["level"]) for e in json.loads(text) if e["type"] == "pain"][:3]
        code, table = cli(settings.path, "history", "-p", "anna", "--days", "1")
    assert newest == [("2026-11-30T12:40:50+01:00", 2), ("2026-11-30T12:40:30+01:00", 0),
                      ("2026-11-30T12:40:10+01:00", 1)]
    assert code == 0, table
    pain_lines = [line for line in table.splitlines() if "  pain  " in line][:3]
    assert [line[:19] for line in pain_lines] == [
        "2026-11-30 12:40:50", "2026-11-30 12:40:30", "2026-11-30 12:40:10"]
    assert [line.split()[-1] for line in pain_lines] == ["2/10", "0/10", "1/10"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PainReport)) == 11


def test_a_negative_pain_level_gets_the_range_error(tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    for args in (["pain", "-1"], ["pain", "-1", "-p", "anna"], ["pain", "-p", "anna", "-1"]):
        code, text = cli(settings.path, *args)
        assert code == 2, text
        # The level check's own words (records.py words it; either wording is the range).
        assert re.search(r"level: '?-1'? is not (between 0 and 10|a number from 0 to 10)",
                         text), text
        assert "No such option" not in text and "Traceback" not in text
    with sessions() as session:  # nothing written
        assert session.scalar(select(func.count()).select_from(PainReport)) == 8
    # A real option still works, and a misspelt one is still refused by name.
    code, text = cli(settings.path, "pain", "--wehre", "groin", "3")
    assert code == 2 and "unexpected extra argument" in text.lower(), text


def test_import_summary_says_1_pause_and_2_routines(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path / "source", f"sqlite:///{tmp_path / 'source.db'}")
    file = tmp_path / "anna.json"
    code, text = cli(settings.path, "export", "anna", "--output", str(file))
    assert code == 0, text
    document = json.loads(file.read_text(encoding="utf-8"))
    # Keep one pause (the pain pause) and its one decision; one check-in, one pain report.
    manual = next(p["ref"] for p in document["pauses"] if p["code"] == "manual")
    document["pauses"] = [p for p in document["pauses"] if p["ref"] != manual]
    document["decisions"] = [d for d in document["decisions"] if d["pause"] != manual]
    for occurrence in document["occurrences"]:  # the reminders it skipped no longer name it
        if occurrence["pause"] == manual:
            occurrence["pause"] = None
    document["checkins"] = document["checkins"][:1]
    document["pain_reports"] = [p for p in document["pain_reports"]
                                if any(p["ref"] in d["reports"] for d in document["decisions"])]
    document["decisions"][0]["reports"] = [document["pain_reports"][0]["ref"]]
    document["pain_reports"] = document["pain_reports"][:1]
    file.write_text(json.dumps(document), encoding="utf-8")
    target, _ = empty_database(tmp_path / "target", database_url)
    code, text = cli(target, "import", str(file))
    assert code == 0, text
    assert text.strip() == ("imported anna: 2 routines, 36 occurrences, 33 deliveries, "
                            "1 check-in, 1 pain report, 1 pause, 1 decision")
