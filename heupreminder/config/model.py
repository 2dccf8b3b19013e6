"""The typed shape of the TOML config file.

Pydantic checks structure and single values here; checks that need the whole
file (channel references, secrets, Apprise URLs) live in `loader.py` so every
problem can be reported in one go.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from heupreminder.catalog import get_entry
from heupreminder.locales import Locale
from heupreminder.policy.pain_settings import policy_problems
from heupreminder.timetable.quiet_hours import QuietHours, parse_quiet_hours
from heupreminder.timetable.schedule import (
    Schedule,
    ScheduleError,
    parse_days,
    parse_time,
    validate_cron,
)
from heupreminder.timetable.summary_at import DEFAULT_SUMMARY_AT, SummaryAt, parse_summary_at

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


def _zone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone (e.g. Europe/Amsterdam)") from None
    return value


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: object) -> timedelta:
    """'30m', '2h', '1h30m', '90s', '2d' -> timedelta; a bare number means minutes."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return timedelta(minutes=value)
        text = str(value).strip().lower()
        match = _DURATION.match(text)
        if not isinstance(value, str) or not text or not match or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration (e.g. 30m, 2h, 1h30m, 90s)")
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:  # "99999999999d": more than timedelta holds
        raise ValueError(f"{str(value)[:40]!r} is too long a duration") from None


def _time(value: object) -> time:
    if isinstance(value, time):
        return value
    try:
        return parse_time(str(value))
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None


def _quiet_hours(value: object) -> QuietHours | None:
    return None if value is None else parse_quiet_hours(value)


def _days(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    try:
        return parse_days(str(value))
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None


def _cron(value: object) -> str | None:
    if value is None:
        return None
    try:
        validate_cron(str(value))
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None
    return str(value)


def _exercise(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or get_entry(value) is None):
        raise ValueError(f"{value!r} is not in the catalog (see `heupreminder catalog`)")
    return value


Zone = Annotated[str, BeforeValidator(_zone)]
TimeOfDay = Annotated[time | None, BeforeValidator(lambda v: None if v is None else _time(v))]
Days = Annotated[frozenset[int] | None, BeforeValidator(_days)]
Cron = Annotated[str | None, BeforeValidator(_cron)]
Exercise = Annotated[str | None, BeforeValidator(_exercise)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
QuietHoursField = Annotated[QuietHours | None, BeforeValidator(_quiet_hours)]
WeeklyAt = Annotated[SummaryAt | None, BeforeValidator(parse_summary_at)]
HostName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,253}$|^\[?[0-9A-Fa-f:.]{2,45}\]?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(_Strict):
    database: str | None = None
    timezone: Zone = "Europe/Amsterdam"
    locale: Locale = "nl"
    catch_up: Duration = timedelta(minutes=30)
    # Threads sending reminders at once; bounded so a burst cannot exhaust sockets.
    send_workers: int = Field(default=8, ge=1, le=256)
    # The small HTTP server for check-in pages, the API, /healthz and /metrics.
    # Loopback by default: put a reverse proxy in front to reach it from a phone.
    listen: str | None = Field(default="127.0.0.1:8765", pattern=r"^[^:\s]*:\d{1,5}$")
    # Where people's phones reach that server; reminders carry one-tap links
    # only when this is set, e.g. "https://heup.example.org".
    public_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    link_lifetime: Duration = timedelta(days=3)
    # More host names the web server answers to (besides loopback and the hosts of
    # public_url and listen), e.g. "nas.local" when phones use it without a proxy.
    allowed_hosts: tuple[HostName, ...] = ()
    # How far back a pain report may be dated (`at`); older ones are refused.
    report_window: Duration = timedelta(days=14)
    # Pinged after healthy ticks (healthchecks.io style), at most once a minute.
    heartbeat_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    # A channel from [channels] told when all of a person's channels fail, or
    # when the service starts again after a crash.
    admin_channel: str | None = None
    # "config": the [[people]] in this file are the people (synced at start).
    # "database": people and routines live in the database (API, import, a
    # practice's own tooling); this file then only supplies service settings
    # and channels. Large installations use this.
    manage_people: Literal["config", "database"] = "config"
    # This node's name (default: the host name): tells a crash from a clean
    # stop across restarts. Give each node its own when several run on one host.
    node_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] | None = None
    # The weekly progress summary: "sun 18:00" (day and local time) or "off",
    # for people without their own `summary` (everyone when manage_people =
    # "database").
    summary: WeeklyAt = DEFAULT_SUMMARY_AT
    # How long a node may hold a claimed reminder; after a crash, another
    # node (or this one, restarted) takes it over when the lease ends. Keep
    # it longer than the slowest send (Apprise's timeouts) plus a few seconds.
    lease: Duration = timedelta(minutes=5)

    @field_validator("lease")
    @classmethod
    def _check_lease(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError(f"{value.total_seconds():g} s is too short (at least 1s)")
        return value


# An MQTT topic part: no wildcards (+ #), no empty levels, no leading or trailing "/".
TopicPrefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,7}$")]


class MqttConfig(_Strict):
    """Home Assistant over MQTT discovery: each active person becomes a device."""

    # "mqtt://user:pass@host:1883", or mqtts:// for TLS (port 8883 by default); unset: off.
    # ${NAME} takes the password from the environment, as in [channels].
    url: Annotated[str, Field(pattern=r"^mqtts?://\S+$")] | None = None
    # Home Assistant's discovery prefix (its MQTT integration's setting).
    discovery_prefix: TopicPrefix = "homeassistant"
    # Where state, commands and availability live: <base_topic>/<person>/...
    base_topic: TopicPrefix = "heupreminder"


