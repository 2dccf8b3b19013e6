"""What one clock tick costs when nothing is due, measured inside the service's own code.

Builds the real `Service` from the benchmark config (nothing is started: no
scheduler thread, no web server) and times its public `tick()`:
- a *fast* tick: the clock is before the next wake-up, so the tick should
  return after one comparison;
- a *look*: `wake()` then `tick()`, so the tick asks the database what is due
  (what the service does at least every 30 s, and after any change).
Prints one JSON line: medians and 95th percentiles, wall and CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def _summary(values: list[float], scale: float) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered) * scale,
            "p95": ordered[int(0.95 * (len(ordered) - 1))] * scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--looks", type=int, default=30)
    parser.add_argument("--fast", type=int, default=5000)
    args = parser.parse_args()

    from heupreminder.scheduler.service import Service

    service = Service(args.config)
    try:
        service.wake()
        service.tick()  # warm up: connections, compiled statements
        look_wall, look_cpu = [], []
        for _ in range(args.looks):
            service.wake()
            wall, cpu = time.perf_counter(), time.thread_time()
            service.tick()
            look_cpu.append(time.thread_time() - cpu)
            look_wall.append(time.perf_counter() - wall)
        fast_wall = []
        for _ in range(args.fast):
            wall = time.perf_counter()
            service.tick()
            fast_wall.append(time.perf_counter() - wall)
    finally:
        service.pool.shutdown(wait=False)
        service.engine.dispose()
    print(json.dumps({
        "look_ms": _summary(look_wall, 1e3), "look_cpu_ms": _summary(look_cpu, 1e3),
        "fast_tick_us": _summary(fast_wall, 1e6), "looks": args.looks, "fast": args.fast,
    }))


if __name__ == "__main__":
    main()
