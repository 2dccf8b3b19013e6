"""What every request and answer of the web app goes through, before any page or API code.

- **Host**: the server answers only to the host names of `public_url` and `listen`,
  loopback, and `[service] allowed_hosts`; any other Host gets 421. A web page that
  points its own domain at 127.0.0.1 (DNS rebinding) thus cannot read /healthz,
  /metrics or anything else with the browser's same-origin blessing.
- **Size**: a body over `MAX_BODY` is refused with 413 before anyone reads it.
- **Headers**: a strict Content-Security-Policy (no script at all, our inline styles
  by hash, `frame-ancestors 'none'`), X-Frame-Options for old browsers, no referrer,
  no caching, no sniffing.
- **Errors under /api/** are JSON, also 404, 405, 413 and 500 (a script reads them);
  an unexpected error is logged with its traceback (through the secret masker) and
  answered without one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Request, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # the largest body we take: a pain report is a few hundred bytes
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
API_PREFIX = "/api/"
TEMPLATES = Path(__file__).parent / "templates"
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def style_hashes(templates: Path = TEMPLATES) -> tuple[str, ...]:
    """CSP hashes of the inline <style> blocks of our templates.

    The hash covers the block's exact text, so a block must not contain template
    code (it would render differently from the source): that is refused here, at
    start-up, rather than showing unstyled pages.
    """
    hashes = []
    for template in sorted(templates.glob("*.html")):
        for block in _STYLE_BLOCK.findall(template.read_text(encoding="utf-8")):
            if "{{" in block or "{%" in block:
                raise ValueError(f"{template.name}: a <style> block must not contain "
                                 "template code (its CSP hash would not match)")
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return tuple(hashes)


def content_security_policy(styles: tuple[str, ...]) -> str:
    return "; ".join([
        "default-src 'none'",
        "img-src 'self'",  # the history page's chart
        f"style-src {' '.join(styles) or chr(39) + 'none' + chr(39)}",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])


def host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@lru_cache(maxsize=8)
def allowed_host_names(public_url: str | None, listen: str | None,
                       extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Loopback, the public URL's host, the listen address unless it is a wildcard,
    and the configured extras."""
    names = set(LOOPBACK_HOSTS)
    if public_url:
        names.add((urlsplit(public_url).hostname or "").lower())
    if listen:
        listen_host = host_name(listen.rpartition(":")[0]) if ":" in listen else listen
        if listen_host not in ("", "0.0.0.0", "::"):
            names.add(listen_host.lower())
    names.update(name.lower() for name in extra)
    names.discard("")
    return frozenset(names)


def is_api(req: Request) -> bool:
    return req.path.startswith(API_PREFIX)


def install_guards(app: Flask, hosts: Callable[[], frozenset[str]]) -> None:
    """Register the host check, the headers and the error answers on `app`.

    `hosts` returns the host names allowed now (the config may be reloaded).
    """
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    policy = content_security_policy(style_hashes())

    @app.before_request
    def only_our_host_names() -> tuple[Response, int] | None:
        if host_name(request.host) in hosts():
            return None
        # Not the client's address and not the whole header: a log line per probe is enough.
        log.warning("refused a request for unknown host %r from %s",
                    host_name(request.host)[:60], request.remote_addr)
        return _answer(421, "this server does not answer to that host name")

    @app.after_request
    def security_headers(response: Response) -> Response:
        # Pages carry personal data and signed links: keep them out of caches and frames.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[Response, int] | HTTPException:
        if not is_api(request):
            return error  # Werkzeug's small HTML page, with our headers added
        status = error.code or 500
        response, _ = _answer(status, (error.description or error.name).split("\n")[0])
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int] | InternalServerError:
        log.error("unexpected error answering %s %s", request.method, request.path,
                  exc_info=error)
        if not is_api(request):
            return InternalServerError()
        return _answer(500, "something went wrong on our side")


def _answer(status: int, message: str) -> tuple[Response, int]:
    if is_api(request):
        return jsonify(error=message), status
    return Response(f"{status} {message}\n", mimetype="text/plain"), status
