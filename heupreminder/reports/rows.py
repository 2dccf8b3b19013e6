"""One row of a person's history: what the page, the CSV and the care report list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ReportRow:
    at: datetime  # local, aware
    type: str  # reminder | checkin | pain | pause | escalate | resume
    routine: str | None = None
    status: str | None = None  # reminder status, done / skipped, or the decision's code
    level: int | None = None
    location: str | None = None
    note: str | None = None
    reason: str | None = None
    source: str | None = None
    levels: tuple[int, ...] = ()  # a decision's: the pain levels that led to it
    paused: bool = False  # a reminder's: skipped because a pause covered it (a rest day)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(timespec="seconds"), "type": self.type,
                "routine": self.routine, "status": self.status, "level": self.level,
                "location": self.location, "note": self.note, "reason": self.reason,
                "source": self.source}
