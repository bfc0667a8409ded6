"""The clinic's logic, apart from HTTP: what a programme asks today, adherence, alerts,
progression at reassessment, and a patient's record as the fitting code reads it.

A programme follows one plan of the patient's model library (what the forecast simulates):
its blocks run one after another from the programme's start, each block `weeks` long with its
intervention, sessions a week and repetitions (or minutes) a session; the progression's dose
factor scales the repetitions. Progression uses the simulator's own rule
(`core.progression.decide`), so the clinic and the virtual trials decide alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from neurorehab.core.spec import FitSpec
from neurorehab.io.history import Assessment as HistoryAssessment
from neurorehab.io.history import History
from neurorehab.web.db import Assessment, Patient, Programme, SessionLog

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DEFAULT_DAYS = {
    1: "WE",
    2: "MO,TH",
    3: "MO,WE,FR",
    4: "MO,TU,TH,FR",
    5: "MO,TU,WE,TH,FR",
    6: "MO,TU,WE,TH,FR,SA",
}


@dataclass(frozen=True)
class Exercise:
    """One exercise of a session: the intervention, how much (repetitions or minutes), and the
    block of the plan it belongs to."""

    name: str
    amount: float
    unit: str
    sessions_per_week: int
    block: int


def weekdays_for(sessions_per_week: int) -> str:
    return "MO,TU,WE,TH,FR,SA,SU" if sessions_per_week >= 7 else DEFAULT_DAYS.get(sessions_per_week, "MO")


def blocks_of(fit: FitSpec, plan: str) -> list[dict[str, Any]]:
    return [dict(b) for b in fit.plans[plan].protocol]


def block_on(fit: FitSpec, programme: Programme, day: date) -> tuple[int, dict[str, Any]] | None:
    """The plan's block running on `day` (None before the start or after the last block)."""
    offset = (day - programme.start).days
    if offset < 0:
        return None
    start = 0
    for i, b in enumerate(blocks_of(fit, programme.plan)):
        length = int(b.get("weeks", 1)) * 7
        if offset < start + length:
            return i, b
        start += length
    return None


def exercises_on(fit: FitSpec, programme: Programme, day: date) -> list[Exercise]:
    """What the programme asks on `day`: nothing on a day off or outside the plan's blocks. A
    block of N sessions a week runs on the first N of the programme's weekdays (a plan of 7
    a week, then 5, runs every day, then Monday to Friday by default)."""
    found = block_on(fit, programme, day)
    if found is None:
        return []
    i, b = found
    # a block asks its own sessions a week: the first that many of the programme's weekdays
    days = [d for d in WEEKDAYS if d in programme.weekdays.split(",")][: int(b["sessions_per_week"])]
    if WEEKDAYS[day.weekday()] not in days:
        return []
    if "repetitions" in b:
        amount, unit = float(round(float(b["repetitions"]) * programme.dose)), "repetitions"
    else:
        amount, unit = float(b.get("minutes", 0)), "minutes"
    return [Exercise(b["intervention"], amount, unit, int(b["sessions_per_week"]), i)]


def plan_end(fit: FitSpec, programme: Programme) -> date:
    weeks = sum(int(b.get("weeks", 1)) for b in blocks_of(fit, programme.plan))
    return programme.start + timedelta(days=7 * weeks)


def adherence(
    fit: FitSpec, programme: Programme, logs: list[SessionLog], first: date, last: date
) -> dict[str, dict[str, float]]:
    """Per exercise, between `first` and `last` (inclusive): the amount prescribed on the
    scheduled days, the amount logged as done, and their ratio (done / prescribed, capped at 1
    a session so extra work one day does not hide a missed one)."""
    out: dict[str, dict[str, float]] = {}
    done: dict[tuple[date, str], float] = {}
    for log in logs:
        if first <= log.day <= last:
            done[(log.day, log.exercise)] = done.get((log.day, log.exercise), 0.0) + log.done
    d = max(first, programme.start)
    while d <= last:
        for ex in exercises_on(fit, programme, d):
            row = out.setdefault(ex.name, {"prescribed": 0.0, "done": 0.0, "ratio": 0.0})
            row["prescribed"] += ex.amount
            row["done"] += min(done.get((d, ex.name), 0.0), ex.amount)
        d += timedelta(days=1)
    for row in out.values():
        row["ratio"] = row["done"] / row["prescribed"] if row["prescribed"] else 1.0
    return out


def overall(adh: dict[str, dict[str, float]]) -> float | None:
    prescribed = sum(r["prescribed"] for r in adh.values())
    return sum(r["done"] for r in adh.values()) / prescribed if prescribed else None


@dataclass(frozen=True)
class Alert:
    kind: str  # no-log | pain | adherence | below-forecast
    text: str


