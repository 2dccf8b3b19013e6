"""Scenarios 2 and 3, the morning burst: N reminders due at the same instant.

Three contenders deliver the same reminders to the same receiver, one after
the other on the same data set: heupreminder itself (`burst_heup`), the naive
APScheduler + Apprise script (`burst_naive`, benchmarks/naive.py) and the
plain-HTTP limit (`burst_limit`, benchmarks/limit.py; smtplib for email).
`run_burst` runs them and works out our throughput as a ratio to each.
Over TLS (`ntfys-own`) each contender's environment names the receiver's
throwaway CA in REQUESTS_CA_BUNDLE, as a user would configure it.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks import email as email_burst
from benchmarks.common import (
    PYTHON,
    bench_env,
    child,
    cpu_seconds,
    drop_database,
    fresh_database,
    load_average,
    log,
    memory_kib,
    percentile,
    postgres_cpu_seconds,
    stop_process,
    tree_cpu_seconds,
    tree_memory_kib,
)
from benchmarks.context import Context
from benchmarks.own_channels import seal_own_channels, service_env
from benchmarks.service import start_service
from benchmarks.targets import TARGETS


def _due_in(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(
        seconds=1)


def _sleep_until(moment: datetime) -> None:
    delay = moment.timestamp() - time.time()
    if delay > 0:
        time.sleep(delay)


def _arrival_stats(stats: dict[str, Any], due: float, n: int) -> dict[str, Any]:
    """What the receiver's /_stats says of one contender's burst."""
    arrivals: list[float] = stats["arrivals"]
    lateness = [a - due for a in arrivals]
    last = max(arrivals) if arrivals else None
    span = (last - due) if last is not None else None
    return {
        "delivered": len(arrivals), "expected": n, "bad": stats.get("bad"),
        "over_tls": stats.get("over_tls"), "tls_connections": stats.get("tls_connections"),
        "last_after_due_seconds": span,
        "first_after_due_seconds": min(lateness) if lateness else None,
        "lateness_p50": percentile(lateness, 50), "lateness_p99": percentile(lateness, 99),
        "lateness_max": max(lateness) if lateness else None,
        "per_second": len(arrivals) / span if span and span > 0 else None,
    }


def _burst_timeout(ctx: Context, n: int) -> float:
    if ctx.burst_timeout is not None:
        return ctx.burst_timeout
    window: float = TARGETS["burst_windows"].get(n, 15.0)
    return max(60.0, 10 * window)


def _service_lateness(db: str, url: str) -> dict[str, Any]:
    """Lateness from the service's own record: deliveries.finished_at - occurrences.due_at."""
    engine = create_engine(url)
    with engine.connect() as connection:
        statuses: dict[str, int] = dict(connection.execute(text(
            "SELECT status, count(*) FROM occurrences GROUP BY status")).all())
        rows = connection.execute(text(
            "SELECT o.due_at, d.finished_at FROM occurrences o JOIN deliveries d "
            "ON d.occurrence_id = o.id WHERE d.status = 'sent'")).all()
    engine.dispose()

    def parse(value: Any) -> datetime:
        if isinstance(value, str):  # SQLite through a plain text() query
            value = datetime.fromisoformat(value)
        return value  # type: ignore[no-any-return]

    lateness = [(parse(f) - parse(d)).total_seconds() for d, f in rows]
    return {"statuses": statuses, "sent_deliveries": len(rows),
            "lateness_p50": percentile(lateness, 50), "lateness_p99": percentile(lateness, 99),
            "lateness_max": max(lateness) if lateness else None}


def burst_heup(ctx: Context, db: str, url: str, n: int) -> dict[str, Any]:
    due = _due_in(ctx.sizes.heup_lead)
    child(["benchmarks.generate", "--db", url, "--retime", "--due", due.isoformat()], ctx, 300)
    ctx.receiver.reset()
    service = start_service(ctx.workdir, url, ctx.channel_url, product=ctx.product,
                            workers=ctx.workers, log_name=f"service-{db}-burst-{n}.log",
                            extra_env={**(service_env() if ctx.own_channels else {}),
                                       **ctx.trust_env})
    out: dict[str, Any] = {"ready_seconds": service.ready_seconds}
    try:
        out["ready_before_due"] = time.time() < due.timestamp()
        _sleep_until(due - timedelta(seconds=0.3))
        cpu0, db_cpu0 = tree_cpu_seconds(service.pid), postgres_cpu_seconds()
        counted = ctx.receiver.wait_for(n, _burst_timeout(ctx, n))
        out["cpu_seconds"] = tree_cpu_seconds(service.pid) - cpu0
        if db == "postgresql":
            out["postgres_cpu_seconds"] = postgres_cpu_seconds() - db_cpu0
        out["waited_seconds"] = time.time() - due.timestamp()
        out["peak_rss_mib"] = tree_memory_kib(service.pid)["VmHWM"] / 1024
        out["timed_out"] = counted["count"] < n
        # The service records each delivery right after the receiver answered.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if _count_sent(url) >= counted["count"]:
                break
            time.sleep(0.2)
    finally:
        out["exit_code"] = service.stop()
    stats = ctx.receiver.stats()
    out["receiver"] = _arrival_stats(stats, due.timestamp(), n)
    out["service_record"] = _service_lateness(db, url)
    out["cpu_ms_per_reminder"] = (1000 * out["cpu_seconds"] / stats["count"]
                                  if stats["count"] else None)
    if "postgres_cpu_seconds" in out and stats["count"]:
        out["postgres_cpu_ms_per_reminder"] = 1000 * out["postgres_cpu_seconds"] / stats["count"]
    return out


