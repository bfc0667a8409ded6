"""A demo clinic for `neurorehab serve --demo`: a clinician, a researcher and three patients,
from demo_clinic.yaml (which says where each patient's numbers come from)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from importlib import resources
from typing import Any

import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.models.registry import get
from neurorehab.runners.fit_sims import fit_spec
from neurorehab.web import security
from neurorehab.web.clinic import exercises_on, weekdays_for
from neurorehab.web.db import Assessment, Patient, Programme, SessionLog, User


def clinic() -> dict[str, Any]:
    text = resources.files("neurorehab.web").joinpath("demo_clinic.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def seed(
    db: Session, today: date, passwords: dict[str, str] | None = None, seed: int = 2026
) -> dict[str, str]:
    """Add the demo clinic (once: a database that holds its first staff account is left as it
    is); returns the accounts' passwords (random unless given)."""
    demo = clinic()
    staff: dict[str, str] = demo["staff"]
    if db.scalar(select(User).where(User.username == next(iter(staff)))) is not None:
        return {}
    roles = {**staff, **{p["username"]: "patient" for p in demo["patients"]}}
    creds = {u: (passwords or {}).get(u) or secrets.token_urlsafe(9) for u in roles}
    users = {}
    for name, role in roles.items():
        users[name] = User(
            username=name,
            password_hash=security.hash_password(creds[name]),
            role=role,
            display_name=name.title(),
        )
        db.add(users[name])
    db.flush()
    clinician = next(users[u] for u, r in staff.items() if r == "clinician")
    rng = np.random.default_rng(seed)
    for spec in demo["patients"]:
        onset = today - timedelta(days=int(spec["days_since_onset"]))
        fit = fit_spec(get(spec["model"]))
        p = Patient(
            name=spec["name"],
            model=spec["model"],
            onset=onset,
            clinician_id=clinician.id,
            user_id=users[spec["username"]].id,
            pain_limit=5.0,
            calendar_token=security.new_token(),
        )
        db.add(p)
        db.flush()
        for instrument, day, score in spec["assessments"]:
            db.add(
                Assessment(
                    patient_id=p.id, instrument=instrument, day=float(day), score=float(score), source="demo"
                )
            )
        blocks = fit.plans[spec["plan"]].protocol
        prog = Programme(
            patient_id=p.id,
            plan=spec["plan"],
            start=onset + timedelta(days=int(spec["programme_start_day"])),
            weekdays=weekdays_for(max(int(b["sessions_per_week"]) for b in blocks)),
            reassess_every_days=int(spec["reassess_every_days"]),
            milestones=[spec["milestone"]],
            progression={
                "milestone": float(spec["progression_step"]),
                "pain_limit": 5.0,
                "fatigue_limit": 0.8,
            },
            created_by=clinician.id,
        )
        db.add(prog)
        db.flush()
        logs = spec["logs"]
        stop = today - timedelta(days=int(logs["stop_days_ago"]))
        d = prog.start
        while d <= stop:
            pain = logs["last_week_pain"] if d > stop - timedelta(days=7) else logs["pain"]
            for ex in exercises_on(fit, prog, d):
                if rng.random() < float(logs["skip"]):
                    continue
                db.add(
                    SessionLog(
                        patient_id=p.id,
                        programme_id=prog.id,
                        day=d,
                        exercise=ex.name,
                        prescribed=ex.amount,
                        unit=ex.unit,
                        done=round(ex.amount * float(rng.uniform(*logs["done"]))),
                        difficulty=int(rng.integers(3, 8)),
                        pain=int(rng.integers(pain[0], pain[1] + 1)),
                        fatigue=int(rng.integers(2, 7)),
                    )
                )
            d += timedelta(days=1)
    db.commit()
    return creds
