"""The run catalog: one row per run, in SQLite by default or any SQLAlchemy URL (PostgreSQL).

The URL comes from the caller, else $NEUROREHAB_CATALOG, else a SQLite file in the user's data
folder ($XDG_DATA_HOME/neurorehab/catalog.sqlite). A `postgresql://` URL uses psycopg 3 (the
`postgres` extra). Messages show URLs with the password hidden (`safe_url`, `scrub`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    make_url,
    select,
)
from sqlalchemy.engine import Engine

META = MetaData()
RUNS = Table(
    "runs",
    META,
    Column("run_id", String(64), primary_key=True),
    Column("name", String(128)),
    Column("model", String(64)),
    Column("status", String(16)),
    Column("seed", Integer),
    Column("patients", Integer),
    Column("arms", Integer),
    Column("failed", Integer),
    Column("out_dir", String(1024)),
    Column("started", DateTime(timezone=True)),
    Column("finished", DateTime(timezone=True)),
    Column("wall_s", Float),
    Column("scenario_sha256", String(64)),
)


def data_folder() -> Path:
    """The user's neurorehab data folder ($XDG_DATA_HOME/neurorehab), created if missing."""
    folder = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "neurorehab"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_url() -> str:
    env = os.environ.get("NEUROREHAB_CATALOG")
    if env:
        return env
    return f"sqlite:///{data_folder() / 'catalog.sqlite'}"


def engine_url(url: str) -> str:
    """The SQLAlchemy URL to connect with: `postgresql://` (and `postgres://`) mean the psycopg 3
    driver that the `postgres` extra installs, unless the URL names a driver itself."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


_SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token")


def _secret(key: str) -> bool:
    """Whether a URL query key holds a secret (password=, token=, ...)."""
    return any(k in key.lower() for k in _SECRET_KEYS)


def _query_secrets(query: Any) -> list[str]:
    out = []
    for key, value in dict(query).items():
        if _secret(key):
            out += list(value) if isinstance(value, tuple | list) else [value]
    return [str(v) for v in out]


def safe_url(url: str) -> str:
    """The URL with its password hidden (in the user part and in the query), for messages and
    listings; a string that is not a URL is not echoed at all."""
    try:
        parsed = make_url(url)
    except Exception:
        return "(a catalog URL that could not be parsed)"
    query = {k: ("***" if _secret(k) else v) for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


def scrub(text: str, url: str | None) -> str:
    """Text (an error message) with the URL's passwords replaced by ***. Passwords of fewer than
    4 characters are not searched for in running text (they would mangle words); the URL itself
    is replaced by its safe form."""
    if not url:
        return text
    text = text.replace(url, safe_url(url))
    try:
        parsed = make_url(url)
        secrets = [parsed.password, *_query_secrets(parsed.query)]
    except Exception:
        secrets = re.findall(r"(?:password|passwd|pwd)\s*=\s*'?([^\s'&]+)", url) + re.findall(
            r"//[^/@:]*:([^/@]*)@", url
        )
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            text = text.replace(str(secret), "***")
    return text


def _engine(url: str | None) -> Engine:
    target = url or default_url()
    try:
        return create_engine(engine_url(target))
    except ModuleNotFoundError as err:
        raise CatalogError(
            f"the catalog {safe_url(target)} needs a driver that is not installed ({err.name}); "
            "for PostgreSQL: pip install 'neurorehab[postgres]'"
        ) from None
    except Exception as err:
        raise CatalogError(
            f"the catalog URL {safe_url(target)} is not valid: {scrub(str(err), target)}"
        ) from None


class CatalogError(Exception):
    """The catalog cannot be opened; the message never holds the URL's password."""


def record(row: dict[str, Any], url: str | None = None) -> None:
    """Insert or replace a run's row."""
    engine = _engine(url)
    META.create_all(engine)
    with engine.begin() as con:
        con.execute(RUNS.delete().where(RUNS.c.run_id == row["run_id"]))
        con.execute(RUNS.insert().values(**{c.name: row.get(c.name) for c in RUNS.c}))
    engine.dispose()


def list_runs(url: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    engine = _engine(url)
    META.create_all(engine)
    with engine.connect() as con:
        rows = con.execute(select(RUNS).order_by(RUNS.c.started.desc()).limit(limit)).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]
