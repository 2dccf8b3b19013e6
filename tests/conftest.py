"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from HEUPREMINDER_TEST_DATABASE_URL. Without it those tests
are skipped with a reason, except in CI (CI=true), where a missing URL is an
error: CI must never quietly test only half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.receivers import HttpInbox, SmtpInbox, http_receiver, smtp_server

PG_ENV = "HEUPREMINDER_TEST_DATABASE_URL"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"CI is set but {PG_ENV} is not: the PostgreSQL half would be "
                                "skipped. Point it at a PostgreSQL database.")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL; PostgreSQL tests get their own schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'heupreminder.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL test: set {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def receiver() -> Iterator[HttpInbox]:
    with http_receiver() as inbox:
        yield inbox
