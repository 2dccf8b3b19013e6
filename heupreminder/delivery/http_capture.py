"""Let an Apprise plugin build its HTTP request, and keep it instead of sending it.

One mechanism for every HTTP-based Apprise channel (ntfy, Gotify, Pushover,
Telegram, Discord, Slack, Home Assistant, json/form/xml webhooks, ...): the
plugin's own `send()` runs as usual, but in *capture mode* requests' last step
(`Session.send`, which every `requests.post` and every session reaches)
records the prepared request and answers with an empty 200 instead of
touching the network. The request is then sent by `http_client.py` over a
kept-open connection. So Apprise still parses, validates and builds every
byte; we only change which connection carries them.

A capture costs ~0.25 ms of CPU, so most messages do not need one:
`http_template.py` captures a channel's request once with probe texts and
fills in each message, checking itself against captures now and then.

Capture mode is a context variable: only the code that called `capture()`
(and work Apprise hands to its own threads with that context) is affected;
every other use of requests in the process sends as before.

A message stays on the fast path only if the plugin made exactly one request,
returned success on the empty reply without reading its body (a plugin that
needs the server's answer, or several requests, e.g. an upload, is not
served by a replayed request), no proxy or client certificate applies, and
no auth hook waits for a challenge. Otherwise `capture()` returns None and
the caller sends through Apprise as before; nothing was sent meanwhile.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from typing import Any

import apprise
import requests
from apprise.apprise import N_MGR
from apprise.plugins.base import NotifyBase
from requests.models import PreparedRequest, Response
from requests.sessions import Session
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy

from heupreminder.delivery.http_client import HttpRequest

# Email has its own road (smtp.py); these never go over HTTP.
_NOT_HTTP = frozenset({"mailto", "mailtos"})
_ASSET = apprise.AppriseAsset()


class Capture:
    """What one plugin send asked requests to do."""

    def __init__(self) -> None:
        self.sent: list[tuple[PreparedRequest, dict[str, Any]]] = []
        self.body_read = False


_capturing: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(
    "heupreminder_http_capture", default=None)


class _EmptyReply(Response):
    """A 200 with no body that notices when the plugin reads the body anyway."""

    def __init__(self, capture: Capture, request: PreparedRequest) -> None:
        self._capture = capture
        super().__init__()
        self.status_code, self.reason, self.url = 200, "OK", request.url or ""
        self.request, self.headers = request, CaseInsensitiveDict()
        self.elapsed = timedelta(0)

    @property
    def content(self) -> bytes:
        self._capture.body_read = True
        return b""

    def iter_content(self, *args: Any, **kwargs: Any) -> Any:
        self._capture.body_read = True
        return iter(())


_real_send = Session.send


def _send_or_capture(self: Session, request: PreparedRequest, **kwargs: Any) -> Response:
    capture = _capturing.get()
    if capture is None:
        return _real_send(self, request, **kwargs)
    capture.sent.append((request, kwargs))
    return _EmptyReply(capture, request)


# Patched once for the process; outside capture mode it is requests' own send.
Session.send = _send_or_capture  # type: ignore[method-assign]

# What requests reads from the environment for a request (proxies, CA bundle).
_ENVIRONMENT = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "http_proxy", "HTTP_PROXY",
                "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")
_real_merge = Session.merge_environment_settings
_merged: dict[tuple[Any, ...], dict[str, Any]] = {}


def _merge_once_per_origin(self: Session, url: str, proxies: Any, stream: Any,
                           verify: Any, cert: Any) -> dict[str, Any]:
    """requests' own answer, kept per origin while capturing: it scans the whole
    environment twice per request, a third of a capture's cost."""
    if _capturing.get() is None or proxies or not isinstance(verify, (bool, str, type(None))) \
            or not isinstance(cert, (str, type(None))):
        return _real_merge(self, url, proxies, stream, verify, cert)
    origin = url.split("/", 3)[:3]
    key = (*origin, stream, verify, cert, *(os.environ.get(name) for name in _ENVIRONMENT))
    merged = _merged.get(key)
    if merged is None:
        merged = _merged[key] = _real_merge(self, url, proxies, stream, verify, cert)
    return {**merged, "proxies": dict(merged["proxies"])}


