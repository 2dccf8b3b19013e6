"""The one error type of delivery."""

from __future__ import annotations


class TransportError(Exception):
    """A channel did not take the message. `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
