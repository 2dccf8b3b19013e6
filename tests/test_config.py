"""Config validation: every problem named by file and key path, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from heupreminder.cli import main
from heupreminder.config import load_settings

REPO = Path(__file__).resolve().parents[1]

VALID = """
[service]
database = "sqlite:///{db}"
timezone = "Europe/Amsterdam"
locale = "nl"
catch_up = "30m"

[channels]
log = "console://"
push = "json://127.0.0.1:9/notify"

[[people]]
id = "anna"
name = "Anna"
channels = ["log", "push"]
quiet_hours = "22:00-07:00"

[[people.routines]]
exercise = "bridge"
at = "07:30"
days = "mon-fri"

[[people.routines]]
exercise = "hip-stretch"
side = "right"
cron = "0 18 * * *"

[[people.routines]]
id = "lunch-walk"
title = "Korte wandeling"
text = "Twintig minuten rustig wandelen."
at = "12:30"
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "heupreminder.toml"
    path.write_text(body.replace("{db}", str(tmp_path / "h.db")), encoding="utf-8")
    return path


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check-config", str(path)])
    return result.exit_code, result.output


def test_valid_config_prints_summary(tmp_path: Path) -> None:
    code, output = check(write(tmp_path, VALID))
    assert code == 0, output
    assert "OK" in output and "1 people, 3 routines, 2 channels" in output


