"""The care provider's report (`heupreminder report`) as CSV, JSON and PDF (read
back: readable words, no ids or codes, the chart on page 1), its default period
(the last 4 weeks in the person's time zone), the history table, and bad
input: exit 2, a message naming the field, no file."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.db.models import CheckIn, DecisionRow, Occurrence, PainReport
from tests.anna_history import anna, local

PERIOD = ["--from", "2026-11-20", "--to", "2026-11-29"]


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


def cli_stdout(config: Path, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout (the report) and stderr (what the command says about it)."""
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.stdout, result.stderr


# What a care provider must not have to decode: the database's row ids
# ("report 3", "reports 1, 2") and the policy's and the schema's codes.
INTERNAL = re.compile(r"\breports? \d|\b(persisting|rising|worsening|severe-today|"
                      r"severe-while-paused|rested|manual|checkin|reminder|skipped|outer|"
                      r"lower-back|groin)\b")


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
                             "location", "note", "reason", "source", "details"]
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
    # Codes stay for scripts; the details say it in Anna's language, without ids.
    assert pain_pause["details"] == "alle oefeningen: de pijn hield aan, pijn 5 en 6 van 10"
    assert fietsen["details"] == "4/10, buitenkant heup, dij of bil, na het fietsen"
    assert {r["details"] for r in rest} == {"rustdag (telt niet als gemist)"}
    assert not any(INTERNAL.search(r["details"]) for r in rows)
    checkins = [(r["date"], r["routine"], r["status"]) for r in rows if r["type"] == "checkin"]
    assert ("2026-11-25", "bridge", "skipped") in checkins
    # Tapped twice: one answer per reminder (the latest), since migration 0004.
    assert checkins.count(("2026-11-23", "bridge", "done")) == 1
    assert "2026-11-30" not in {r["date"] for r in rows}


def test_json_report_has_totals_and_the_same_events(tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    code, text, said = cli_stdout(settings.path, "report", "anna", *PERIOD, "--format", "json")
    assert code == 0, said
    assert said == "report: 38 events of anna, 2026-11-20 to 2026-11-29\n"
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


def test_pdf_speaks_in_words_and_shows_the_chart_first(tmp_path: Path,
                                                       database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    output = tmp_path / "anna.pdf"
    code, text = cli(settings.path, "report", "anna", *PERIOD, "--format", "pdf", "-o",
                     str(output))
    assert code == 0, text
    reader = PdfReader(output)
    pages = [page.extract_text() for page in reader.pages]
    words = "\n".join(pages)
    assert not INTERNAL.findall(words), INTERNAL.findall(words)
    assert "(anna)" not in words and "bridge" not in words  # names, not config keys
    for line in ("Ochtendbrug 6 8 2",
                 "Rust alle oefeningen: de pijn hield aan, pijn 5 en 6 van 10",
                 "Rust alle oefeningen: met de hand stilgezet",
                 "Weer verder alle oefeningen: met de hand hervat",
                 "Herinnering Ochtendbrug rustdag (telt niet als gemist)",
                 "Pijn 4/10, buitenkant heup, dij of bil, na het fietsen",
                 "Antwoord Ochtendbrug overgeslagen"):
        assert line in words, line
    # Page 1 holds the chart (a PNG at twice the chart's size, sharp when printed).
    [chart] = reader.pages[0].images
    assert Image.open(io.BytesIO(chart.data)).size == (1280, 960)


def test_report_without_dates_covers_the_last_4_weeks_of_the_persons_today(
        tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    output = tmp_path / "anna.pdf"
    # 23:30 UTC on 29 November is already 30 November in Amsterdam.
    with freeze_time(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)):
        code, text = cli(settings.path, "report", "anna", "--format", "pdf", "-o",
                         str(output))
        assert code == 0, text
        assert text == (f"wrote {output}: 75 events of anna, 2026-11-03 to 2026-11-30 "
                        "(the last 4 weeks)\n")
        code, report, said = cli_stdout(settings.path, "report", "anna", "--format", "json")
        assert code == 0, said
        assert (json.loads(report)["from"], json.loads(report)["to"]) == (
            "2026-11-03", "2026-11-30")
        assert said.endswith("2026-11-03 to 2026-11-30 (the last 4 weeks)\n")
        code, _, said = cli_stdout(settings.path, "report", "anna", "--to", "2026-11-21")
        assert code == 0 and said.endswith("2026-10-25 to 2026-11-21 (4 weeks)\n"), said
    assert "Periode: 2026-11-03 - 2026-11-30" in PdfReader(output).pages[0].extract_text()


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
