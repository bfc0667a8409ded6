"""Researcher pages: the run catalog with each run's report, and a scenario explorer whose form
is generated from the models' declarations (their injuries with each parameter's unit and
range, their interventions, their measures) and whose runs draw recovery curves by arm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.models.registry import ModelInfo, get, models
from neurorehab.web.db import ExplorerRun
from neurorehab.web.deps import (
    FormError,
    audit,
    check_csrf,
    db_session,
    form_of,
    guard,
    number,
    render,
    settings_of,
)
from neurorehab.web.views import Chart

router = APIRouter(prefix="/research")
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _catalog(request: Request) -> tuple[list[dict[str, Any]], str | None]:
    from neurorehab.io.catalog import CatalogError, list_runs

    try:
        return list_runs(settings_of(request).catalog, limit=100), None
    except CatalogError as err:
        return [], str(err)
    except Exception as err:  # an unreachable catalog server: the page still works
        return [], f"the run catalog could not be read ({type(err).__name__})"


@router.get("")
def research(request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db, "researcher")
    runs, problem = _catalog(request)
    mine = list(
        db.scalars(
            select(ExplorerRun).where(ExplorerRun.user_id == who.user.id).order_by(ExplorerRun.id.desc())
        )
    )
    return render(request, "research.html", who, runs=runs, problem=problem, mine=mine)


@router.get("/runs/{run_id}/report")
def report(run_id: str, request: Request, db: Session = Depends(db_session)) -> Response:
    """A catalogued run's report.html: the file is found by the run's id in the catalog, never
    by a path from the request."""
    guard(request, db, "researcher")
    runs, _ = _catalog(request)
    row = next((r for r in runs if r.get("run_id") == run_id), None)
    if row is None or not row.get("out_dir"):
        raise HTTPException(404, "no such run in the catalog")
    path = Path(row["out_dir"]) / "report.html"
    if not path.is_file():
        raise HTTPException(404, f"run {run_id[:12]} has no report.html (build it with neurorehab report)")
    return FileResponse(path, media_type="text/html")


def fields_of(info: ModelInfo) -> dict[str, Any]:
    """The explorer's form for one model, from its declaration."""
    return {
        "events": {
            kind: {"summary": cls.summary, "params": dict(cls.params)} for kind, cls in info.events.items()
        },
        "interventions": {k: iv.summary for k, iv in info.available_interventions().items()},
        "measures": {k: f"{m.doc} [{m.unit}]" for k, m in info.measures.items()},
        # the measure a clinician would look at first: the fitted primary instrument's, if any
        "primary": info.fit.instruments[info.fit.primary].measure if info.fit else next(iter(info.measures)),
    }


@router.get("/explore")
def explore_page(
    request: Request, db: Session = Depends(db_session), model: str | None = None
) -> HTMLResponse:
    who = guard(request, db, "researcher")
    known = models()
    chosen = model if model in known else next(iter(known))
    template = "explore_fields.html" if request.headers.get("hx-request") else "explore.html"
    return render(request, template, who, models=known, model=chosen, fields=fields_of(get(chosen)), form={})


