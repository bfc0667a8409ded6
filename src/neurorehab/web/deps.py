"""What every route uses: the settings, the database session, who is asking, and the checks.

`guard(request, db, role)` is called first by every route that is not public: no live session
-> 401 (pages redirect to the login), another role -> 403. `check_csrf` is called by every
state-changing route before it changes anything. `own_patient` is the only way a route reaches
a patient's record: a clinician reaches their own patients, a patient only themself, whatever
the id in the URL says (a guessed id of another's record is a 404, not a 403: it does not even
confirm the record exists).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from neurorehab import __version__
from neurorehab.web import security
from neurorehab.web.db import Audit, AuthSession, Patient, User

templates = Jinja2Templates(directory=str(resources.files("neurorehab.web") / "templates"))

COOKIE = "nr_session"
LOGIN_CSRF_COOKIE = "nr_login_csrf"


@dataclass
class Settings:
    """The server's settings (all explicit; nothing read deep inside).

    url: the database; runs_dir: where explorer runs are written; forecast_draws: posterior
    draws a forecast simulates; secure_cookies: mark cookies Secure (behind HTTPS); max_upload:
    bytes an upload may hold; max_body: bytes any request may hold; today: a fixed date for
    demonstrations and tests (None: the real date); catalog: the run catalog's URL (None: the
    default one)."""

    url: str
    runs_dir: Path = field(default_factory=lambda: Path("runs"))
    forecast_draws: int = 64
    secure_cookies: bool = False
    max_upload: int = 2_000_000
    max_body: int = 3_000_000
    fixed_today: date | None = None
    catalog: str | None = None

    def today(self) -> date:
        return self.fixed_today or date.today()


class Redirect(Exception):
    def __init__(self, to: str):
        self.to = to


@dataclass
class Who:
    user: User
    session: AuthSession


async def db_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request. Async on purpose: its closing (which returns the
    connection to the pool) then runs on the event loop, not in the thread pool; a sync
    generator's closing waits for a free thread, and under load every thread can be waiting
    for a connection that only such a closing would free (a deadlock seen at 50 users)."""
    db = request.app.state.sessions()
    try:
        yield db
    finally:
        db.close()


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def guard(request: Request, db: Session, *roles: str) -> Who:
    found = security.session_of(db, request.cookies.get(COOKIE))
    if found is None:
        if wants_html(request):
            raise Redirect("/login")
        raise HTTPException(401, "log in first")
    sess, user = found
    if roles and user.role not in roles:
        raise HTTPException(403, f"this page is for the {' or '.join(roles)} role; you are a {user.role}")
    return Who(user, sess)


async def form_of(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.multi_items()}


def check_csrf(request: Request, who: Who, form: dict[str, Any] | None) -> None:
    token = request.headers.get("x-csrf-token") or (form or {}).get("csrf_token")
    if not security.same(str(token) if token else None, who.session.csrf):
        raise HTTPException(
            403, "the form's security token is missing or stale: reload the page and try again"
        )


def own_patient(db: Session, who: Who, patient_id: int) -> Patient:
    p = db.get(Patient, patient_id)
    if p is None:
        raise HTTPException(404, "no such patient")
    if who.user.role == "clinician" and p.clinician_id == who.user.id:
        return p
    if who.user.role == "patient" and p.user_id == who.user.id:
        return p
    raise HTTPException(404, "no such patient")


def patient_of(db: Session, who: Who) -> Patient:
    from sqlalchemy import select

    p = db.scalar(select(Patient).where(Patient.user_id == who.user.id))
    if p is None:
        raise HTTPException(404, "your account is not linked to a patient record: ask your clinician")
    return p


def audit(
    db: Session, who: Who | User | None, action: str, patient_id: int | None = None, **detail: Any
) -> None:
    user = who.user if isinstance(who, Who) else who
    db.add(Audit(user_id=user.id if user else None, patient_id=patient_id, action=action, detail=detail))


def settings_of(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def render(request: Request, name: str, who: Who | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page: the template with the user, their CSRF token and the version."""
    ctx.update(
        request=request,
        user=who.user if who else None,
        csrf=who.session.csrf if who else "",
        version=__version__,
    )
    return templates.TemplateResponse(request, name, ctx, status_code=status)


class FormError(ValueError):
    """A form field that cannot be used: the field, the value and what is valid."""


def number(form: dict[str, Any], key: str, low: float, high: float, default: float | None = None) -> float:
    raw = str(form.get(key, "")).strip()
    if raw == "" and default is not None:
        return default
    try:
        x = float(raw)
    except ValueError:
        raise FormError(f"{key}: {raw[:40]!r} is not a number (use {low:g} to {high:g})") from None
    if not (low <= x <= high):
        raise FormError(f"{key}: {x:g} is outside {low:g} to {high:g}")
    return x


def a_date(form: dict[str, Any], key: str) -> date:
    raw = str(form.get(key, "")).strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormError(f"{key}: {raw[:40]!r} is not a date (YYYY-MM-DD)") from None
