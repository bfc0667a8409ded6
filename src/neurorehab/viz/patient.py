"""`patient.html`: one patient's page: history, fit, forecasts per plan, recommendation.

Self-contained (inline CSS, figures as data URIs), opens offline. Scores are the model's
"-like" scores; the page says so, and says when the estimator is stale.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from neurorehab.io.atomic import write_text_atomic
from neurorehab.viz.report import CSS, _img, _table


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def forecast_figure(
    history: Any, forecasts: dict[str, Any], instrument: str, window: int, best: str | None
) -> bytes:
    """The instrument's assessments and each plan's median forecast; the 50 % and 90 %
    predictive bands of the recommended plan (or the first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    shown = best if best in forecasts else next(iter(forecasts))
    f = forecasts[shown]
    x = f.recorded[instrument]
    for lo, hi, alpha in ((0.05, 0.95, 0.15), (0.25, 0.75, 0.3)):
        ax.fill_between(f.days, np.quantile(x, lo, 0), np.quantile(x, hi, 0), color="C0", alpha=alpha, lw=0)
    for k, (plan, g) in enumerate(forecasts.items()):
        ax.plot(
            g.days,
            np.median(g.recorded[instrument], 0),
            color=f"C{k}",
            lw=2.2 if plan == shown else 1.2,
            label=plan + (" (bands)" if plan == shown else ""),
        )
    pts = [(a.day, a.score) for a in history.assessments if a.instrument == instrument]
    if pts:
        d, s = zip(*pts, strict=True)
        ax.plot(d, s, "ko", ms=5, label="assessments")
    ax.axvline(window, color="#999", ls=":", lw=1)
    ax.set_xlabel("days since onset")
    ax.set_ylabel(f"{instrument}-like score")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(
        f"{instrument}: history and forecast per plan (dotted: end of the fitting window)", fontsize=10
    )
    return _png(fig)


def posterior_figure(names: tuple[str, ...], draws: np.ndarray) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.4))
    for ax, name, d in zip(np.atleast_1d(axes), names, draws.T, strict=True):
        ax.hist(d, bins=30, color="C0", alpha=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_yticks([])
    fig.suptitle("posterior of the fitted quantities", fontsize=10)
    return _png(fig)


def build_patient_report(
    out: Path,
    *,
    model: str,
    history: Any,
    posterior: Any,
    forecasts: dict[str, Any],
    recommendation: Any,
    primary: str,
    window: int,
) -> Path:
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>neurorehab: {e(history.patient)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Patient {e(history.patient)}</h1>",
        f"<p class='muted'>Model {e(model)}. Scores are the model's simulated '-like' scores, not the "
        "real instruments. Forecasts are simulations of the model for draws of this patient's fitted "
        "parameters.</p>",
    ]
    if posterior.stale:
        parts.append(
            "<p><b>Warning:</b> the estimator was trained on another version of the model; retrain it "
            f"(<code>neurorehab train-estimator {e(model)}</code>).</p>"
        )
    parts.append("<h2>History</h2>")
    rows = "".join(
        f"<tr><td>{a.day:g}</td><td>{e(a.instrument)}</td><td>{a.score:g}</td><td>{e(a.where)}</td></tr>"
        for a in history.assessments
    )
    parts.append(
        "<table><tr><th>day since onset</th><th>instrument</th><th>score</th><th>from</th></tr>"
        f"{rows}</table>"
    )
    if history.sessions:
        parts.append(
            f"<p>{len(history.sessions)} session logs read (shown for the record; the fit assumes the "
            "model's usual care in the window).</p>"
        )
    notes = [*history.notes, *posterior.record.notes]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Fit</h2>")
    parts.append(
        f"<p>{posterior.record.used} assessments in the first {window} days were read; "
        f"{len(posterior.record.later)} later ones are compared with the forecast below.</p>"
    )
    srows = "".join(
        f"<tr><td>{e(r['parameter'])}</td><td>{r['median']:.4g}</td><td>{r['low']:.4g}</td>"
        f"<td>{r['high']:.4g}</td></tr>"
        for r in posterior.summary()
    )
    parts.append(f"<table><tr><th>quantity</th><th>median</th><th>5 %</th><th>95 %</th></tr>{srows}</table>")
    parts.append(_img(posterior_figure(posterior.names, posterior.draws), "posterior"))
    parts.append("<h2>Forecasts</h2>")
    parts.append(_img(forecast_figure(history, forecasts, primary, window, recommendation.plan), "forecast"))
    if posterior.record.later:
        f = forecasts.get(recommendation.plan or "", next(iter(forecasts.values())))
        checks = []
        for ins, day, score in posterior.record.later:
            if ins not in f.recorded:
                continue
            col = int(np.argmin(np.abs(f.days - day)))
            lo, hi = np.quantile(f.recorded[ins][:, col], [0.05, 0.95])
            checks.append(
                (
                    f"{ins} day {day:g}",
                    f"{score:g}: {'inside' if lo <= score <= hi else 'OUTSIDE'} "
                    f"the 90 % interval {lo:.1f}-{hi:.1f} of plan {f.plan}",
                )
            )
        parts.append("<p>Later assessments against the forecast:</p>" + _table(checks))
    parts.append("<h2>Recommendation</h2>")
    parts.append(
        f"<p><b>{e(recommendation.plan or 'none')}</b> (objective: {e(recommendation.objective)}, "
        f"day {recommendation.day})</p>"
    )
    parts.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in recommendation.reasons) + "</ul>")
    orows = "".join(
        f"<tr><td>{e(o.plan)}</td><td>{o.expected:.1f}</td><td>{o.low:.1f}-{o.high:.1f}</td><td>{o.milestone:.2f}</td>"
        f"<td>{o.minutes_per_week:.0f}</td><td>{o.sessions_per_week}</td><td>{o.pain:.1f}</td><td>{o.fatigue:.2f}</td>"
        f"<td>{'yes' if o.within else e('; '.join(o.why_not))}</td></tr>"
        for o in recommendation.options
    )
    parts.append(
        "<table><tr><th>plan</th><th>expected</th><th>90 %</th><th>P(milestone)</th><th>min/week</th>"
        "<th>sessions/week</th><th>peak pain</th><th>peak fatigue</th><th>within limits</th></tr>"
        f"{orows}</table>"
    )
    parts.append("</body></html>")
    write_text_atomic(out, "\n".join(parts))
    return out
