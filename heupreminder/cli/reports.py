"""CLI commands for seeing progress and moving data: ``report``, ``export``, ``import``.

Contracts: a usage or input problem (unknown person, a period that ends
before it starts, an unreadable or invalid import file, a person that
already has data) prints what is wrong, naming the field, and exits 2
having written nothing: output files are written whole or not at all, and an
import is one transaction.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli.options import config_option
from heupreminder.cli.sessions import exit_on_config_problems, open_sessions
from heupreminder.config.loader import ConfigError, load_settings
from heupreminder.input_text import InputError

if TYPE_CHECKING:  # the report modules load only when a report is made
    from heupreminder.reports.events import CareReport

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _fail(message: str) -> NoReturn:
    click.echo(f"heupreminder: {message}", err=True)
    sys.exit(2)


def _sessions(config_path: str | None) -> sessionmaker[Session]:
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        exit_on_config_problems(error)
    sessions: sessionmaker[Session] = open_sessions(settings)
    return sessions


@contextmanager
def _input_errors() -> Iterator[None]:
    try:
        yield
    except InputError as error:
        _fail(str(error).replace("\n", "\n  "))


def write_output(output: str | None, content: str | bytes) -> None:
    """Write to ``output`` whole (a temp file renamed into place), or to stdout."""
    if output is None:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            click.echo(content, nl=not content.endswith("\n"))
        return
    target = Path(output)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent or Path("."),
                                             prefix=f".{target.name}.")
    except OSError as error:
        _fail(f"output: cannot write {output}: {error.strerror}")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@click.command("report")
@click.argument("person_id", metavar="PERSON")
@click.option("--from", "first", type=_DATE,
              help="First day, YYYY-MM-DD (default: 4 weeks up to --to).")
@click.option("--to", "last", type=_DATE,
              help="Last day (included), YYYY-MM-DD (default: today, the person's time).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "pdf"]), default="csv",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to this file (required for pdf) instead of stdout.")
@config_option
def report_command(person_id: str, first: datetime | None, last: datetime | None,
                   fmt: str, output: str | None, config_path: str | None) -> None:
    """A care provider's report: every reminder, done / skip, pain report and
    pause decision of PERSON between two local dates (the last 4 weeks unless
    given); the PDF has the pain-and-exercise chart on its first page."""
    from heupreminder.reports.events import care_report, to_csv, to_json
    from heupreminder.reports.pdf import to_pdf

    if fmt == "pdf" and output is None:
        raise click.UsageError("--output: a PDF report needs a file (e.g. -o report.pdf)")
    with _input_errors(), _sessions(config_path)() as session:
        data = care_report(session, person_id, first.date() if first else None,
                           last.date() if last else None)
    content: str | bytes
    if fmt == "csv":
        content = to_csv(data)
    elif fmt == "json":
        content = json.dumps(to_json(data), indent=2, ensure_ascii=False) + "\n"
    else:
        content = to_pdf(data)
    write_output(output, content)
    # The period on stderr, so a CSV or JSON on stdout stays clean for a script.
    what = f"wrote {output}" if output else "report"
    click.echo(f"{what}: {len(data.rows)} events of {person_id}, "
               f"{_period(data, first, last)}", err=True)


def _period(data: CareReport, first: datetime | None, last: datetime | None) -> str:
    """The report's days, and how they were chosen when not both given."""
    period = f"{data.first_day} to {data.last_day}"
    if first is None:
        period += " (the last 4 weeks)" if last is None else " (4 weeks)"
    elif last is None:
        period += " (up to today)"
    return period


@click.command("export")
@click.argument("person_id", metavar="PERSON")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@config_option
def export_command(person_id: str, output: str | None, config_path: str | None) -> None:
    """All of PERSON's data as JSON, to import elsewhere with `heupreminder import`."""
    from heupreminder.reports.transfer import export_person

    with _input_errors(), _sessions(config_path)() as session:
        document = export_person(session, person_id)
    write_output(output, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if output:
        click.echo(f"wrote {output}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Overwrite a person who already has data in this database.")
@config_option
def import_command(file: str, replace: bool, config_path: str | None) -> None:
    """Read a file made by `heupreminder export` into this config's database."""
    from heupreminder.reports.transfer import import_person

    document = read_json(file)
    with _input_errors(), _sessions(config_path).begin() as session:
        result = import_person(session, document, replace=replace)
    # Own channels are named only when the file had some (most files have none).
    counts = ", ".join(counted(n, name) for name, n in result.counts.items()
                       if n or name != "channels")
    click.echo(f"{'replaced' if result.replaced else 'imported'} {result.person_id}: "
               f"{counts}")


def register(main: click.Group) -> None:
    """Add `report`, `export` and `import` to the `heupreminder` group."""
    for command in (report_command, export_command, import_command):
        main.add_command(command)


# What the import summary calls each kind of record: (one, more than one).
_RECORD_NAMES = {"routines": ("routine", "routines"),
                 "occurrences": ("occurrence", "occurrences"),
                 "deliveries": ("delivery", "deliveries"),
                 "checkins": ("check-in", "check-ins"),
                 "pain_reports": ("pain report", "pain reports"),
                 "pauses": ("pause", "pauses"),
                 "decisions": ("decision", "decisions"),
                 "channels": ("own channel set", "own channels set")}


def counted(n: int, kind: str) -> str:
    """``1 pause``, ``0 pauses``, ``2 pauses``: the number with the right word."""
    one, more = _RECORD_NAMES.get(kind, (kind.replace("_", " "),) * 2)
    return f"{n} {one if n == 1 else more}"


def read_json(file: str) -> Any:
    try:
        text = Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _fail(f"{file}: not a text file (expected JSON from `heupreminder export`)")
    except OSError as error:
        _fail(f"{file}: cannot read it: {error.strerror}")
    from heupreminder.web.strict_json import load_json

    try:  # no lone surrogates, NaN or deep nesting (a RecursionError in json.loads)
        return load_json(text, what=file)
    except InputError as error:
        _fail(str(error))
