"""What every scenario runs with: the preset sizes and the run's context.

A `Context` is built once by `run.main` and handed to each scenario; a burst
on another channel gets a copy with that channel and its receiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks import email as email_burst
from benchmarks.receiver_process import Receiver, TlsReceiver


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does: data set sizes and how long it watches."""

    load: tuple[int, ...]
    burst: tuple[int, ...]
    idle_seconds: float
    settle_seconds: float
    heup_lead: float  # seconds from retiming a burst to its due time


SIZES = {
    "smoke": Sizes(load=(2_000,), burst=(500,), idle_seconds=3, settle_seconds=1,
                   heup_lead=3.5),
    "full": Sizes(load=(10_000, 100_000, 1_000_000), burst=(10_000, 50_000),
                  idle_seconds=60, settle_seconds=5, heup_lead=6),
}

DEFAULT_WORKERS = 8  # the service's default send_workers; the limit uses as many connections


@dataclass
class Context:
    """Where a scenario runs, against which product, receiver and sizes."""

    workdir: Path
    product: Path | None
    pg_admin_url: str
    receiver: Receiver
    sizes: Sizes
    burst_timeout: float | None
    workers: int = DEFAULT_WORKERS
    # the burst's channel: json (a webhook), ntfy, ntfy-own, ntfys-own (over TLS) or email
    channel: str = "json"

    @property
    def own_channels(self) -> bool:
        """Every person their own channel (benchmarks/own_channels.py)."""
        return self.channel.endswith("-own")

    @property
    def tls(self) -> bool:
        """ntfys://: to the receiver's TLS port, its throwaway CA trusted by every contender."""
        return self.channel.startswith("ntfys")

    @property
    def trust_env(self) -> dict[str, str]:
        """The environment a contender needs for this channel: REQUESTS_CA_BUNDLE for TLS."""
        return self._tls_receiver().trust_env if self.tls else {}

    def _tls_receiver(self) -> TlsReceiver:
        if not isinstance(self.receiver, TlsReceiver):
            raise RuntimeError(f"{self.channel} needs the receiver started with TLS")
        return self.receiver

    @property
    def channel_url(self) -> str:
        """The one channel every person of the burst has, at the receiver (ntfy-own,
        ntfys-own: the base each person's own topic is made from)."""
        if self.tls:
            return f"ntfys://127.0.0.1:{self._tls_receiver().tls_port}/reminders"
        if self.channel in ("ntfy", "ntfy-own"):
            return f"ntfy://127.0.0.1:{self.receiver.port}/reminders"
        if isinstance(self.receiver, email_burst.MailSink):  # the email burst's SMTP sink
            return self.receiver.mailto_url
        return self.receiver.json_url
