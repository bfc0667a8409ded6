"""Clinician pages: patients and alerts, a patient's record, programmes, reassessments,
uploads, forecasts and the recommendation, account control, export and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.io.history import HistoryError, parse_history
from neurorehab.models.registry import get, models
from neurorehab.runners.fit_sims import fit_spec
from neurorehab.runners.recommend import plan_load
from neurorehab.web import security
from neurorehab.web.clinic import reassess, weekdays_for
from neurorehab.web.db import Assessment, Audit, ForecastJob, Patient, Programme, User
from neurorehab.web.deps import (
    FormError,
    Who,
    a_date,
    audit,
    check_csrf,
    db_session,
    form_of,
    guard,
    number,
    own_patient,
    render,
    settings_of,
)
from neurorehab.web.views import logs_chart, progress_chart, record_of

router = APIRouter(prefix="/clinic")


def fitted_models() -> dict[str, Any]:
    return {k: v for k, v in models().items() if v.fit is not None}


@router.get("")
def patients(request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "clinician")
    today = settings_of(request).today()
    rows = []
    for p in db.scalars(select(Patient).where(Patient.clinician_id == who.user.id).order_by(Patient.name)):
        rec = record_of(db, p)
        rows.append((p, rec.alerts(today), rec.adherence_overall(today), rec.programme))
    return render(request, "clinic.html", who, rows=rows, today=today)


@router.get("/patients/new")
def new_patient_page(request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "clinician")
    return render(
        request, "patient_new.html", who, models=fitted_models(), today=settings_of(request).today()
    )


@router.post("/patients")
async def create_patient(request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    form = await form_of(request)
    check_csrf(request, who, form)
    today = settings_of(request).today()
    try:
        name = str(form.get("name", "")).strip()
        if not 1 <= len(name) <= 128:
            raise FormError("name: give 1 to 128 characters")
        model = str(form.get("model", ""))
        if model not in fitted_models():
            raise FormError(
                f"model: {model[:40]!r} is not one that can be fitted; choose {', '.join(fitted_models())}"
            )
        onset = a_date(form, "onset")
        if onset > today:
            raise FormError(f"onset: {onset} is in the future")
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        user = None
        if username:
            if db.scalar(select(User).where(User.username == username)) is not None:
                raise FormError(f"username: {username!r} is taken")
            problem = security.password_problem(password, username)
            if problem:
                raise FormError(f"password: {problem}")
            user = User(
                username=username,
                password_hash=security.hash_password(password),
                role="patient",
                display_name=name,
            )
            db.add(user)
            db.flush()
        p = Patient(
            name=name,
            model=model,
            onset=onset,
            clinician_id=who.user.id,
            user_id=user.id if user else None,
            minutes_per_week=number(form, "minutes_per_week", 0, 5000)
            if form.get("minutes_per_week")
            else None,
            sessions_per_week=int(number(form, "sessions_per_week", 0, 21))
            if form.get("sessions_per_week")
            else None,
            pain_limit=number(form, "pain_limit", 0, 10, 5.0),
            no_log_days=int(number(form, "no_log_days", 1, 60, 3)),
            calendar_token=security.new_token(),
        )
        db.add(p)
        db.flush()
    except FormError as err:
        db.rollback()
        return render(
            request,
            "patient_new.html",
            who,
            422,
            models=fitted_models(),
            today=today,
            error=str(err),
            form=form,
        )
    audit(db, who, "patient-created", p.id, name=name, model=model, account=username or None)
    db.commit()
    return RedirectResponse(f"/clinic/patients/{p.id}", status_code=303)


@router.get("/patients/{patient_id}")
def patient_page(patient_id: int, request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    return _patient(request, db, who, p)


def _patient(
    request: Request, db: Session, who: Who, p: Patient, status: int = 200, **extra: Any
) -> HTMLResponse:
    today = settings_of(request).today()
    rec = record_of(db, p)
    running = db.scalar(
        select(ForecastJob)
        .where(ForecastJob.patient_id == p.id, ForecastJob.status.in_(("queued", "running")))
        .order_by(ForecastJob.id.desc())
        .limit(1)
    )
    account = db.get(User, p.user_id) if p.user_id else None
    return render(
        request,
        "patient.html",
        who,
        status,
        p=p,
        rec=rec,
        today=today,
        day_today=rec.day_of(today),
        alerts=rec.alerts(today),
        adherence=rec.adherence(today),
        charts=[progress_chart(rec), logs_chart(rec)],
        running=running,
        account=account,
        **extra,
    )


@router.post("/patients/{patient_id}/assessments")
async def add_assessment(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    form = await form_of(request)
    check_csrf(request, who, form)
    rec = record_of(db, p)
    today = settings_of(request).today()
    try:
        name = str(form.get("instrument", ""))
        if name not in rec.fit.instruments:
            raise FormError(f"instrument: {name[:40]!r} is not one of {', '.join(rec.fit.instruments)}")
        ins = rec.fit.instruments[name]
        score = number(form, "score", ins.low, ins.high)
        when = a_date(form, "date") if form.get("date") else today
        if when < p.onset or when > today:
            raise FormError(f"date: {when} is outside onset ({p.onset}) to today ({today})")
    except FormError as err:
        return _patient(request, db, who, p, 422, error=str(err))
    day = (when - p.onset).days
    db.add(Assessment(patient_id=p.id, instrument=name, day=day, score=score, recorded_by=who.user.id))
    decision = None
    if name == rec.fit.primary and rec.programme is not None and when >= rec.programme.start:
        since = when - timedelta(days=rec.programme.reassess_every_days)
        dose, reason = reassess(rec.fit, rec.programme, score, rec.logs, since)
        decision = f"progression: {reason} (dose x{dose:.2f})"
        audit(db, who, "progression", p.id, reason=reason, dose_before=rec.programme.dose, dose_after=dose)
        rec.programme.dose, rec.programme.reference = dose, score
    audit(db, who, "assessment-recorded", p.id, instrument=name, day=day, score=score)
    db.commit()
    db.refresh(p)
    return _patient(
        request, db, who, p, notice=f"{name} {score:g} recorded for day {day}. " + (decision or "")
    )


@router.post("/patients/{patient_id}/upload")
async def upload(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    form = await form_of(request)
    check_csrf(request, who, form)
    settings = settings_of(request)
    file = form.get("file")
    if file is None or not hasattr(file, "read"):
        return _patient(request, db, who, p, 422, error="file: choose a CSV or FHIR JSON file")
    raw = await file.read(settings.max_upload + 1)
    name = str(getattr(file, "filename", "upload"))[:80]
    if len(raw) > settings.max_upload:
        return _patient(request, db, who, p, 413, error=f"{name}: larger than {settings.max_upload:,} bytes")
    fit = fit_spec(get(p.model))
    try:
        history = parse_history(raw, fit.instruments, source=name, onset=p.onset)
    except HistoryError as err:
        return _patient(request, db, who, p, 422, error=f"{name}: " + "; ".join(err.lines))
    today = (settings.today() - p.onset).days
    late = [a for a in history.assessments if a.day > today]
    if late:
        return _patient(
            request,
            db,
            who,
            p,
            422,
            error=f"{name}: {late[0].where}: day {late[0].day:g} is after today (day {today})",
        )
    for a in history.assessments:
        db.add(
            Assessment(
                patient_id=p.id,
                instrument=a.instrument,
                day=a.day,
                score=a.score,
                source="upload",
                recorded_by=who.user.id,
            )
        )
    audit(db, who, "history-uploaded", p.id, file=name, assessments=len(history.assessments))
    db.commit()
    return _patient(
        request, db, who, p, notice=f"{len(history.assessments)} assessments imported from {name}"
    )


@router.get("/patients/{patient_id}/programme")
def programme_page(patient_id: int, request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    return _programme(request, db, who, p)


def _programme(
    request: Request, db: Session, who: Who, p: Patient, status: int = 200, **extra: Any
) -> HTMLResponse:
    rec = record_of(db, p)
    info = rec.info
    plans = [
        (name, plan, *plan_load(info, name), sum(int(b.get("weeks", 1)) for b in plan.protocol))
        for name, plan in rec.fit.plans.items()
    ]
    result = rec.forecast.result if rec.forecast else None
    return render(
        request,
        "programme.html",
        who,
        status,
        p=p,
        rec=rec,
        plans=plans,
        result=result,
        today=settings_of(request).today(),
        **extra,
    )


@router.post("/patients/{patient_id}/programme")
async def prescribe(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    form = await form_of(request)
    check_csrf(request, who, form)
    rec = record_of(db, p)
    try:
        plan = str(form.get("plan", ""))
        if plan not in rec.fit.plans:
            raise FormError(f"plan: {plan[:40]!r} is not in the library ({', '.join(rec.fit.plans)})")
        start = a_date(form, "start")
        time_of_day = str(form.get("time_of_day", "10:00"))
        hh, _, mm = time_of_day.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise FormError(f"time_of_day: {time_of_day[:10]!r} is not HH:MM")
        setting = str(form.get("setting", "home"))
        if setting not in ("home", "supervised"):
            raise FormError(f"setting: {setting[:20]!r}: home or supervised")
        blocks = rec.fit.plans[plan].protocol
        per_week = max((int(b["sessions_per_week"]) for b in blocks), default=0)
        days = [d for d in str(form.get("weekdays", "")).upper().replace(" ", "").split(",") if d]
        weekdays = ",".join(days) if days else weekdays_for(per_week)
        bad = [d for d in weekdays.split(",") if d not in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")]
        if bad:
            raise FormError(f"weekdays: {bad[0][:5]!r} is not MO, TU, WE, TH, FR, SA or SU")
        milestones = []
        for k in range(3):
            if form.get(f"milestone_score_{k}"):
                ins = rec.fit.instruments[rec.fit.primary]
                milestones.append(
                    {
                        "score": number(form, f"milestone_score_{k}", ins.low, ins.high),
                        "by_day": int(number(form, f"milestone_day_{k}", 1, 3650)),
                    }
                )
        progression = {
            "milestone": number(form, "progress_step", 0, 100, 3.0),
            "pain_limit": number(form, "pain_limit", 0, 10, p.pain_limit),
            "fatigue_limit": number(form, "fatigue_limit", 0, 1, 0.8),
        }
        every = int(number(form, "reassess_every_days", 1, 180, 14))
    except FormError as err:
        return _programme(request, db, who, p, 422, error=str(err))
    for old in db.scalars(select(Programme).where(Programme.patient_id == p.id, Programme.active.is_(True))):
        old.active = False
    prog = Programme(
        patient_id=p.id,
        plan=plan,
        start=start,
        time_of_day=f"{int(hh):02d}:{int(mm):02d}",
        setting=setting,
        weekdays=weekdays,
        reassess_every_days=every,
        milestones=milestones,
        progression=progression,
        created_by=who.user.id,
    )
    db.add(prog)
    audit(
        db,
        who,
        "programme-prescribed",
        p.id,
        plan=plan,
        start=start.isoformat(),
        setting=setting,
        weekdays=weekdays,
    )
    db.commit()
    return RedirectResponse(f"/clinic/patients/{p.id}", status_code=303)


@router.post("/patients/{patient_id}/forecast")
async def start_forecast(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    check_csrf(request, who, await form_of(request))
    running = db.scalar(
        select(ForecastJob).where(
            ForecastJob.patient_id == p.id, ForecastJob.status.in_(("queued", "running"))
        )
    )
    job = running or ForecastJob(patient_id=p.id, requested_by=who.user.id)
    if running is None:
        db.add(job)
        audit(db, who, "forecast-requested", p.id)
        db.commit()
        request.app.state.jobs.submit(request.app.state.jobs.forecast, job.id)
    return render(request, "forecast_status.html", who, p=p, job=job)


@router.get("/patients/{patient_id}/forecast/{job_id}")
def forecast_status(
    patient_id: int, job_id: int, request: Request, db: Session = Depends(db_session)
) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    job = db.get(ForecastJob, job_id)
    if job is None or job.patient_id != p.id:
        raise HTTPException(404, "no such forecast")
    response = render(request, "forecast_status.html", who, p=p, job=job)
    if job.status == "done":
        response.headers["HX-Refresh"] = "true"  # the page redraws with the new forecast
    return response


@router.post("/patients/{patient_id}/account")
async def account(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    form = await form_of(request)
    check_csrf(request, who, form)
    user = db.get(User, p.user_id) if p.user_id else None
    if user is None:
        raise HTTPException(404, "this patient has no account")
    action = str(form.get("action", ""))
    if action not in ("disable", "enable"):
        raise HTTPException(422, f"action: {action[:20]!r}: disable or enable")
    user.active = action == "enable"
    if not user.active:
        security.end_all_sessions(db, user.id)
    audit(db, who, f"account-{action}d", p.id, username=user.username)
    db.commit()
    return RedirectResponse(f"/clinic/patients/{p.id}", status_code=303)


@router.get("/patients/{patient_id}/export.json")
def export(patient_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "clinician")
    p = own_patient(db, who, patient_id)
    return fhir_response(db, who, p)


def fhir_response(db: Session, who: Who, p: Patient) -> Response:
    from neurorehab.web.export import fhir_bundle

    rec = record_of(db, p)
    progs = list(db.scalars(select(Programme).where(Programme.patient_id == p.id).order_by(Programme.id)))
    body = fhir_bundle(p, rec.fit, progs, rec.assessments, rec.logs)
    audit(db, who, "record-exported", p.id)
    db.commit()
    return Response(
        body,
        media_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="patient-{p.id}.fhir.json"'},
    )


@router.get("/audit")
def audit_page(request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "clinician")
    mine = [p.id for p in db.scalars(select(Patient).where(Patient.clinician_id == who.user.id))]
    rows = list(
        db.scalars(
            select(Audit)
            .where((Audit.patient_id.in_(mine)) | (Audit.user_id == who.user.id))
            .order_by(Audit.id.desc())
            .limit(300)
        )
    )
    names = {u.id: u.username for u in db.scalars(select(User))}
    return render(request, "audit.html", who, rows=rows, names=names)
