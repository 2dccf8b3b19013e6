"""Export one person's full data as JSON, and import it into (another) database.

Contracts:

- ``export_person(session, person_id)`` returns a JSON-ready dict (the shape in
  ``transfer_schema``): the person, routines, occurrences, deliveries,
  check-ins, pain reports, pauses and decisions. Not exported: the notices
  outbox (messages already sent or to be sent by the old service) and API
  token hashes (credentials: make new tokens where the data goes). A person's own
  channels kept in the database are exported by name and masked URL only, never
  the URL itself (`personal_channels`). Rows are
  ordered by their natural keys and then by age, so exporting what was
  imported gives exactly the same JSON, from SQLite or PostgreSQL.
- ``import_person(session, data, replace=...)`` validates the whole file first
  (``InputError`` listing each problem with its path), then writes it in the
  caller's transaction: a failure anywhere writes nothing. A person who is
  already in the database **with data** (any reminder, check-in, pain report,
  pause or decision) is refused unless ``replace``; with ``replace`` (or a
  person that has no data yet, e.g. only synced from the config) their rows
  are deleted and replaced, while their API tokens and outbox stay.
- ``personal_channels`` with a ``url`` are set (encrypted with
  HEUPREMINDER_CHANNEL_KEY, checked by Apprise); those without one (as exported)
  leave the person's channel of that name as it is. An import never deletes a
  person's own channels: their URLs are in no export to bring them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Delivery,
    Occurrence,
    PainReport,
    PauseRow,
    Person,
    PersonChannel,
    Routine,
)
from heupreminder.delivery.channel_key import ChannelKey, ChannelKeyError, key_from_environment
from heupreminder.delivery.personal_channels import set_channel
from heupreminder.input_text import InputError
from heupreminder.reports.transfer_schema import (
    FORMAT,
    VERSION,
    CheckInOut,
    DecisionOut,
    DeliveryOut,
    ExportDoc,
    OccurrenceOut,
    PainReportOut,
    PauseOut,
    PersonalChannelIn,
    PersonalChannelOut,
    PersonOut,
    RoutineOut,
    parse_export,
)
from heupreminder.timetable.quiet_hours import QuietHours, format_quiet_hours, parse_quiet_hours


@dataclass(frozen=True)
class Imported:
    person_id: str
    replaced: bool
    counts: dict[str, int]


def export_person(session: Session, person_id: str) -> dict[str, Any]:
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(f"person: no person {person_id!r} in the database")
    routines = session.scalars(select(Routine).where(Routine.person_id == person.id)
                               .order_by(Routine.key, Routine.id)).all()
    keys = {r.id: r.key for r in routines}
    occurrences = sorted(session.scalars(select(Occurrence).where(
        Occurrence.routine_id.in_(keys))).all(),
        key=lambda o: (keys[o.routine_id], o.due_at, o.id))
    occurrence_ref = {o.id: i for i, o in enumerate(occurrences, 1)}
    deliveries = sorted(session.scalars(select(Delivery).where(
        Delivery.occurrence_id.in_(occurrence_ref))).all(),
        key=lambda d: (occurrence_ref[d.occurrence_id], d.channel))
    checkins = session.scalars(select(CheckIn).where(CheckIn.person_id == person.id)
                               .order_by(CheckIn.at, CheckIn.id)).all()
    reports = session.scalars(select(PainReport).where(PainReport.person_id == person.id)
                              .order_by(PainReport.at, PainReport.id)).all()
    report_ref = {p.id: i for i, p in enumerate(reports, 1)}
    pauses = session.scalars(select(PauseRow).where(PauseRow.person_id == person.id)
                             .order_by(PauseRow.since, PauseRow.id)).all()
    pause_ref = {p.id: i for i, p in enumerate(pauses, 1)}
    decisions = session.scalars(select(DecisionRow).where(DecisionRow.person_id == person.id)
                                .order_by(DecisionRow.at, DecisionRow.id)).all()
    channels = session.execute(select(PersonChannel.name, PersonChannel.masked_url)
                               .where(PersonChannel.person_id == person.id)
                               .order_by(PersonChannel.name)).all()
    doc = ExportDoc(
        format=_checked(FORMAT), version=_checked(VERSION),
        person=_person_out(person),
        routines=[RoutineOut(key=r.key, kind=_checked(r.kind), exercise=r.exercise, side=r.side,
                             title=r.title, text=r.text, schedule=r.schedule, active=r.active,
                             next_due_at=r.next_due_at, created_at=r.created_at,
                             updated_at=r.updated_at) for r in routines],
        occurrences=[_occurrence_out(o, occurrence_ref, keys, pause_ref) for o in occurrences],
        deliveries=[DeliveryOut(occurrence=occurrence_ref[d.occurrence_id], channel=d.channel,
                                status=_checked(d.status), attempts=d.attempts, error=d.error,
                                finished_at=d.finished_at) for d in deliveries],
        checkins=[CheckInOut(routine=keys[c.routine_id],
                             occurrence=occurrence_ref.get(c.occurrence_id)
                             if c.occurrence_id is not None else None,
                             outcome=_checked(c.outcome), at=c.at, source=c.source)
                  for c in checkins],
        pain_reports=[PainReportOut(
            ref=report_ref[p.id], at=p.at, level=p.level, location=_checked(p.location),
            routine=keys[p.routine_id] if p.routine_id is not None else None, note=p.note,
            source=p.source, created_at=p.created_at) for p in reports],
        pauses=[PauseOut(ref=pause_ref[p.id], scope=p.scope, since=p.since, until=p.until,
                         code=p.code, reason=p.reason, severe=p.severe, ended_at=p.ended_at,
                         ended_reason=p.ended_reason) for p in pauses],
        decisions=[DecisionOut(at=d.at, action=d.action, scope=d.scope, code=d.code,
                               reason=d.reason,
                               reports=[report_ref[i] for i in d.report_ids if i in report_ref],
                               pause=pause_ref.get(d.pause_id) if d.pause_id else None)
                   for d in decisions],
        personal_channels=[PersonalChannelOut(name=c.name, masked_url=c.masked_url)
                           for c in channels])
    return doc.model_dump(mode="json")


def _checked(value: object) -> Any:
    """A database value for a Literal field: pydantic checks it when the row is built."""
    return value


def has_data(session: Session, person_id: str) -> bool:
    """Whether anything was ever recorded for the person (beyond config-synced rows)."""
    checks = (
        select(Occurrence.id).join(Routine).where(Routine.person_id == person_id),
        select(CheckIn.id).where(CheckIn.person_id == person_id),
        select(PainReport.id).where(PainReport.person_id == person_id),
        select(PauseRow.id).where(PauseRow.person_id == person_id),
        select(DecisionRow.id).where(DecisionRow.person_id == person_id),
    )
    return any(session.scalar(select(exists(query))) for query in checks)


def import_person(session: Session, data: Any, *, replace: bool = False,
                  channel_key: Callable[[], ChannelKey] = key_from_environment) -> Imported:
    doc = parse_export(data)
    key = _key_if_needed(doc, channel_key)  # before writing anything
    person = session.get(Person, doc.person.id)
    replaced = person is not None
    if person is not None:
        if has_data(session, person.id) and not replace:
            raise InputError(f"person: {person.id!r} already has data in this database; "
                             "use --replace to overwrite it")
        _delete_rows(session, person.id)
    else:
        person = Person(id=doc.person.id)
        session.add(person)
    p = doc.person
    person.name, person.timezone, person.locale = p.name, p.timezone, p.locale
    person.quiet_hours = None if p.quiet_hours is None else parse_quiet_hours(p.quiet_hours)
    person.channels = list(p.channels)
    person.active, person.updated_at = p.active, p.updated_at
    person.added_at = p.added_at or _earliest_record(doc)
    session.flush()
    _insert_rows(session, person.id, doc)
    channels = [c for c in doc.personal_channels if isinstance(c, PersonalChannelIn)]
    for i, channel in enumerate(doc.personal_channels):
        if isinstance(channel, PersonalChannelIn) and key is not None:
            where = f"personal_channels[{i}]"
            set_channel(session, key, person.id, channel.name, channel.url,
                        labels=(f"{where}.name", f"{where}.url"))
    return Imported(person.id, replaced, {
        name: len(getattr(doc, name)) for name in (
            "routines", "occurrences", "deliveries", "checkins", "pain_reports", "pauses",
            "decisions")} | {"channels": len(channels)})


def _person_out(person: Person) -> PersonOut:
    return PersonOut(id=person.id, name=person.name, timezone=person.timezone,
                     locale=person.locale, quiet_hours=_quiet_text(person.quiet_hours),
                     channels=list(person.channels), active=person.active,
                     updated_at=person.updated_at, added_at=person.added_at)


def _earliest_record(doc: ExportDoc) -> datetime | None:
    """When the person existed at the latest, for a file that does not say when they
    were added: nothing in it can be dated before they were."""
    times = ([r.created_at for r in doc.routines] + [c.at for c in doc.checkins]
             + [p.at for p in doc.pain_reports])
    return min(times, default=None)


def _occurrence_out(o: Occurrence, refs: dict[int, int], keys: dict[int, str],
                    pause_refs: dict[int, int]) -> OccurrenceOut:
    """One reminder as the file has it: references instead of database ids."""
    return OccurrenceOut(
        ref=refs[o.id], routine=keys[o.routine_id], due_at=o.due_at, send_at=o.send_at,
        deadline=o.deadline, status=_checked(o.status), reason=o.reason,
        claimed_by=o.claimed_by, claimed_until=o.claimed_until,
        outcome_unknown=o.outcome_unknown, created_at=o.created_at, finished_at=o.finished_at,
        pause=pause_refs.get(o.pause_id) if o.pause_id else None)


def _key_if_needed(doc: ExportDoc, channel_key: Callable[[], ChannelKey]) -> ChannelKey | None:
    if not any(isinstance(c, PersonalChannelIn) for c in doc.personal_channels):
        return None
    try:
        return channel_key()
    except ChannelKeyError as error:
        raise InputError("personal_channels: " + "; ".join(error.problems)) from None


def _delete_rows(session: Session, person_id: str) -> None:
    routine_ids = select(Routine.id).where(Routine.person_id == person_id)
    occurrence_ids = select(Occurrence.id).where(Occurrence.routine_id.in_(routine_ids))
    session.execute(delete(Delivery).where(Delivery.occurrence_id.in_(occurrence_ids)))
    session.execute(delete(CheckIn).where(CheckIn.person_id == person_id))
    session.execute(delete(DecisionRow).where(DecisionRow.person_id == person_id))
    session.execute(delete(PainReport).where(PainReport.person_id == person_id))
    # Occurrences before pauses: a reminder skipped by a pause names it (pause_id).
    session.execute(delete(Occurrence).where(Occurrence.routine_id.in_(routine_ids)))
    session.execute(delete(PauseRow).where(PauseRow.person_id == person_id))
    session.execute(delete(Routine).where(Routine.person_id == person_id))


def _insert_rows(session: Session, person_id: str, doc: ExportDoc) -> None:
    routines = {r.key: Routine(
        person_id=person_id, key=r.key, kind=_checked(r.kind), exercise=r.exercise, side=r.side,
        title=r.title, text=r.text, schedule=r.schedule, active=r.active,
        next_due_at=r.next_due_at, created_at=r.created_at, updated_at=r.updated_at)
        for r in doc.routines}
    session.add_all(routines.values())
    session.flush()
    # Pauses before occurrences: a reminder skipped by a pause names it.
    pauses = {p.ref: PauseRow(
        person_id=person_id, scope=p.scope, since=p.since, until=p.until, code=p.code,
        reason=p.reason, severe=p.severe, ended_at=p.ended_at, ended_reason=p.ended_reason)
        for p in doc.pauses}
    _add_in_order(session, list(pauses.values()))
    occurrences = {o.ref: Occurrence(
        routine_id=routines[o.routine].id, due_at=o.due_at, send_at=o.send_at,
        deadline=o.deadline, status=_checked(o.status), reason=o.reason, claimed_by=o.claimed_by,
        claimed_until=o.claimed_until, outcome_unknown=o.outcome_unknown,
        created_at=o.created_at, finished_at=o.finished_at,
        pause_id=pauses[o.pause].id if o.pause is not None else None) for o in doc.occurrences}
    _add_in_order(session, list(occurrences.values()))
    _add_in_order(session, [Delivery(
        occurrence_id=occurrences[d.occurrence].id, channel=d.channel, status=d.status,
        attempts=d.attempts, error=d.error, finished_at=d.finished_at)
        for d in doc.deliveries])
    _add_in_order(session, [CheckIn(
        person_id=person_id, routine_id=routines[c.routine].id,
        occurrence_id=occurrences[c.occurrence].id if c.occurrence is not None else None,
        outcome=c.outcome, at=c.at, source=c.source) for c in doc.checkins])
    reports = {p.ref: PainReport(
        person_id=person_id, at=p.at, level=p.level, location=p.location,
        routine_id=routines[p.routine].id if p.routine is not None else None, note=p.note,
        source=p.source, created_at=p.created_at) for p in doc.pain_reports}
    _add_in_order(session, list(reports.values()))
    _add_in_order(session, [DecisionRow(
        person_id=person_id, at=d.at, action=d.action, scope=d.scope, code=d.code,
        reason=d.reason, report_ids=[reports[ref].id for ref in d.reports],
        pause_id=pauses[d.pause].id if d.pause is not None else None)
        for d in doc.decisions])


def _add_in_order(session: Session, rows: list[Any]) -> None:
    """Insert in file order, so new ids keep the file's order (and a re-export matches)."""
    session.add_all(rows)
    session.flush()


def _quiet_text(hours: QuietHours | None) -> str | None:
    return None if hours is None else format_quiet_hours(hours)
