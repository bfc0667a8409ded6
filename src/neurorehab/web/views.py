"""What several pages show of one patient: the record's parts, alerts, and chart data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.core.spec import FitSpec
from neurorehab.models.registry import ModelInfo, get
from neurorehab.runners.fit_sims import fit_spec
from neurorehab.web.clinic import Alert, adherence, alerts, exercises_on, overall
from neurorehab.web.db import Assessment, ForecastJob, Patient, Programme, SessionLog


@dataclass
class Chart:
    """Plotly traces and layout, drawn by static/app.js from a JSON script element."""

    id: str
    traces: list[dict[str, Any]]
    layout: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return {"traces": self.traces, "layout": self.layout}


@dataclass
class Record:
    patient: Patient
    info: ModelInfo
    fit: FitSpec
    programme: Programme | None
    assessments: list[Assessment]
    logs: list[SessionLog]
    forecast: ForecastJob | None  # the latest finished one

    def alerts(self, today: date) -> list[Alert]:
        return alerts(
            self.patient,
            self.fit,
            self.programme,
            self.logs,
            self.assessments,
            self.forecast.result if self.forecast else None,
            today,
        )

    def adherence(self, today: date) -> dict[str, dict[str, float]]:
        if self.programme is None:
            return {}
        return adherence(self.fit, self.programme, self.logs, self.programme.start, today)

    def adherence_overall(self, today: date) -> float | None:
        return overall(self.adherence(today))

    def today(self, today: date) -> list[Any]:
        return exercises_on(self.fit, self.programme, today) if self.programme else []

    def logged_today(self, today: date) -> dict[str, SessionLog]:
        return {log.exercise: log for log in self.logs if log.day == today}

    def day_of(self, when: date) -> int:
        return (when - self.patient.onset).days


def record_of(db: Session, patient: Patient) -> Record:
    info = get(patient.model)
    return Record(
        patient,
        info,
        fit_spec(info),
        db.scalar(select(Programme).where(Programme.patient_id == patient.id, Programme.active.is_(True))),
        list(
            db.scalars(select(Assessment).where(Assessment.patient_id == patient.id).order_by(Assessment.day))
        ),
        list(
            db.scalars(select(SessionLog).where(SessionLog.patient_id == patient.id).order_by(SessionLog.day))
        ),
        db.scalar(
            select(ForecastJob)
            .where(ForecastJob.patient_id == patient.id, ForecastJob.status == "done")
            .order_by(ForecastJob.id.desc())
            .limit(1)
        ),
    )


def progress_chart(rec: Record, with_forecast: bool = True) -> Chart:
    """The primary instrument's scores (and the others faintly), with the forecast's 10-90 %
    band and median under the current plan, and the milestones."""
    fit, ins = rec.fit, rec.fit.primary
    traces: list[dict[str, Any]] = []
    result = rec.forecast.result if (rec.forecast and with_forecast) else None
    if result:
        plan = result.get("current_plan") or (result.get("recommendation") or {}).get("plan")
        band = result["plans"].get(plan) if plan else None
        if band:
            days = result["days"]
            traces += [
                {
                    "x": days,
                    "y": band["p90"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "name": "90th",
                    "showlegend": False,
                },
                {
                    "x": days,
                    "y": band["p10"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": "rgba(70,130,180,0.25)",
                    "name": f"forecast 10-90 % ({plan})",
                },
                {
                    "x": days,
                    "y": band["median"],
                    "mode": "lines",
                    "line": {"color": "steelblue"},
                    "name": "forecast median",
                },
            ]
    pts = [a for a in rec.assessments if a.instrument == ins]
    traces.append(
        {
            "x": [a.day for a in pts],
            "y": [a.score for a in pts],
            "mode": "markers+lines",
            "marker": {"size": 9, "color": "black"},
            "line": {"dash": "dot", "color": "black"},
            "name": f"{ins}-like (recorded)",
        }
    )
    if rec.programme:
        for m in rec.programme.milestones or []:
            traces.append(
                {
                    "x": [m["by_day"]],
                    "y": [m["score"]],
                    "mode": "markers",
                    "marker": {"symbol": "star", "size": 14, "color": "darkorange"},
                    "name": f"milestone {m['score']} by day {m['by_day']}",
                }
            )
    lo, hi = fit.instruments[ins].low, fit.instruments[ins].high
    layout = {
        "xaxis": {"title": {"text": "days since onset"}},
        "yaxis": {"title": {"text": f"{ins}-like score"}, "range": [lo, hi]},
        "margin": {"t": 20, "r": 10},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.25},
    }
    return Chart("progress", traces, layout)


def logs_chart(rec: Record) -> Chart:
    """Pain and fatigue (0-10) by day, and the share of the prescription done."""
    by_day: dict[date, list[Any]] = {}
    for log in rec.logs:
        by_day.setdefault(log.day, []).append(log)
    days = sorted(by_day)
    x = [d.isoformat() for d in days]
    traces: list[dict[str, Any]] = [
        {
            "x": x,
            "y": [max(g.pain for g in by_day[d]) for d in days],
            "name": "pain (0-10)",
            "mode": "lines+markers",
        },
        {
            "x": x,
            "y": [max(g.fatigue for g in by_day[d]) for d in days],
            "name": "fatigue (0-10)",
            "mode": "lines+markers",
        },
        {
            "x": x,
            "y": [
                round(100 * sum(g.done for g in by_day[d]) / max(sum(g.prescribed for g in by_day[d]), 1e-9))
                for d in days
            ],
            "name": "% of prescription done",
            "type": "bar",
            "yaxis": "y2",
            "opacity": 0.35,
        },
    ]
    if rec.programme is not None:
        limit = float((rec.programme.progression or {}).get("pain_limit", rec.patient.pain_limit))
        if days:
            traces.append(
                {
                    "x": [x[0], x[-1]],
                    "y": [limit, limit],
                    "mode": "lines",
                    "line": {"dash": "dash", "color": "red"},
                    "name": "pain limit",
                }
            )
    layout = {
        "yaxis": {"title": {"text": "0-10"}, "range": [0, 10]},
        "yaxis2": {"overlaying": "y", "side": "right", "range": [0, 150], "title": {"text": "%"}},
        "margin": {"t": 20, "r": 40},
        "height": 280,
        "legend": {"orientation": "h", "y": -0.2},
    }
    return Chart("logs", traces, layout)


def fortnight(today: date) -> list[date]:
    """The last 7 days (the ones a patient may still log) and the next 7."""
    return [today + timedelta(days=k) for k in range(-6, 8)]
