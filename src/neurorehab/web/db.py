"""The clinic's database: SQLAlchemy 2 tables, the engine, and Alembic's upgrade.

SQLite in the user's data folder by default (one file, nothing to run), PostgreSQL by URL for
a clinic. The schema is created and changed only by Alembic migrations (`neurorehab db
upgrade`, and `serve` on start), never by `create_all`, so a clinic's database follows the
code's versions. Times are stored in UTC.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from neurorehab.io.catalog import data_folder, engine_url

ROLES = ("clinician", "patient", "researcher")


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class AuthSession(Base):
    """A server-side login session: the cookie holds a random token, the table its SHA-256
    (a stolen database does not hold usable cookies); logout and disabling the account end it."""

    __tablename__ = "auth_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """One failed login, by username and by client address (throttling counts both)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class Patient(Base):
    """A patient of the clinic: the model their condition is simulated with, onset, their
    limits (what a recommendation must respect) and the alert threshold for missing logs."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True, nullable=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(64))
    onset: Mapped[date] = mapped_column(Date)
    minutes_per_week: Mapped[float | None] = mapped_column(Float, nullable=True)
    sessions_per_week: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain_limit: Mapped[float] = mapped_column(Float, default=5.0)
    fatigue_limit: Mapped[float] = mapped_column(Float, default=8.0)
    no_log_days: Mapped[int] = mapped_column(Integer, default=3)
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    day: Mapped[float] = mapped_column(Float)  # days since onset
    score: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="clinic")  # clinic | upload | demo
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Programme(Base):
    """A prescribed programme: a plan of the model's library (what the forecast simulates) with
    the clinic's logistics (start, time of day, home or supervised), the progression rule's
    settings, milestones and the reassessment interval; `dose` is the progression's current
    factor on the prescribed repetitions."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(String(64))
    start: Mapped[date] = mapped_column(Date)
    time_of_day: Mapped[str] = mapped_column(String(5), default="10:00")
    setting: Mapped[str] = mapped_column(String(16), default="home")
    weekdays: Mapped[str] = mapped_column(String(32), default="MO,TU,WE,TH,FR")
    reassess_every_days: Mapped[int] = mapped_column(Integer, default=14)
    milestones: Mapped[Any] = mapped_column(JSON, default=list)  # [{"score", "by_day"}]
    progression: Mapped[Any] = mapped_column(JSON, default=dict)  # core.progression.Rule fields
    dose: Mapped[float] = mapped_column(Float, default=1.0)
    reference: Mapped[float | None] = mapped_column(Float, nullable=True)  # score at last reassessment
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SessionLog(Base):
    """One exercise of one session as the patient logged it."""

    __tablename__ = "session_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), nullable=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    exercise: Mapped[str] = mapped_column(String(64))
    prescribed: Mapped[float] = mapped_column(Float)  # repetitions or minutes
    done: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="repetitions")
    difficulty: Mapped[int] = mapped_column(Integer)  # 1-10
    pain: Mapped[int] = mapped_column(Integer)  # NRS 0-10
    fatigue: Mapped[int] = mapped_column(Integer)  # 0-10
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class ForecastJob(Base):
    """A forecast run in the background: its progress while it runs, its result (JSON) after."""

    __tablename__ = "forecast_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ExplorerRun(Base):
    """A researcher's scenario run from the explorer (its folder holds the run's files)."""

    __tablename__ = "explorer_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(1024), default="")
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Audit(Base):
    """Every change to a patient's record (and every login, logout and account change)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[Any] = mapped_column(JSON, default=dict)


def default_url() -> str:
    """NEUROREHAB_CLINIC_DB, else SQLite in the user's data folder."""
    return os.environ.get("NEUROREHAB_CLINIC_DB") or f"sqlite:///{data_folder() / 'clinic.sqlite'}"


def _sqlite_pragmas(dbapi_con: Any, _record: Any) -> None:
    cur = dbapi_con.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str) -> Engine:
    target = engine_url(url)
    if target.startswith("sqlite"):
        engine = create_engine(
            target, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=40
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(target, pool_size=10, max_overflow=40, pool_pre_ping=True)


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("neurorehab.web") / "migrations"))
    cfg.attributes["url"] = engine_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating it when empty)."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def current(url: str) -> str | None:
    """The database's migration revision (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as con:
            return MigrationContext.configure(con).get_current_revision()
    finally:
        engine.dispose()
