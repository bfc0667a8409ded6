"""Shared by the web tests: a migrated clinic database on SQLite or on a real PostgreSQL server
(a fresh database per use, dropped after), the demo clinic with known passwords, and logins."""

from __future__ import annotations

import os
import re
import secrets
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

POSTGRES = os.environ.get("NEUROREHAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# A Monday: the demo's motor patients have sessions Monday to Friday (their programmes' weekdays).
TODAY = date(2026, 11, 30)
PASSWORDS = {
    "dr.demo": "clinician-pass-1",
    "res.demo": "researcher-pass-1",
    "ana": "ana-password-1",
    "ben": "ben-password-1",
    "cleo": "cleo-password-1",
}


def postgres_up() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except Exception:
        return False
    return True


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("NEUROREHAB_REQUIRE_POSTGRES") and not postgres_up(),
            reason="no PostgreSQL server at NEUROREHAB_TEST_POSTGRES (CI sets NEUROREHAB_REQUIRE_POSTGRES)",
        ),
    ),
]


@contextmanager
def database(backend: str, folder: Path):
    """A migrated, empty clinic database URL on `backend`; a PostgreSQL one is dropped after."""
    from neurorehab.web.db import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{folder / 'clinic.sqlite'}"
        upgrade(url)
        yield url
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"nr_web_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1)).set(database=name)
    text = url.render_as_string(hide_password=False)
    try:
        upgrade(text)
        yield text
    finally:
        from sqlalchemy import create_engine

        create_engine(text).dispose()
        with psycopg.connect(POSTGRES, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_demo(url: str, today: date = TODAY) -> dict[str, str]:
    from neurorehab.web.db import make_engine, sessions
    from neurorehab.web.demo import seed

    engine = make_engine(url)
    with sessions(engine)() as s:
        creds = seed(s, today, passwords=PASSWORDS)
    engine.dispose()
    return creds


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client, username: str, password: str | None = None):
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password or PASSWORDS[username],
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
