"""The weekly summary through real channels: the email arrives at a real SMTP
server (aiosmtpd) with the chart attached as a PNG; a push channel (Apprise
json:// to a real HTTP receiver) gets the short text and a link to the
history page, which serves the same chart."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.message import Message
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from heupreminder.db.models import Notice
from heupreminder.reports.chart import HEIGHT, WIDTH
from heupreminder.reports.weekly import queue_summaries
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.web.app import create_app
from heupreminder.web.context import WebContext
from tests.anna_history import MOMENT, anna
from tests.dispatching import deliver_notice
from tests.receivers import HttpInbox, SmtpInbox, text_of

PUBLIC = "https://heup.example.org"


def attachments(message: Message) -> list[Message]:
    return [part for part in message.walk()
            if part.get_content_disposition() in ("attachment", "inline")
            and part.get_content_maintype() != "text"]


def test_summary_email_arrives_with_the_chart(tmp_path: Path, database_url: str,
                                               smtp: SmtpInbox, receiver: HttpInbox) -> None:
    mail = (f"mailto://127.0.0.1:{smtp.port}?from=heup@example.org&to=anna@example.org"
            "&mode=insecure")
    settings, sessions = anna(tmp_path, database_url,
                              channels={"mail": mail, "phone": receiver.url},
                              public_url=PUBLIC)
    now = MOMENT + timedelta(minutes=1)
    with sessions.begin() as session:
        assert queue_summaries(session, settings, now) == 1
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node", clock=lambda: now)
    [notice_id] = dispatcher.claim_notices(dispatcher.clock(), 10)
    assert deliver_notice(dispatcher, notice_id) == "sent"
    with sessions() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.status == "sent" and notice.reason is None

    # Email: the whole summary, and the chart as a PNG of the promised size.
    [message] = smtp.messages
    assert message["Subject"] == "Je week in het kort"
    text = text_of(message)
    assert "Deze week deed je 3 van de 5 oefensessies." in text
    assert "• Ochtendbrug: 3 van 5 gedaan, 2 rustdagen" in text
    assert "In de bijlage: je pijn en je oefeningen per dag" in text
    [chart] = attachments(message)
    assert chart.get_content_type() == "image/png"
    assert chart.get_filename() == "heupreminder-anna-2026-11-29.png"
    png = chart.get_payload(decode=True)
    assert isinstance(png, bytes)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    (tmp_path / "emailed-chart.png").write_bytes(png)

    # Push: the short text and a link to the same chart on the history page.
    [push] = receiver.posts
    assert push["title"] == "Je week in het kort"
    assert push["message"].startswith("Deze week deed je 3 van de 5 oefensessies.")
    assert "Ochtendbrug" not in push["message"]  # only the short version
    [link] = re.findall(rf"{re.escape(PUBLIC)}/h/\S+", push["message"])
    path = link.removeprefix(PUBLIC)
    client = create_app(WebContext(sessions, lambda: settings, clock=lambda: now)).test_client()
    page = client.get(path)
    assert page.status_code == 200 and "Je voortgang, Anna" in page.get_data(as_text=True)
    served = client.get(f"{path}/chart.png")
    assert served.status_code == 200 and served.mimetype == "image/png"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (2 * WIDTH, 2 * HEIGHT)  # the same chart, sharp on a phone


def test_without_public_url_push_gets_the_whole_text(tmp_path: Path, database_url: str,
                                                      receiver: HttpInbox) -> None:
    settings, sessions = anna(tmp_path, database_url, channels={"phone": receiver.url},
                              locale="en")
    with sessions.begin() as session:
        assert queue_summaries(session, settings, MOMENT) == 1
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node", clock=lambda: MOMENT)
    for notice_id in dispatcher.claim_notices(dispatcher.clock(), 10):
        assert deliver_notice(dispatcher, notice_id) == "sent"
    [push] = receiver.posts
    assert push["title"] == "Your week at a glance"
    assert "/h/" not in push["message"]
    assert ": 3 of 5 done, 2 rest days\n" in push["message"]  # the routine lines too
    with sessions() as session:
        assert session.scalars(select(Notice.status)).all() == ["sent"]
