"""`neurorehab fit | forecast | recommend | train-estimator`: one real patient.

Every command reads a patient's history (CSV or FHIR), fits the model's amortised estimator
to its first weeks, and (forecast, recommend) simulates the candidate plans for the posterior
draws. The model is the one whose instruments the history names (or --model).
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neurorehab.cli.common import UserError, _plain_errors, compilation_cache, err_console, out_console

ModelOpt = Annotated[
    str | None, typer.Option(help="model (default: the one whose instruments the history names)")
]
PatientOpt = Annotated[str | None, typer.Option(help="patient id, when the file holds several")]
OnsetOpt = Annotated[
    str | None, typer.Option(help="onset date YYYY-MM-DD, when the file gives dates without one")
]
EstimatorOpt = Annotated[
    Path | None, typer.Option(help="a trained estimator's folder (default: the model's own)")
]
SeedOpt = Annotated[int, typer.Option(help="random seed of the posterior draws and forecasts")]
OutOpt = Annotated[Path | None, typer.Option(help="folder for the outputs (default: print only)")]


def _load(history: Path, model: str | None, patient: str | None, onset: str | None) -> tuple[Any, Any]:
    from neurorehab.io.history import HistoryError, read_history
    from neurorehab.models import registry

    when = None
    if onset is not None:
        try:
            when = date.fromisoformat(onset)
        except ValueError:
            raise UserError(f"--onset {onset!r} is not a date: give YYYY-MM-DD") from None
    if model is not None:
        try:
            info = registry.get(model)
        except KeyError:
            raise UserError(f"no model {model!r}; see `neurorehab list models`") from None
        if info.fit is None:
            fitted = ", ".join(n for n, i in registry.models().items() if i.fit is not None)
            raise UserError(f"model {model!r} cannot be fitted to a patient; models that can: {fitted}")
        return info, read_history(history, info.fit.instruments, patient=patient, onset=when)
    candidates = [i for i in registry.models().values() if i.fit is not None]
    errors: list[Any] = []
    for info in candidates:
        assert info.fit is not None
        try:
            return info, read_history(history, info.fit.instruments, patient=patient, onset=when)
        except HistoryError as err:
            errors.append((info.name, err))
    if len(errors) == 1:
        raise errors[0][1]
    lines = [f"model {name}: {err.lines[0]}" for name, err in errors]
    raise UserError(f"{history}: no model reads this history; " + "; ".join(lines))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _fit(
    history: Path,
    model: str | None,
    patient: str | None,
    onset: str | None,
    estimator: Path | None,
    draws: int,
    seed: int,
) -> tuple[Any, Any, Any]:
    from neurorehab.runners.estimator import load_estimator
    from neurorehab.runners.patient import fit_history

    info, hist = _load(history, model, patient, onset)
    compilation_cache()
    est = load_estimator(info, estimator)
    post = fit_history(info, hist, estimator=est, draws=draws, seed=seed)
    if post.stale:
        err_console.print(
            f"[yellow]warning:[/] the estimator was trained on another version of model {info.name}: "
            f"retrain it with `neurorehab train-estimator {info.name}`"
        )
    err_console.print(
        f"{hist.patient}: {post.record.used} assessments in the first {info.fit.window_days} days "
        f"read, {len(post.record.later)} later; fitted in {post.seconds:.1f} s"
    )
    for note in (*hist.notes, *post.record.notes):
        err_console.print(f"  note: {escape(note)}")
    return info, hist, (post, est)


def _posterior_table(post: Any) -> Table:
    t = Table(title="posterior (90 % interval)")
    for c in ("quantity", "median", "5 %", "95 %"):
        t.add_column(c)
    for r in post.summary():
        t.add_row(r["parameter"], f"{r['median']:.4g}", f"{r['low']:.4g}", f"{r['high']:.4g}")
    return t


def _write(out: Path, name: str, text: str) -> Path:
    from neurorehab.io.atomic import write_text_atomic

    write_text_atomic(out / name, text)
    return out / name


def fit(
    history: Annotated[Path, typer.Argument(help="the patient's history: CSV or FHIR JSON")],
    model: ModelOpt = None,
    patient: PatientOpt = None,
    onset: OnsetOpt = None,
    estimator: EstimatorOpt = None,
    draws: Annotated[int, typer.Option(min=10, max=100_000, help="posterior draws")] = 1000,
    seed: SeedOpt = 0,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="also fit by MCMC (NUTS on the reduced likelihood; about a minute) and compare",
        ),
    ] = False,
    out: OutOpt = None,
) -> None:
    """Fit one patient: a posterior over the model's fitted quantities from the first weeks.

    Examples:

      neurorehab fit examples/stroke-patient.csv

      neurorehab fit examples/stroke-patient.csv --check

      neurorehab fit history.json --patient P-042 --out fits/P-042
    """
    with _plain_errors():
        _info, _hist, (post, _est) = _fit(history, model, patient, onset, estimator, draws, seed)
        out_console.print(_posterior_table(post))
        ref = _check(_info, _hist, post, estimator, seed) if check else None
        if out is not None:
            rows = ["draw," + ",".join(post.names)] + [
                f"{i}," + ",".join(f"{v:.6g}" for v in row) for i, row in enumerate(post.draws)
            ]
            _write(out, "posterior.csv", "\n".join(rows) + "\n")
            doc = {
                "patient": _hist.patient,
                "summary": post.summary(),
                "estimator": post.estimator,
                "stale": post.stale,
                "seed": seed,
                "seconds": post.seconds,
            }
            if ref is not None:
                doc["reference"] = ref
            out_console.print(
                str(_write(out, "fit.json", json.dumps(doc, indent=1, default=str))), soft_wrap=True
            )


def _check(info: Any, hist: Any, post: Any, estimator: Path | None, seed: int) -> dict[str, Any]:
    """The reference fit beside the estimator's: a table and its summary for fit.json."""
    from neurorehab.fitting.reference import agreement
    from neurorehab.runners.estimator import load_emulator
    from neurorehab.runners.patient import reference_fit

    emu = load_emulator(info, estimator)
    with _progress() as bar:
        bar.add_task("reference fit (NUTS, 4 chains)", total=None)
        ref = reference_fit(info, hist, emulator=emu, seed=seed)
    agree = agreement(post.names, post.draws, ref.flat)
    t = Table(title="reference fit: NUTS on the reduced likelihood (90 % interval)")
    for c in ("quantity", "median", "5 %", "95 %", "R-hat", "ESS", "shift", "width"):
        t.add_column(c, no_wrap=c == "quantity")
    q = np.quantile(ref.flat, [0.05, 0.5, 0.95], axis=0)
    rows = []
    for i, n in enumerate(ref.names):
        t.add_row(
            n,
            f"{q[1, i]:.4g}",
            f"{q[0, i]:.4g}",
            f"{q[2, i]:.4g}",
            f"{ref.rhat[i]:.3f}",
            f"{ref.ess[i]:.0f}",
            f"{agree.shift[i]:.2f}",
            f"{agree.width[i]:.2f}",
        )
        rows.append(
            {
                "parameter": n,
                "median": float(q[1, i]),
                "low": float(q[0, i]),
                "high": float(q[2, i]),
                "rhat": float(ref.rhat[i]),
                "ess": float(ref.ess[i]),
                "shift": float(agree.shift[i]),
                "width": float(agree.width[i]),
            }
        )
    out_console.print(t)
    verdict = (
        "converged"
        if ref.converged
        else "[yellow]not converged[/] (R-hat >= 1.01, ESS < 400 or divergent transitions)"
    )
    err_console.print(
        f"NUTS {ref.draws.shape[0]} chains x {ref.draws.shape[1]} draws in {ref.seconds:.1f} s, "
        f"{ref.divergences} divergent transitions: {verdict}. shift: distance between the medians in "
        "widths of the estimator's 90 % interval; width: the reference's interval over the estimator's."
    )
    return {
        "summary": rows,
        "divergences": ref.divergences,
        "converged": ref.converged,
        "seconds": ref.seconds,
        "emulator": emu.meta,
    }


