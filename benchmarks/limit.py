"""The limit: a plain HTTP client posting the same requests, no scheduling at all.

The requests Apprise builds for the channel URL (json://, ntfy://, ...) and
heupreminder's message text for each routine in the benchmark database,
captured without sending (`heupreminder.delivery.http_capture`): the same
method, path, headers and body the service sends. They are posted by
`--concurrency` threads (default 8, the service's send_workers) each keeping
one connection alive. Building them is not timed; the clock runs from the
first request to the last response. Prints one JSON line with the figures.

An https:// request (ntfys://) goes over TLS, trusting the CA its `verify`
names: what requests was given, REQUESTS_CA_BUNDLE in this process's
environment (True: certifi's CAs, as requests; False: no check).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import threading
import time
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import certifi
from sqlalchemy import create_engine, text

from benchmarks.own_channels import own_url
from heupreminder.delivery.http_capture import capture
from heupreminder.delivery.http_client import HttpRequest
from heupreminder.delivery.messages import compose
from heupreminder.delivery.sender import apprise_message


def built_requests(database_url: str, channel_url: str, own: bool = False) -> list[HttpRequest]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT r.key, r.kind, r.exercise, r.side, r.title, r.text, p.timezone, p.locale, "
            "p.id AS person_id "
            "FROM routines r JOIN people p ON p.id = r.person_id WHERE r.active "
            "ORDER BY r.id")).all()
    engine.dispose()
    out = []
    for row in rows:
        routine = SimpleNamespace(key=row.key, kind=row.kind, exercise=row.exercise,
                                  side=row.side, title=row.title, text=row.text)
        today = datetime.now(ZoneInfo(row.timezone)).date()
        message = compose(routine, row.locale, today)  # type: ignore[arg-type]
        url = own_url(channel_url, row.person_id) if own else channel_url
        request = capture(*apprise_message(url, message.title, message.body,
                                           kind=row.kind))
        if request is None:
            raise SystemExit("Apprise does not build one plain request for this channel")
        out.append(request)
    return out


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The CAs a request trusts, as requests would from its `verify`."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def post_all(requests: list[HttpRequest], concurrency: int) -> dict[str, object]:
    parts = urlsplit(requests[0].url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.scheme not in (
            "http", "https"):
        raise SystemExit("the limit client posts to loopback over HTTP or HTTPS only")
    if any(urlsplit(r.url).netloc != parts.netloc or r.verify != requests[0].verify
           for r in requests):
        raise SystemExit("the limit client posts to one receiver, trusting one CA")
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    context = tls_context(requests[0].verify) if parts.scheme == "https" else None
    lock = threading.Lock()
    position = [0]
    errors = [0]

    def connect() -> http.client.HTTPConnection:
        if context is not None:
            return http.client.HTTPSConnection(host, port, timeout=30, context=context)
        return http.client.HTTPConnection(host, port, timeout=30)

    def worker() -> None:
        connection = connect()
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(requests):
                break
            request = requests[index]
            target = urlsplit(request.url)
            path = (target.path or "/") + (f"?{target.query}" if target.query else "")
            try:
                # As built: requests' own headers included; http.client adds only Host.
                connection.request(request.method, path, request.body, dict(request.headers))
                response = connection.getresponse()
                response.read()
                if response.status >= 300:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                connection.close()
                connection = connect()
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu_before, started = time.process_time(), time.perf_counter()
    started_wall = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"posts": len(requests), "errors": errors[0], "seconds": seconds,
            "started_wall": started_wall, "concurrency": concurrency,
            "tls": context is not None,
            "cpu_seconds": time.process_time() - cpu_before,
            "per_second": len(requests) / seconds if seconds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True,
                        help="the channel: json://127.0.0.1:P/path, ntfy://127.0.0.1:P/topic, "
                             "ntfys://127.0.0.1:P/topic (TLS: REQUESTS_CA_BUNDLE names the CA)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--own", action="store_true",
                        help="each person their own topic on --url's receiver (own_channels.py)")
    args = parser.parse_args()
    result = post_all(built_requests(args.db, args.url, args.own), args.concurrency)
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
