"""Which people other processes changed: the CLI, another node, the API's thread.

Contract: `ChangeWatch.start(session)` remembers where the tables end now;
each `changed(session)` returns the people with a pain report, a check-in or a
pause/resume decision written since, and moves on. Three primary-key range
scans (`id > last`), each answered from the index in well under a millisecond
however large the tables grow, so it is run every couple of seconds, like the
service's outbox poll, at no cost worth measuring.

What it cannot see is said here: a check-in answered again (the row is updated,
its id stays) and rows whose id was handed out before one we already saw but
committed after it (two writers at the same moment). The in-process ways in
(MQTT commands, sends, housekeeping, config sync) tell the bridge directly, so
this only covers other processes, and the next change of that person (or the
next due time) catches up the rare miss.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from heupreminder.db.models import CheckIn, DecisionRow, PainReport

# One look takes at most this many rows per table; the rest come at the next look.
BATCH = 1000

_WATCHED: tuple[tuple[InstrumentedAttribute[int], InstrumentedAttribute[str]], ...] = (
    (PainReport.id, PainReport.person_id),
    (CheckIn.id, CheckIn.person_id),
    (DecisionRow.id, DecisionRow.person_id),
)


class ChangeWatch:
    def __init__(self) -> None:
        self._last: list[int] = [0] * len(_WATCHED)

    def start(self, session: Session) -> None:
        self._last = [session.scalar(select(func.max(id_))) or 0 for id_, _ in _WATCHED]

    def changed(self, session: Session) -> set[str]:
        people: set[str] = set()
        for index, (id_, person_id) in enumerate(_WATCHED):
            rows = session.execute(select(id_, person_id).where(id_ > self._last[index])
                                   .order_by(id_).limit(BATCH)).all()
            if rows:
                self._last[index] = rows[-1][0]
                people.update(row[1] for row in rows)
        return people