def _forecasts(info: Any, post: Any, plans: list[str] | None, draws: int, seed: int) -> dict[str, Any]:
    from neurorehab.runners.patient import forecast

    with _progress() as bar:
        task = bar.add_task("forecasting plans", total=len(plans or info.fit.plans))
        return forecast(
            info,
            post,
            plans,
            draws=draws,
            seed=seed,
            progress=lambda _s, d, _n: bar.update(task, completed=d),
        )


def _export(out: Path, info: Any, hist: Any, fcs: dict[str, Any], milestone: float) -> list[Path]:
    """forecast.csv and forecast.fhir.json (RiskAssessments for `milestone`) in `out`."""
    from neurorehab.io.forecasts import forecast_csv, risk_assessments

    spec = info.fit
    fhir = risk_assessments(
        fcs,
        patient=hist.patient,
        model=info.name,
        primary=spec.primary,
        milestone=milestone,
        horizon=spec.horizon_days,
        onset=hist.onset,
        higher_is_better=spec.instruments[spec.primary].higher_is_better,
    )
    return [_write(out, "forecast.csv", forecast_csv(fcs)), _write(out, "forecast.fhir.json", fhir)]


def _plans(text: str | None, info: Any) -> list[str] | None:
    if text is None:
        return None
    plans = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in plans if p not in info.fit.plans]
    if bad:
        raise UserError(
            f"--plans: no plan {', '.join(bad)} for model {info.name}; plans: {', '.join(info.fit.plans)}"
        )
    return plans


