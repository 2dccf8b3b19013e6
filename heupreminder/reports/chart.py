"""The progress chart: pain per day and exercise sessions done per day, 4 weeks.

Contracts:

- ``chart_data(session, person, last_day)`` collects ``days`` local dates
  ending with ``last_day`` (in the person's time zone): the **highest** pain
  level reported that day (``None``: no report), the exercise sessions marked
  done that day (a reminder tapped done twice counts once), and whether a
  pause was in force for any part of the day.
- ``render_chart(data, locale)`` returns PNG bytes of exactly
  ``(WIDTH * scale, HEIGHT * scale)`` pixels. The top panel has one bar per
  day with a report (a level-0 report is a thin bar on the base line, so it
  is still visible); days without a report have no bar. The bottom panel has
  one bar per day with sessions done, and a light band on rest days.
- ``Layout`` says where each bar is (``bar_box``), so tests can look at the
  pixels without guessing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from heupreminder.db.models import CheckIn, PainReport, PauseRow, Person, Routine
from heupreminder.locales import shipped_locale
from heupreminder.reports.summary_words import short_date

if TYPE_CHECKING:
    from PIL import ImageFont

WIDTH, HEIGHT = 640, 480
DAYS = 28
BACKGROUND = (255, 255, 255)
GRID = (221, 221, 221)
INK = (51, 51, 51)
PAIN_COLOR = (200, 85, 61)
DONE_COLOR = (45, 106, 79)
REST_COLOR = (222, 235, 247)
MIN_BAR = 3  # a level-0 report still shows

Panel = Literal["pain", "done"]

_LABELS = {
    "nl": {"title": "Je heup, de afgelopen {days} dagen",
           "pain": "Pijn (hoogste van de dag, 0-10)", "done": "Oefeningen gedaan",
           "rest": "rust"},
    "en": {"title": "Your hip, the last {days} days",
           "pain": "Pain (highest of the day, 0-10)", "done": "Exercises done",
           "rest": "rest"},
}


@dataclass(frozen=True)
class ChartData:
    first_day: date
    pain: tuple[int | None, ...]
    done: tuple[int, ...]
    rest: tuple[bool, ...]

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(len(self.pain))]


@dataclass(frozen=True)
class Layout:
    """Pixel geometry of a chart with ``days`` columns at ``scale``."""

    days: int = DAYS
    scale: int = 1
    done_max: int = 3

    def px(self, value: float) -> int:
        return round(value * self.scale)

    @property
    def left(self) -> int:
        return self.px(44)

    @property
    def right(self) -> int:
        return self.px(WIDTH - 14)

    def panel(self, which: Panel) -> tuple[int, int]:
        """(top, bottom) of a panel's plot area; bars stand on ``bottom``."""
        return (self.px(72), self.px(236)) if which == "pain" else (self.px(296), self.px(420))

    def slot(self, index: int) -> tuple[int, int]:
        """(x0, x1) of day ``index``'s column."""
        width = (self.right - self.left) / self.days
        return round(self.left + index * width), round(self.left + (index + 1) * width)

    def bar_box(self, which: Panel, index: int, value: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the bar for ``value`` on day ``index`` (inclusive box)."""
        x0, x1 = self.slot(index)
        pad = max(1, round((x1 - x0) * 0.15))
        top, bottom = self.panel(which)
        scale_max = 10 if which == "pain" else self.done_max
        height = max(self.px(MIN_BAR), round((bottom - top) * value / scale_max))
        return x0 + pad, bottom - height, x1 - pad - 1, bottom - 1


def chart_data(session: Session, person: Person, last_day: date, days: int = DAYS) -> ChartData:
    zone = ZoneInfo(person.timezone)
    first_day = last_day - timedelta(days=days - 1)
    bounds = [_midnight(first_day + timedelta(days=i), zone) for i in range(days + 1)]
    start, end = bounds[0], bounds[-1]

    def index(moment: datetime) -> int:
        return (moment.astimezone(zone).date() - first_day).days

    pain: list[int | None] = [None] * days
    for at, level in session.execute(select(PainReport.at, PainReport.level).where(
            PainReport.person_id == person.id, PainReport.at >= start, PainReport.at < end)):
        i = index(at)
        pain[i] = level if pain[i] is None else max(level, pain[i] or 0)
    seen: set[tuple[int, int]] = set()
    done = [0] * days
    for checkin_id, occurrence_id, at in session.execute(
            select(CheckIn.id, CheckIn.occurrence_id, CheckIn.at).join(Routine)
            .where(CheckIn.person_id == person.id, CheckIn.outcome == "done",
                   Routine.kind == "exercise", CheckIn.at >= start, CheckIn.at < end)
            .order_by(CheckIn.at)):
        key = (0, occurrence_id) if occurrence_id is not None else (1, checkin_id)
        if key not in seen:
            seen.add(key)
            done[index(at)] += 1
    pauses = session.execute(select(PauseRow.since, PauseRow.ended_at, PauseRow.until).where(
        PauseRow.person_id == person.id, PauseRow.since < end,
        or_(PauseRow.ended_at.is_(None), PauseRow.ended_at > start))).all()
    rest = tuple(any(since < bounds[i + 1] and min(
        x for x in (ended, until, bounds[i + 1]) if x is not None) > bounds[i]
        for since, ended, until in pauses) for i in range(days))
    return ChartData(first_day, tuple(pain), tuple(done), rest)


def render_chart(data: ChartData, locale: str, scale: int = 1,
                 title: str | None = None) -> bytes:
    """The chart as PNG bytes; see the module docstring. ``title`` replaces
    "the last N days" for a period that need not end today (the care report)."""
    from PIL import Image, ImageDraw  # loaded when a chart is drawn, not at start-up

    labels = _LABELS[shipped_locale(locale)]
    layout = Layout(days=len(data.pain), scale=scale, done_max=max(3, *data.done))
    image = Image.new("RGB", (WIDTH * scale, HEIGHT * scale), BACKGROUND)
    draw = ImageDraw.Draw(image)
    big, small = _font(19 * scale), _font(14 * scale)
    draw.text((layout.left, layout.px(10)),
              title or labels["title"].format(days=len(data.pain)), fill=INK, font=big)

    top, bottom = layout.panel("pain")
    draw.text((layout.left, top - layout.px(26)), labels["pain"], fill=INK, font=small)
    for tick in (0, 5, 10):
        y = bottom - round((bottom - top) * tick / 10)
        draw.line((layout.left, y, layout.right, y), fill=GRID, width=max(1, scale))
        draw.text((layout.left - layout.px(8), y), str(tick), fill=INK, font=small, anchor="rm")
    for i, level in enumerate(data.pain):
        if level is not None:
            draw.rectangle(layout.bar_box("pain", i, level), fill=PAIN_COLOR)

    top, bottom = layout.panel("done")
    draw.text((layout.left, top - layout.px(26)), labels["done"], fill=INK, font=small)
    legend_x = layout.right - layout.px(60)
    draw.rectangle((legend_x, top - layout.px(22), legend_x + layout.px(12),
                    top - layout.px(10)), fill=REST_COLOR, outline=GRID)
    draw.text((legend_x + layout.px(18), top - layout.px(26)), labels["rest"], fill=INK,
              font=small)
    for i, resting in enumerate(data.rest):
        if resting:
            x0, x1 = layout.slot(i)
            draw.rectangle((x0, top, x1 - 1, bottom - 1), fill=REST_COLOR)
    ticks = (range(layout.done_max + 1) if layout.done_max <= 5
             else (0, layout.done_max // 2, layout.done_max))
    for value in ticks:
        y = bottom - round((bottom - top) * value / layout.done_max)
        draw.line((layout.left, y, layout.right, y), fill=GRID, width=max(1, scale))
        draw.text((layout.left - layout.px(8), y), str(value), fill=INK, font=small, anchor="rm")
    for i, count in enumerate(data.done):
        if count:
            draw.rectangle(layout.bar_box("done", i, count), fill=DONE_COLOR)

    for i, day in enumerate(data.days):
        x0, x1 = layout.slot(i)
        if i % 7 == 0:
            draw.line((x0, bottom, x0, bottom + layout.px(6)), fill=INK, width=max(1, scale))
            draw.text((x0, bottom + layout.px(10)), short_date(day, locale), fill=INK,
                      font=small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
