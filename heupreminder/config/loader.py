"""Read, validate and resolve a config file into one typed `Settings` object.

Every problem is collected and reported together, each with its file and key
path (`people[0].routines[1].at: '25:00' is not a time`), so a person fixes
their file in one round instead of one error per start.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apprise
import platformdirs
from pydantic import ValidationError

from heupreminder import console_channel  # noqa: F401 - registers console:// with Apprise
from heupreminder.config.database_url import (
    check_database_url,
    expand_sqlite_home,
    mask_database_url,
    parse_database_url,
)
from heupreminder.config.model import Config
from heupreminder.masking import mask_custom_params, secrets_in_url

APP_NAME = "heupreminder"
ENV_CONFIG = "HEUPREMINDER_CONFIG"
ENV_DATABASE = "HEUPREMINDER_DATABASE_URL"

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A config file that cannot be used; `problems` lists each, ready to print."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Channel:
    name: str
    url: str = field(repr=False)  # carries secrets: never log or print it
    masked_url: str


@dataclass(frozen=True)
class Settings:
    path: Path
    config: Config
    channels: Mapping[str, Channel]
    database_url: str = field(repr=False)
    secrets: frozenset[str] = field(repr=False)
    # Where the database URL came from, for error messages: the config key,
    # the environment variable, or the default.
    database_source: str = "service.database"
    # [mqtt] url with ${NAME} substituted (carries a password: never log it); None: off.
    mqtt_url: str | None = field(default=None, repr=False)

    @property
    def masked_database_url(self) -> str:
        return mask_database_url(self.database_url)


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "heupreminder.toml"


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """--config wins, then $HEUPREMINDER_CONFIG, then the platform config dir."""
    if path:
        return Path(path)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return default_config_path()


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'heupreminder.db'}"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load and check the config at `path`; raise ConfigError listing every problem."""
    config_path = resolve_config_path(path)
    where = str(config_path)
    raw = _read_toml(config_path)
    problems: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe_validation_error(exc))

    channels, secrets, channel_problems = _resolve_channels(raw.get("channels"))
    problems.extend(channel_problems)
    raw_channels = raw.get("channels")
    declared = raw_channels.keys() if isinstance(raw_channels, dict) else ()
    problems.extend(_unknown_channel_references(raw.get("people"), declared))

    admin = raw.get("service", {}).get("admin_channel") if isinstance(
        raw.get("service"), dict) else None
    if isinstance(admin, str) and admin not in declared:
        problems.append(f"service.admin_channel: no channel named {admin!r} in [channels]")
    heartbeat = raw.get("service", {}).get("heartbeat_url") if isinstance(
        raw.get("service"), dict) else None
    if isinstance(heartbeat, str):
        secrets.update(p for p in heartbeat.split("/")[3:] if len(p) >= 8)  # ping tokens

    mqtt_url = _resolve_mqtt_url(raw.get("mqtt"), problems, secrets)

    database_url, database_source = _resolve_database(raw, problems, secrets)

    if config is not None:
        problems.extend(config.pain_problems())  # rules across keys and tables
    if problems or config is None:
        raise ConfigError([f"{where}: {p}" for p in problems])
    return Settings(
        path=config_path,
        config=config,
        channels=channels,
        database_url=database_url,
        secrets=frozenset(secrets),
        database_source=database_source,
        mqtt_url=mqtt_url,
    )


def _read_toml(config_path: Path) -> dict[str, Any]:
    """The file's TOML as a dict; ConfigError saying why it cannot be read."""
    where = str(config_path)
    try:
        return tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{where}: no such file (create one with `heupreminder init {where}`)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{where}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: not valid TOML: {exc}"]) from None


def _resolve_database(raw: dict[str, Any], problems: list[str],
                      secrets: set[str]) -> tuple[str, str]:
    """(URL, where it came from), checked and `~` expanded; its password joins the secrets."""
    database_url, database_source = _database_url(raw)
    database_problem = check_database_url(database_url)
    if database_problem is not None:
        problems.append(f"{database_source}: {database_problem}")
        return database_url, database_source
    database_url = expand_sqlite_home(database_url)
    password = parse_database_url(database_url).password
    if password:
        secrets.add(password)
    return database_url, database_source