def alerts(
    patient: Patient,
    fit: FitSpec,
    programme: Programme | None,
    logs: list[SessionLog],
    assessments: list[Assessment],
    forecast: dict[str, Any] | None,
    today: date,
) -> list[Alert]:
    """The clinician's alerts for one patient (see the issue): no log for `no_log_days`
    scheduled days; pain over the plan's limit in the last week; adherence falling (last week
    under half, or 20 points below the week before); the latest assessment since the forecast
    below its 10th percentile (the model-informed alert)."""
    out: list[Alert] = []
    if programme is not None and programme.start <= today:
        last_log = max((log.day for log in logs), default=None)
        since = last_log + timedelta(days=1) if last_log else programme.start
        missed = sum(
            1
            for k in range((today - since).days + 1)
            if exercises_on(fit, programme, since + timedelta(days=k))
        )
        if missed >= patient.no_log_days:
            when = f"since {last_log.isoformat()}" if last_log else "since the programme started"
            out.append(Alert("no-log", f"no session logged {when} ({missed} scheduled days)"))
        week = [log for log in logs if log.day > today - timedelta(days=7)]
        worst = max((log.pain for log in week), default=0)
        limit = float((programme.progression or {}).get("pain_limit", patient.pain_limit))
        if worst > limit:
            out.append(Alert("pain", f"pain {worst}/10 logged this week, above the plan's limit {limit:g}"))
        now_adh = overall(adherence(fit, programme, logs, today - timedelta(days=6), today))
        before = overall(
            adherence(fit, programme, logs, today - timedelta(days=13), today - timedelta(days=7))
        )
        if now_adh is not None and (now_adh < 0.5 or (before is not None and now_adh < before - 0.2)):
            prev = f" (the week before: {before:.0%})" if before is not None else ""
            out.append(Alert("adherence", f"adherence this week {now_adh:.0%}{prev}"))
    if forecast is not None:
        below = below_forecast(fit, forecast, assessments)
        if below:
            out.append(Alert("below-forecast", below))
    return out


def below_forecast(fit: FitSpec, forecast: dict[str, Any], assessments: list[Assessment]) -> str | None:
    """The latest assessment of the primary instrument after the forecast's window, when it is
    worse than 9 in 10 of the forecast's recorded-like scores for the current plan (under the
    10th percentile, or over the 90th where lower is better)."""
    plan = forecast.get("current_plan")
    ins = fit.instruments[fit.primary]
    edge, name = ("p10", "10th") if ins.higher_is_better else ("p90", "90th")
    band = forecast.get("plans", {}).get(plan, {}).get(edge)
    later = [a for a in assessments if a.instrument == fit.primary and a.day > fit.window_days + 0.5]
    if not band or not later:
        return None
    a = max(later, key=lambda x: x.day)
    bound = float(np.interp(a.day, np.asarray(forecast["days"], float), np.asarray(band, float)))
    if (a.score < bound) if ins.higher_is_better else (a.score > bound):
        side = "below" if ins.higher_is_better else "above"
        where = f"{side} the forecast's {name} percentile ({bound:.1f}) under {plan}"
        return f"{fit.primary} {a.score:g} on day {a.day:g}: {where}"
    return None


def history_of(patient: Patient, assessments: list[Assessment]) -> History:
    """The patient's assessments as the fitting code reads them."""
    return History(
        patient=str(patient.id),
        onset=patient.onset,
        assessments=tuple(
            HistoryAssessment(a.instrument, float(a.day), float(a.score), f"assessment {a.id}")
            for a in sorted(assessments, key=lambda a: (a.day, a.id))
        ),
    )


def reassess(
    fit: FitSpec, programme: Programme, score: float, logs: list[SessionLog], since: date
) -> tuple[float, str]:
    """Apply the progression rule at a reassessment of the primary instrument: the new dose
    factor and the reason (`core.progression.REASONS`). Peak pain (NRS) and fatigue (logged
    0-10, the rule's 0-1) since the last reassessment come from the logs."""
    import jax.numpy as jnp

    from neurorehab.core.progression import REASONS, Rule, decide

    ins = fit.instruments[fit.primary]
    settings = dict(programme.progression or {})
    rule = Rule(
        measure=ins.measure,
        milestone=float(settings.get("milestone", 3.0)),
        higher_is_better=ins.higher_is_better,
        up=float(settings.get("up", 1.25)),
        down=float(settings.get("down", 0.8)),
        low=float(settings.get("low", 0.5)),
        high=float(settings.get("high", 3.0)),
        pain_limit=float(settings.get("pain_limit", 5.0)),
        fatigue_limit=float(settings.get("fatigue_limit", 0.8)),
    )
    recent = [log for log in logs if log.day >= since]
    pain = max((log.pain for log in recent), default=0)
    fatigue = max((log.fatigue for log in recent), default=0) / 10.0
    first = programme.reference is None
    factor, _decision, reason = decide(
        rule,
        jnp.asarray(programme.dose),
        jnp.asarray(score),
        jnp.asarray(programme.reference if programme.reference is not None else score),
        jnp.asarray(first),
        jnp.asarray(float(pain)),
        jnp.asarray(fatigue),
    )
    return float(factor), REASONS[int(reason)]
