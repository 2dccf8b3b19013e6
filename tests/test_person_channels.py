"""People's own channels kept in the database (issue 13): sealed at rest, resolved
person-first, decrypted when a batch needs them, never shown in clear.

Each test runs on SQLite and PostgreSQL and sends to real loopback receivers.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config.loader import Settings
from heupreminder.db.engine import make_engine, make_sessionmaker
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import Delivery, Occurrence, Person, Routine
from heupreminder.delivery.channel_book import ChannelBook, check_channel_key
from heupreminder.delivery.channel_key import (
    ENV_KEY,
    ChannelKey,
    ChannelKeyError,
    key_from_environment,
    new_key,
)
from heupreminder.delivery.personal_channels import set_channel
from heupreminder.input_text import InputError
from heupreminder.masking import MASKER, SecretMasker
from heupreminder.reports.transfer import export_person, import_person
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.scheduler.service import Service, claim_capacity
from tests.dispatching import send_claimed
from tests.helpers import BRIDGE, load, migrated, person_config
from tests.receivers import HttpInbox, free_port, http_receiver

MORNING = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)  # 07:30 in Amsterdam
TOKEN = "tk-Secret-4711-abcdefgh"  # what must never be seen in clear


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> ChannelKey:
    value = new_key()
    monkeypatch.setenv(ENV_KEY, value)
    return ChannelKey([value.encode()])


@pytest.fixture
def own() -> Iterator[HttpInbox]:
    """The receiver behind a person's own channel (the config's is `receiver`)."""
    with http_receiver() as inbox:
        yield inbox


def own_url(inbox: HttpInbox) -> str:
    return f"json://127.0.0.1:{inbox.port}/mine?+X-Token={TOKEN}"


def exported_anna(tmp_path: Path, config_url: str) -> dict[str, Any]:
    """Anna (her bridge due at MORNING) as `heupreminder export` writes her."""
    (tmp_path / "source").mkdir(exist_ok=True)
    settings = load(tmp_path / "source", person_config(
        database_url=f"sqlite:///{tmp_path / 'source.db'}",
        channels={"push": config_url}, routines=BRIDGE))
    with migrated(settings, MORNING - timedelta(hours=1))() as session:
        return export_person(session, "anna")


def database_mode(tmp_path: Path, database_url: str, channels: dict[str, str]) -> Settings:
    lines = "\n".join(f'{name} = "{url}"' for name, url in channels.items())
    return load(tmp_path, f"""
