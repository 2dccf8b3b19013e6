"""Promise 8: secrets. Fake passwords and tokens in channel URLs (inline,
from ${ENV} and from ENV_FILE), in the database URL and in the heartbeat
URL never appear in a log line (at --log-level debug), in check-config's
output (also for a config with other errors), in `status`, or in any HTTP
response (/healthz, /metrics, API errors)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from heupreminder.db.engine import make_engine
from heupreminder.links.api_tokens import create_token
from tests.receivers import free_port
from tests.reliability.harness import (
    Behaviour,
    receiver,
    running,
    service_config,
    smtp,
    soon,
    wait_until,
)

SMTP_PASSWORD = "Fake-Smtp-Pw-7731"  # from ${SMTP_PASSWORD}
FILE_PASSWORD = "Fake-File-Secret-9034"  # from PUSH2_PASSWORD_FILE
JSON_PASSWORD = "Fake-Json-Pw-2290"  # inline in the URL
QUERY_TOKEN = "Fake-Query-Token-5521"  # a query parameter the receiver gets
HEADER_KEY = "Fake-Header-Key-8812"  # a custom HTTP header (+X-Api-Key=...)
PUSHOVER_USER = "fakeuserkey0000000000000000001"
PUSHOVER_TOKEN = "fakeapptoken000000000000000002"
TELEGRAM_TOKEN = "123456789:AAFakeTelegramBotTokenAAAAAAAAAAAAAA"
PING_TOKEN = "FakePingToken6612"
DB_PASSWORD = "Fake-Db-Pw-4410"
SECRETS = [SMTP_PASSWORD, FILE_PASSWORD, JSON_PASSWORD, QUERY_TOKEN, HEADER_KEY,
           PUSHOVER_USER, PUSHOVER_TOKEN, TELEGRAM_TOKEN.split(":")[1], PING_TOKEN, DB_PASSWORD]


def assert_clean(where: str, text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{where} shows {leaked}:\n{text[-2000:]}"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def http(url: str, body: dict[str, object] | None = None,
         token: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_secrets_never_shown(tmp_path: Path, database_url: str) -> None:
    # Trust authentication on the test server ignores the password; it is still a secret.
    url = make_url(database_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    (tmp_path / "push2.secret").write_text(FILE_PASSWORD + "\n", encoding="utf-8")
    env = {**__import__("os").environ, "SMTP_PASSWORD": SMTP_PASSWORD,
           "PUSH2_PASSWORD_FILE": str(tmp_path / "push2.secret")}
    port = free_port()
    with receiver() as push, smtp() as mail:
        push.behaviours = {"failing": Behaviour(status=500)}
        channels = {
            "mail": mail.url(password="${SMTP_PASSWORD}"),
            "push": push.url("notify", f"-token={QUERY_TOKEN}&+X-Api-Key={HEADER_KEY}").replace(
                "json://", f"json://heup:{JSON_PASSWORD}@"),
            "failing": push.url("failing").replace("json://", "json://heup:${PUSH2_PASSWORD}@"),
            "pushover": f"pover://{PUSHOVER_USER}@{PUSHOVER_TOKEN}",  # never sent
            "telegram": f"tgram://{TELEGRAM_TOKEN}/12345",  # never sent
        }
        due = soon(5)
        people = ('[[people]]\nid = "anna"\nname = "Anna"\n'
                  'channels = ["mail", "push", "failing"]\n'
                  f'[[people.routines]]\nexercise = "bridge"\nat = "{due:%H:%M:%S}"\n')
        heartbeat = f'heartbeat_url = "http://127.0.0.1:{push.port}/ping/{PING_TOKEN}"'
        config = service_config(tmp_path, url, channels, manage_people=None, people=people,
                                extra_service=heartbeat, listen=f"127.0.0.1:{port}")

        checked = cli("check-config", str(config), env=env)
        assert checked.returncode == 0, checked.stderr
        assert_clean("check-config", checked.stdout + checked.stderr)
        broken = tmp_path / "broken.toml"
        broken.write_text(config.read_text(encoding="utf-8").replace(
            f'at = "{due:%H:%M:%S}"', 'at = "25:00"').replace(
            "heartbeat_url = \"http", "heartbeat_url = \"ftp").replace(
            "[channels]", f'[channels]\nlisted = ["json://heup:{JSON_PASSWORD}@127.0.0.1/x"]\n'
            f'unknown = "nosuchservice://heup:{JSON_PASSWORD}@127.0.0.1/x"'), encoding="utf-8")
        refused = cli("check-config", str(broken), env=env)
        assert refused.returncode == 2 and "'25:00' is not a time" in refused.stderr
        assert "heartbeat_url" in refused.stderr and "channels.listed" in refused.stderr
        assert_clean("check-config with errors", refused.stdout + refused.stderr)
        refused_run = cli("run", "--config", str(broken), env=env)
        assert refused_run.returncode == 2
        assert_clean("run with a broken config", refused_run.stdout + refused_run.stderr)

        api = f"http://127.0.0.1:{port}"
        soon_enough = soon(4)  # the checks above took a while: due a few seconds from now
        config.write_text(config.read_text(encoding="utf-8").replace(
            f'at = "{due:%H:%M:%S}"', f'at = "{soon_enough:%H:%M:%S}"'), encoding="utf-8")
        with running(config, tmp_path / "service.log", env=env) as service:
            wait_until(lambda: mail.received and push.for_path("notify")
                       and push.for_path("failing"), 30, "the reminder on every channel")
            wait_until(lambda: push.gets, 30, "a heartbeat")
            engine = make_engine(url)
            with Session(engine) as session, session.begin():
                token = create_token(session, "anna")
            engine.dispose()
            responses = [
                http(f"{api}/healthz"), http(f"{api}/metrics"),
                http(f"{api}/api/v1/status", token=token),
                http(f"{api}/api/v1/pain", {"level": 3}, token="heup_wrong"),
                http(f"{api}/api/v1/pain", {"level": 99, "note": JSON_PASSWORD[:3]}, token=token),
                http(f"{api}/api/v1/pain", {"level": 3, "person": "bert"}, token=token),
                http(f"{api}/api/v1/done", {"routine": "nonexistent"}, token=token),
                http(f"{api}/nope"),
            ]
            assert [status for status, _ in responses] == [200, 200, 200, 401, 400, 403, 400,
                                                           404], responses
            for status, body in responses:
                assert_clean(f"an HTTP {status} response", body)
            wait_until(lambda: "failing failed" in service.text(), 30, "the failure logged")
            assert service.terminate() == 0
            log = service.text()

    # The secrets were really used (so there was something to leak).
    assert mail.received and f"token={QUERY_TOKEN}" in push.for_path("notify")[0].path
    assert push.gets == [f"/ping/{PING_TOKEN}"] * len(push.gets)
    assert "DEBUG" in log and "failing failed, trying again" in log
    assert_clean("the service log", log)
    for args in (["status"], ["status", "--json"], ["check-config", str(config)]):
        result = cli(*args[:1], *(["--config", str(config)] if args[0] == "status" else []),
                     *args[1:], env=env)
        assert result.returncode == 0, result.stderr
        assert_clean(" ".join(args), result.stdout + result.stderr)