BAD = [
    ('at = "07:30"', 'at = "25:00"', "people[0].routines[0].at: '25:00' is not a time"),
    ('days = "mon-fri"', 'days = "funday"', "people[0].routines[0].days: 'funday' is not"),
    ('cron = "0 18 * * *"', 'cron = "0 18 * *"', "people[0].routines[1].cron:"),
    ('timezone = "Europe/Amsterdam"', 'timezone = "Mars/Olympus"',
     "service.timezone: 'Mars/Olympus' is not a known time zone"),
    ('exercise = "bridge"', 'exercise = "cartwheel"',
     "people[0].routines[0].exercise: 'cartwheel' is not in the catalog"),
    ('channels = ["log", "push"]', 'channels = ["log", "pager"]',
     "people[0].channels[1]: no channel named 'pager'"),
    ('push = "json://127.0.0.1:9/notify"', 'push = "nosuchservice://x"',
     "channels.push: Apprise cannot use this URL"),
    ('push = "json://127.0.0.1:9/notify"', 'push = "json://u:${HEUP_TEST_UNSET_VAR}@h/"',
     "channels.push: environment variable HEUP_TEST_UNSET_VAR is not set"),
    ('locale = "nl"', 'locale = "fr"', "service.locale:"),
    ('catch_up = "30m"', 'catch_up = "soon"', "service.catch_up: 'soon' is not a duration"),
    ('quiet_hours = "22:00-07:00"', 'quiet_hours = "22:00"', "people[0].quiet_hours:"),
    ('name = "Anna"', 'name = "Anna"\nshoe_size = 38', "people[0].shoe_size: unknown key"),
    ('side = "right"', 'side = "middle"', "people[0].routines[1].side:"),
    ('at = "12:30"', 'at = "12:30"\ncron = "0 1 * * *"',
     "people[0].routines[2]: a routine needs exactly one"),
    ('id = "anna"', 'id = "Anna Smith"', "people[0].id:"),
    ('id = "lunch-walk"\n', "", "people[0].routines[2]: a routine needs exercise"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_config_names_the_key_and_exits_2(tmp_path: Path, old: str, new: str,
                                              expected: str) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    code, output = check(path)
    assert code == 2, output
    assert f"{path}: {expected}" in output
    assert "Traceback" not in output
    assert not (tmp_path / "h.db").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    body = VALID.replace('at = "07:30"', 'at = "25:00"').replace('locale = "nl"', 'locale = "xx"')
    code, output = check(write(tmp_path, body))
    assert code == 2
    assert "people[0].routines[0].at" in output and "service.locale" in output


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    code, output = check(write(tmp_path, "[service\n"))
    assert code == 2 and "not valid TOML" in output
    code, output = check(tmp_path / "nope.toml")
    assert code == 2 and "no such file" in output and "heupreminder init" in output


def test_duplicate_routine_needs_an_id(tmp_path: Path) -> None:
    body = VALID + '\n[[people.routines]]\nexercise = "bridge"\nat = "09:00"\n'
    code, output = check(write(tmp_path, body))
    assert code == 2 and "two routines are called 'bridge'" in output


def test_secrets_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret-123\n")
    monkeypatch.setenv("HEUP_PW", "env-secret-456")
    monkeypatch.setenv("HEUP_TOKEN_FILE", str(secret_file))
    body = VALID.replace('push = "json://127.0.0.1:9/notify"',
                         'push = "json://user:${HEUP_PW}@127.0.0.1:9/${HEUP_TOKEN}"')
    settings = load_settings(write(tmp_path, body))
    assert settings.channels["push"].url == "json://user:env-secret-456@127.0.0.1:9/file-secret-123"
    assert {"env-secret-456", "file-secret-123"} <= settings.secrets
    code, output = check(write(tmp_path, body))
    assert code == 0 and "env-secret-456" not in output


def test_run_with_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('at = "07:30"', 'at = "7h30"'))
    result = subprocess.run([sys.executable, "-m", "heupreminder", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "people[0].routines[0].at: '7h30' is not a time" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "h.db").exists()


def test_init_writes_the_documented_example(tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0
    example = (REPO / "config" / "heupreminder.example.toml").read_text(encoding="utf-8")
    assert target.read_text(encoding="utf-8") == example
    assert check(target)[0] == 0
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output


PAIN_CLASHES = [
    ("[pain]\nthreshold = 2\nresume_level = 2\n", "pain.resume_level: 2 must be at least 0 "
     "and below threshold (2)"),
    ("[pain]\nsevere_level = 3\n", "pain.severe_level: 3 must be at least threshold (4)"),
    ("[pain]\nmin_rest = \"0m\"\n", "pain.min_rest: must be longer than 0"),
    ('[people.pain]\nthreshold = 2\n', "people[0].pain: resume_level 2 must be at least 0 "
     "and below threshold (2) (resume_level comes from [pain])"),
    ('[people.pain]\nsevere_level = 3\n', "people[0].pain.severe_level: 3 must be at least "
     "threshold (4)"),
    ('[people.pain]\nresume_report_age = "0h"\n',
     "people[0].pain.resume_report_age: must be longer than 0"),
]


@pytest.mark.parametrize(("table", "expected"), PAIN_CLASHES, ids=[c[1][:30] for c in PAIN_CLASHES])
def test_pain_numbers_that_cannot_work_together_name_the_key(tmp_path: Path, table: str,
                                                             expected: str) -> None:
    if table.startswith("[people.pain]"):
        body = VALID.replace("[[people.routines]]", table + "\n[[people.routines]]", 1)
    else:
        body = VALID.replace("[channels]", table + "\n[channels]")
    path = write(tmp_path, body)
    code, output = check(path)
    assert code == 2, output
    assert f"{path}: {expected}" in output
    assert "Traceback" not in output


def test_people_pain_overrides_key_by_key(tmp_path: Path) -> None:
    body = VALID.replace("[channels]", '[pain]\nthreshold = 5\ncheckin_at = "09:15"\n\n[channels]')
    body = body.replace("[[people.routines]]", '[people.pain]\nmin_rest = "72h"\n\n'
                        "[[people.routines]]", 1)
    settings = load_settings(write(tmp_path, body))
    mine = settings.config.person_pain("anna")
    assert mine.min_rest.total_seconds() == 72 * 3600
    assert mine.threshold == 5 and str(mine.checkin_at) == "09:15:00"  # kept from [pain]
    assert mine.severe_level == 7  # the default
