"""Does the fit work? Held-out synthetic patients, drawn from the model, against the truth.

For `patients` drawn from the fit's prior with a seed the estimator never saw, simulated under
usual care (the plan library's first plan) to the horizon:
- parameters: simulation-based calibration ranks of the truth among posterior draws, and the
  share of truths inside the 90 % posterior interval (`fitting.calibration`);
- forecasts: for the first `forecast_patients`, 19 posterior draws each, simulated under the
  same plan; the share of the patient's later recorded-like assessments inside the interval
  from the smallest to the largest of the 19 predictive draws, which holds a new exchangeable
  value with probability 18 / 20 = 90 % exactly when the forecast is calibrated. Scores clipped
  at an instrument's end tie with draws there; ties are broken at random (the randomised
  probability integral transform, Czado et al. 2009), else a point mass at the ceiling would
  count as inside every time;
- accuracy: the absolute error of the median forecast of the primary score at the horizon,
  against the proportional recovery rule and the mixture of recovery curves (from the same
  early scores).
Records come in two patterns: "clinic", the primary instrument at the middle and the end of
the window (for a 14-day window, days 7 and 14: the fitting issue's weeks 1-2), and "random", the training's
own pattern (each instrument's days kept at a random share). `depart` sets model parameters of
the truth apart from the fit's declaration: a documented misspecification, whose cost the
result shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neurorehab.fitting import calibration, npe
from neurorehab.fitting.baselines import proportional_rule
from neurorehab.fitting.observe import add_noise, observe
from neurorehab.models.registry import ModelInfo
from neurorehab.runners.estimator import mixture_of
from neurorehab.runners.fit_sims import (
    fit_spec,
    forecast_days,
    grid_of,
    plan_scenarios,
    run_draws,
    simulate_prior,
)

FORECAST_DRAWS = 19  # [min, max] of 19 exchangeable draws holds a 20th with probability 18/20


@dataclass
class Validation:
    patients: int
    pattern: str
    names: tuple[str, ...]
    sbc_p: np.ndarray  # chi-square p of rank uniformity, per parameter
    sbc_counts: np.ndarray  # [bins, parameters]
    coverage: np.ndarray  # share of truths in the 90 % posterior interval, per parameter
    forecast_coverage: float  # share of later assessments inside the 90 % predictive interval
    forecast_points: int
    forecast_by_instrument: dict[str, float]
    mae: dict[str, float]  # primary score at the horizon: model, proportional rule, mixture
    seconds: dict[str, float] = field(default_factory=dict)
    depart: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"{self.patients} held-out patients, records '{self.pattern}'"
            + (f", truth departing: {self.depart}" if self.depart else "")
        ]
        for n, p, c in zip(self.names, self.sbc_p, self.coverage, strict=True):
            out.append(f"  {n}: 90 % interval holds the truth {c:.1%}; SBC rank uniformity p = {p:.3f}")
        by = ", ".join(f"{k} {v:.1%}" for k, v in self.forecast_by_instrument.items())
        out.append(
            f"  forecast: 90 % intervals hold {self.forecast_coverage:.1%} of {self.forecast_points} "
            f"later assessments ({by})"
        )
        out.append(
            "  median absolute error at the horizon: "
            + ", ".join(f"{k} {v:.2f}" for k, v in self.mae.items())
        )
        return out


def records(info: ModelInfo, key: Any, clean: np.ndarray, days: np.ndarray, pattern: str) -> np.ndarray:
    """What a clinic would hold of noise-free window scores: [n, instruments, grid days]."""
    fit = fit_spec(info)
    grid = grid_of(fit)
    window = clean[:, :, np.searchsorted(days, grid.days)]
    if pattern == "random":
        return np.asarray(observe(grid, key, jnp.asarray(window)))
    if pattern != "clinic":
        raise ValueError(f"pattern {pattern!r}: use clinic or random")
    noisy = np.asarray(add_noise(grid, key, jnp.asarray(window), instrument_axis=1))
    keep = np.zeros(grid.shape, bool)
    middle = int(np.argmin(np.abs(np.asarray(grid.days) - fit.window_days / 2)))
    keep[grid.instruments.index(fit.primary), [middle, len(grid.days) - 1]] = True
    return np.where(keep[None], noisy, np.nan)


def validate(
    info: ModelInfo,
    est: npe.Estimator,
    *,
    patients: int = 200,
    seed: int = 2026,
    pattern: str = "clinic",
    sbc_draws: int = 99,
    interval_draws: int = 1000,
    forecast_patients: int = 200,
    depart: dict[str, float] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Validation:
    fit = fit_spec(info)
    grid = grid_of(fit)
    plan = next(iter(fit.plans))
    days = forecast_days(fit)
    t0 = time.perf_counter()
    truth = simulate_prior(
        info, patients, seed=seed, plan=plan, until=fit.horizon_days, days=days, depart=depart
    )
    ok = np.isfinite(truth.clean).all(axis=(1, 2))
    theta, clean = truth.theta[ok], truth.clean[ok]
    n = len(theta)
    root = jax.random.key(seed)
    rec = records(info, jax.random.fold_in(root, 1), clean, truth.days, pattern)
    later_recorded = np.asarray(
        add_noise(grid, jax.random.fold_in(root, 2), jnp.asarray(clean), instrument_axis=1)
    )
    t1 = time.perf_counter()
    draws = np.asarray(est.sample(jax.random.fold_in(root, 3), rec, interval_draws))
    r = calibration.ranks(draws[:, :sbc_draws], theta)
    uni = calibration.rank_uniformity(r, sbc_draws, bins=10)
    cover = calibration.coverage(draws, theta, 0.9)
    t2 = time.perf_counter()
    # forecasts: the first `forecast_patients`, 19 draws each, in one batch
    m = min(n, forecast_patients)
    fitted = {k: draws[:m, :FORECAST_DRAWS, j].reshape(-1) for j, k in enumerate(est.names)}
    keys = jax.random.split(jax.random.fold_in(root, 4), m * FORECAST_DRAWS)
    scenarios = plan_scenarios(info, [plan], m * FORECAST_DRAWS, seed, days)
    pred, pred_days, pred_ok, _, _ = run_draws(
        info,
        scenarios,
        fitted,
        keys,
        records=np.repeat(rec[:m], FORECAST_DRAWS, axis=0),
        choice_key=jax.random.fold_in(root, 7),
    )[plan]
    pred = pred.reshape(m, FORECAST_DRAWS, *pred.shape[1:])
    pred_ok = pred_ok.reshape(m, FORECAST_DRAWS)
    predictive = np.asarray(
        add_noise(grid, jax.random.fold_in(root, 5), jnp.asarray(pred), instrument_axis=2)
    )
    predictive = np.where(pred_ok[:, :, None, None], predictive, np.nan)
    target = later_recorded[:m][:, :, np.searchsorted(truth.days, pred_days)]  # [m, instruments, days]
    valid = pred_ok.sum(axis=1)[:, None, None]
    below = (predictive < target[:, None]).sum(axis=1)
    ties = (predictive == target[:, None]).sum(axis=1)
    u = np.asarray(jax.random.uniform(jax.random.fold_in(root, 6), below.shape))
    rank = below + np.floor(u * (ties + 1))  # randomised: 0..valid
    inside = ((rank >= 1) & (rank <= valid - 1))[:, :, pred_days > fit.window_days]
    t3 = time.perf_counter()
    j = grid.instruments.index(fit.primary)
    ins = fit.instruments[fit.primary]
    end = int(np.argmin(np.abs(pred_days - fit.horizon_days)))
    outcome = target[:, j, end]
    early = rec[:m, j]
    last = np.array([row[np.isfinite(row)][-1] if np.isfinite(row).any() else np.nan for row in early])
    best = ins.high if ins.higher_is_better else ins.low
    guesses = {
        "model": np.nanmedian(pred[:, :, j, end], axis=1),
        "proportional rule": proportional_rule(last, best, ins.higher_is_better),
    }
    mix = mixture_of(est)
    if mix is not None:
        guesses["mixture"] = mix.predict(np.asarray(grid.days), early, np.array([fit.horizon_days]))[:, 0]
    mae = {k: float(np.nanmedian(np.abs(v - outcome))) for k, v in guesses.items()}
    if progress:
        progress("validating", 1, 1)
    return Validation(
        n,
        pattern,
        est.names,
        uni.p,
        uni.counts,
        cover,
        float(inside.mean()),
        int(inside.size),
        {name: float(inside[:, k].mean()) for k, name in enumerate(grid.instruments)},
        mae,
        {"truth_s": t1 - t0, "posterior_s": t2 - t1, "forecast_s": t3 - t2},
        dict(depart or {}),
    )
