"""The send queue: hands prepared sends to a sender and collects what they answered.

Two senders, so one slow channel cannot hold up the clock or the others:
- HTTP channels go to the sending process in one hand-over per batch (the
  sends run on the other core, over kept-open connections);
- everything else (Apprise's channels, email) runs in a bounded thread pool,
  since those block a thread for up to a try's timeout.
Each send takes a slot (see send_slots) while it runs. Results wait in a
queue until the dispatch loop writes them, all in one transaction.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from heupreminder.config.loader import Settings
from heupreminder.delivery.http_capture import may_use_fast_path
from heupreminder.delivery.http_client import CLIENT, HttpRequest
from heupreminder.delivery.sending_process import Send, SendingProcess
from heupreminder.delivery.smtp import POOL as SMTP_POOL
from heupreminder.masking import MASKER
from heupreminder.scheduler.results import SendJob, SendResult
from heupreminder.scheduler.send_slots import SendSlots

log = logging.getLogger(__name__)


def uses_fast_path(settings: Settings) -> bool:
    """True if some channel is HTTP-based (sent by the sending process)."""
    return any(may_use_fast_path(channel.url) for channel in settings.channels.values())


class SendQueue:
    """Sends jobs on the right sender; finished results wait in `take_results()`."""

    def __init__(
            self, slots: SendSlots, workers: int, *,
            send_in_thread: Callable[[SendJob], SendResult],
            http_requests_for: Callable[[SendJob], dict[str, HttpRequest] | None],
            on_result: Callable[[], None]) -> None:
        self.slots = slots
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
        self.sender: SendingProcess[SendJob] = SendingProcess(self._http_result)
        self._send_in_thread = send_in_thread
        self._http_requests_for = http_requests_for
        self._on_result = on_result  # told each time a result is queued (wakes the tick)
        self._results: queue.SimpleQueue[SendResult] = queue.SimpleQueue()

    def hand_over(self, jobs: list[SendJob]) -> None:
        """Start sending every job: HTTP ones in one batch to the sending process."""
        to_sending_process: list[tuple[SendJob, dict[str, HttpRequest]]] = []
        for job in jobs:
            requests = self._http_requests_for(job)
            if requests is None:
                self._send_in_pool(job)
            else:
                to_sending_process.append((job, requests))
        if to_sending_process:
            self._send_in_sending_process(to_sending_process)

    def take_results(self) -> list[SendResult]:
        """Every result that came back since the last call."""
        results: list[SendResult] = []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                return results

    def put_back(self, results: list[SendResult]) -> None:
        """Keep results that could not be written for the next try (a database outage)."""
        for result in results:
            self._results.put(result)

    def stop(self, drain_seconds: float) -> int:
        """Wait up to `drain_seconds` for sends under way, then close the senders.

        Returns how many sends are unfinished; what the sending process has not
        answered by now stays unfinished. Kept-open HTTP connections are closed
        only when nothing uses them any more.
        """
        wait_for(self.slots.in_flight(), timeout=drain_seconds)
        self.sender.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        SMTP_POOL.close()  # QUIT on idle email connections; busy ones close when done
        unfinished = self.slots.busy
        if not unfinished:
            CLIENT.close()
        return unfinished

    def _send_in_pool(self, job: SendJob) -> None:
        """Send `job` on a pool thread (Apprise's channels block a thread)."""
        self.slots.take(1)
        future = self.pool.submit(self._send_in_thread, job)
        self.slots.track(future)  # before the callback: it may run at once

        def done(finished: Future[SendResult]) -> None:
            self.slots.forget(finished)
            self.slots.finished()
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                # The claim stays until its lease ends; then it is retried,
                # marked outcome unknown.
                log.error("sending failed unexpectedly", exc_info=error)
            else:
                self._results.put(finished.result())
                self._on_result()  # record it on the next tick

        future.add_done_callback(done)

    def _send_in_sending_process(
            self, batch: list[tuple[SendJob, dict[str, HttpRequest]]]) -> None:
        """Send a batch in the sending process: one hand-over, the sends on the other core.

        Each result is queued as it comes, like the pool's. A send the process
        could not finish (it died) comes back failed and is retried as usual.
        """
        sends = [Send(job, requests) for job, requests in batch]
        self.slots.take(len(batch))  # before: results may come before submit() returns
        try:
            future = self.sender.submit(sends)
        except BaseException:  # the process could not start: the claims wait for their lease
            self.slots.give_back(len(batch))
            raise
        self.slots.track(future)
        future.add_done_callback(self.slots.forget)

    def _http_result(self, job: SendJob, errors: dict[str, str | None]) -> None:
        """The sending process answered one job (called on its reader thread)."""
        masked = {name: MASKER.mask(error) if error else None for name, error in errors.items()}
        self._results.put(SendResult(job=job, errors=masked, permanent=set()))
        self._on_result()
        self.slots.finished()
