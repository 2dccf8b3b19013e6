"""Scenario 1, load: N active routines at rest; and scenario 4, how that grows with N.

`run_load` fills a fresh database, starts the real service and measures
start-up to ready, peak RSS, CPU while idle, and (in process, `tickcost.py`)
what a tick with nothing due costs. `growth` compares the smallest and the
largest load size run.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.common import (
    child,
    database_size_mib,
    drop_database,
    fresh_database,
    load_average,
    log,
    tree_cpu_seconds,
    tree_memory_kib,
)
from benchmarks.context import Context
from benchmarks.service import start_service, write_config


def run_load(ctx: Context, db: str, n: int) -> dict[str, Any]:
    """Scenario 1 at size `n` on `db`: a fresh database, generated, the service watched."""
    url = fresh_database(db, ctx.workdir, f"load-{n}", ctx.pg_admin_url)
    out: dict[str, Any] = {"routines": n}
    try:
        log(f"{db} load {n:,}: generating")
        out["data"] = child(["benchmarks.generate", "--db", url, "--routines", str(n)], ctx,
                            timeout=1800)
        out["database_mib"] = database_size_mib(db, url)
        ctx.receiver.reset()
        log(f"{db} load {n:,}: starting the service")
        service = start_service(ctx.workdir, url, ctx.channel_url, product=ctx.product,
                                workers=ctx.workers, log_name=f"service-{db}-load-{n}.log")
        try:
            out["ready_seconds"] = service.ready_seconds
            out["healthy_seconds"] = service.healthy_seconds
            out["rss_at_ready_mib"] = tree_memory_kib(service.pid)["VmRSS"] / 1024
            time.sleep(ctx.sizes.settle_seconds)
            out["load_average_before_idle"] = load_average()
            cpu0, t0 = tree_cpu_seconds(service.pid), time.monotonic()
            time.sleep(ctx.sizes.idle_seconds)
            cpu1, t1 = tree_cpu_seconds(service.pid), time.monotonic()
            memory = tree_memory_kib(service.pid)
            out["idle_seconds"] = t1 - t0
            out["idle_cpu_seconds"] = cpu1 - cpu0
            out["idle_cpu_percent"] = 100 * (cpu1 - cpu0) / (t1 - t0)
            out["peak_rss_mib"] = memory["VmHWM"] / 1024
            out["rss_mib"] = memory["VmRSS"] / 1024
            out["posts_while_idle"] = ctx.receiver.count()["count"]
        finally:
            out["exit_code"] = service.stop()
        log(f"{db} load {n:,}: ready {out['ready_seconds']:.2f} s, peak RSS "
            f"{out['peak_rss_mib']:.0f} MiB, idle CPU {out['idle_cpu_percent']:.2f}%")
        config = write_config(ctx.workdir, url, ctx.receiver.json_url, ctx.workers, 1)
        out["tick"] = child(["benchmarks.tickcost", "--config", str(config)], ctx, timeout=600)
        log(f"{db} load {n:,}: idle look {out['tick']['look_ms']['median']:.2f} ms, "
            f"fast tick {out['tick']['fast_tick_us']['median']:.2f} us")
    finally:
        drop_database(db, url, ctx.pg_admin_url)
    return out


def growth(load: list[dict[str, Any]]) -> dict[str, Any]:
    """Scenario 4: exponents and ratios from the smallest to the largest load run."""
    rows = sorted((r for r in load if "ready_seconds" in r), key=lambda r: r["routines"])
    if len(rows) < 2:
        return {}
    small, large = rows[0], rows[-1]
    factor = large["routines"] / small["routines"]

    def exponent(a: float | None, b: float | None) -> float | None:
        if not a or not b or a <= 0 or b <= 0:
            return None
        return math.log(b / a) / math.log(factor)

    look_small = small["tick"]["look_cpu_ms"]["median"]
    look_large = large["tick"]["look_cpu_ms"]["median"]
    return {
        "from": small["routines"], "to": large["routines"], "factor": factor,
        "ready_exponent": exponent(small["ready_seconds"], large["ready_seconds"]),
        "peak_rss_exponent": exponent(small["peak_rss_mib"], large["peak_rss_mib"]),
        "peak_rss_bytes_per_routine": (large["peak_rss_mib"] - small["peak_rss_mib"]) * 2**20
        / (large["routines"] - small["routines"]),
        "idle_look_growth": look_large / look_small if look_small else None,
        "idle_look_exponent": exponent(look_small, look_large),
        "fast_tick_growth": (large["tick"]["fast_tick_us"]["median"]
                             / small["tick"]["fast_tick_us"]["median"]),
        "idle_cpu_growth": (large["idle_cpu_percent"] / small["idle_cpu_percent"]
                            if small["idle_cpu_percent"] else None),
    }
