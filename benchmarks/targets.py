"""The issue's targets and how a run's results are checked against them.

`evaluate` turns the results into the rows of the targets table, one `check`
per target; the email burst adds its own (`email.targets`). Also used by
`python -m benchmarks.report` to check an earlier results file again.
"""

from __future__ import annotations

from typing import Any

from benchmarks import email as email_burst
from benchmarks.common import check

# The targets (2-core machine). Never lowered here: a miss is reported.
TARGETS: dict[str, Any] = {
    "load_routines": 1_000_000,
    "ready_seconds": 10.0,
    "peak_rss_mib": 250.0,
    "idle_cpu_percent": 1.0,
    "burst_windows": {10_000: 15.0, 50_000: 60.0},  # all delivered within, after due
    "ratio_to_limit": 0.5,
    "ratio_to_naive": 3.0,
    "growth_exponent": 1.0,  # start-up time and memory: no faster than linear in N
    "idle_tick_growth": 2.0,  # a look with nothing due, largest N / smallest N
}


def evaluate(results: dict[str, Any], full: bool) -> list[dict[str, Any]]:
    """Every target's row, database by database: load, then each burst, then growth."""
    rows: list[dict[str, Any]] = []
    scope = "" if full else "smoke size; the targets are for the full sizes"
    for db, res in results.items():
        rows += _load_targets(db, res, scope)
        for burst in res.get("burst", []):
            rows += _burst_targets(db, burst, scope)
        rows += _growth_targets(db, res.get("growth") or {})
    return rows


def _load_targets(db: str, res: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    load = [r for r in res.get("load", []) if "ready_seconds" in r]
    if not load:
        return []
    biggest = max(load, key=lambda r: r["routines"])
    label = f"load {biggest['routines']:,}"
    note = scope or ("" if biggest["routines"] >= TARGETS["load_routines"] else
                     f"largest size run; the target is for "
                     f"{TARGETS['load_routines']:,}")
    return [
        check(db, label, "ready after start", biggest["ready_seconds"],
              TARGETS["ready_seconds"], at_most=True, unit="s", note=note),
        check(db, label, "peak RSS", biggest["peak_rss_mib"],
              TARGETS["peak_rss_mib"], at_most=True, unit="MiB", note=note),
        check(db, label, "idle CPU (% of a core)", biggest["idle_cpu_percent"],
              TARGETS["idle_cpu_percent"], at_most=True, unit="%", note=note),
    ]


def _burst_targets(db: str, burst: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n = burst["reminders"]
    label = f"burst {n:,}"
    windows = TARGETS["burst_windows"]
    window = windows.get(n, min(windows.values()))
    heup = burst.get("heupreminder")
    if heup:
        record = heup["service_record"]
        sent = record["sent_deliveries"]
        failed = None
        if sent >= n:
            last = record["lateness_max"]
        else:  # not all delivered: the true figure is at least the time waited
            last = heup["waited_seconds"]
            failed = (f"only {sent:,} of {n:,} delivered {last:.0f} s after due, "
                      f"when the harness stopped waiting (over by more than "
                      f"{max(0.0, last - window):.0f} s)")
        rows.append(check(db, label, "all delivered within (s after due)", last,
                          window, at_most=True, unit="s", note=scope, failed=failed))
    if burst.get("channel") == "email":  # compared with smtplib, not with plain HTTP
        return rows + email_burst.targets(db, f"email {label}", burst, scope)
    if "ratio_to_limit" in burst:
        rows.append(check(db, label, "throughput / plain-HTTP limit",
                          burst["ratio_to_limit"], TARGETS["ratio_to_limit"],
                          at_most=False, unit="x", note=scope))
    if "ratio_to_naive" in burst:
        rows.append(check(db, label, "throughput / naive APScheduler",
                          burst["ratio_to_naive"], TARGETS["ratio_to_naive"],
                          at_most=False, unit="x", note=scope))
    return rows


def _growth_targets(db: str, grow: dict[str, Any]) -> list[dict[str, Any]]:
    if not grow:
        return []
    label = f"growth {grow['from']:,} to {grow['to']:,}"
    return [
        check(db, label, "start-up time exponent", grow["ready_exponent"],
              TARGETS["growth_exponent"], at_most=True, unit="", note="1 = linear in N"),
        check(db, label, "peak RSS exponent", grow["peak_rss_exponent"],
              TARGETS["growth_exponent"], at_most=True, unit="", note="1 = linear in N"),
        check(db, label, "idle tick (a look, CPU) growth",
              grow["idle_look_growth"], TARGETS["idle_tick_growth"],
              at_most=True, unit="x", note="largest N / smallest N"),
    ]
