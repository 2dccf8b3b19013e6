"""Run every benchmark scenario and write the results table (Markdown and JSON).

    .venv/bin/python -m benchmarks.run [--sizes smoke|full] [--db sqlite|postgresql|both]

Scenarios, each on SQLite and on PostgreSQL:
1. load   N active routines in the database: start-up to ready, peak RSS,
          CPU while idle, and what a tick with nothing due costs;
2. burst  N reminders due at the same instant, delivered to a loopback HTTP
          receiver through Apprise json://: time until the last, lateness
          p50/p99/max, CPU per reminder;
3. the same burst, same receiver, same run: the naive approach
          (benchmarks/naive.py) and the plain-HTTP limit (benchmarks/limit.py);
          our throughput as a ratio to each;
4. growth how start-up, memory and the idle tick grow with N.
Every target is checked and the table says by how much it is met or missed.
A benchmark reports figures: it never fails because a target is missed
(exit status 0), only when it could not measure (exit status 1).

This module is the command: its options, the order of the scenarios, the
results document. The scenarios live in load.py (1 and 4) and burst.py (2
and 3), the targets in targets.py, the tables in report.py.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import email as email_burst
from benchmarks.burst import run_burst
from benchmarks.common import (
    BENCH_DIR,
    DEFAULT_PG_ADMIN_URL,
    REPO_DIR,
    describe_machine,
    load_average,
    log,
)
from benchmarks.context import DEFAULT_WORKERS, SIZES, Context, Sizes
from benchmarks.load import growth, run_load
from benchmarks.receiver_process import Receiver, start_receiver
from benchmarks.report import write_reports
from benchmarks.service import ServiceError
from benchmarks.targets import evaluate

# What a scenario raises when it could not measure: recorded, and the run goes on.
SCENARIO_ERRORS = (RuntimeError, ServiceError, subprocess.SubprocessError)


def _sizes_list(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scenarios", default="load,burst",
                        help="comma-separated: load, burst (default both)")
    parser.add_argument("--channels",
                        help="the bursts' channel, comma-separated: json (a webhook), ntfy, "
                             "ntfy-own (each person their own topic), ntfys-own (the same "
                             "over TLS, a throwaway CA in REQUESTS_CA_BUNDLE), email "
                             "(default json for smoke, json,ntfy for full)")
    parser.add_argument("--contenders", default="heupreminder,naive,limit",
                        help="burst contenders (default all three)")
    parser.add_argument("--load", type=_sizes_list,
                        help="override the load sizes, e.g. 10000,100000")
    parser.add_argument("--burst", type=_sizes_list,
                        help="override the burst sizes, e.g. 10000")
    parser.add_argument("--idle", type=float, help="override the idle window (seconds)")
    parser.add_argument("--burst-timeout", type=float,
                        help="stop waiting for a burst after this many seconds "
                             "(default 10x its target window, at least 60 s)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="the service's send_workers, and the limit's connections "
                             f"(default {DEFAULT_WORKERS}, the service's default)")
    parser.add_argument("--product", type=Path,
                        help="run the service from this source tree (default: this repo)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                        help="PostgreSQL server to use; a database heup_bench is (re)created")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/heupreminder-bench"))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    return parser.parse_args()


@dataclass(frozen=True)
class Plan:
    """What this run measures, from the options: sizes, databases, scenarios, bursts."""

    sizes: Sizes
    dbs: list[str]
    scenarios: set[str]
    contenders: set[str]
    channels: list[str]
    bursts: list[tuple[str, int]]  # (channel, reminders), in the order they run

    @classmethod
    def of(cls, args: argparse.Namespace) -> Plan:
        base = SIZES[args.sizes]
        sizes = Sizes(load=args.load or base.load, burst=args.burst or base.burst,
                      idle_seconds=args.idle if args.idle is not None else base.idle_seconds,
                      settle_seconds=base.settle_seconds, heup_lead=base.heup_lead)
        channels = (args.channels or ("json" if args.sizes == "smoke" else "json,ntfy")
                    ).split(",")
        # email bursts have their own sizes (the naive script sends only ~50 a second)
        bursts = [(channel, n) for channel in channels
                  for n in (args.burst or email_burst.SIZES[args.sizes]
                            if channel == "email" else sizes.burst)]
        return cls(sizes=sizes,
                   dbs=["sqlite", "postgresql"] if args.db == "both" else [args.db],
                   scenarios=set(args.scenarios.split(",")),
                   contenders=set(args.contenders.split(",")),
                   channels=channels, bursts=bursts)


def run_database(ctx: Context, db: str, plan: Plan, sink: Receiver | None,
                 res: dict[str, Any], errors: list[str]) -> None:
    """Every scenario of the plan on one database, into `res` as each one ends."""
    if "load" in plan.scenarios:
        for n in plan.sizes.load:
            try:
                res["load"].append(run_load(ctx, db, n))
            except SCENARIO_ERRORS as exc:
                errors.append(f"{db} load {n}: {exc}")
                res["load"].append({"routines": n, "error": str(exc)[-2000:]})
                log(f"{db} load {n:,} FAILED: {str(exc)[-1500:]}")
        res["growth"] = growth(res["load"])
    if "burst" in plan.scenarios:
        for channel, n in plan.bursts:
            try:
                res["burst"].append(run_burst(replace(
                    ctx, channel=channel, receiver=sink if sink and channel == "email"
                    else ctx.receiver), db, n, plan.contenders))
            except SCENARIO_ERRORS as exc:
                errors.append(f"{db} {channel} burst {n}: {exc}")
                res["burst"].append({"reminders": n, "channel": channel,
                                     "error": str(exc)[-2000:]})
                log(f"{db} {channel} burst {n:,} FAILED: {str(exc)[-1500:]}")


def run_all(ctx: Context, plan: Plan, sink: Receiver | None) -> tuple[dict[str, Any],
                                                                     list[str]]:
    """Results by database, and what could not be measured; always stops the receivers."""
    results: dict[str, Any] = {}
    errors: list[str] = []
    try:
        for db in plan.dbs:
            # In `results` before it runs: an interrupted run still writes what it measured.
            results[db] = {"load": [], "burst": []}
            run_database(ctx, db, plan, sink, results[db], errors)
    except KeyboardInterrupt:
        errors.append("interrupted")
        log("interrupted: writing what was measured")
    except Exception:
        errors.append(traceback.format_exc())
        log(traceback.format_exc())
    finally:
        ctx.receiver.stop()
        if sink is not None:
            sink.stop()
    return results, errors


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every `finally`: children are stopped


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    plan = Plan.of(args)
    product = args.product.resolve() if args.product else None
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    clock = time.monotonic()
    load_at_start = load_average()
    machine = describe_machine(plan.dbs, args.pg_url, product or REPO_DIR)
    # ntfys: the receiver also listens with TLS (its control stays on the plain port)
    receiver = start_receiver(args.workdir,
                              tls=any(c.startswith("ntfys") for c in plan.channels))
    sink = email_burst.start_sink(args.workdir) if "email" in plan.channels else None
    ctx = Context(args.workdir, product, args.pg_url, receiver, plan.sizes, args.burst_timeout,
                  args.workers)
    results, errors = run_all(ctx, plan, sink)

    document: dict[str, Any] = {
        "run": {
            "started": started.isoformat(timespec="seconds"),
            "load_average_at_start": load_at_start,
            "seconds": round(time.monotonic() - clock, 1),
            "command": " ".join(shlex.quote(a) for a in ["python", "-m", "benchmarks.run",
                                                         *sys.argv[1:]]),
            "sizes": args.sizes, "load_sizes": list(plan.sizes.load),
            "burst_sizes": list(plan.sizes.burst), "burst_channels": plan.channels,
            "idle_seconds": plan.sizes.idle_seconds,
            "service_send_workers": args.workers, "errors": errors,
        },
        "machine": machine,
        "targets": evaluate(results, full=args.sizes == "full"),
        "results": results,
    }
    md, js = write_reports(document, args.out)
    log(f"wrote {md} and {js} in {document['run']['seconds']:.0f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
