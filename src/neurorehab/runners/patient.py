"""One patient: fit a history, forecast candidate plans.

- `fit_history`: one patient's record in the window -> posterior draws of the fitted
  parameters (milliseconds), with the estimator's provenance (stale when the model changed).
- `reference_fit`: the same record fitted another way, by NUTS on the reduced likelihood
  (`fitting.reference`; seconds to a minute), to check the estimator's posterior.
- `forecast`: each plan, for the same posterior draws and random keys (common random numbers:
  differences between plans are paired), from onset to the horizon: noise-free scores (for
  milestones), recorded-like scores (noise added: intervals for future assessments), peak
  pain and fatigue; the window's part is the posterior predictive check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from neurorehab.fitting import npe, reference
from neurorehab.fitting.observe import add_noise
from neurorehab.io.history import History
from neurorehab.models.registry import ModelInfo
from neurorehab.runners.estimator import fingerprint, load_emulator, load_estimator
from neurorehab.runners.fit_sims import (
    PatientError,
    fit_spec,
    forecast_days,
    forecast_lanes,
    grid_of,
    plan_scenarios,
    run_draws,
)


@dataclass
class Record:
    """A history as the estimator reads it: `values` [instruments, grid days] (NaN: not
    assessed), the assessments after the window (`later`: instrument, day, score), and notes
    on what was merged or left out."""

    values: np.ndarray
    later: list[tuple[str, float, float]]
    notes: list[str] = field(default_factory=list)

    @property
    def used(self) -> int:
        return int(np.isfinite(self.values).sum())


def record_of(info: ModelInfo, history: History) -> Record:
    """Snap the window's assessments to the grid (two on one grid day are averaged)."""
    fit = fit_spec(info)
    grid = grid_of(fit)
    sums = np.zeros(grid.shape)
    counts = np.zeros(grid.shape)
    later, notes = [], []
    for a in history.assessments:
        i = grid.instruments.index(a.instrument)
        if a.day > fit.window_days + 0.5:
            later.append((a.instrument, a.day, a.score))
            continue
        j = grid.snap(i, a.day)
        if j is None:
            notes.append(f"{a.where}: day {a.day:g} lies before onset; left out")
            continue
        sums[i, j] += a.score
        counts[i, j] += 1
    merged = int((counts > 1).sum())
    if merged:
        notes.append(f"{merged} grid days held two or more assessments of one instrument: averaged")
    values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return Record(values, sorted(later, key=lambda r: (r[1], r[0])), notes)


@dataclass
class Posterior:
    """Draws [n, parameters] of the fitted quantities `names`, for one patient."""

    names: tuple[str, ...]
    draws: np.ndarray
    record: Record
    estimator: dict[str, Any]
    stale: bool
    seconds: float

    def summary(self, level: float = 0.9) -> list[dict[str, float | str]]:
        a = (1 - level) / 2
        return [
            {
                "parameter": n,
                "median": float(np.median(d)),
                "low": float(np.quantile(d, a)),
                "high": float(np.quantile(d, 1 - a)),
            }
            for n, d in zip(self.names, self.draws.T, strict=True)
        ]


def fit_history(
    info: ModelInfo,
    history: History,
    *,
    estimator: npe.Estimator | None = None,
    draws: int = 1000,
    seed: int = 0,
) -> Posterior:
    """Posterior draws of the model's fitted quantities given the history's window."""
    t = time.perf_counter()
    est = estimator or load_estimator(info)
    record = record_of(info, history)
    if tuple(est.grid.instruments) != tuple(fit_spec(info).instruments):
        raise PatientError("the estimator's instruments differ from the model's fit declaration: retrain it")
    out = np.asarray(est.sample(jax.random.key(seed), record.values[None], draws))[0]
    meta = {k: v for k, v in est.meta.items() if k != "losses"}
    stale = meta.get("fingerprint") != fingerprint(info)
    return Posterior(est.names, out, record, meta, stale, time.perf_counter() - t)


def reference_fit(
    info: ModelInfo,
    history: History,
    *,
    emulator: reference.Emulator | None = None,
    chains: int = 4,
    warmup: int = 500,
    samples: int = 1000,
    seed: int = 0,
) -> reference.Reference:
    """NUTS on the reduced likelihood of the history's window, from the fit's prior."""
    emu = emulator or load_emulator(info)
    fit = fit_spec(info)
    if tuple(emu.grid.instruments) != tuple(fit.instruments):
        raise PatientError("the emulator's instruments differ from the model's fit declaration: retrain it")
    record = record_of(info, history)
    return reference.sample(
        emu,
        fit.prior,
        record.values,
        key=jax.random.key(seed),
        chains=chains,
        warmup=warmup,
        samples=samples,
    )


@dataclass
class Forecast:
    """One plan's forecast from the posterior draws: `days` since onset; per instrument,
    noise-free scores `clean` and recorded-like ones `recorded` [draws, days]; peak pain and
    fatigue per draw; draws whose simulation failed (`failed`) are left out of everything."""

    plan: str
    days: np.ndarray
    clean: dict[str, np.ndarray]
    recorded: dict[str, np.ndarray]
    peak_pain: np.ndarray
    peak_fatigue: np.ndarray
    failed: int

    def band(self, instrument: str, level: float = 0.9, clean: bool = False) -> dict[str, np.ndarray]:
        x = (self.clean if clean else self.recorded)[instrument]
        a = (1 - level) / 2
        return {"median": np.median(x, 0), "low": np.quantile(x, a, 0), "high": np.quantile(x, 1 - a, 0)}

    def reach(self, instrument: str, target: float, by_day: float, higher_is_better: bool = True) -> float:
        """Probability that the noise-free score reaches `target` on or before `by_day`."""
        x = self.clean[instrument][:, self.days <= by_day]
        hit = (x >= target) if higher_is_better else (x <= target)
        return float(hit.any(axis=1).mean()) if x.size else 0.0


def forecast(
    info: ModelInfo,
    posterior: Posterior,
    plans: list[str] | None = None,
    *,
    draws: int = 64,
    seed: int = 0,
    days: list[int] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Forecast]:
    """Each plan (default: the whole library) for the first `draws` posterior draws, in lanes
    of `forecast_lanes(draws)` (a small batch is not padded to the model's wide lane)."""
    fit = fit_spec(info)
    plans = list(fit.plans) if plans is None else plans
    for p in plans:
        if p not in fit.plans:
            raise PatientError(f"no plan {p!r} for model {info.name}; plans: {', '.join(fit.plans)}")
    days = days or forecast_days(fit)
    n = min(draws, posterior.draws.shape[0])
    fitted = {k: posterior.draws[:n, j] for j, k in enumerate(posterior.names)}
    grid = grid_of(fit)
    root = jax.random.key(seed)
    keys = jax.random.split(jax.random.fold_in(root, 1), n)  # the same keys for every plan
    runs = run_draws(
        info,
        plan_scenarios(info, plans, n, seed, days),
        fitted,
        keys,
        forecast_lanes(n),
        progress,
        records=posterior.record.values,
        choice_key=jax.random.fold_in(root, 3),
    )
    out = {}
    for plan in plans:
        clean, run_days, ok, pain, fatigue = runs[plan]
        clean = clean[ok]
        recorded = np.asarray(add_noise(grid, jax.random.fold_in(root, 2), clean, instrument_axis=1))
        out[plan] = Forecast(
            plan,
            run_days,
            {i: clean[:, j] for j, i in enumerate(grid.instruments)},
            {i: recorded[:, j] for j, i in enumerate(grid.instruments)},
            pain[ok],
            fatigue[ok],
            int((~ok).sum()),
        )
    return out
