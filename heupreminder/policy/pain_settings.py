"""The pain policy's configurable numbers, and the check that they can be used together.

The config check (``[pain]`` and per-person tables) calls ``policy_problems()`` too, so
``check-config`` refuses exactly what ``PainPolicy`` would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

MAX_LEVEL = 10


@dataclass(frozen=True)
class PainPolicy:
    """The configurable numbers of the policy; invalid combinations raise ``ValueError``.

    Requires ``0 <= resume_level < threshold <= severe_level <= 10``, ``rising_reports >= 2``
    and positive durations (``policy_problems()`` lists what is wrong, by field name).
    What each number means is in ``policy.pain``'s module docstring.
    """

    threshold: int = 4
    persist_span: timedelta = timedelta(hours=24)
    rising_reports: int = 3
    severe_level: int = 7
    severe_pause_age: timedelta = timedelta(hours=72)
    resume_level: int = 2
    min_rest: timedelta = timedelta(hours=48)
    resume_report_age: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        problems = policy_problems(self)
        # Not in policy_problems(): the config has no rising_reports key (always 3).
        if self.rising_reports < 2:
            problems.append(("rising_reports", f"{self.rising_reports} must be at least 2"))
        if problems:
            raise ValueError("; ".join(f"{name}: {message}" for name, message in problems))


class PolicyNumbers(Protocol):
    """The numbers ``policy_problems()`` checks (a ``PainPolicy`` or the config's table)."""

    @property
    def threshold(self) -> int: ...
    @property
    def severe_level(self) -> int: ...
    @property
    def resume_level(self) -> int: ...
    @property
    def persist_span(self) -> timedelta: ...
    @property
    def severe_pause_age(self) -> timedelta: ...
    @property
    def min_rest(self) -> timedelta: ...
    @property
    def resume_report_age(self) -> timedelta: ...


def policy_problems(policy: PolicyNumbers) -> list[tuple[str, str]]:
    """``(field, message)`` for every rule the numbers break; empty when they can be used.

    The config check calls this too, so ``check-config`` and the policy agree.
    """
    problems: list[tuple[str, str]] = []
    if not 0 <= policy.resume_level < policy.threshold:
        problems.append(("resume_level", f"{policy.resume_level} must be at least 0 and below "
                         f"threshold ({policy.threshold})"))
    if not policy.threshold <= policy.severe_level <= MAX_LEVEL:
        problems.append(("severe_level", f"{policy.severe_level} must be at least threshold "
                         f"({policy.threshold}) and at most {MAX_LEVEL}"))
    if not 1 <= policy.threshold <= MAX_LEVEL:
        problems.append(("threshold", f"{policy.threshold} must be between 1 and {MAX_LEVEL}"))
    for name in ("persist_span", "severe_pause_age", "min_rest", "resume_report_age"):
        if getattr(policy, name) <= timedelta(0):
            problems.append((name, "must be longer than 0"))
    return problems
