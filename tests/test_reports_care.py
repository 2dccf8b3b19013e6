"""The care provider's report (`heupreminder report`) as CSV, JSON and PDF, the
history table, and bad input: exit 2, a message naming the field, no file."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.db.models import CheckIn, DecisionRow, Occurrence, PainReport
from tests.test_reports_helpers import anna, local

PERIOD = ["--from", "2026-11-20", "--to", "2026-11-29"]


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


def events_in_period(sessions: sessionmaker[Session]) -> int:
    start, end = local(20, 0), local(29, 0) + timedelta(days=1)
    with sessions() as session:
        return sum(session.scalar(select(func.count()).select_from(model).where(
            column >= start, column < end)) or 0 for model, column in (
                (Occurrence, Occurrence.due_at), (CheckIn, CheckIn.at),
                (PainReport, PainReport.at), (DecisionRow, DecisionRow.at)))


def test_csv_has_one_row_per_event(tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    output = tmp_path / "anna.csv"
    code, text = cli(settings.path, "report", "anna", *PERIOD, "--format", "csv",
                     "--output", str(output))
    assert code == 0, text
    with output.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == events_in_period(sessions) == 38
    assert list(rows[0]) == ["date", "time", "type", "routine", "status", "level",
                             "location", "note", "reason", "source"]
    assert [r["date"] + " " + r["time"] for r in rows] == sorted(
        r["date"] + " " + r["time"] for r in rows)  # oldest first, local time
    assert {r["type"] for r in rows} == {"reminder", "checkin", "pain", "pause", "resume"}
    fietsen = next(r for r in rows if r["note"] == "na het fietsen")
    assert (fietsen["date"], fietsen["time"], fietsen["type"], fietsen["level"],
            fietsen["location"]) == ("2026-11-25", "18:00", "pain", "4", "outer")
    rest = [r for r in rows if r["type"] == "reminder" and r["status"] == "skipped"]
    assert [r["date"] for r in rest] == ["2026-11-26", "2026-11-27"]
    assert all(r["reason"].startswith("paused:") for r in rest)
    [pain_pause] = [r for r in rows if r["type"] == "pause" and r["status"] == "persisting"]
    assert pain_pause["reason"] == "pain 5+ reported 2 times over 120 h"
    checkins = [(r["date"], r["routine"], r["status"]) for r in rows if r["type"] == "checkin"]
    assert ("2026-11-25", "bridge", "skipped") in checkins
    # Tapped twice: one answer per reminder (the latest), since migration 0004.
    assert checkins.count(("2026-11-23", "bridge", "done")) == 1
    assert "2026-11-30" not in {r["date"] for r in rows}


def test_json_report_has_totals_and_the_same_events(tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    code, text = cli(settings.path, "report", "anna", *PERIOD, "--format", "json")
    assert code == 0, text
    report = json.loads(text)
    assert report["person"] == {"id": "anna", "name": "Anna", "timezone": "Europe/Amsterdam"}
    assert (report["from"], report["to"]) == ("2026-11-20", "2026-11-29")
    assert len(report["events"]) == events_in_period(sessions)
    bridge = next(r for r in report["routines"] if r["routine"] == "bridge")
    assert (bridge["planned"], bridge["done"], bridge["rest_not_counted"]) == (8, 6, 2)
    assert report["pain"] == {"reports": 5, "average": 3.4, "highest": 6}
    assert report["events"][0]["at"] == "2026-11-20T07:30:00+01:00"


def test_pdf_report(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    output = tmp_path / "anna.pdf"
    code, text = cli(settings.path, "report", "anna", *PERIOD, "--format", "pdf", "-o",
                     str(output))
    assert code == 0, text
    data = output.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/Type /Page" in data and len(data) > 3000


@pytest.mark.parametrize(("args", "message"), [
    (["report", "anna", "--from", "2026-13-01", "--to", "2026-11-29"], "'--from'"),
    (["report", "anna", "--from", "2026-11-20", "--to", "29-11-2026"], "'--to'"),
    (["report", "anna", "--from", "2026-11-29", "--to", "2026-11-20"],
     "to: 2026-11-20 is before from 2026-11-29"),
    (["report", "nobody", *PERIOD], "person: no person 'nobody'"),
    (["report", "anna", *PERIOD, "--format", "pdf"], "--output: a PDF report needs a file"),
    (["report", "anna", *PERIOD, "--format", "xml"], "'--format'"),
])
def test_bad_report_input_exits_2_and_writes_nothing(tmp_path: Path, database_url: str,
                                                     args: list[str], message: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    output = tmp_path / "out" / "report.csv"
    output.parent.mkdir()
    extra = [] if "--format" in args and "pdf" in args else ["--output", str(output)]
    code, text = cli(settings.path, *args, *extra)
    assert code == 2, text
    assert message in text and "Traceback" not in text
    assert list(output.parent.iterdir()) == []


def test_history_is_an_aligned_table(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    result = CliRunner().invoke(main, ["history", "--config", str(settings.path), "-p", "anna",
                                       "--days", "60"], env={"COLUMNS": "100"})
    code, text = result.exit_code, result.output
    assert code == 0, text
    header, rule, *lines = text.splitlines()
    assert header.split() == ["When", "Type", "Routine", "What"]
    assert set(rule.replace(" ", "")) == {"-"}
    columns = [header.index(name) for name in ("Type", "Routine", "What")]
    assert [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")] == [
        0, *columns]
    rows = [line for line in lines if not line.startswith(" ")]  # not wrapped continuations
    assert rows and all(
        line[columns[0] - 2:columns[0]] == "  " and line[columns[0]] != " " for line in rows)
    assert any("pain" in line and "4/10, outer: na het fietsen" in line for line in rows)
    assert rows[0].startswith("2026-11-30")  # newest first
    assert all(len(line) <= 100 for line in lines)