def _resolve_mqtt_url(raw: object, problems: list[str], secrets: set[str]) -> str | None:
    """[mqtt] url with ${NAME} substituted and checked; its password joins the secrets."""
    from heupreminder.config.broker_url import BrokerUrlError, parse_broker_url

    value = raw.get("url") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None  # off, or a wrong type the model reports
    before = len(problems)
    url = _expand_env(value, "mqtt.url", problems, secrets)
    if len(problems) > before:
        return None
    try:
        broker = parse_broker_url(url)
    except BrokerUrlError as exc:
        problems.append(f"mqtt.url: {exc}")
        return None
    if broker.password:
        secrets.add(broker.password)
        raw_password = url.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2]
        secrets.add(raw_password)  # as written, percent-escapes and all
    return url


def _database_url(raw: dict[str, Any]) -> tuple[str, str]:
    """(URL, where it came from): the environment wins, then the config, then the default."""
    if os.environ.get(ENV_DATABASE):
        return os.environ[ENV_DATABASE], ENV_DATABASE
    configured = _service_database(raw)
    if configured:
        return configured, "service.database"
    return default_database_url(), "the default database"


def _service_database(raw: dict[str, Any]) -> str | None:
    service = raw.get("service")
    value = service.get("database") if isinstance(service, dict) else None
    return value if isinstance(value, str) and value else None


def _key_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


# Keys whose values may carry passwords or tokens: errors do not quote them.
_MAY_HOLD_SECRETS = {"channels", "database", "heartbeat_url", "public_url", "mqtt"}


def _describe_validation_error(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and "[" in p)]
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "is required"
        elif kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        elif any(part in _MAY_HOLD_SECRETS for part in loc):
            message = str(error["msg"])  # not echoing the value: it may carry a password
        else:
            message = f"{error['msg']} (got {error.get('input')!r})"
        problems.append(f"{_key_path(loc)}: {message}")
    return problems


def _expand_env(value: str, key: str, problems: list[str], secrets: set[str]) -> str:
    """Replace ${NAME} with $NAME, or with the contents of the file named by $NAME_FILE."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in os.environ:
            secret = os.environ[name]
        elif f"{name}_FILE" in os.environ:
            try:
                secret = Path(os.environ[f"{name}_FILE"]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                problems.append(f"{key}: cannot read {name}_FILE: {exc.strerror}")
                return ""
        else:
            problems.append(f"{key}: environment variable {name} is not set (nor {name}_FILE)")
            return ""
        if secret:
            secrets.add(secret)
        return secret

    return _ENV_REFERENCE.sub(substitute, value)


def _resolve_channels(raw: object) -> tuple[dict[str, Channel], set[str], list[str]]:
    channels: dict[str, Channel] = {}
    secrets: set[str] = set()
    problems: list[str] = []
    if not isinstance(raw, dict):
        return channels, secrets, problems  # the model reports a wrong type
    for name, value in raw.items():
        key = f"channels.{name}"
        if not isinstance(value, str):
            continue  # reported by the model
        before = len(problems)
        url = _expand_env(value, key, problems, secrets)
        if len(problems) > before:
            continue
        with _apprise_quiet():
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin is None:
            problems.append(f"{key}: Apprise cannot use this URL ({_scheme(url)}://...)")
            continue
        masked = mask_custom_params(str(plugin.url(privacy=True)))  # type: ignore[no-untyped-call]
        secrets.update(secrets_in_url(url, masked))  # so also what mask_custom_params hid
        channels[name] = Channel(name=name, url=url, masked_url=masked)
    return channels, secrets, problems


class _OtherThreadsOnly(logging.Filter):
    """Drops the records one thread makes; other threads' records pass."""

    def __init__(self, thread: int) -> None:
        super().__init__()
        self.thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


@contextmanager
def _apprise_quiet() -> Iterator[None]:
    """Silence Apprise's own log lines while it checks a channel URL.

    A bad URL is reported once, as a config problem naming the key; Apprise's
    raw "ERROR apprise: Could not load ..." beside it only confuses (and may
    echo parts of the URL). Only this thread is silenced: on a reload the
    service's sends go on in other threads, and their errors must still log.
    """
    logger = logging.getLogger("apprise")
    quiet = _OtherThreadsOnly(threading.get_ident())
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def _unknown_channel_references(raw_people: object, known: Iterable[str]) -> list[str]:
    names = set(known)
    problems = []
    for i, person in enumerate(raw_people if isinstance(raw_people, list) else []):
        for field_name in ("channels", "caregiver_channels"):
            refs = person.get(field_name) if isinstance(person, dict) else None
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in names:
                    problems.append(
                        f"people[{i}].{field_name}[{j}]: no channel named {ref!r} in [channels]"
                    )
    return problems
