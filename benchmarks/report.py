"""Write the results document as results.json and a Markdown table (results.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.targets import evaluate


def _num(value: Any, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and round(value, digits) == 0:
        value = 0.0  # no "-0.00"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}{suffix}"
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _machine(doc: dict[str, Any]) -> list[str]:
    m, run = doc["machine"], doc["run"]
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items() if v)
    commit = m.get("product_commit") or "?"
    if m.get("product_dirty"):
        commit += " + uncommitted changes"
    lines = [
        f"- **Run**: `{run['command']}`, {run['started']}, {run['seconds']:.0f} s "
        f"(sizes: {run['sizes']}; load {', '.join(f'{n:,}' for n in run['load_sizes'])}; "
        f"burst {', '.join(f'{n:,}' for n in run['burst_sizes'])}; "
        f"idle window {run['idle_seconds']:.0f} s); 1-min load average at start "
        f"{_num(run.get('load_average_at_start'))} (anything but this run skews the figures)",
        f"- **Machine**: {m['cpu_model']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gib']} GiB RAM, {m['os']}",
        f"- **Software**: Python {m['python']}, SQLite {m['sqlite']}"
        + (f", PostgreSQL {m['postgresql']} (shared_buffers "
           f"{m.get('postgresql_shared_buffers')})" if m.get("postgresql") else "")
        + f"; {packages}",
        f"- **Service under test**: `{m['product']}` at {commit}; "
        f"send_workers = {run['service_send_workers']}",
    ]
    if run.get("errors"):
        lines.append(f"- **Errors**: {len(run['errors'])} scenario(s) could not be measured; "
                     "see results.json")
    return [*lines, ""]


def _targets(doc: dict[str, Any]) -> list[str]:
    rows = []
    for t in doc["targets"]:
        sign = "≤" if t["at_most"] else "≥"
        unit = f" {t['unit']}" if t["unit"] else ""
        rows.append([t["db"], t["scenario"], t["metric"], f"{sign} {_num(t['target'])}{unit}",
                     _num(t["measured"]) + unit if t["measured"] is not None else "–",
                     f"**{t['status']}**", t["margin"] + (f" ({t['note']})" if t["note"]
                                                          else "")])
    return ["## Targets", "",
            *_table(["db", "scenario", "metric", "target", "measured", "status", "margin"],
                    rows)]


def _load(doc: dict[str, Any]) -> list[str]:
    rows = []
    for db, res in doc["results"].items():
        for r in res.get("load", []):
            if "error" in r:
                rows.append([db, _num(r["routines"]), "error: " + r["error"][:80]] + [""] * 9)
                continue
            tick = r.get("tick", {})
            rows.append([
                db, _num(r["routines"]), _num(r["data"].get("people")),
                _num(r["ready_seconds"]) + " s", _num(r["healthy_seconds"]) + " s",
                _num(r["peak_rss_mib"], 0) + " MiB", _num(r["idle_cpu_percent"]) + " %",
                _num(tick.get("fast_tick_us", {}).get("median")) + " µs",
                _num(tick.get("look_ms", {}).get("median")) + " ms / "
                + _num(tick.get("look_cpu_ms", {}).get("median")) + " ms",
                _num(r.get("database_mib"), 0) + " MiB",
                _num(r["data"].get("build_seconds", 0) + r["data"].get("insert_seconds", 0),
                     1) + " s",
                _num(r.get("load_average_before_idle")),
            ])
    return ["## 1. Load: routines at rest in the database", "",
            "Ready = the service's own READY=1 (sd_notify) after process start; healthy = "
            "first /healthz 200. Peak RSS and idle CPU are the service's and its sending "
            "process's together (peaks summed: an upper bound). Idle CPU over the idle "
            "window (nothing due), as % of one core. Fast tick = a tick before the next "
            "wake-up; look = a tick that asks the database what is due (wall / CPU), done "
            "at least every 30 s.", "",
            *_table(["db", "routines", "people", "ready", "healthy", "peak RSS", "idle CPU",
                     "fast tick", "look (wall / CPU)", "db size", "generate", "load avg"],
                    rows)]


def _burst(doc: dict[str, Any]) -> list[str]:
    rows = []
    for db, res in doc["results"].items():
        for b in res.get("burst", []):
            rows += _burst_rows(f"{db} {b.get('channel', 'json')}", b)
    return ["## 2–3. Morning burst: all due at the same instant", "",
            "Every contender delivers the same reminders to the same loopback receiver "
            "through one channel, json:// or ntfy:// (next to the database's name; "
            "ntfys:// is ntfy over TLS, the receiver's certificate from a throwaway CA that "
            "every contender trusts through REQUESTS_CA_BUNDLE; naive: "
            "Apprise's own plugin, a new connection per reminder; heupreminder: the request "
            "Apprise builds, sent over its kept-alive aiohttp client; the limit: the same "
            "requests, built by Apprise and captured without sending, over http.client with "
            "keep-alive and as many connections as the service has send workers). "
            "First and last = first and last "
            "arrival at the receiver after the due time. "
            "Lateness for "
            "heupreminder is from the service's own record (deliveries.finished_at − "
            "occurrences.due_at); for naive from the receiver's arrival times. Throughput = "
            "delivered / (last arrival − due time); the limit's from first request to last "
            "response. CPU per reminder = the process's CPU (heupreminder: with its sending "
            "process) from just before the due time until the last delivery, divided by "
            "the deliveries; on PostgreSQL, + server = "
            "the database server's CPU in the same window (it shares the two cores).", "",
            *_table(["db", "due", "contender", "delivered", "first", "last", "p50", "p99", "max",
                     "throughput", "CPU/reminder", "peak RSS", "load avg"], rows)]


def _burst_rows(where: str, b: dict[str, Any]) -> list[list[str]]:
    """One burst's rows: each contender that ran, then our throughput's ratios.

    `where` is the database and the burst's channel (since ntfy came).
    """
    n = b["reminders"]
    if "error" in b:
        return [[where, _num(n), "error: " + b["error"][:80]] + [""] * 10]
    rows = []
    for name in ("heupreminder", "naive", "limit"):
        c = b.get(name)
        if not c:
            continue
        if name == "limit":
            rows += _limit_rows(where, b, c)
        else:
            rows.append(_contender_row(where, b, name, c))
    ratios = []
    if "ratio_to_limit" in b:
        ratios.append(f"{b['ratio_to_limit']:.3f}× the limit")
    if "ratio_to_naive" in b:
        ratios.append(f"{b['ratio_to_naive']:.2f}× naive")
    if ratios:
        rows.append([where, _num(n), "**ratio**", "; ".join(ratios)] + [""] * 9)
    return rows


def _limit_rows(where: str, b: dict[str, Any], c: dict[str, Any]) -> list[list[str]]:
    rows = []
    # email: smtplib over 1 connection, then over as many as send workers
    for limit in (c, *([c["more_connections"]] if "more_connections" in c else [])):
        label = (f"smtplib, {limit['concurrency']} connection(s)"
                 if b.get("channel") == "email" else "plain-HTTP limit")
        rows.append([where, _num(b["reminders"]), label,
                     f"{_num(limit['posts'])} ({limit['errors']} errors)", "–",
                     _num(limit["seconds"]) + " s (from first request)", "–",
                     "–", "–", _num(limit["per_second"], 0) + "/s",
                     _num(limit["cpu_ms_per_reminder"], 3) + " ms", "–",
                     _num(b.get("load_average_before"))])
    return rows


def _contender_row(where: str, b: dict[str, Any], name: str, c: dict[str, Any]) -> list[str]:
    """heupreminder or the naive scheduler: arrivals at the receiver, and lateness."""
    rec = c["receiver"]
    late = c.get("service_record") or rec
    label = "heupreminder" if name == "heupreminder" else "naive APScheduler"
    delivered = f"{_num(rec['delivered'])}" + (" (timed out)" if c.get("timed_out") else "")
    first = rec.get("first_after_due_seconds")  # not in results before it was added
    return [where, _num(b["reminders"]), label, delivered,
            _num(first) + " s" if first is not None else "–",
            _num(rec["last_after_due_seconds"]) + " s",
            _num(late["lateness_p50"]) + " s", _num(late["lateness_p99"]) + " s",
            _num(late["lateness_max"]) + " s",
            _num(rec["per_second"], 0) + "/s",
            _num(c.get("cpu_ms_per_reminder"), 3) + " ms" + (
                f" (+ server {_num(c['postgres_cpu_ms_per_reminder'], 3)} ms)"
                if "postgres_cpu_ms_per_reminder" in c else ""),
            _num(c.get("peak_rss_mib"), 0) + " MiB",
            _num(b.get("load_average_before"))]


def _growth(doc: dict[str, Any]) -> list[str]:
    rows = []
    for db, res in doc["results"].items():
        g = res.get("growth")
        if not g:
            continue
        rows.append([db, f"{g['from']:,} → {g['to']:,} ({g['factor']:.0f}×)",
                     _num(g["ready_exponent"], 3), _num(g["peak_rss_exponent"], 3),
                     _num(g["peak_rss_bytes_per_routine"], 0) + " B",
                     _num(g["idle_look_growth"]) + "×", _num(g["fast_tick_growth"]) + "×",
                     _num(g["idle_cpu_growth"]) + "×"])
    if not rows:
        return []
    return ["## 4. Growth with N", "",
            "Exponent k in cost ∝ N^k between the smallest and the largest load size "
            "(1 = linear; near 0 = flat, the fixed start-up cost dominates).", "",
            *_table(["db", "N", "start-up exponent", "peak RSS exponent", "RSS per routine",
                     "idle look (CPU)", "fast tick", "idle CPU"], rows)]


def render_markdown(doc: dict[str, Any]) -> str:
    lines = ["# heupreminder benchmark results", "", *_machine(doc), *_targets(doc),
             *_load(doc), *_burst(doc), *_growth(doc)]
    return "\n".join(lines).rstrip() + "\n"


def write_reports(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = "results" if doc["run"]["sizes"] == "full" else f"results-{doc['run']['sizes']}"
    js = out / f"{stem}.json"
    md = out / f"{stem}.md"
    js.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    md.write_text(render_markdown(doc), encoding="utf-8")
    return md, js


def main() -> None:
    """Check the targets and render the Markdown again from a results JSON file:
    `python -m benchmarks.report [benchmarks/results/results.json]`."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / (
        "results.json")
    document = json.loads(source.read_text(encoding="utf-8"))
    document["targets"] = evaluate(document["results"], full=document["run"]["sizes"] == "full")
    source.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    target = source.with_suffix(".md")
    target.write_text(render_markdown(document), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
