"""Patient pages: today's sessions, logging one, progress against the milestones, the
programme's calendar, and their own record's export. A patient reaches only their own record:
every route here finds the record from the logged-in account, never from an id in the URL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from neurorehab.web.clinic_pages import fhir_response
from neurorehab.web.db import SessionLog
from neurorehab.web.deps import (
    FormError,
    Who,
    audit,
    check_csrf,
    db_session,
    form_of,
    guard,
    number,
    patient_of,
    render,
    settings_of,
)
from neurorehab.web.views import Record, fortnight, progress_chart, record_of

router = APIRouter(prefix="/me")


def _page(
    request: Request, db: Session, who: Who, status: int = 200, day: date | None = None, **extra: Any
) -> HTMLResponse:
    p = patient_of(db, who)
    rec = record_of(db, p)
    today = settings_of(request).today()
    day = day or today
    week = [(d, rec.today(d), {log.exercise for log in rec.logs if log.day == d}) for d in fortnight(today)]
    return render(
        request,
        "me.html",
        who,
        status,
        p=p,
        rec=rec,
        today=today,
        day=day,
        todays=rec.today(day),
        earliest=today - timedelta(days=7),
        done=rec.logged_today(day),
        week=week,
        chart=progress_chart(rec, with_forecast=False),
        adherence=rec.adherence_overall(today),
        recent=[log for log in rec.logs if log.day > today - timedelta(days=14)][::-1],
        **extra,
    )


@router.get("")
def me(request: Request, db: Session = Depends(db_session), day: str | None = None) -> HTMLResponse:
    """Today's sessions, or those of `day` (one of the last 7 days: catching up on a log)."""
    who = guard(request, db, "patient")
    if day is None:
        return _page(request, db, who)
    today = settings_of(request).today()
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return _page(request, db, who, 422, error=f"day: {day[:20]!r} is not a date (YYYY-MM-DD)")
    if not (today - timedelta(days=7) <= when <= today):
        return _page(
            request, db, who, 422, error=f"day: {when} must be within the last 7 days (today is {today})"
        )
    return _page(request, db, who, day=when)


def log_from_form(rec: Record, form: dict[str, Any], today: date) -> SessionLog:
    """A session log from a form (or API body); FormError names the field and what is valid."""
    when = today
    if form.get("day"):
        try:
            when = date.fromisoformat(str(form["day"]))
        except ValueError:
            raise FormError(f"day: {str(form['day'])[:20]!r} is not a date (YYYY-MM-DD)") from None
        if not (today - timedelta(days=7) <= when <= today):
            raise FormError(f"day: {when} must be within the last 7 days (today is {today})")
    if rec.programme is None:
        raise FormError("there is no programme to log against: your clinician has not prescribed one")
    asked = {e.name: e for e in rec.today(when)}
    exercise = str(form.get("exercise", ""))
    if exercise not in asked:
        raise FormError(
            f"exercise: {exercise[:40]!r} is not scheduled on {when}"
            + (f" (scheduled: {', '.join(asked)})" if asked else " (a day off)")
        )
    ex = asked[exercise]
    return SessionLog(
        patient_id=rec.patient.id,
        programme_id=rec.programme.id,
        day=when,
        exercise=exercise,
        prescribed=ex.amount,
        unit=ex.unit,
        done=number(form, "done", 0, 10 * max(ex.amount, 1)),
        difficulty=int(number(form, "difficulty", 1, 10)),
        pain=int(number(form, "pain", 0, 10)),
        fatigue=int(number(form, "fatigue", 0, 10)),
        note=str(form.get("note", ""))[:500],
    )


class LoggedAlready(FormError):
    """The exercise of that day is logged already (HTTP 409)."""


def save_log(db: Session, who: Who, rec: Record, form: dict[str, Any], today: date, via: str) -> SessionLog:
    """Validate a log (`log_from_form`), refuse a second one of the same exercise and day, add
    it and audit it; the caller commits."""
    log = log_from_form(rec, form, today)
    if any(g.day == log.day and g.exercise == log.exercise for g in rec.logs):
        raise LoggedAlready(f"{log.exercise} on {log.day} is logged already")
    db.add(log)
    audit(
        db,
        who,
        "session-logged",
        rec.patient.id,
        day=log.day.isoformat(),
        exercise=log.exercise,
        done=log.done,
        pain=log.pain,
        via=via,
    )
    return log


@router.post("/logs")
async def add_log(request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "patient")
    form = await form_of(request)
    check_csrf(request, who, form)
    p = patient_of(db, who)
    rec = record_of(db, p)
    try:
        log = save_log(db, who, rec, form, settings_of(request).today(), "page")
    except LoggedAlready as err:
        return _page(request, db, who, 409, error=str(err))
    except FormError as err:
        return _page(request, db, who, 422, error=str(err))
    db.commit()
    if request.headers.get("hx-request"):
        return _page(request, db, who, notice=f"logged: {log.exercise}, {log.done:g} {log.unit}")
    return RedirectResponse("/me", status_code=303)


@router.get("/export.json")
def export(request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "patient")
    return fhir_response(db, who, patient_of(db, who))
