"""Simulating a model's fit declaration: prior cohorts, and parameter draws under plans.

Everything model-specific comes from the model's `FitSpec` (its prior, shared history,
instruments, fitting window, plan library). The simulations are ordinary scenarios built from
that declaration (`fit_scenario`), run by the engine, so a forecast is the model's own numbers
for each posterior draw; plans that share their first slots (the history before they part) run
those once (`_simulate_plans`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neurorehab.config import Scenario, compile_scenario, parse_scenario
from neurorehab.config.compile import CompiledScenario
from neurorehab.core.engine import (
    Bounds,
    common_bounds,
    initial_carry,
    shared_slots,
    simulate,
    split_calendar,
)
from neurorehab.core.failures import after_run_in
from neurorehab.core.spec import FitSpec
from neurorehab.fitting.observe import Grid, resample_paths
from neurorehab.models.registry import ModelInfo
from neurorehab.runners.hosts import cores

CHUNK = 1024  # training simulations per engine call (progress between them)


class PatientError(Exception):
    """A patient's data or request cannot be served; the message says why and what to do."""


def fit_spec(info: ModelInfo) -> FitSpec:
    if info.fit is None:
        raise PatientError(
            f"model {info.name!r} declares no fit (ModelInfo.fit): it cannot be fitted to a patient"
        )
    return info.fit


def grid_of(fit: FitSpec) -> Grid:
    """The estimator's grid: every declared instrument every `grid_step` days from onset to
    the end of the window."""
    ins = list(fit.instruments.values())
    return Grid(
        tuple(fit.instruments),
        tuple(range(0, fit.window_days + 1, fit.grid_step)),
        tuple(i.low for i in ins),
        tuple(i.high for i in ins),
        tuple(i.noise_sd for i in ins),
    )


def _block_days(block: dict[str, Any]) -> int:
    return int(block["days"]) if "days" in block else max(1, round(float(block["weeks"]) * 7))


def fit_scenario(
    info: ModelInfo,
    *,
    n: int,
    seed: int,
    plan: str | None,
    until: int,
    days: list[int],
    depart: dict[str, float] | None = None,
) -> Scenario:
    """The scenario of `n` prior patients of the model's fit: its history, then `plan` (None:
    the history only) from the day after the window, to `until` days since onset, assessed on
    `days` since onset. `depart`: model parameters set apart from the fit's declaration (a
    misspecified truth, for validation)."""
    fit = fit_spec(info)
    h = fit.history
    fixed = dict(h.get("patients", {}).get("params", {}))
    events = [dict(e) for e in h.get("events", [])]
    for name, dist in fit.prior.items():
        label, _, param = name.rpartition(".")
        if label:
            event = next(e for e in events if e.get("name", e["kind"]) == label)
            event["params"] = {**event.get("params", {}), param: dist}
        else:
            fixed[name] = dist
    fixed.update(depart or {})
    protocol = [dict(b) for b in h.get("protocol", [])]
    if plan is not None:
        if plan not in fit.plans:
            raise PatientError(f"no plan {plan!r} for model {info.name}; plans: {', '.join(fit.plans)}")
        start = fit.onset_day + fit.window_days + 1
        for block in fit.plans[plan].protocol:
            protocol.append({**block, "start_day": start})
            start += _block_days(block)
    duration = fit.onset_day + until
    data = {
        "name": f"{info.name}-fit",
        "model": info.name,
        "seed": seed,
        "duration_days": duration,
        "model_options": dict(h.get("model_options", {})),
        "patients": {"count": n, "params": fixed},
        "events": events,
        "arms": [{"name": plan or "history", "protocol": protocol}],
        "assessments": {"every_days": duration, "days": sorted({fit.onset_day + d for d in days})},
    }
    return parse_scenario(data, f"{info.name} fit declaration")


def _inputs(c: CompiledScenario, ids: np.ndarray, fitted: dict[str, np.ndarray] | None) -> tuple[Any, ...]:
    """(params, condition, event values, the drawn quantities) for `ids`; `fitted` replaces
    the prior draws of the fitted quantities."""
    drawn = c.sample(ids)
    if fitted is not None:
        drawn.update({k: jnp.asarray(v, jnp.float32) for k, v in fitted.items()})
    params = {name: drawn[name] for name in c.info.params}
    condition = {name: drawn[name] for name in c.sample_condition(ids)}
    return params, condition, c.event_values(drawn), drawn