def forecast(
    history: Annotated[Path, typer.Argument(help="the patient's history: CSV or FHIR JSON")],
    plans: Annotated[
        str | None, typer.Option(help="comma-separated plans (default: the model's library)")
    ] = None,
    model: ModelOpt = None,
    patient: PatientOpt = None,
    onset: OnsetOpt = None,
    estimator: EstimatorOpt = None,
    draws: Annotated[int, typer.Option(min=8, max=4096, help="posterior draws simulated per plan")] = 128,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Forecast each candidate plan: scores with 90 % intervals, and the milestone probability.

    Writes forecast.csv and forecast.fhir.json (FHIR R4 RiskAssessments) with --out.

    Examples:

      neurorehab forecast examples/stroke-patient.csv --plans usual-care,cimt

      neurorehab forecast history.csv --out forecasts/P-042
    """
    with _plain_errors():
        info, hist, (post, _est) = _fit(history, model, patient, onset, estimator, 1000, seed)
        fcs = _forecasts(info, post, _plans(plans, info), draws, seed)
        spec = info.fit
        ins = spec.instruments[spec.primary]
        t = Table(title=f"{spec.primary}-like on day {spec.horizon_days} after onset")
        relation = ">=" if ins.higher_is_better else "<="  # the healthy side of the milestone
        reach = f"P({relation} {spec.milestone:g} by day {spec.horizon_days})"
        for c in ("plan", "median", "90 % interval", reach):
            t.add_column(c)
        for plan, f in fcs.items():
            col = int(abs(f.days - spec.horizon_days).argmin())
            x = f.recorded[spec.primary][:, col]
            t.add_row(
                plan,
                f"{np.median(x):.1f}",
                f"{np.quantile(x, 0.05):.1f}-{np.quantile(x, 0.95):.1f}",
                f"{f.reach(spec.primary, spec.milestone, spec.horizon_days, ins.higher_is_better):.2f}",
            )
        out_console.print(t)
        if out is not None:
            for path in _export(out, info, hist, fcs, spec.milestone):
                out_console.print(str(path), soft_wrap=True)


def recommend(
    history: Annotated[Path, typer.Argument(help="the patient's history: CSV or FHIR JSON")],
    minutes_per_week: Annotated[float | None, typer.Option(min=0, help="most therapy minutes a week")] = None,
    sessions_per_week: Annotated[int | None, typer.Option(min=0, max=49, help="most sessions a week")] = None,
    pain_limit: Annotated[
        float | None, typer.Option(min=0, max=10, help="most pain accepted (NRS 0-10)")
    ] = None,
    fatigue_limit: Annotated[
        float | None, typer.Option(min=0, max=1, help="most fatigue accepted (0-1)")
    ] = None,
    objective: Annotated[
        str, typer.Option(help="outcome (expected score) or milestone (its probability)")
    ] = "outcome",
    milestone: Annotated[float | None, typer.Option(help="milestone score (default: the model's)")] = None,
    model: ModelOpt = None,
    patient: PatientOpt = None,
    onset: OnsetOpt = None,
    estimator: EstimatorOpt = None,
    draws: Annotated[int, typer.Option(min=8, max=4096, help="posterior draws simulated per plan")] = 128,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Recommend the plan with the best forecast within the patient's limits, with reasons.

    With --out, writes recommendation.json, forecast.csv, forecast.fhir.json and patient.html.

    Examples:

      neurorehab recommend examples/stroke-patient.csv --minutes-per-week 100

      neurorehab recommend history.csv --objective milestone --milestone 45 --out plans/P-042
    """
    from neurorehab.runners.recommend import Limits
    from neurorehab.runners.recommend import recommend as choose

    with _plain_errors():
        if objective not in ("outcome", "milestone"):
            raise UserError(f"--objective {objective!r}: use outcome or milestone")
        info, hist, (post, _est) = _fit(history, model, patient, onset, estimator, 1000, seed)
        fcs = _forecasts(info, post, None, draws, seed)
        rec = choose(
            info,
            fcs,
            Limits(minutes_per_week, sessions_per_week, pain_limit, fatigue_limit),
            objective=objective,
            milestone=milestone,
        )
        out_console.print(f"[bold]recommended:[/] {rec.plan or 'none within the limits'}")
        for r in rec.reasons:
            out_console.print(f"  - {escape(r)}")
        if out is not None:
            from neurorehab.viz.patient import build_patient_report

            spec = info.fit
            doc = {
                "patient": hist.patient,
                "model": info.name,
                "plan": rec.plan,
                "objective": rec.objective,
                "day": rec.day,
                "milestone": rec.milestone,
                "reasons": rec.reasons,
                "options": [o.__dict__ for o in rec.options],
                "seed": seed,
                "draws": draws,
                "estimator": post.estimator,
                "stale": post.stale,
                "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            _write(out, "recommendation.json", json.dumps(doc, indent=1, default=str))
            _export(out, info, hist, fcs, rec.milestone)
            page = build_patient_report(
                out / "patient.html",
                model=info.name,
                history=hist,
                posterior=post,
                forecasts=fcs,
                recommendation=rec,
                primary=spec.primary,
                window=spec.window_days,
            )
            out_console.print(str(page), soft_wrap=True)


def train_estimator(
    model: Annotated[
        str, typer.Argument(help="a model that declares a fit (e.g. see `neurorehab list models`)")
    ],
    simulations: Annotated[
        int, typer.Option(min=256, max=1_000_000, help="prior patients simulated")
    ] = 16384,
    reference: Annotated[
        int, typer.Option(min=0, max=100_000, help="reference cohort for the mixture baseline")
    ] = 2048,
    epochs: Annotated[int, typer.Option(min=1, max=5000, help="most training epochs")] = 300,
    seed: SeedOpt = 0,
    out: Annotated[Path | None, typer.Option(help="folder (default: the model's own estimator/)")] = None,
    emulator_only: Annotated[
        bool,
        typer.Option(
            "--emulator-only",
            help="add the reference fit's emulator to the estimator already in the folder",
        ),
    ] = False,
) -> None:
    """Train a model's amortised posterior estimator (minutes; done once per model version),
    with the emulator that `neurorehab fit --check` uses.

    Examples:

      neurorehab train-estimator MODEL --out my-estimator

      neurorehab train-estimator motor --emulator-only
    """
    from neurorehab.fitting.npe import Training
    from neurorehab.models import registry
    from neurorehab.runners.estimator import estimator_folder, load_estimator, save_estimator, train_emulator
    from neurorehab.runners.estimator import train_estimator as train

    with _plain_errors():
        try:
            info = registry.get(model)
        except KeyError:
            raise UserError(f"no model {model!r}; see `neurorehab list models`") from None
        if info.fit is None:
            raise UserError(f"model {model!r} declares no fit: it cannot be fitted to a patient")
        where = out or estimator_folder(info)
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            if emulator_only:
                est = load_estimator(info, where)
                added = train_emulator(info, est, progress=tick)
                save_estimator(None, where, added)
                err_console.print(f"emulator trained in {added.meta['train_s']} s")
                out_console.print(str(where), soft_wrap=True)
                return
            est, emu = train(
                info,
                simulations=simulations,
                reference=reference,
                seed=seed,
                training=Training(epochs=epochs),
                progress=tick,
            )
        save_estimator(est, where, emu)
        m = est.meta
        err_console.print(
            f"simulated {m['simulations']} in {m['simulate_s']} s, trained {m['epochs']} epochs in "
            f"{m['train_s']} s, reference cohort in {m['reference_s']} s"
        )
        out_console.print(str(where), soft_wrap=True)
