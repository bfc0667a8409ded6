"""The JSON API under /api/: the same checks as the pages (session, role, CSRF header on every
change, a patient only their own record), for scripts and a future app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.web.db import Patient
from neurorehab.web.deps import FormError, check_csrf, db_session, guard, own_patient, settings_of
from neurorehab.web.patient_pages import LoggedAlready, save_log
from neurorehab.web.views import record_of

router = APIRouter(prefix="/api")


def _record(db: Session, p: Patient, today: Any) -> dict[str, Any]:
    rec = record_of(db, p)
    return {
        "id": p.id,
        "name": p.name,
        "model": p.model,
        "onset": p.onset.isoformat(),
        "programme": None
        if rec.programme is None
        else {
            "plan": rec.programme.plan,
            "start": rec.programme.start.isoformat(),
            "dose": rec.programme.dose,
        },
        "assessments": [
            {"instrument": a.instrument, "day": a.day, "score": a.score} for a in rec.assessments
        ],
        "logs": [
            {
                "day": g.day.isoformat(),
                "exercise": g.exercise,
                "done": g.done,
                "prescribed": g.prescribed,
                "pain": g.pain,
                "fatigue": g.fatigue,
                "difficulty": g.difficulty,
            }
            for g in rec.logs
        ],
        "alerts": [{"kind": a.kind, "text": a.text} for a in rec.alerts(today)],
    }


@router.get("/me")
def me(request: Request, db: Session = Depends(db_session)) -> dict[str, Any]:
    who = guard(request, db)
    return {"username": who.user.username, "role": who.user.role}


@router.get("/patients")
def patients(request: Request, db: Session = Depends(db_session)) -> list[dict[str, Any]]:
    who = guard(request, db, "clinician")
    return [
        {"id": p.id, "name": p.name, "model": p.model}
        for p in db.scalars(select(Patient).where(Patient.clinician_id == who.user.id).order_by(Patient.id))
    ]


@router.get("/patients/{patient_id}")
def patient(patient_id: int, request: Request, db: Session = Depends(db_session)) -> dict[str, Any]:
    who = guard(request, db, "clinician", "patient")
    return _record(db, own_patient(db, who, patient_id), settings_of(request).today())


@router.post("/patients/{patient_id}/logs")
async def add_log(patient_id: int, request: Request, db: Session = Depends(db_session)) -> dict[str, Any]:
    who = guard(request, db, "patient")
    check_csrf(request, who, None)
    p = own_patient(db, who, patient_id)
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "the body must be a JSON object")
    try:
        log = save_log(db, who, record_of(db, p), body, settings_of(request).today(), "api")
    except LoggedAlready as err:
        raise HTTPException(409, str(err)) from None
    except FormError as err:
        raise HTTPException(422, str(err)) from None
    db.commit()
    return {"id": log.id, "day": log.day.isoformat(), "exercise": log.exercise, "done": log.done}