def scenario_from(form: dict[str, Any]) -> dict[str, Any]:
    """The explorer form -> a scenario (validated by the scenario parser afterwards)."""
    known = models()
    model = str(form.get("model", ""))
    if model not in known:
        raise FormError(f"model: {model[:40]!r} is not a model ({', '.join(known)})")
    info = known[model]
    fields = fields_of(info)
    duration = int(number(form, "duration_days", 7, 730, 180))
    events = []
    kind = str(form.get("event", ""))
    if kind:
        if kind not in fields["events"]:
            raise FormError(f"event: {kind[:40]!r} is not an injury of {model}")
        params = {}
        for name, spec in fields["events"][kind]["params"].items():
            key = f"event_{name}"
            if str(form.get(key, "")).strip():
                params[name] = number(form, key, spec.low, spec.high)
        events.append(
            {"kind": kind, "day": int(number(form, "event_day", 0, duration - 1, 1)), "params": params}
        )
    arms: list[dict[str, Any]] = [{"name": "no-therapy"}]
    iv = str(form.get("intervention", ""))
    if iv:
        if iv not in fields["interventions"]:
            raise FormError(f"intervention: {iv[:40]!r} is not available for {model}")
        arms.append(
            {
                "name": iv,
                "protocol": [
                    {
                        "intervention": iv,
                        "start_day": int(number(form, "start_day", 0, duration - 1, 7)),
                        "weeks": int(number(form, "weeks", 1, 104, 4)),
                        "sessions_per_week": int(number(form, "sessions_per_week", 1, 14, 5)),
                        "repetitions": int(number(form, "repetitions", 1, 2000, 100)),
                    }
                ],
            }
        )
    measure = str(form.get("measure", ""))
    if measure not in fields["measures"]:
        raise FormError(f"measure: {measure[:40]!r} is not a measure of {model}")
    return {
        "name": f"explorer-{model}",
        "model": model,
        "seed": int(number(form, "seed", 0, 2**31 - 1, 0)),
        "duration_days": duration,
        "patients": {"count": int(number(form, "patients", 1, 256, 16))},
        "events": events,
        "arms": arms,
        "assessments": {"every_days": int(number(form, "every_days", 1, 90, 7)), "measures": [measure]},
    }


@router.post("/explore")
async def explore(request: Request, db: Session = Depends(db_session)) -> Response:
    from neurorehab.config.scenario import ScenarioError, parse_scenario

    who = guard(request, db, "researcher")
    form = await form_of(request)
    check_csrf(request, who, form)
    known = models()
    chosen = str(form.get("model", "")) if form.get("model") in known else next(iter(known))
    try:
        scenario = scenario_from(form)
        parse_scenario(scenario, "explorer form")
    except (FormError, ScenarioError) as err:
        msg = "; ".join(err.lines) if isinstance(err, ScenarioError) else str(err)
        return render(
            request,
            "explore.html",
            who,
            422,
            models=known,
            model=chosen,
            fields=fields_of(get(chosen)),
            form=form,
            error=msg,
        )
    run = ExplorerRun(user_id=who.user.id, scenario=scenario)
    db.add(run)
    audit(db, who, "explorer-run", model=scenario["model"])
    db.commit()
    request.app.state.jobs.submit(request.app.state.jobs.explore, run.id)
    return RedirectResponse(f"/research/explore/{run.id}", status_code=303)


@router.get("/explore/{run_id}")
def explore_run(run_id: int, request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db, "researcher")
    run = db.get(ExplorerRun, run_id)
    if run is None or run.user_id != who.user.id:
        raise HTTPException(404, "no such run")
    charts = []
    if run.status == "done" and run.result:
        for measure, arms in run.result.items():
            traces = []
            for arm, c in arms.items():
                traces.append(
                    {"x": c["day"], "y": c["mean"], "mode": "lines+markers", "name": f"{arm} (mean)"}
                )
                traces.append(
                    {
                        "x": c["day"],
                        "y": c["p10"],
                        "mode": "lines",
                        "line": {"dash": "dot", "width": 1},
                        "name": f"{arm} 10th %",
                    }
                )
                traces.append(
                    {
                        "x": c["day"],
                        "y": c["p90"],
                        "mode": "lines",
                        "line": {"dash": "dot", "width": 1},
                        "name": f"{arm} 90th %",
                    }
                )
            charts.append(
                Chart(
                    f"curve-{measure}",
                    traces,
                    {
                        "title": {"text": measure},
                        "xaxis": {"title": {"text": "day"}},
                        "height": 360,
                        "margin": {"t": 40},
                    },
                )
            )
    fragment = bool(request.headers.get("hx-request"))
    response = render(request, "explore_run.html", who, run=run, charts=charts, fragment=fragment)
    if fragment and run.status in ("done", "failed"):
        response.headers["HX-Refresh"] = "true"
    return response