[service]
database = "{database_url}"
manage_people = "database"
listen = "127.0.0.1:{free_port()}"
[channels]
{lines}
""")


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return make_sessionmaker(engine)


def run_once(dispatcher: Dispatcher, now: datetime = MORNING) -> list[str]:
    dispatcher.clock = lambda: now
    dispatcher.schedule_due(now)
    return send_claimed(dispatcher, dispatcher.claim(now, 100))


def as_person(doc: dict[str, Any], person_id: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    copy["person"]["id"] = person_id
    return copy


def test_the_stored_value_is_not_the_url(tmp_path, database_url, receiver, key):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines=BRIDGE))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    with sessions.begin() as session:
        masked, new = set_channel(session, key, "anna", "phone", own_url(receiver))
    assert new and TOKEN not in masked
    with sessions() as session:
        [(sealed, shown)] = session.execute(
            text("SELECT sealed, masked_url FROM person_channels")).all()
        channels = session.get(Person, "anna").channels  # type: ignore[union-attr]
    assert TOKEN not in sealed and "127.0.0.1" not in sealed and "json://" not in sealed
    assert shown == masked and TOKEN not in shown
    assert key.open(sealed).url == own_url(receiver)
    assert channels == ["push", "phone"]  # the name joined her channels


def test_names_resolve_to_the_persons_own_channel_first_then_the_config(
        tmp_path, database_url, receiver, own, key):
    family = http_receiver()
    with family as family_inbox:
        doc = exported_anna(tmp_path, receiver.url)
        doc["person"]["channels"] = ["push", "family"]
        doc["personal_channels"] = [{"name": "push", "url": own_url(own)}]
        settings = database_mode(tmp_path, database_url,
                                 {"push": receiver.url, "family": family_inbox.url})
        sessions = sessions_for(settings)
        with sessions.begin() as session:
            imported = import_person(session, doc)
        assert imported.counts["channels"] == 1
        dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
        assert run_once(dispatcher) == ["sent"]
        assert len(own.posts) == 1  # her own "push", not the config's
        assert receiver.posts == []
        assert len(family_inbox.posts) == 1  # no own "family": the config's
    assert own.requests[0].headers["x-token"] == TOKEN


def test_the_kept_open_http_path_gets_the_persons_own_channel(
        tmp_path, database_url, receiver, own, key):
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": own_url(own)}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    with sessions.begin() as session:
        import_person(session, doc)
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
    dispatcher.clock = lambda: MORNING
    dispatcher.schedule_due(MORNING)
    [job] = dispatcher.prepare(dispatcher.claim(MORNING, 10))
    requests = dispatcher.http_requests_for(job)
    assert requests is not None
    assert f":{own.port}/mine" in requests["push"].url
    assert dict(requests["push"].headers).get("X-Token") == TOKEN
    assert dispatcher.record([dispatcher.send_job(job)]) == ["sent"]
    assert len(own.posts) == 1 and receiver.posts == []


def test_a_wrong_key_fails_that_persons_sends_alone(
        tmp_path, database_url, receiver, own, key, caplog, monkeypatch):
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": own_url(own)}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    other_key = ChannelKey([new_key().encode()])
    with sessions.begin() as session:
        import_person(session, doc, channel_key=lambda: other_key)  # anna: another key
        import_person(session, as_person(doc, "bob"))  # bob: the service's key
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
    caplog.set_level(logging.INFO)
    assert sorted(run_once(dispatcher)) == ["failed", "sent"]
    assert len(own.posts) == 1 and receiver.posts == []  # bob's only
    with sessions() as session:
        rows = session.execute(select(Person.id, Occurrence.status, Occurrence.reason)
                               .join(Routine, Routine.person_id == Person.id)
                               .join(Occurrence, Occurrence.routine_id == Routine.id)).all()
    outcome = {row.id: (row.status, row.reason) for row in rows}
    assert outcome["bob"] == ("sent", None)
    status, reason = outcome["anna"]
    assert status == "failed"
    assert f"anna's channel 'push' cannot be decrypted with {ENV_KEY}" in reason
    assert "set the channel again" in reason
    assert TOKEN not in caplog.text
    # At start the same key is said to be wrong (logged, not fatal).
    with sessions.begin() as session:
        set_channel(session, other_key, "anna", "push", own_url(own))
    caplog.clear()
    with sessions() as session:
        check_channel_key(session)
    assert f"cannot be decrypted with {ENV_KEY}" in caplog.text


def test_no_key_or_a_malformed_one_is_a_clear_error(tmp_path, database_url, receiver, key,
                                                   monkeypatch):
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": own_url(receiver)}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    with sessions.begin() as session:
        import_person(session, doc)
    monkeypatch.delenv(ENV_KEY)
    with sessions() as session, pytest.raises(ChannelKeyError, match=f"{ENV_KEY} is not set"):
        check_channel_key(session)  # the service's start: exit 2 (a ConfigError)
    monkeypatch.setenv(ENV_KEY, "not-a-key-" + TOKEN)
    with sessions() as session, pytest.raises(ChannelKeyError) as error:
        check_channel_key(session)
    assert f"{ENV_KEY}: not a Fernet key" in str(error.value) and TOKEN not in str(error.value)
    # Without a key the person's send fails with the reason; nothing is sent.
    monkeypatch.delenv(ENV_KEY)
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
    assert run_once(dispatcher) == ["failed"]
    with sessions() as session:
        error_text = session.scalars(select(Delivery.error)).one()
    assert f"{ENV_KEY} is not set" in (error_text or "")
    assert receiver.posts == []
    # The key from a file works as well as from the environment.
    key_file = tmp_path / "channel.key"
    key_file.write_text(new_key() + "\n")
    monkeypatch.setenv(f"{ENV_KEY}_FILE", str(key_file))
    with sessions() as session:
        check_channel_key(session)  # opens nothing (another key), but is a key: no error


def test_the_secret_is_masked_in_logs_and_errors(tmp_path, database_url, receiver, key, caplog):
    closed = f"json://127.0.0.1:{free_port()}/gone?+X-Token={TOKEN}"  # nobody listens
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": closed}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    with sessions.begin() as session:
        import_person(session, doc)
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(MASKER)
    try:
        dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
        outcomes = run_once(dispatcher)
        logging.getLogger("heupreminder.test").error("a plugin quoting %s", closed)
    finally:
        caplog.handler.removeFilter(MASKER)
    assert outcomes == ["retry"]
    assert MASKER.mask(f"error at {closed}") == "error at ****"
    assert MASKER.mask(TOKEN) == "****"
    assert "a plugin quoting ****" in caplog.text
    assert TOKEN not in caplog.text
    with sessions() as session:
        reasons = session.scalars(select(Delivery.error)).all() + session.scalars(
            select(Occurrence.reason)).all()
    assert reasons and all(TOKEN not in (r or "") for r in reasons)


def test_channel_commands_set_list_and_remove_without_showing_the_url(
        tmp_path, database_url, receiver, key, monkeypatch):
    doc = exported_anna(tmp_path, receiver.url)
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    with sessions_for(settings).begin() as session:
        import_person(session, doc)
    config = str(settings.path)
    runner = CliRunner()

    monkeypatch.setenv("PHONE_URL", own_url(receiver))
    result = runner.invoke(main, ["channel", "set", "anna", "phone", "--url-env", "PHONE_URL",
                                  "-c", config])
    assert result.exit_code == 0, result.output
    assert "anna: channel phone added" in result.output and TOKEN not in result.output
    result = runner.invoke(main, ["channel", "set", "anna", "tablet", "-c", config],
                           input=f"ntfy://127.0.0.1/hips?token={TOKEN}\n")  # from stdin
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["channel", "list", "anna", "-c", config])
    assert result.exit_code == 0 and "phone" in result.output and "tablet" in result.output
    assert TOKEN not in result.output
    listed = json.loads(runner.invoke(main, ["channel", "list", "anna", "--json",
                                             "-c", config]).output)
    assert [row["name"] for row in listed] == ["phone", "tablet"]
    assert TOKEN not in json.dumps(listed)

    result = runner.invoke(main, ["channel", "set", "anna", "phone", "-c", config],
                           input=f"nosuchservice://{TOKEN}@host\n")
    assert result.exit_code == 2
    assert "Apprise cannot use this URL (nosuchservice://...)" in result.output
    assert TOKEN not in result.output

    result = runner.invoke(main, ["channel", "remove", "anna", "tablet", "-c", config])
    assert result.exit_code == 0 and "tablet left their channels" in result.output
    result = runner.invoke(main, ["channel", "remove", "anna", "tablet", "-c", config])
    assert result.exit_code == 2 and "has no channel 'tablet'" in result.output
    with sessions_for(settings)() as session:
        assert session.get(Person, "anna").channels == ["push", "phone"]  # type: ignore[union-attr]

    monkeypatch.delenv(ENV_KEY)
    result = runner.invoke(main, ["channel", "set", "anna", "phone", own_url(receiver),
                                  "-c", config])
    assert result.exit_code == 2 and f"{ENV_KEY} is not set" in result.output
    assert "Traceback" not in result.output


def test_export_shows_own_channels_masked_and_import_keeps_them(
        tmp_path, database_url, receiver, own, key):
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": own_url(own)}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    with sessions.begin() as session:
        import_person(session, doc)
    with sessions() as session:
        exported = export_person(session, "anna")
    [channel] = exported["personal_channels"]
    assert set(channel) == {"name", "masked_url"} and channel["name"] == "push"
    assert TOKEN not in json.dumps(exported)
    with sessions.begin() as session:  # its own export back in: the channel stays
        assert import_person(session, exported, replace=True).counts["channels"] == 0
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
    assert run_once(dispatcher) == ["sent"] and len(own.posts) == 1


def test_an_import_with_a_bad_channel_writes_nothing_and_quotes_no_url(
        tmp_path, database_url, receiver, key):
    doc = exported_anna(tmp_path, receiver.url)
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    sessions = sessions_for(settings)
    doc["personal_channels"] = [{"name": "push", "url": f"nosuch://{TOKEN}"}]
    with pytest.raises(InputError) as error, sessions.begin() as session:
        import_person(session, doc)
    assert "personal_channels[0].url: Apprise cannot use this URL" in str(error.value)
    doc["personal_channels"] = [{"name": "push", "url": 42, "token": TOKEN}]
    with pytest.raises(InputError) as error, sessions.begin() as session:
        import_person(session, doc)
    assert TOKEN not in str(error.value) and "personal_channels[0]" in str(error.value)
    with sessions() as session:
        assert session.get(Person, "anna") is None


def test_run_without_the_key_stops_with_exit_2_naming_it(tmp_path, database_url, receiver, key,
                                                         monkeypatch):
    doc = exported_anna(tmp_path, receiver.url)
    doc["personal_channels"] = [{"name": "push", "url": own_url(receiver)}]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    with sessions_for(settings).begin() as session:
        import_person(session, doc)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEUPREMINDER_")}
    done = subprocess.run([sys.executable, "-m", "heupreminder", "run", "-c", str(settings.path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"{ENV_KEY} is not set (nor {ENV_KEY}_FILE)" in done.stderr
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr
    assert receiver.posts == []


def test_a_new_key_in_front_still_opens_what_the_old_one_sealed(monkeypatch):
    old, new = new_key(), new_key()
    sealed = ChannelKey([old.encode()]).seal("ntfy://host/t?token=x", {"x"})
    monkeypatch.setenv(ENV_KEY, f"{new}, {old}")
    both = key_from_environment()
    assert both.open(sealed).url == "ntfy://host/t?token=x"
    resealed = both.reseal(sealed)
    assert ChannelKey([new.encode()]).open(resealed).secrets == {"x"}


def test_added_secrets_are_masked_and_survive_a_config_reload():
    masker = SecretMasker(["config-secret"])
    masker.add([TOKEN, "json://host/x?+X-Token=" + TOKEN, "abc"])  # "abc": too short
    masker.update(["other-secret"])  # a reload replaces the config's secrets only
    assert masker.mask(f"got json://host/x?+X-Token={TOKEN} and {TOKEN}, abc") == (
        "got **** and ****, abc")
    assert masker.mask("config-secret other-secret") == "config-secret ****"


def test_send_test_reaches_a_database_persons_own_channel(tmp_path, database_url, receiver,
                                                          own, key, monkeypatch):
    """`send-test` for someone who lives only in the database: their own channel first
    (sealed, opened with the key), the config's for the rest; a broken one says why."""
    doc = exported_anna(tmp_path, receiver.url)  # anna's channels: ["push"]
    settings = database_mode(tmp_path, database_url, {"push": receiver.url})
    with sessions_for(settings).begin() as session:
        import_person(session, doc)
        set_channel(session, key, "anna", "push", own_url(own))
    config = str(settings.path)
    runner = CliRunner()

    result = runner.invoke(main, ["send-test", "anna", "-c", config])
    assert result.exit_code == 0, result.output
    assert "push" in result.output and "ok" in result.output and TOKEN not in result.output
    assert len(own.posts) == 1 and not receiver.posts  # her own channel, not the config's
    assert own.posts[0]["title"] and "Anna" in own.posts[0]["message"]

    monkeypatch.setenv(ENV_KEY, new_key())  # another key: her channel cannot be opened
    failed = runner.invoke(main, ["send-test", "anna", "-c", config])
    assert failed.exit_code == 1 and "FAILED" in failed.output and TOKEN not in failed.output
    assert len(own.posts) == 1 and not receiver.posts

    unknown = runner.invoke(main, ["send-test", "bert", "-c", config])
    assert unknown.exit_code == 2 and "no person 'bert'" in unknown.output


def test_own_channels_count_for_batches_and_the_sending_process(tmp_path, database_url,
                                                                 receiver, own, key):
    """An installation whose people all have their own webhook channels (none in the
    config) claims the bigger batches of an HTTP-only installation and starts the
    sending process at start-up, as one with the same channels in the config would."""
    doc = exported_anna(tmp_path, receiver.url)
    settings = database_mode(tmp_path, database_url, {})
    with sessions_for(settings).begin() as session:
        import_person(session, doc)
        set_channel(session, key, "anna", "push", own_url(own))
    sessions = sessions_for(settings)
    assert claim_capacity(settings) == 128  # the config alone knows no channel
    kinds = ChannelBook().one_per_scheme(sessions)
    assert [channel.url for channel in kinds] == [own_url(own)]
    assert claim_capacity(settings, kinds) == 512

    service = Service(str(settings.path))
    try:
        service.startup()
        assert service.sends.slots.capacity == 512
        assert service.sends.sender.pid is not None  # started before the first reminder
    finally:
        service.shutdown()
