"""Keep-alive delivery for JSON webhooks (Apprise's json:// and jsons:// URLs).

Apprise opens a new HTTP connection for every notification it sends (each
plugin calls `requests.request` without a session). For a morning burst to
one webhook server that connection is most of the cost: about 1 ms of our
CPU per reminder, and a TCP (and TLS) handshake the server has to accept each
time. For json:// and jsons:// channels we therefore let Apprise parse and
validate the URL, once per channel, and send the very request its JSON plugin
would send (method, path, query, headers, basic auth, body) over a urllib3
pool that keeps connections open. tests/test_webhook.py has a receiver compare
the two requests field by field.

Everything else goes through Apprise as before: other schemes, attachments,
and a webhook that a proxy from the environment applies to.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlencode

import apprise
import certifi
import urllib3
from apprise.plugins.custom_json import NotifyJSON
from urllib3.util import Retry, Timeout, make_headers

# Connections kept open per webhook server; a burst needs one per send worker.
POOL_SIZE = 32
# What requests (and so Apprise) allows, for the redirects a plugin follows.
MAX_REDIRECTS = 30


class WebhookError(Exception):
    """The webhook did not take the message; the text never quotes the URL."""


@dataclass(frozen=True)
class Webhook:
    """One channel's request, as Apprise's JSON plugin would send it."""

    method: str
    url: str = field(default="", repr=False)  # may carry a token: never log it
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may too
    verify: bool = True
    timeout: tuple[float, float] = (4.0, 4.0)
    redirects: bool = True
    version: str = "1.0"
    extras: tuple[tuple[str, str], ...] = ()

    def body(self, title: str, message: str) -> bytes:
        payload: dict[str, object] = {"version": self.version, "title": title,
                                      "message": message, "attachments": [], "type": "info"}
        # Apprise's ":key=value" URL arguments: rename a field, drop it
        # (empty value), or add a field, in that order of precedence.
        for key, value in self.extras:
            if key in payload:
                if value:
                    payload[value] = payload[key]
                del payload[key]
            else:
                payload[key] = value
        return json.dumps(payload).encode()


@lru_cache(maxsize=256)  # channels come from the config: a handful, not thousands
def webhook_for(url: str) -> Webhook | None:
    """The keep-alive plan for a channel URL, or None to use Apprise for it."""
    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyJSON):
        return None
    if plugin.user and plugin.password is None:
        return None  # requests would send the password as "None"; leave that to it
    scheme = "https" if plugin.secure else "http"
    port = f":{plugin.port}" if isinstance(plugin.port, int) else ""
    target = f"{scheme}://{plugin.host}{port}{plugin.fullpath or '/'}"
    if _proxied(target, plugin.host):
        return None
    if plugin.params:
        target += "?" + urlencode(plugin.params)
    headers = {"User-Agent": plugin.app_id, "Content-Type": "application/json",
               **plugin.headers}
    if plugin.user:
        headers.update(make_headers(basic_auth=f"{plugin.user}:{plugin.password}"))
    return Webhook(method=str(plugin.method), url=target, headers=tuple(headers.items()),
                   verify=bool(plugin.verify_certificate),
                   timeout=(float(plugin.socket_connect_timeout),
                            float(plugin.socket_read_timeout)),
                   redirects=bool(plugin.redirects), version=plugin.json_version,
                   extras=tuple(plugin.payload_extras.items()))


def post(webhook: Webhook, title: str, message: str) -> None:
    """Send one message, or raise WebhookError."""
    retries = Retry(total=None, connect=0, read=0, status=0, other=0,
                    redirect=MAX_REDIRECTS if webhook.redirects else 0,
                    raise_on_redirect=False, raise_on_status=False)
    try:
        response = _pools(webhook.verify).urlopen(
            webhook.method, webhook.url, body=webhook.body(title, message),
            headers=dict(webhook.headers), retries=retries,
            timeout=Timeout(connect=webhook.timeout[0], read=webhook.timeout[1]),
            redirect=webhook.redirects, preload_content=True)
    except urllib3.exceptions.HTTPError as exc:
        # urllib3's own text quotes the URL (a token may be in its path).
        raise WebhookError(f"webhook unreachable: {_reason(exc)}") from None
    if not 200 <= response.status < 300:
        raise WebhookError(f"webhook answered HTTP {response.status} {response.reason or ''}"
                           .rstrip())


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    inner = getattr(exc, "reason", None) or exc
    # NewConnectionError is a kind of timeout in urllib3 2: ask it first.
    if isinstance(inner, urllib3.exceptions.NewConnectionError):
        return "connection refused or no route"
    if isinstance(inner, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(inner, urllib3.exceptions.SSLError):
        return "TLS error"
    return "connection failed"


def _proxied(url: str, host: str) -> bool:
    """True if requests would send this through a proxy from the environment."""
    scheme = url.split(":", 1)[0]
    return scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)


_lock = threading.Lock()
_managers: dict[bool, urllib3.PoolManager] = {}


def _pools(verify: bool) -> urllib3.PoolManager:
    """One pool manager per process and TLS policy, shared by the send threads."""
    with _lock:
        manager = _managers.get(verify)
        if manager is None:
            if verify:
                # As requests does: a private CA bundle from the environment wins.
                bundle = (os.environ.get("REQUESTS_CA_BUNDLE")
                          or os.environ.get("CURL_CA_BUNDLE") or certifi.where())
                manager = urllib3.PoolManager(maxsize=POOL_SIZE, cert_reqs="CERT_REQUIRED",
                                              ca_certs=bundle)
            else:
                manager = urllib3.PoolManager(maxsize=POOL_SIZE, cert_reqs="CERT_NONE")
            _managers[verify] = manager
        return manager
