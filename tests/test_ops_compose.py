"""docker-compose.yml and the Dockerfile: valid, and with what a person relies on.

The compose file is checked by a real Compose implementation: `docker compose`
(the v2 plugin) where it is installed, else `docker-compose` (Debian's package
`docker-compose`, which validates against the Compose schema offline, no
Docker engine needed). Without either the test is skipped, except in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from heupreminder.config.loader import load_settings
from tests.receivers import free_port, http_receiver

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
INSTALL_HINT = "apt-get install -y --no-install-recommends docker-compose"


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if os.environ.get("CI"):
        pytest.fail(f"CI must validate docker-compose.yml: install a validator ({INSTALL_HINT})")
    pytest.skip(f"no Compose implementation to validate with ({INSTALL_HINT})")


def compose(*args: str, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("COMPOSE_", "HEUPREMINDER_", "POSTGRES_", "MAILPIT_"))}
    result = subprocess.run(
        [*compose_command(), "--project-directory", str(REPO), "-f", str(COMPOSE), *args],
        capture_output=True, text=True, timeout=120, env={**clean, **(env or {})}, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def services(rendered: str) -> dict[str, Any]:
    data = yaml.safe_load(rendered)
    assert isinstance(data, dict)
    return dict(data["services"])


def test_compose_file_is_valid_with_every_profile() -> None:
    compose("config", "-q")
    compose("--profile", "postgres", "--profile", "mailpit", "config", "-q")
    assert set(compose("config", "--profiles").split()) == {"postgres", "mailpit"}


def test_default_is_sqlite_in_the_data_volume() -> None:
    heup = services(compose("config"))["heupreminder"]
    # Not set (empty is "not set" to heupreminder): the config's `database =` decides,
    # and without one the image's default, SQLite in /data.
    assert not heup["environment"].get("HEUPREMINDER_DATABASE_URL")
    assert heup["restart"] == "unless-stopped"
    volumes = [v if isinstance(v, str) else f"{v['source']}:{v['target']}"
               for v in heup["volumes"]]
    assert any(v.startswith("heupreminder-data:/data") for v in volumes), volumes
    assert any(v.split(":")[1] == "/config/heupreminder.toml" for v in volumes), volumes


def image_environment() -> dict[str, str]:
    """The Dockerfile's final-stage ENV, as a dict."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    pairs = " ".join(line.split(None, 1)[1] for line in final.splitlines()
                     if line.startswith("ENV "))
    return dict(pair.split("=", 1) for pair in pairs.split())


def test_the_image_defaults_to_sqlite_in_data_without_overriding_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = image_environment()
    assert "HEUPREMINDER_DATABASE_URL" not in env  # it would override `database =`
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "ln -s /data /var/lib/heupreminder" in text and env["XDG_DATA_HOME"] == "/var/lib"
    # What the loader makes of the container's environment (compose passes "" when unset).
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    monkeypatch.setenv("HEUPREMINDER_DATABASE_URL", "")
    config = tmp_path / "heupreminder.toml"
    config.write_text('[service]\nlisten = "0.0.0.0:8765"\n', encoding="utf-8")
    assert load_settings(config).database_url == (  # -> /data/heupreminder.db via the link
        "sqlite:////var/lib/heupreminder/heupreminder.db")
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    config.write_text(f'[service]\ndatabase = "{mine}"\n', encoding="utf-8")
    assert load_settings(config).database_url == mine  # the config's line is kept


