"""The limit: a plain HTTP client posting the same requests, no scheduling at all.

The requests Apprise builds for the channel URL (json://, ntfy://, ...) and
heupreminder's message text for each routine in the benchmark database,
captured without sending (`heupreminder.delivery.http_capture`): the same
method, path, headers and body the service sends. They are posted by
`--concurrency` threads (default 8, the service's send_workers) each keeping
one connection alive. Building them is not timed; the clock runs from the
first request to the last response. Prints one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

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


def post_all(requests: list[HttpRequest], concurrency: int) -> dict[str, object]:
    parts = urlsplit(requests[0].url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.scheme != "http":
        raise SystemExit("the limit client posts to loopback over plain HTTP only")
    host, port = parts.hostname, parts.port or 80
    lock = threading.Lock()
    position = [0]
    errors = [0]

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
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
                connection = http.client.HTTPConnection(host, port, timeout=30)
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
            "cpu_seconds": time.process_time() - cpu_before,
            "per_second": len(requests) / seconds if seconds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True,
                        help="the channel: json://127.0.0.1:P/path, ntfy://127.0.0.1:P/topic")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--own", action="store_true",
                        help="each person their own topic on --url's receiver (own_channels.py)")
    args = parser.parse_args()
    result = post_all(built_requests(args.db, args.url, args.own), args.concurrency)
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
