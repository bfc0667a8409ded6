"""The run catalog: one row per run, in SQLite by default or any SQLAlchemy URL (PostgreSQL).

The URL comes from the caller, else $NEUROREHAB_CATALOG, else a SQLite file in the user's data
folder ($XDG_DATA_HOME/neurorehab/catalog.sqlite).
"""

from __future__ import annotations

import os
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
    select,
)

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


def default_url() -> str:
    env = os.environ.get("NEUROREHAB_CATALOG")
    if env:
        return env
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    (base / "neurorehab").mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'neurorehab' / 'catalog.sqlite'}"


def record(row: dict[str, Any], url: str | None = None) -> None:
    """Insert or replace a run's row."""
    engine = create_engine(url or default_url())
    META.create_all(engine)
    with engine.begin() as con:
        con.execute(RUNS.delete().where(RUNS.c.run_id == row["run_id"]))
        con.execute(RUNS.insert().values(**{c.name: row.get(c.name) for c in RUNS.c}))
    engine.dispose()


def list_runs(url: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    engine = create_engine(url or default_url())
    META.create_all(engine)
    with engine.connect() as con:
        rows = con.execute(select(RUNS).order_by(RUNS.c.started.desc()).limit(limit)).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]