def test_postgres_profile_is_reached_through_the_environment() -> None:
    url = "postgresql+psycopg://heup:heup@postgres/heupreminder"
    rendered = services(compose("--profile", "postgres", "config",
                                env={"HEUPREMINDER_DATABASE_URL": url}))
    assert rendered["heupreminder"]["environment"]["HEUPREMINDER_DATABASE_URL"] == url
    postgres = rendered["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] == "heup"
    assert postgres["environment"]["POSTGRES_DB"] == "heupreminder"


def with_defaults(value: str) -> str:
    """A compose value as Compose reads it when nothing is set: ${NAME:-default} -> default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_structure() -> None:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    heup, postgres, mailpit = (data["services"][n] for n in ("heupreminder", "postgres", "mailpit"))
    assert "profiles" not in heup  # `docker compose up` starts it without flags
    assert heup["restart"] in ("unless-stopped", "always")
    assert any(str(v).endswith(":/data") for v in heup["volumes"])
    # The config the header says to write is the one the image reads, and read-only.
    assert (f"./config/heupreminder.toml:{image_environment()['HEUPREMINDER_CONFIG']}:ro"
            in heup["volumes"])
    # The data (SQLite, PostgreSQL's) lives in named volumes: kept when containers go.
    assert {v.split(":")[0] for v in (*heup["volumes"], *postgres["volumes"])
            if not v.startswith(".")} <= set(data["volumes"])
    assert postgres["profiles"] == ["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "ports" not in postgres  # only heupreminder, on the compose network, reaches it
    # The URL the header documents reaches this server: its name, user, password, database.
    documented = re.search(r"HEUPREMINDER_DATABASE_URL=(postgresql\+psycopg://\S+)",
                           COMPOSE.read_text(encoding="utf-8"))
    assert documented is not None
    url, env = make_url(documented[1]), postgres["environment"]
    assert (url.host, url.username, url.database) == (
        "postgres", env["POSTGRES_USER"], env["POSTGRES_DB"])
    assert with_defaults(env["POSTGRES_PASSWORD"]) == url.password
    health = " ".join(postgres["healthcheck"]["test"])  # healthy = that database answers
    assert f"-U {url.username}" in health and f"-d {url.database}" in health
    assert mailpit["profiles"] == ["mailpit"]
    assert any(str(p).endswith(":8025") for p in mailpit["ports"])
    # The web inbox on this machine only, unless MAILPIT_UI says otherwise; SMTP stays inside.
    assert [with_defaults(p) for p in mailpit["ports"]] == ["127.0.0.1:8025:8025"]
    # The documented inbox channel is one Apprise accepts.
    channel = re.search(r'inbox = "(mailto://mailpit:1025[^"]+)"', COMPOSE.read_text())
    assert channel is not None
    from heupreminder.delivery.sender import apprise
    plugin = apprise.Apprise.instantiate(channel.group(1))
    assert plugin is not None and plugin.smtp_host == "mailpit" and plugin.port == 1025


def test_dockerfile_is_multi_stage_non_root_with_a_python_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in text.replace("\\\n", " ").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    froms = [rest for op, rest in instructions if op == "FROM"]
    assert len(froms) >= 2 and "AS build" in froms[0]
    users = [rest.strip() for op, rest in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    [health] = [rest for op, rest in instructions if op == "HEALTHCHECK"]
    command = json.loads(health[health.index("CMD") + 3:].strip())
    assert command[:2] == ["heupreminder", "healthcheck"]  # follows [service] listen
    assert "8765" not in health
    code = " ".join(rest for _, rest in instructions)
    assert "curl" not in code and "wget" not in code
    assert not re.search(r"amd64|x86_64|--platform", code)


def healthcheck_command() -> list[str]:
    """The image's HEALTHCHECK command, run with this interpreter's heupreminder."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    command = json.loads(re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", text)[1])
    assert command[0] == "heupreminder"
    return [sys.executable, "-m", "heupreminder", *command[1:]]


def run_healthcheck(tmp_path: Path, service: str) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK as the container runs it: the config found by HEUPREMINDER_CONFIG."""
    config = tmp_path / "heupreminder.toml"
    config.write_text(f"[service]\n{service}\n", encoding="utf-8")
    env = {**os.environ, "HEUPREMINDER_CONFIG": str(config)}
    return subprocess.run(healthcheck_command(), capture_output=True, text=True, timeout=30,
                          env=env)


@pytest.mark.parametrize("status", [200, 503])
def test_healthcheck_asks_where_listen_says(tmp_path: Path, status: int) -> None:
    port = free_port()
    with http_receiver(port=port) as inbox:  # not 8765: the port comes from the config
        inbox.status = status  # a stand-in /healthz
        result = run_healthcheck(tmp_path, f'listen = "0.0.0.0:{port}"')
    assert [(r.method, r.path) for r in inbox.requests] == [("GET", "/healthz")]
    assert result.returncode == (0 if status == 200 else 1), result.stderr
    if status != 200:
        assert result.stderr == (f"heupreminder: unhealthy: http://127.0.0.1:{port}/healthz "
                                 "answered 503\n")


def test_healthcheck_uses_a_named_listen_host_and_says_when_nothing_answers(
        tmp_path: Path) -> None:
    port = free_port()
    with http_receiver(port=port, address="127.0.0.2") as inbox:
        result = run_healthcheck(tmp_path, f'listen = "127.0.0.2:{port}"')
    assert result.returncode == 0, result.stderr
    assert [(r.method, r.path) for r in inbox.requests] == [("GET", "/healthz")]
    result = run_healthcheck(tmp_path, f'listen = "127.0.0.1:{free_port()}"')
    assert result.returncode == 1 and "does not answer" in result.stderr
    assert "Traceback" not in result.stderr