def _kept(
    c: CompiledScenario, out: dict[str, np.ndarray], measures: list[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The assessed slots of a run's measures, one per day (the day's last)."""
    arm = c.arms[0]
    slots = np.flatnonzero(arm.assess)
    days = arm.days[slots]
    last = np.r_[days[1:] != days[:-1], True]
    keep = slots[last]
    return {m: np.asarray(out[m])[:, keep] for m in measures}, days[last]


def _simulate(
    c: CompiledScenario,
    ids: np.ndarray,
    keys: Any,
    fitted: dict[str, np.ndarray] | None,
    measures: list[str],
    lane_width: int | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Run the scenario's one arm for `ids` (`fitted`: as in `_inputs`). Returns (measure ->
    [n, days], days assessed, failure codes, the quantities drawn)."""
    params, condition, values, drawn = _inputs(c, ids, fitted)
    out, codes = simulate(
        c.model,
        params,
        c.arms[0].calendar,
        keys,
        condition=condition,
        events=c.events,
        event_values=values,
        lane_width=lane_width,
        threads=cores(),
    )  # type: ignore[misc]
    kept, days = _kept(c, out, measures)
    return kept, days, np.asarray(codes), drawn


def _simulate_plans(
    scenarios: dict[str, CompiledScenario],
    keys: Any,
    fitted: dict[str, np.ndarray],
    measures: list[str],
    lane_width: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """The same draws and keys under each plan's scenario: the slots every plan holds alike
    (the history before the plans part) run once, and each plan goes on from there, all at one
    shape (one compilation); the numbers are those of each plan run whole."""
    cs = list(scenarios.values())
    first = cs[0]
    n = int(keys.shape[0])
    ids = np.arange(n)
    params, condition, values, _ = _inputs(first, ids, fitted)
    cals = [c.arms[0].calendar for c in cs]
    whole = common_bounds(cals)
    shared = min(shared_slots(cals), min(int(cal.day.shape[0]) for cal in cals) - 1) if len(cs) > 1 else 0
    run = partial(
        simulate,
        first.model,
        params,
        keys=keys,
        condition=condition,
        events=first.events,
        event_values=values,
        lane_width=lane_width,
        threads=cores(),
    )
    results = {}
    if shared:
        parts = [split_calendar(cal, shared) for cal in cals]
        slots = max(max(int(t.day.shape[0]) for _, t in parts), int(parts[0][0].day.shape[0]))
        bounds = Bounds(slots, whole.max_trials, whole.max_days)
        begin = initial_carry(first.model, params, keys, condition=condition, threads=cores())
        head, _, carry = run(parts[0][0], resume=begin, bounds=bounds, return_carry=True)  # type: ignore[misc]
    for k, (plan, c) in enumerate(scenarios.items()):
        if shared:
            rest, codes = run(parts[k][1], resume=carry, bounds=bounds)  # type: ignore[misc]
            out = {m: np.concatenate([head[m], rest[m]], axis=1) for m in rest}
            codes = after_run_in(np.asarray(codes), head)
        else:
            out, codes = run(c.arms[0].calendar, bounds=whole)  # type: ignore[misc]
        kept, days = _kept(c, out, measures)
        results[plan] = (kept, days, np.asarray(codes))
        if progress:
            progress("forecasting", k + 1, len(scenarios))
    return results


@dataclass
class Cohort:
    """Prior patients simulated under one plan: the fitted quantities `theta` [n, parameters]
    (`names`), noise-free scores `clean` [n, instruments, days] on `days` since onset (NaN for
    a patient whose simulation failed)."""

    names: tuple[str, ...]
    theta: np.ndarray
    clean: np.ndarray
    days: np.ndarray


def simulate_prior(
    info: ModelInfo,
    n: int,
    *,
    seed: int,
    plan: str | None,
    until: int,
    days: list[int],
    depart: dict[str, float] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Cohort:
    """`n` patients drawn from the fit's prior (the scenario's seed `seed`), simulated under
    `plan` (None: the history only) to `until` days since onset, assessed on `days`."""
    fit = fit_spec(info)
    grid = grid_of(fit)
    c = compile_scenario(fit_scenario(info, n=n, seed=seed, plan=plan, until=until, days=days, depart=depart))
    measures = [fit.instruments[i].measure for i in grid.instruments]
    names = tuple(fit.prior)
    want = np.asarray(sorted(set(days)))
    clean = np.full((n, len(measures), len(want)), np.nan, np.float32)
    theta = np.zeros((n, len(names)), np.float32)
    for start in range(0, n, CHUNK):
        ids = np.arange(start, min(n, start + CHUNK))
        out, run_days, codes, drawn = _simulate(c, ids, c.sim_keys(ids), None, measures)
        cols = np.searchsorted(run_days - fit.onset_day, want)
        block = np.stack([out[m][:, cols] for m in measures], axis=1)
        clean[ids] = np.where((codes == 0)[:, None, None], block, np.nan)
        theta[ids] = np.stack([np.asarray(drawn[k]) for k in names], axis=1)
        if progress:
            progress("simulating", int(ids[-1]) + 1, n)
    return Cohort(names, theta, clean, want)


def forecast_days(fit: FitSpec) -> list[int]:
    """Each grid day of the window, then weekly, and the horizon."""
    return sorted(
        {*range(0, fit.window_days + 1, fit.grid_step), *range(0, fit.horizon_days, 7), fit.horizon_days}
    )


def plan_scenarios(
    info: ModelInfo, plans: list[str], n: int, seed: int, days: list[int]
) -> dict[str, CompiledScenario]:
    """Each plan's scenario for `n` draws from onset to the horizon, assessed on `days`."""
    fit = fit_spec(info)
    return {
        p: compile_scenario(fit_scenario(info, n=n, seed=seed, plan=p, until=fit.horizon_days, days=days))
        for p in plans
    }


def run_draws(
    info: ModelInfo,
    scenarios: dict[str, CompiledScenario],
    fitted: dict[str, np.ndarray],
    keys: Any,
    lane_width: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    records: np.ndarray | None = None,
    choice_key: Any = None,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Simulate parameter draws (`fitted`: name -> [m]) in each plan's scenario
    (`plan_scenarios`) with `keys` [m]: per plan (noise-free scores [m, instruments, days],
    days since onset, ok [m], peak pain [m], peak fatigue [m]).

    With `records` ([m, instruments, grid days] or one for all, NaN: not assessed) and a fit
    declaring `particles` > 1, each draw runs that many paths (keys split from its own) and
    keeps one, drawn (`choice_key`) with weights of its record's likelihood given the path's
    window scores (`FitSpec.particles`); the window is the same under every plan, so one path
    is kept for all of them."""
    fit = fit_spec(info)
    grid = grid_of(fit)
    measures = [fit.instruments[i].measure for i in grid.instruments]
    m = int(keys.shape[0])
    k = fit.particles if records is not None else 1
    if k > 1:
        fitted = {name: np.repeat(np.asarray(v), k) for name, v in fitted.items()}
        keys = jax.vmap(lambda key: jax.random.split(key, k))(keys).reshape(m * k)
    out = {}
    for plan, (res, run_days, codes) in _simulate_plans(
        scenarios, keys, fitted, [*measures, "pain", "fatigue"], lane_width, progress
    ).items():
        after = run_days >= fit.onset_day  # the scenario's day-0 assessment is before onset
        clean = np.stack([res[k][:, after] for k in measures], axis=1)
        out[plan] = (
            clean,
            run_days[after] - fit.onset_day,
            codes == 0,
            res["pain"][:, after].max(axis=1),
            res["fatigue"][:, after].max(axis=1),
        )
    if k > 1:
        clean, days, ok = next(iter(out.values()))[:3]
        window = clean[:, :, np.searchsorted(days, grid.days)].reshape(m, k, *grid.shape)
        extra = np.asarray([fit.particle_sd.get(i, 0.0) for i in grid.instruments], np.float32)
        kept = resample_paths(grid, choice_key, np.asarray(records), window, ok.reshape(m, k), extra)
        rows = np.arange(m) * k + np.asarray(kept)
        out = {plan: (c[rows], d, o[rows], p[rows], f[rows]) for plan, (c, d, o, p, f) in out.items()}
    return out


def forecast_lanes(draws: int) -> int:
    """Lane width of a forecast: the smallest power of two that holds the draws, 16 to 128 (a
    function of the draw count alone, so the same command gives the same numbers)."""
    return int(min(128, max(16, 1 << max(0, draws - 1).bit_length())))
