"""Every person of a burst their own channel: `--channels ntfy-own` (or `ntfys-own`).

A larger installation gives each person their own ntfy topic (or Telegram
chat id, Pushover key, ...), so a burst sends one message per channel URL.
Here each burst person gets `ntfy://127.0.0.1:P/heup-<person id>` on the same
loopback receiver, kept as the service keeps people's own channels: sealed
in `person_channels` with a fresh HEUPREMINDER_CHANNEL_KEY, the person's
`channels` naming it. The naive script and the limit read the same people
and build the same per-person URLs with `own_url`. `ntfys-own` is the same
with `ntfys://` to the receiver's TLS port.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import create_engine, insert, text

from heupreminder.db.models import PersonChannel
from heupreminder.delivery.channel_key import ENV_KEY, ChannelKey, new_key
from heupreminder.delivery.personal_channels import checked_url

OWN = "own"  # the channel's name in each person's `channels`
KEY = new_key()  # one per benchmark run: the service gets it in its environment


def own_url(base_url: str, person_id: str) -> str:
    """The person's own topic on the receiver of `base_url` (ntfy:// or ntfys://
    host:port/anything), in the same scheme."""
    scheme, rest = base_url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/heup-{person_id.lower()}"


def service_env() -> dict[str, str]:
    return {ENV_KEY: KEY}


def seal_own_channels(database_url: str, base_url: str) -> dict[str, object]:
    """Give every person of the database their own channel (sealed), and name it."""
    key = ChannelKey([KEY.encode()])
    engine = create_engine(database_url)
    with engine.begin() as connection:
        people = connection.scalars(text("SELECT id FROM people ORDER BY id")).all()
        rows = []
        for person_id in people:
            url = own_url(base_url, person_id)
            masked, found = checked_url(url, "url")
            rows.append({"person_id": person_id, "name": OWN, "sealed": key.seal(url, found),
                         "masked_url": masked, "updated_at": datetime.now(UTC)})
        connection.execute(text("DELETE FROM person_channels"))
        if rows:
            connection.execute(insert(PersonChannel), rows)
        connection.execute(text("UPDATE people SET channels = :channels"),
                           {"channels": json.dumps([OWN])})
    engine.dispose()
    return {"own_channels": len(people)}
