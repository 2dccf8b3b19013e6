"""Shared helpers: /proc measurements, child processes, the machine's description,
databases, the receiver, and `check` (a figure against its target)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "heup_bench"


# -- processes -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def process_tree(pid: int) -> list[int]:
    """`pid` and its child processes (the service's sending process), from /proc."""
    pids = [pid]
    with contextlib.suppress(OSError):  # gone meanwhile
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                pids.extend(int(child) for child in f.read().split())
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds() of a process and its children together."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def tree_memory_kib(pid: int) -> dict[str, int]:
    """memory_kib() summed over a process and its children (peaks: an upper bound)."""
    total = {"VmRSS": 0, "VmHWM": 0}
    for member in process_tree(pid):
        with contextlib.suppress(OSError):  # gone meanwhile
            for name, value in memory_kib(member).items():
                total[name] += value
    return total


def postgres_cpu_seconds() -> float:
    """CPU used so far by every PostgreSQL server process on this machine (0 if none).

    The database server shares the two cores with the service and the
    receiver; its CPU per reminder explains PostgreSQL's burst figures.
    """
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="ascii", errors="replace") as f:
                if not f.read().startswith(("postgres", "postmaster")):
                    continue
            total += cpu_seconds(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0])
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float = 20.0) -> int | None:
    """SIGTERM, wait, then SIGKILL: every process the harness starts ends by its own id."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


def bench_env(product: Path | None) -> dict[str, str]:
    """Environment for child processes: `product` (a source tree) first on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HEUPREMINDER_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    paths = [str(product)] if product else []
    paths.append(str(REPO_DIR))  # the benchmarks package itself
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def log(message: str) -> None:
    """A timestamped progress line on stderr (stdout is for results)."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class ChildContext(Protocol):
    """What `child` needs of a scenario's context: where to run, which product."""

    workdir: Path
    product: Path | None


def child(args: list[str], ctx: ChildContext, timeout: float,
          extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m ...` with the product first on the path; return its last JSON line."""
    result = subprocess.run([PYTHON, "-m", *args], cwd=ctx.workdir,
                            env={**bench_env(ctx.product), **(extra_env or {})},
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed ({result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# -- databases -------------------------------------------------------------------


def fresh_database(kind: str, workdir: Path, name: str, pg_admin_url: str) -> str:
    """An empty database for one data set; returns its SQLAlchemy URL."""
    if kind == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        for old in workdir.glob(f"{name}.db.before-*.bak"):
            old.unlink()
        return f"sqlite:///{path}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{PG_BENCH_DB}"'))
    admin.dispose()
    return make_url(pg_admin_url).set(database=PG_BENCH_DB).render_as_string(
        hide_password=False)


def drop_database(kind: str, url: str, pg_admin_url: str) -> None:
    if kind == "sqlite":
        path = make_url(url).database
        if path:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
    admin.dispose()


def database_size_mib(kind: str, url: str) -> float | None:
    try:
        if kind == "sqlite":
            path = Path(make_url(url).database or "")
            return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal")
                       if Path(f"{path}{s}").exists()) / 2**20
        engine = create_engine(url)
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
        engine.dispose()
        return float(size) / 2**20
    except Exception:
        return None


# -- the machine -----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(product: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(product), *args], capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def describe_machine(databases: Sequence[str], pg_admin_url: str, product: Path) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": _mem_total_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {p: _version(p) for p in
                     ("apprise", "APScheduler", "SQLAlchemy", "psycopg", "requests")},
        "product": str(product),
        "product_commit": _git(product, "rev-parse", "--short", "HEAD"),
        "product_dirty": bool(_git(product, "status", "--porcelain", "--", "heupreminder")),
    }
    if "postgresql" in databases:
        try:
            engine = create_engine(pg_admin_url)
            with engine.connect() as connection:
                info["postgresql"] = connection.scalar(text("SHOW server_version"))
                info["postgresql_shared_buffers"] = connection.scalar(
                    text("SHOW shared_buffers"))
            engine.dispose()
        except Exception as exc:
            info["postgresql"] = f"unreachable: {type(exc).__name__}"
    return info


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def check(db: str, scenario: str, metric: str, measured: float | None, target: float,
          *, at_most: bool, unit: str, note: str = "", failed: str | None = None,
          ) -> dict[str, Any]:
    """One row of the targets table: the figure against its target, and by how much."""
    row: dict[str, Any] = {"db": db, "scenario": scenario, "metric": metric,
                           "target": target, "at_most": at_most, "unit": unit,
                           "measured": measured, "note": note}
    if failed:
        row.update(status="FAIL", margin=failed)
        return row
    if measured is None:
        row.update(status="NOT MEASURED", margin="no figure")
        return row
    ok = measured <= target if at_most else measured >= target
    u = f" {unit}" if unit else ""
    if at_most:
        ratio = measured / target if target else math.inf
        margin = (f"{target - measured:.3g}{u} to spare" if ok else
                  f"over by {measured - target:.3g}{u} ({ratio:.1f}x the target)")
    else:
        ratio = target / measured if measured else math.inf
        margin = (f"{measured - target:.3g}{u} above" if ok else
                  f"short by {target - measured:.3g}{u} (needs {ratio:.1f}x more)")
    row.update(status="PASS" if ok else "FAIL", margin=margin)
    return row