def _count_sent(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'sent'"))
    engine.dispose()
    return int(count or 0)


def burst_naive(ctx: Context, db: str, url: str, n: int) -> dict[str, Any]:
    lead = 5.0 + n * 0.0003
    for attempt in (1, 2):
        due = _due_in(lead)
        child(["benchmarks.generate", "--db", url, "--retime", "--due", due.isoformat()], ctx,
              300)
        ctx.receiver.reset()
        started = time.monotonic()
        process = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.naive", "--db", url, "--url", ctx.channel_url,
             *(["--own"] if ctx.own_channels else [])],
            cwd=ctx.workdir, env={**bench_env(ctx.product), **ctx.trust_env},
            stdout=subprocess.PIPE,
            stderr=(ctx.workdir / f"naive-{db}-{n}.log").open("wb"))
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the naive scheduler did not start; see naive-{db}-{n}.log")
            ready = time.monotonic() - started
            if time.time() > due.timestamp() - 0.5:
                log(f"naive was ready {ready:.1f} s after start, too late for its due time; "
                    "trying again with more lead")
                lead = ready * 1.5 + 5
                continue
            out: dict[str, Any] = {"ready_seconds": ready, "attempt": attempt}
            _sleep_until(due - timedelta(seconds=0.3))
            cpu0 = cpu_seconds(process.pid)
            counted = ctx.receiver.wait_for(n, _burst_timeout(ctx, n))
            out["cpu_seconds"] = cpu_seconds(process.pid) - cpu0
            out["peak_rss_mib"] = memory_kib(process.pid)["VmHWM"] / 1024
            out["timed_out"] = counted["count"] < n
        finally:
            stop_process(process)
        stats = ctx.receiver.stats()
        out["receiver"] = _arrival_stats(stats, due.timestamp(), n)
        out["cpu_ms_per_reminder"] = (1000 * out["cpu_seconds"] / stats["count"]
                                      if stats["count"] else None)
        return out
    raise RuntimeError("the naive scheduler could not be started before its due time")


def burst_limit(ctx: Context, url: str, n: int) -> dict[str, Any]:
    if ctx.channel == "email":
        return email_burst.burst_limit(ctx, url, n)
    ctx.receiver.reset()
    result = child(["benchmarks.limit", "--db", url, "--url", ctx.channel_url,
                    "--concurrency", str(ctx.workers),
                    *(["--own"] if ctx.own_channels else [])], ctx, timeout=600,
                   extra_env=ctx.trust_env)
    stats = ctx.receiver.stats()
    result["receiver_count"] = stats["count"]
    result["receiver_bad"], result["receiver_over_tls"] = stats["bad"], stats["over_tls"]
    result["receiver_tls_connections"] = stats["tls_connections"]
    result["cpu_ms_per_reminder"] = 1000 * result["cpu_seconds"] / max(1, result["posts"])
    return result


def run_burst(ctx: Context, db: str, n: int, contenders: set[str]) -> dict[str, Any]:
    url = fresh_database(db, ctx.workdir, f"burst-{n}", ctx.pg_admin_url)
    out: dict[str, Any] = {"reminders": n, "channel": ctx.channel,
                           "load_average_before": load_average()}
    try:
        log(f"{db} {ctx.channel} burst {n:,}: generating")
        out["data"] = child(["benchmarks.generate", "--db", url, "--burst", str(n), "--due",
                             _due_in(3600).isoformat()], ctx, timeout=600)
        if ctx.own_channels:
            out["data"].update(seal_own_channels(url, ctx.channel_url))
        if "limit" in contenders:
            log(f"{db} burst {n:,}: plain-HTTP limit")
            out["limit"] = burst_limit(ctx, url, n)
            log(f"{db} burst {n:,}: limit {out['limit']['per_second']:.0f}/s")
        if "naive" in contenders:
            log(f"{db} burst {n:,}: naive APScheduler")
            out["naive"] = burst_naive(ctx, db, url, n)
            log(f"{db} burst {n:,}: naive {_fmt(out['naive']['receiver']['per_second'])}/s, "
                f"last {_fmt(out['naive']['receiver']['last_after_due_seconds'])} s after due")
        if "heupreminder" in contenders:
            log(f"{db} burst {n:,}: heupreminder")
            out["heupreminder"] = burst_heup(ctx, db, url, n)
            heup = out["heupreminder"]["receiver"]
            log(f"{db} burst {n:,}: heupreminder {_fmt(heup['per_second'])}/s, last "
                f"{_fmt(heup['last_after_due_seconds'])} s after due, "
                f"{heup['delivered']}/{n} delivered")
        ours = out.get("heupreminder", {}).get("receiver", {}).get("per_second")
        if ours and "limit" in out:
            out["ratio_to_limit"] = ours / out["limit"]["per_second"]
        naive = out.get("naive", {}).get("receiver", {}).get("per_second")
        if ours and naive:
            out["ratio_to_naive"] = ours / naive
    finally:
        drop_database(db, url, ctx.pg_admin_url)
    return out


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"

