"""The running marker: a row that says "this node runs", so a restart can tell a crash.

While the service runs it keeps a `service_state` row keyed by its node name
(stable across restarts of this node) holding its node id. A clean stop
deletes it; finding one at start-up means the previous run did not stop
cleanly, which the admin is told about.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import ServiceState


class RunningMarker:
    """Set at start-up with `note_start()`, removed at a clean stop with `clear()`."""

    def __init__(self, sessions: sessionmaker[Session], node_name: str, node_id: str) -> None:
        self._sessions = sessions
        # Stable across restarts of this node, so a leftover marker means a crash.
        self._key = f"running@{node_name}"
        self._node_id = node_id

    def note_start(self) -> str | None:
        """Leave the marker; return the node id of a previous run that crashed, if any."""
        try:
            with self._sessions.begin() as session:
                marker = session.get(ServiceState, self._key)
                crashed = marker.value if marker else None
                if marker is None:
                    session.add(ServiceState(key=self._key, value=self._node_id))
                else:
                    marker.value = self._node_id
        except IntegrityError:
            # Another node on this host started at the same moment and wrote
            # its marker first: not a crash, and no reason to stop starting.
            return None
        return crashed

    def clear(self) -> None:
        """Remove the marker if it is still ours (a clean stop)."""
        with self._sessions.begin() as session:
            marker = session.get(ServiceState, self._key)
            if marker is not None and marker.value == self._node_id:
                session.delete(marker)
