"""Start-up with 10,000 people's own channels: in the database vs. in the TOML (issue 13).

Run on its own (not part of benchmarks.run):

    .venv/bin/python -m benchmarks.channels                 # SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.channels --db sqlite --people 2000

A fresh database gets N people (one routine each, due tomorrow, so nothing is
sent while starting) and each person their own channel, alternately ntfy://
and json:// with a token, sealed with a fresh HEUPREMINDER_CHANNEL_KEY in
`person_channels`. Then, each several times, the real `heupreminder run`
(`python -m heupreminder`) is timed from process start to READY=1 on
$NOTIFY_SOCKET (sent right after it logs "heupreminder ready"), then until
its web server answers /healthz (its pages load just after "ready"), and
`check-config` from start to exit, for two configs:

- database: the config has one channel; people's channels are in the database;
- toml: the same N channel URLs as `[channels]` lines of the config (what an
  installation had to do before), each parsed by Apprise at start.

The service runs as an installed package does, with its bytecode compiled
(pip does that at install); this checkout's own modules are compiled first.

Last, the database set-up delivers for real: P people's reminders are made due
a few seconds after a start, and the receiver must get exactly P posts, each
through the person's own (decrypted) channel.
Figures go to benchmarks/results/channels-startup.md and .json.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from benchmarks.common import (
    DEFAULT_PG_ADMIN_URL,
    PYTHON,
    REPO_DIR,
    bench_env,
    cpu_seconds,
    describe_machine,
    free_port,
    load_average,
    stop_process,
)
from benchmarks.generate import ZONES, burst_schedule
from benchmarks.generate import insert as insert_rows
from benchmarks.receiver_process import Receiver, start_receiver
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import PersonChannel
from heupreminder.delivery.channel_key import ENV_KEY, ChannelKey, new_key
from heupreminder.delivery.personal_channels import checked_url

RESULTS = REPO_DIR / "benchmarks" / "results"
PG_DB = "heup_bench_channels"  # not benchmarks.run's database: both may run on one server
TARGET_SECONDS = 1.5

CONFIG = """\
# Written by benchmarks/channels.py
[service]
database = {database}
manage_people = "database"
listen = "127.0.0.1:{listen}"
catch_up = "30m"

