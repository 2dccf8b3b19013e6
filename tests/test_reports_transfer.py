"""Export / import of a person's full data: exact round trips between SQLite and
PostgreSQL, refusing to overwrite unless --replace, and bad files refused
with exit 2, a message naming the field, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Delivery,
    Occurrence,
    PainReport,
    PauseRow,
    Person,
    Routine,
)
from heupreminder.reports.transfer import export_person
from tests.anna_history import ROUTINES, anna, local
from tests.helpers import load, migrated, person_config

MODELS = (Person, Routine, Occurrence, Delivery, CheckIn, PainReport, PauseRow, DecisionRow)


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


def empty_database(folder: Path, database_url: str) -> tuple[Path, sessionmaker[Session]]:
    """A migrated database with no people, and a config file pointing at it."""
    folder.mkdir()
    settings = load(folder, person_config(database_url=database_url,
                                          channels={"log": "console://"}, routines=ROUTINES))
    sessions = migrated(settings, local(1, 0))
    with sessions.begin() as session:  # the config sync added Anna; start really empty
        session.query(Routine).delete()
        session.query(Person).delete()
    return settings.path, sessions


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in MODELS}


def exported(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as session:
        return export_person(session, "anna")


def test_export_import_round_trips_exactly_between_sqlite_and_postgresql(
        tmp_path: Path, database_url: str) -> None:
    # SQLite -> the fixture's database (PostgreSQL in its run), through the CLI.
    source_settings, source = anna(tmp_path / "sqlite", f"sqlite:///{tmp_path / 'source.db'}")
    file = tmp_path / "anna.json"
    code, text = cli(source_settings.path, "export", "anna", "--output", str(file))
    assert code == 0, text
    first = json.loads(file.read_text(encoding="utf-8"))
    assert first["format"] == "heupreminder-export" and first["version"] == 1
    assert {k: len(v) for k, v in first.items() if isinstance(v, list)} == {
        "routines": 2, "occurrences": 36, "deliveries": 33, "checkins": 30,
        "pain_reports": 8, "pauses": 2, "decisions": 3,
        "personal_channels": 0}  # people's own channels: by name, masked, never the URL

    target_config, target = empty_database(tmp_path / "target", database_url)
    code, text = cli(target_config, "import", str(file))
    assert code == 0, text
    assert "imported anna: 2 routines, 36 occurrences" in text
    assert exported(target) == first
    assert counts(target) == counts(source)

    # ... and back: the fixture's database -> a fresh SQLite, again identical.
    back_config, back = empty_database(tmp_path / "back",
                                       f"sqlite:///{tmp_path / 'back.db'}")
    code, text = cli(target_config, "export", "anna")
    assert code == 0, text
    (tmp_path / "again.json").write_text(text, encoding="utf-8")
    assert json.loads(text) == first
    assert cli(back_config, "import", str(tmp_path / "again.json"))[0] == 0
    assert exported(back) == first


def test_references_survive_the_move(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}")
    target_config, target = empty_database(tmp_path / "b", database_url)
    file = tmp_path / "anna.json"
    assert cli(settings.path, "export", "anna", "-o", str(file))[0] == 0
    assert cli(target_config, "import", str(file))[0] == 0
    with target() as session:
        decision = session.scalars(select(DecisionRow).where(
            DecisionRow.code == "persisting")).one()
        reports = session.scalars(select(PainReport).where(
            PainReport.id.in_(decision.report_ids)).order_by(PainReport.at)).all()
        assert [(r.level, r.note) for r in reports] == [(5, "na het traplopen"), (6, None)]
        pause = session.get(PauseRow, decision.pause_id)
        assert pause is not None and pause.ended_at is None and pause.since == local(29, 10)
        taps = session.scalars(select(CheckIn).where(CheckIn.at == local(23, 7, 46))).one()
        occurrence = session.get(Occurrence, taps.occurrence_id)
        assert occurrence is not None and occurrence.due_at == local(23, 7, 30)
        assert occurrence.routine.key == "bridge" and occurrence.routine.person_id == "anna"


def test_import_refuses_a_person_with_data_unless_replace(
        tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    file = tmp_path / "anna.json"
    assert cli(settings.path, "export", "anna", "-o", str(file))[0] == 0
    document = json.loads(file.read_text(encoding="utf-8"))
    document["person"]["name"] = "Anna B."
    document["pain_reports"][0]["note"] = "imported"
    file.write_text(json.dumps(document), encoding="utf-8")
    before = counts(sessions)

    code, text = cli(settings.path, "import", str(file))
    assert code == 2 and "person: 'anna' already has data in this database" in text
    assert "--replace" in text and counts(sessions) == before
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None and person.name == "Anna"

    code, text = cli(settings.path, "import", str(file), "--replace")
    assert code == 0, text
    assert text.startswith("replaced anna")
    assert counts(sessions) == before
    assert exported(sessions) == document


def test_import_over_a_person_without_data_needs_no_replace(
        tmp_path: Path, database_url: str) -> None:
    settings, source = anna(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}")
    (tmp_path / "b").mkdir()
    target_settings = load(tmp_path / "b", person_config(
        database_url=database_url, channels={"log": "console://"}, routines=ROUTINES))
    target = migrated(target_settings, local(1, 0))  # Anna and her routines, no history
    file = tmp_path / "anna.json"
    assert cli(settings.path, "export", "anna", "-o", str(file))[0] == 0
    code, text = cli(target_settings.path, "import", str(file))
    assert code == 0 and text.startswith("replaced anna"), text
    assert exported(target) == exported(source)


def broken(document: dict[str, Any], change: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(document))
    if change == "level":
        doc["pain_reports"][0]["level"] = 11
    elif change == "naive":
        doc["occurrences"][2]["due_at"] = "2026-11-04T06:30:00"
    elif change == "routine":
        doc["occurrences"][0]["routine"] = "cartwheel"
    elif change == "pause":
        doc["decisions"][0]["pause"] = 99
    elif change == "duplicate":
        doc["occurrences"][1]["due_at"] = doc["occurrences"][0]["due_at"]
    elif change == "format":
        doc["format"] = "something-else"
    elif change == "missing":
        del doc["person"]["timezone"]
    elif change == "extra":
        doc["checkins"][0]["mood"] = "great"
    return doc


@pytest.mark.parametrize(("change", "message"), [
    ("level", "pain_reports[0].level: Input should be less than or equal to 10"),
    ("naive", "occurrences[2].due_at: Input should have timezone info"),
    ("routine", "occurrences[0].routine: no routine 'cartwheel' in routines"),
    ("pause", "decisions[0].pause: no pause with ref 99"),
    ("duplicate", "occurrences: routine and due_at bridge/2026-11-02T06:30:00+00:00 appears"),
    ("format", "format: Input should be 'heupreminder-export'"),
    ("missing", "person.timezone: is required"),
    ("extra", "checkins[0].mood: unknown key"),
])
def test_bad_import_file_exits_2_and_writes_nothing(
        tmp_path: Path, database_url: str, change: str, message: str) -> None:
    _, source = anna(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}")
    target_config, target = empty_database(tmp_path / "b", database_url)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(broken(exported(source), change)), encoding="utf-8")
    code, text = cli(target_config, "import", str(file))
    assert code == 2, text
    assert message in text and "Traceback" not in text
    assert set(counts(target).values()) == {0}


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON (line 1, column 2"),
    ("[]", "(top level): Input should be a valid dictionary"),
    ("", "not valid JSON"),
])
def test_unreadable_import_file(tmp_path: Path, database_url: str, content: str,
                                message: str) -> None:
    target_config, target = empty_database(tmp_path / "b", database_url)
    file = tmp_path / "bad.json"
    file.write_text(content, encoding="utf-8")
    code, text = cli(target_config, "import", str(file))
    assert code == 2 and message in text, text
    assert set(counts(target).values()) == {0}
    code, text = cli(target_config, "import", str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in text


def test_export_of_an_unknown_person(tmp_path: Path, database_url: str) -> None:
    settings, _ = anna(tmp_path, database_url)
    output = tmp_path / "nobody.json"
    code, text = cli(settings.path, "export", "nobody", "-o", str(output))
    assert code == 2 and "person: no person 'nobody'" in text
    assert not output.exists()


def test_a_file_without_added_at_dates_the_person_by_its_earliest_record(
        tmp_path: Path, database_url: str) -> None:
    """Files exported before people had `added_at` still import; the person counts as
    added by the first thing recorded in the file, so nothing in it is dated before."""
    _, source = anna(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}")
    document = exported(source)
    assert document["person"]["added_at"] is not None
    old_file = json.loads(json.dumps(document))
    del old_file["person"]["added_at"]
    file = tmp_path / "old.json"
    file.write_text(json.dumps(old_file), encoding="utf-8")
    config, target = empty_database(tmp_path / "b", database_url)
    code, text = cli(config, "import", str(file))
    assert code == 0, text
    earliest = min([r["created_at"] for r in document["routines"]]
                   + [c["at"] for c in document["checkins"]]
                   + [p["at"] for p in document["pain_reports"]])
    assert exported(target)["person"]["added_at"] == earliest
