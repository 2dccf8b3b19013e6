"""The limit: a plain HTTP client posting the same payloads, no scheduling at all.

The same JSON bodies Apprise's json:// sends (version, title, message,
attachments, type; heupreminder's message text for each routine in the
benchmark database), the same headers, posted by `--concurrency` threads
(default 8, the service's send_workers) each keeping one connection alive.
Building the payloads is not timed; the clock runs from the first request to
the last response. Prints one JSON line with the figures.
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

from heupreminder.delivery.messages import compose

HEADERS = {"User-Agent": "Apprise", "Content-Type": "application/json"}


def payloads(database_url: str) -> list[bytes]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT r.key, r.kind, r.exercise, r.side, r.title, r.text, p.timezone, p.locale "
            "FROM routines r JOIN people p ON p.id = r.person_id WHERE r.active "
            "ORDER BY r.id")).all()
    engine.dispose()
    out = []
    for row in rows:
        routine = SimpleNamespace(key=row.key, kind=row.kind, exercise=row.exercise,
                                  side=row.side, title=row.title, text=row.text)
        today = datetime.now(ZoneInfo(row.timezone)).date()
        message = compose(routine, row.locale, today)  # type: ignore[arg-type]
        out.append(json.dumps({"version": "1.0", "title": message.title,
                               "message": message.body, "attachments": [],
                               "type": "info"}).encode())
    return out


def post_all(url: str, bodies: list[bytes], concurrency: int) -> dict[str, object]:
    parts = urlsplit(url.replace("json://", "http://", 1))
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the limit client posts to loopback only")
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    lock = threading.Lock()
    position = [0]
    errors = [0]

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(bodies):
                break
            try:
                connection.request("POST", path, bodies[index], HEADERS)
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
    return {"posts": len(bodies), "errors": errors[0], "seconds": seconds,
            "started_wall": started_wall, "concurrency": concurrency,
            "cpu_seconds": time.process_time() - cpu_before,
            "per_second": len(bodies) / seconds if seconds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True, help="json://127.0.0.1:P/path")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bodies = payloads(args.db)
    result = post_all(args.url, bodies, args.concurrency)
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
