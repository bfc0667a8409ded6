"""Long work off the request path: a patient's forecast, a researcher's scenario run.

A request only inserts a job row and hands its id to a worker thread; the page polls the row's
progress. One worker (JAX already uses both cores; two forecasts at once would only share them).
Threads, never a fork, after JAX is imported. A job that fails records a plain message.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from neurorehab import __version__
from neurorehab.web.db import Assessment, ExplorerRun, ForecastJob, Patient, Programme, now

log = logging.getLogger("neurorehab.web")


class Jobs:
    def __init__(
        self,
        make_session: sessionmaker,
        draws: int = 64,
        runs_dir: Path | None = None,
        catalog: str | None = None,
    ):
        self.make_session = make_session
        self.catalog = catalog
        self.draws = draws
        self.runs_dir = runs_dir
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neurorehab-job")

    def submit(self, fn: Callable[[int], None], job_id: int) -> Future:
        return self.pool.submit(fn, job_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    # --- forecasts -----------------------------------------------------------------------

    def _set(self, table: type, row_id: int, **fields: Any) -> None:
        """Write a job row's fields (status, progress, message, result...) in its own session."""
        with self.make_session() as db:
            row = db.get(table, row_id)
            if row is not None:
                for k, v in fields.items():
                    setattr(row, k, v)
                db.commit()

    def forecast(self, job_id: int) -> None:
        from neurorehab.models.registry import get
        from neurorehab.runners.fit_sims import fit_spec
        from neurorehab.runners.patient import fit_history, forecast
        from neurorehab.runners.recommend import Limits, recommend
        from neurorehab.web.clinic import history_of

        with self.make_session() as db:
            job = db.get(ForecastJob, job_id)
            if job is None:
                return
            job.status, job.progress, job.message = "running", 0.02, "fitting the history"
            db.commit()
            patient = db.get(Patient, job.patient_id)
            assert patient is not None
            rows = list(db.scalars(select(Assessment).where(Assessment.patient_id == patient.id)))
            programme = db.scalar(
                select(Programme).where(Programme.patient_id == patient.id, Programme.active.is_(True))
            )
            if programme is not None:
                db.expunge(programme)  # read after the session closes
            limits = Limits(patient.minutes_per_week, patient.sessions_per_week, patient.pain_limit, None)
            model, history = patient.model, history_of(patient, rows)
        t0 = time.perf_counter()
        try:
            info = get(model)
            fit = fit_spec(info)
            posterior = fit_history(info, history, seed=job_id)
            if posterior.record.used == 0:
                raise ValueError(
                    f"no assessment in the first {fit.window_days} days after onset: "
                    "the fit needs at least one"
                )
            self._set(ForecastJob, job_id, progress=0.1, message="forecasting each plan")
            plans = list(fit.plans)

            def tick(_what: str, done: int, total: int) -> None:
                self._set(
                    ForecastJob,
                    job_id,
                    progress=0.1 + 0.85 * done / max(total, 1),
                    message=f"forecasting ({done}/{total})",
                )

            forecasts = forecast(info, posterior, plans, draws=self.draws, seed=job_id, progress=tick)
            goal = (programme.milestones or [None])[0] if programme else None
            # the clinician's first milestone, where set, is the one a recommendation weighs
            rec = recommend(info, forecasts, limits, milestone=float(goal["score"]) if goal else None)
            result = summarise(fit, posterior, forecasts, rec, programme.plan if programme else None)
            result["run"] = {  # what reproduces it: the same history, seed, draws and versions
                "seed": job_id,
                "draws": self.draws,
                "model": model,
                "estimator": posterior.estimator.get("fingerprint"),
                "neurorehab": __version__,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        except Exception as err:  # the job records why; the server goes on
            log.error("forecast %s failed: %s", job_id, traceback.format_exc())
            self._set(ForecastJob, job_id, status="failed", message=str(err)[:500], finished_at=now())
            return
        self._set(
            ForecastJob, job_id, status="done", progress=1.0, message="done", result=result, finished_at=now()
        )

    # --- explorer runs -------------------------------------------------------------------

    def explore(self, run_id: int) -> None:
        from neurorehab.config.scenario import parse_scenario
        from neurorehab.runners import run_scenario
        from neurorehab.viz.report import build_report

        with self.make_session() as db:
            run = db.get(ExplorerRun, run_id)
            if run is None:
                return
            run.status, run.message = "running", "simulating"
            scenario_dict = dict(run.scenario)
            db.commit()
        folder = (self.runs_dir or Path("runs")) / f"explorer-{run_id}"
        try:
            scenario = parse_scenario(scenario_dict, "explorer form")

            def tick(done: int, total: int, *_: Any) -> None:
                self._set(ExplorerRun, run_id, progress=done / max(total, 1))

            run_scenario(scenario, folder, progress=tick, catalog_url=self.catalog, finish=build_report)
            result = curves(folder)
        except Exception as err:
            log.error("explorer run %s failed: %s", run_id, traceback.format_exc())
            self._set(ExplorerRun, run_id, status="failed", message=str(err)[:1000])
            return
        self._set(
            ExplorerRun,
            run_id,
            status="done",
            progress=1.0,
            message="done",
            folder=str(folder),
            result=result,
        )


def _r(x: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in x]


def summarise(fit: Any, posterior: Any, forecasts: dict[str, Any], rec: Any, current: str | None) -> dict:
    """What the pages draw, as JSON: per plan the primary instrument's recorded-like 10th/90th
    (and 5th/95th) percentiles by day (where a future assessment should fall) and the
    noise-free median (the expected course), the posterior summary and the recommendation."""
    first = next(iter(forecasts.values()))
    plans = {}
    for name, f in forecasts.items():
        x = f.recorded[fit.primary]
        q = np.quantile(x, [0.05, 0.1, 0.9, 0.95], axis=0)
        plans[name] = {
            "p5": _r(q[0]),
            "p10": _r(q[1]),
            "median": _r(np.median(f.clean[fit.primary], axis=0)),  # the course, without test noise
            "p90": _r(q[2]),
            "p95": _r(q[3]),
            "summary": fit.plans[name].summary,
            "failed": f.failed,
        }
    return {
        "made": date.today().isoformat(),
        "instrument": fit.primary,
        "plans_from_day": fit.window_days + 1,  # each plan is simulated from the window's end
        "days": _r(first.days),
        "current_plan": current if current in forecasts else None,
        "plans": plans,
        "posterior": posterior.summary(),
        "stale": posterior.stale,
        "recommendation": {
            "plan": rec.plan,
            "reasons": rec.reasons,
            "options": [
                {
                    "plan": o.plan,
                    "expected": round(o.expected, 2),
                    "low": round(o.low, 2),
                    "high": round(o.high, 2),
                    "milestone": round(o.milestone, 3),
                    "within": o.within,
                    "why_not": o.why_not,
                }
                for o in rec.options
            ],
        },
    }


def curves(folder: Path) -> dict[str, Any]:
    """Mean and 10-90th percentile of each measure by arm and day, from a run's results."""
    import pandas as pd

    table = pd.read_parquet(folder / "results.parquet")
    table = table[table["failure"] == 0]
    out: dict[str, Any] = {}
    for (measure, arm), g in table.groupby(["measure", "arm"]):
        by = g.groupby("day")["value"]
        out.setdefault(measure, {})[arm] = {
            "day": _r(np.asarray(by.mean().index, float)),
            "mean": _r(by.mean().to_numpy()),
            "p10": _r(by.quantile(0.1).to_numpy()),
            "p90": _r(by.quantile(0.9).to_numpy()),
        }
    return out
