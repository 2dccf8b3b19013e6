"""Database mistakes a newcomer makes end in one clear line, never a traceback:
exit 2 for a URL that cannot work (syntax, missing driver), exit 1 for a
database that cannot be reached. Real processes, real PostgreSQL when given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_ENV
from tests.helpers import BRIDGE, person_config
from tests.receivers import free_port

# psycopg made unimportable, as after `pip install -e .` without [postgres].
WITHOUT_PSYCOPG = ("import sys; sys.modules['psycopg'] = None; "
                   "from heupreminder.cli import main; main(prog_name='heupreminder')")


def write_config(tmp_path: Path, database_url: str) -> str:
    path = tmp_path / "heupreminder.toml"
    path.write_text(person_config(database_url=database_url, channels={"log": "console://"},
                                  routines=BRIDGE), encoding="utf-8")
    return str(path)


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
        code: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HOME": str(tmp_path), **(env or {})}
    if not env or "HEUPREMINDER_DATABASE_URL" not in env:
        environment.pop("HEUPREMINDER_DATABASE_URL", None)
    command = ["-c", code] if code else ["-m", "heupreminder"]
    return subprocess.run([sys.executable, *command, *args], capture_output=True, text=True,
                          timeout=60, env=environment)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's own messages (log lines have a timestamp and a level)."""
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines()
            if line.startswith(("heupreminder:", "  "))]


@pytest.mark.parametrize("command", [["check-config"], ["status"], ["run"]])
def test_missing_postgres_driver_says_what_to_install(tmp_path: Path,
                                                      command: list[str]) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://heup@127.0.0.1/heupreminder")
    args = [*command, config] if command == ["check-config"] else [*command, "--config",
                                                                   config]
    result = run(tmp_path, *args, code=WITHOUT_PSYCOPG)
    assert result.returncode == 2, result.stderr
    [problem] = [line for line in error_lines(result) if line.startswith("  ")]
    assert problem.endswith("service.database: the PostgreSQL driver (psycopg) is not "
                            "installed: pip install 'heupreminder[postgres]'")


@pytest.mark.parametrize("command", [["status"], ["run"], ["pain", "3"], ["db", "upgrade"],
                                     ["import", "nothing.json"]])
def test_unreachable_database_is_one_line_and_exit_1(tmp_path: Path,
                                                      command: list[str]) -> None:
    port = free_port()  # nothing listens there
    config = write_config(tmp_path, f"postgresql+psycopg://heup@127.0.0.1:{port}/heupreminder")
    if command[0] == "import":
        (tmp_path / "nothing.json").write_text("{}", encoding="utf-8")
        command = ["import", str(tmp_path / "nothing.json")]
    result = run(tmp_path, *command, "--config", config)
    [line] = error_lines(result)
    assert result.returncode == 1, result.stderr
    assert line.startswith(f"heupreminder: cannot open the database postgresql+psycopg://"
                           f"heup@127.0.0.1:{port}/heupreminder (from service.database): ")
    assert f'port {port} failed: Connection refused' in line


def test_misnamed_database_names_it(tmp_path: Path) -> None:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL test: set {PG_ENV}")
    url = make_url(base).set(database="no_such_database_here")
    wrong = url.render_as_string(hide_password=False)
    config = write_config(tmp_path, "sqlite:///unused.db")
    result = run(tmp_path, "status", "--config", config,
                 env={"HEUPREMINDER_DATABASE_URL": wrong})
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "(from HEUPREMINDER_DATABASE_URL)" in line
    assert 'database "no_such_database_here" does not exist' in line


def test_bad_url_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///fine.db")
    result = run(tmp_path, "check-config", config,
                 env={"HEUPREMINDER_DATABASE_URL": "postgres:/oops"})
    assert result.returncode == 2
    [_, problem] = error_lines(result)
    assert "HEUPREMINDER_DATABASE_URL: not a database URL" in problem
    assert "service.database" not in problem


def test_home_folder_in_a_sqlite_url(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///~/heup/data.db")
    result = run(tmp_path, "status", "--config", config)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "heup" / "data.db").exists()
    assert not Path("~").exists()
    checked = run(tmp_path, "check-config", config)
    assert f"database: sqlite:///{tmp_path}/heup/data.db" in checked.stdout
