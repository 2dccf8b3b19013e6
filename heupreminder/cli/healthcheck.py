"""`heupreminder healthcheck`: ask the running service's /healthz where the config
says it listens (the container's HEALTHCHECK).

Contract: exit 0 when ``http://<listen>/healthz`` answers 200 within the
timeout; exit 1 otherwise (unhealthy, not answering, or a config file that
cannot be read as TOML), with one line saying why. ``listen`` is read from
the config file alone (``[service] listen``, else the built-in default), not
by validating the whole config: a config edit with a mistake elsewhere is
refused on reload while the old one keeps running, and that service is still
healthy. A wildcard listen address (``0.0.0.0:8765``, ``:8765``) is asked on
loopback, where the server also answers. No database work: /healthz itself
checks the database, and a health check must stay cheap.
"""

from __future__ import annotations

import sys
import tomllib
import urllib.error
import urllib.request
from typing import NoReturn

import click

from heupreminder.cli.options import config_option
from heupreminder.config.loader import resolve_config_path
from heupreminder.config.model import ServiceConfig

WILDCARDS = ("", "0.0.0.0")
DEFAULT_LISTEN = str(ServiceConfig.model_fields["listen"].default)


def configured_listen(config_path: str | None) -> str:
    """The config file's ``[service] listen``, or the default; ValueError if unreadable."""
    path = resolve_config_path(config_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    service = raw.get("service")
    listen = service.get("listen", DEFAULT_LISTEN) if isinstance(service, dict) else (
        DEFAULT_LISTEN)
    if not isinstance(listen, str) or ":" not in listen:
        raise ValueError(f"{path}: service.listen {listen!r} is not host:port")
    return listen


def healthz_url(listen: str) -> str:
    """``0.0.0.0:9000`` -> ``http://127.0.0.1:9000/healthz``; a named host stays."""
    host, _, port = listen.rpartition(":")
    return f"http://{'127.0.0.1' if host in WILDCARDS else host}:{port}/healthz"


def check(url: str, timeout: float) -> str | None:
    """None when ``url`` answers 200, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"{url} does not answer: {reason}"
    return None if status == 200 else f"{url} answered {status}"


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=4, show_default=True,
                  help="Seconds to wait for the answer.")
    @config_option
    def healthcheck(timeout: float, config_path: str | None) -> None:
        """Exit 0 if the running service's /healthz (at the config's listen) says healthy."""
        try:
            listen = configured_listen(config_path)
        except ValueError as error:
            _unhealthy(str(error))
        problem = check(healthz_url(listen), timeout)
        if problem:
            _unhealthy(problem)
        click.echo(f"healthy: {healthz_url(listen)}")


def _unhealthy(message: str) -> NoReturn:
    click.echo(f"heupreminder: unhealthy: {message}", err=True)
    sys.exit(1)