Session.merge_environment_settings = _merge_once_per_origin  # type: ignore[method-assign]


@contextmanager
def capturing() -> Iterator[Capture]:
    """Within this block (this context only), requests records instead of sending."""
    taken = Capture()
    token = _capturing.set(taken)
    try:
        yield taken
    finally:
        _capturing.reset(token)


def capture(url: str, title: str, body: str) -> HttpRequest | None:
    """The one request Apprise would send for this message, or None to use Apprise."""
    plugin = _plugin(url)
    if plugin is None:
        return None
    with capturing() as taken:
        try:
            # As Apprise.notify() calls it for plain text (no format given, no
            # escapes, emojis or size cap: _plugin() leaves those to Apprise).
            accepted = plugin.notify(body=body, title=title)
        except Exception:  # Apprise will report it in its own words
            return None
    if not accepted or taken.body_read or len(taken.sent) != 1:
        return None
    return _replayable(*taken.sent[0])


def may_use_fast_path(url: str) -> bool:
    """True if `url` is an HTTP-based Apprise channel (a message may still fall back)."""
    return _plugin(url) is not None


def plugin_limits(url: str) -> tuple[int, int]:
    """The plugin's (title_maxlen, body_maxlen) for `url`; (0, 0) if not on the fast path."""
    plugin = _plugin(url)
    if plugin is None:
        return 0, 0
    return int(plugin.title_maxlen), int(plugin.body_maxlen)


@lru_cache(maxsize=4096)
def _plugin(url: str) -> NotifyBase | None:
    """An HTTP plugin for `url`, parsed once per URL, that never throttles; else None."""
    schema = url.split("://", 1)[0].lower()
    if schema in _NOT_HTTP:
        return None
    plugin: NotifyBase | None
    if schema in N_MGR:
        # What Apprise.instantiate() does, without the privacy-masked copy of
        # the URL it builds only for a debug log line (half its cost).
        cls = N_MGR[schema]
        arguments = cls.parse_url(url.replace("/#", "/%23"))
        if not arguments or not cls.enabled:
            return None
        try:
            plugin = cls(**arguments, tag=set(), asset=_ASSET)
        except Exception:
            return None
    else:  # a service's own URL (https://discord.com/api/webhooks/...)
        plugin = apprise.Apprise.instantiate(url, asset=_ASSET)
    if plugin is None or getattr(sys.modules.get(type(plugin).__module__), "requests",
                                 None) is not requests:
        return None  # not a plugin that speaks HTTP through requests
    if plugin.interpret_emojis or not plugin.enabled:
        return None
    # Apprise spaces sends to one service (seconds apart for some); the
    # kept-open connections and the retry by the dispatcher do that job here.
    plugin.request_rate_per_sec = 0
    return plugin


def _replayable(request: PreparedRequest, options: dict[str, Any]) -> HttpRequest | None:
    if request.hooks.get("response") or options.get("cert") is not None:
        return None  # digest auth waits for a challenge; client certificates: Apprise
    target = request.url or ""
    if select_proxy(target, options.get("proxies") or {}) is not None:
        return None
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")  # as urllib3 2 sends a str body
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        return None  # a file or a generator: not replayed
    timeout = options.get("timeout")
    if not isinstance(timeout, tuple):
        timeout = (timeout, timeout)
    verify = options.get("verify", True)
    return HttpRequest(method=request.method or "GET", url=target,
                       headers=tuple((k, str(v)) for k, v in request.headers.items()), body=body,
                       verify=verify if isinstance(verify, (bool, str)) else True,
                       timeout=timeout, redirects=bool(options.get("allow_redirects", True)))