class PainConfig(_Strict):
    """The pain policy's thresholds: the person's or their therapist's to set."""

    threshold: int = Field(default=4, ge=1, le=10)
    persist_span: Duration = timedelta(hours=24)
    severe_level: int = Field(default=7, ge=1, le=10)
    severe_pause_age: Duration = timedelta(hours=72)
    resume_level: int = Field(default=2, ge=0, le=10)
    min_rest: Duration = timedelta(hours=48)
    # A resume needs a low report this recent: an early one from the first hours of a
    # pause says nothing about how the hip is now.
    resume_report_age: Duration = timedelta(hours=24)
    checkin_at: TimeOfDay = time(10, 0)  # the daily "how is your hip?" while paused

    def overridden_by(self, person: PainConfig | None) -> PainConfig:
        """These numbers with the keys `person` sets replaced, key by key."""
        if person is None:
            return self
        return self.model_copy(update={k: getattr(person, k) for k in person.model_fields_set})

    def problems(self) -> list[tuple[str, str]]:
        """``(key, message)`` for every cross-field rule of the policy these numbers break."""
        return policy_problems(self)


class RoutineConfig(_Strict):
    id: Slug | None = None
    exercise: Exercise = None
    side: Literal["left", "right"] | None = None
    title: str | None = None
    text: str | None = None
    kind: Literal["exercise", "supplement", "tip"] | None = None
    at: TimeOfDay = None
    days: Days = None
    cron: Cron = None
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> RoutineConfig:
        if self.exercise is not None:
            entry = get_entry(self.exercise)
            assert entry is not None  # checked by the field validator
            if self.title or self.text or self.kind:
                raise ValueError("give either exercise, or title and text, not both")
            if self.side and not entry.side_aware:
                raise ValueError(f"side is only for side-aware exercises, not {self.exercise!r}")
        elif not (self.title and self.text and self.id):
            raise ValueError("a routine needs exercise = '...', or id, title and text")
        if (self.at is None) == (self.cron is None):
            raise ValueError("a routine needs exactly one of at = 'HH:MM' or cron = '...'")
        if self.cron is not None and self.days is not None:
            raise ValueError("days goes with at; put the days in the cron expression")
        return self

    @property
    def key(self) -> str:
        """Stable per-person id; history is kept under it across config edits."""
        if self.id:
            return self.id
        assert self.exercise is not None
        return f"{self.exercise}-{self.side}" if self.side else self.exercise

    @property
    def schedule(self) -> Schedule:
        if self.cron is not None:
            return Schedule.from_cron(self.cron)
        assert self.at is not None
        if self.days is None:
            return Schedule.daily_at(self.at)
        return Schedule.daily_at(self.at, self.days)

    @property
    def routine_kind(self) -> str:
        if self.exercise is not None:
            entry = get_entry(self.exercise)
            assert entry is not None
            return entry.kind
        return self.kind or "exercise"


class PersonConfig(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    timezone: Zone | None = None
    locale: Locale | None = None
    channels: list[str] = Field(min_length=1)
    quiet_hours: QuietHoursField = None
    # Told when pain is severe and keeps going (optional).
    caregiver_channels: list[str] = []
    pain: PainConfig | None = None  # overrides [pain] for this person, key by key
    # The weekly progress summary: "sun 18:00" or "off"; unset: [service] summary.
    summary: WeeklyAt = None
    routines: list[RoutineConfig] = []

    @model_validator(mode="after")
    def _unique_routines(self) -> PersonConfig:
        seen: set[str] = set()
        for routine in self.routines:
            if routine.key in seen:
                raise ValueError(
                    f"two routines are called {routine.key!r}; give one of them its own id"
                )
            seen.add(routine.key)
        return self


class Config(_Strict):
    service: ServiceConfig = ServiceConfig()
    channels: dict[str, str] = {}
    pain: PainConfig = PainConfig()
    mqtt: MqttConfig = MqttConfig()
    people: list[PersonConfig] = []

    @model_validator(mode="after")
    def _unique_people(self) -> Config:
        ids = [p.id for p in self.people]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"person id {duplicates[0]!r} is used twice")
        return self

    def person_timezone(self, person: PersonConfig) -> str:
        return person.timezone or self.service.timezone

    def person_locale(self, person: PersonConfig) -> Locale:
        return person.locale or self.service.locale

    def person_summary(self, person: PersonConfig) -> SummaryAt | None:
        """When the person's weekly summary goes out (None: off)."""
        return person.summary if "summary" in person.model_fields_set else self.service.summary

    def person_pain(self, person_id: str) -> PainConfig:
        """[pain] with the keys of the person's own [people.pain] table on top."""
        person = self.person(person_id)
        return self.pain.overridden_by(person.pain if person else None)

    def pain_problems(self) -> list[str]:
        """The pain numbers that cannot work together, by key path (`people[0].pain.x`).

        Checked per person on the merged numbers, since a person who sets only
        `threshold = 2` may clash with the installation's `resume_level`.
        """
        shared = self.pain.problems()
        found = [f"pain.{key}: {message}" for key, message in shared]
        for index, person in enumerate(self.people):
            if person.pain is None:
                continue
            own = person.pain.model_fields_set
            for key, message in self.pain.overridden_by(person.pain).problems():
                if (key, message) in shared and not own:
                    continue  # already reported once under [pain]
                if key in own:
                    found.append(f"people[{index}].pain.{key}: {message}")
                else:
                    found.append(f"people[{index}].pain: {key} {message} ({key} comes from "
                                 "[pain])")
        return found

    def person(self, person_id: str) -> PersonConfig | None:
        return next((p for p in self.people if p.id == person_id), None)