[channels]
bench = {bench}
{extra}
"""


def fresh_database(kind: str, workdir: Path, pg_admin_url: str) -> str:
    if kind == "sqlite":
        path = workdir / "channels.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    admin.dispose()
    return make_url(pg_admin_url).set(database=PG_DB).render_as_string(hide_password=False)


def channel_url(i: int, port: int) -> str:
    token = secrets.token_urlsafe(18)
    if i % 2:
        return f"json://127.0.0.1:{port}/notify?+X-Token={token}"
    return f"ntfy://127.0.0.1:{port}/p{i:07d}?token=tk_{token}"


def fill(url: str, people: int, port: int, key: ChannelKey) -> tuple[dict[str, str], float]:
    """People, routines and their sealed channels; returns (name -> URL for the TOML, s)."""
    started = time.perf_counter()
    due = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    stamp = datetime.now(UTC).replace(tzinfo=None)
    person_rows, routine_rows, channel_rows, toml_channels = [], [], [], {}
    for i in range(1, people + 1):
        person_id = f"c{i:07d}"
        zone, _, locale = ZONES[i % len(ZONES)]
        person_rows.append((person_id, f"Person {i}", zone, locale, None, json.dumps(["own"]),
                            True, stamp))
        routine_rows.append((i, person_id, "bridge", "exercise", "bridge", None, None, None,
                             burst_schedule(due, zone), True, due.replace(tzinfo=None), stamp,
                             stamp))
        secret_url = channel_url(i, port)
        masked, found = checked_url(secret_url, "url")
        channel_rows.append({"person_id": person_id, "name": "own",
                             "sealed": key.seal(secret_url, found), "masked_url": masked,
                             "updated_at": datetime.now(UTC)})
        toml_channels[f"own-{person_id}"] = secret_url
    engine = create_engine(url)
    upgrade(engine)
    insert_rows(engine, person_rows, routine_rows)
    with engine.begin() as connection:
        connection.execute(insert(PersonChannel), channel_rows)
    engine.dispose()
    return toml_channels, time.perf_counter() - started


def write_config(path: Path, database_url: str, bench_url: str,
                 toml_channels: dict[str, str]) -> Path:
    extra = "\n".join(f"{name} = {json.dumps(u)}" for name, u in toml_channels.items())
    path.write_text(CONFIG.format(database=json.dumps(database_url), listen=free_port(),
                                  bench=json.dumps(bench_url), extra=extra), encoding="utf-8")
    return path


def time_start(config: Path, env: dict[str, str], workdir: Path,
                timeout: float = 120.0) -> tuple[float, float, float]:
    """(wall seconds from Popen to READY=1 of `heupreminder run`, CPU seconds the process
    used by then: on a shared machine the wall time follows the neighbours' load, the CPU
    time much less; wall seconds until its web server answers /healthz, which loads its
    pages just after READY=1); the service is stopped after."""
    notify_path = workdir / "notify.sock"
    notify_path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        log = (workdir / "service.log").open("ab")
        started = time.monotonic()
        process = subprocess.Popen(
            [PYTHON, "-m", "heupreminder", "--log-level", "info", "run", "--config",
             str(config)], cwd=workdir, env=env | {"NOTIFY_SOCKET": str(notify_path)},
            stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited ({process.returncode}); "
                                       f"see {workdir / 'service.log'}")
                if time.monotonic() - started > timeout:
                    raise RuntimeError("the service was not ready in time")
                notify.settimeout(0.5)
                try:
                    message = notify.recv(4096).decode(errors="replace")
                except TimeoutError:
                    continue
                if "READY=1" in message.split("\n"):
                    ready, cpu = time.monotonic() - started, cpu_seconds(process.pid)
                    answered_after(listen_of(config), started + timeout)
                    return ready, cpu, time.monotonic() - started
        finally:
            stop_process(process)
            log.close()


def listen_of(config: Path) -> str:
    listen: str = tomllib.loads(config.read_text(encoding="utf-8"))["service"]["listen"]
    return listen


def answered_after(listen: str, deadline: float) -> None:
    """Wait until the web server answers /healthz (with any HTTP status)."""
    host, _, port = listen.rpartition(":")
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.005)
        finally:
            connection.close()
    raise RuntimeError("the web server did not answer in time")


def time_check_config(config: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run([PYTHON, "-m", "heupreminder", "check-config", str(config)],
                          env=env, capture_output=True, timeout=120)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"check-config failed: {done.stderr.decode(errors='replace')}")
    return seconds


def deliver_for_real(url: str, config: Path, env: dict[str, str], workdir: Path,
                     receiver: Receiver, count: int) -> dict[str, Any]:
    """`count` people due 8 s from now; the service started on its own must send each once."""
    due = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    engine = create_engine(url)
    with engine.begin() as connection:
        for zone, _, _ in ZONES:
            value: Any = due.replace(tzinfo=None)
            if engine.dialect.name == "sqlite":
                value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
            connection.execute(text(
                "UPDATE routines SET schedule = :schedule, next_due_at = :due WHERE id <= :n "
                "AND person_id IN (SELECT id FROM people WHERE timezone = :zone)"),
                {"schedule": burst_schedule(due, zone), "due": value, "n": count, "zone": zone})
    engine.dispose()
    receiver.reset()
    log = (workdir / "service-deliver.log").open("wb")
    process = subprocess.Popen(
        [PYTHON, "-m", "heupreminder", "run", "--config", str(config)], cwd=workdir, env=env,
        stdout=log, stderr=subprocess.STDOUT)
    try:
        got = receiver.wait_for(count, timeout=90)
        time.sleep(2)  # anything sent twice would arrive now
        got = receiver.count()
    finally:
        stop_process(process)
        log.close()
    last = got.get("last")
    return {"due": count, "received": got["count"], "bad": got.get("bad"),
            "last_after_due_s": round(last - due.timestamp(), 2) if last else None}


def run(kind: str, people: int, repeats: int, deliver: int, workdir: Path,
        pg_admin_url: str) -> dict[str, Any]:
    receiver = start_receiver(workdir)
    try:
        url = fresh_database(kind, workdir, pg_admin_url)
        key_text = new_key()
        toml_channels, fill_seconds = fill(url, people, receiver.port,
                                           ChannelKey([key_text.encode()]))
        env = bench_env(REPO_DIR) | {ENV_KEY: key_text}
        configs = {
            "database": write_config(workdir / "database.toml", url, receiver.json_url, {}),
            "toml": write_config(workdir / "toml.toml", url, receiver.json_url, toml_channels),
        }
        figures: dict[str, Any] = {"people": people, "fill_seconds": round(fill_seconds, 1)}
        for name, config in configs.items():
            timed = [time_start(config, env, workdir) for _ in range(repeats)]
            starts, cpu, pages = ([t[i] for t in timed] for i in range(3))
            checks = [time_check_config(config, env) for _ in range(repeats)]
            figures[name] = {"start_to_ready_s": [round(s, 2) for s in starts],
                             "start_to_ready_median_s": round(statistics.median(starts), 2),
                             "cpu_to_ready_median_s": round(statistics.median(cpu), 2),
                             "start_to_pages_median_s": round(statistics.median(pages), 2),
                             "load_average_after": load_average(),
                             "check_config_s": [round(s, 2) for s in checks],
                             "check_config_median_s": round(statistics.median(checks), 2)}
            print(f"{kind} {name}: ready {figures[name]['start_to_ready_median_s']} s, "
                  f"check-config {figures[name]['check_config_median_s']} s", flush=True)
        if deliver:
            figures["delivery"] = deliver_for_real(url, configs["database"], env, workdir,
                                                   receiver, deliver)
            print(f"{kind} delivery: {figures['delivery']}", flush=True)
        return figures
    finally:
        receiver.stop()


def write_results(results: dict[str, Any], machine: dict[str, Any], name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Start-up with people's own channels ({name})", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/channels.py` on "
             f"{machine.get('cpu_model', '?')} ({os.cpu_count()} cores, shared), "
             f"git {machine.get('product_commit', '?')}. Median of each column's runs; "
             f"target: ready in ≤ {TARGET_SECONDS} s with the channels in the database.", "",
             "| database | people | channels kept in | `run` start → READY=1 | runs | "
             "CPU to READY=1 | → pages answer | `check-config` | runs | load avg after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, figures in results.items():
        for where in ("database", "toml"):
            row = figures[where]
            met = " ✓" if where == "database" and row["start_to_ready_median_s"] <= \
                TARGET_SECONDS else ""
            lines.append(f"| {kind} | {figures['people']:,} | {where} | "
                         f"{row['start_to_ready_median_s']} s{met} | "
                         f"{', '.join(map(str, row['start_to_ready_s']))} | "
                         f"{row['cpu_to_ready_median_s']} s | "
                         f"{row['start_to_pages_median_s']} s | "
                         f"{row['check_config_median_s']} s | "
                         f"{', '.join(map(str, row['check_config_s']))} | "
                         f"{row['load_average_after']} |")
    lines += ["", "Delivery through the people's own channels (the service decrypts a "
              "batch's channels when it first needs them):", ""]
    for kind, figures in results.items():
        if "delivery" in figures:
            d = figures["delivery"]
            lines.append(f"- {kind}: {d['received']} of {d['due']} reminders received "
                         f"(bad: {d['bad']}), the last {d['last_after_due_s']} s after due")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--deliver", type=int, default=1000,
                        help="people whose reminder is sent for real at the end (0: none)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/heupreminder-bench-channels"))
    parser.add_argument("--name", default="channels-startup")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # As an installed package starts: pip compiles the bytecode at install. This
    # checkout runs under PYTHONDONTWRITEBYTECODE (bench_env), so without this every
    # start would compile our ~120 modules from source again (~0.1 s).
    compileall.compile_dir(REPO_DIR / "heupreminder", quiet=1)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {kind: run(kind, args.people, args.repeats, args.deliver, args.workdir,
                         args.pg_url) for kind in kinds}
    write_results(results, describe_machine(kinds, args.pg_url, REPO_DIR), args.name)
    print(f"wrote {RESULTS / args.name}.md")


if __name__ == "__main__":
    main()
