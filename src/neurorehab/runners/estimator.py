"""A model's amortised posterior estimator: training on prior simulations, storage, loading.

`train_estimator` draws `simulations` patients from the fit's prior, simulates the fitting
window of each, trains the estimator (`fitting.npe`) on them, and fits the mixture-of-recovery-
curves baseline to a reference cohort simulated to the horizon; on the same simulations it
trains the emulator of the reduced likelihood that the reference fit (`fitting.reference`,
NUTS) checks the estimator with. Both ship in the model's folder (`estimator/`) with a
fingerprint of what they were trained on, so that a changed model shows as a stale estimator
instead of silently wrong posteriors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from neurorehab.config import compile_scenario
from neurorehab.fitting import npe, reference
from neurorehab.fitting.baselines import RecoveryMixture, fit_mixture
from neurorehab.fitting.observe import add_noise
from neurorehab.io.atomic import write_bytes_atomic
from neurorehab.models.registry import ModelInfo
from neurorehab.runners.fit_sims import (
    Cohort,
    PatientError,
    fit_scenario,
    fit_spec,
    forecast_days,
    grid_of,
    simulate_prior,
)


def fingerprint(info: ModelInfo) -> str:
    """What an estimator was trained on: the fit declaration, the parameters' defaults and the
    source of the model and its events (a change to any makes a trained estimator stale)."""
    declared = dataclasses.asdict(fit_spec(info))
    for forecast_only in ("particles", "particle_sd"):  # how forecasts draw paths, not what is learned
        declared.pop(forecast_only)
    parts = [
        json.dumps(declared, sort_keys=True, default=str),
        json.dumps({k: v.default for k, v in sorted(info.params.items())}),
    ]
    for obj in (info.model, *info.events.values()):
        parts.append(Path(inspect.getsourcefile(obj) or "").read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def estimator_folder(info: ModelInfo) -> Path:
    """Where a model's trained estimator ships: `estimator/` beside its model class."""
    return Path(inspect.getsourcefile(info.model) or ".").parent / "estimator"


def train_estimator(
    info: ModelInfo,
    *,
    simulations: int = 16384,
    reference: int = 2048,
    seed: int = 0,
    arch: npe.Architecture | None = None,
    training: npe.Training | None = None,
    emulator: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[npe.Estimator, reference.Emulator | None]:
    """Simulate the window for `simulations` prior patients and train the estimator on them
    (and, with `emulator`, the reference fit's emulator on the same simulations); then
    simulate `reference` prior patients under usual care (the library's first plan) to the
    horizon and fit the mixture-of-recovery-curves baseline to their recorded-like primary
    scores (stored with the estimator). `progress(stage, done, total)`: stage "simulating"
    (patients), "training" (epochs), "emulator" (epochs) or "reference" (patients)."""
    fit = fit_spec(info)
    grid = grid_of(fit)
    t0 = time.perf_counter()
    train_set = simulate_prior(
        info,
        simulations,
        seed=seed,
        plan=None,
        until=fit.window_days,
        days=list(grid.days),
        progress=progress,
    )
    at_bound = [
        f"{name} ({share:.1%} at {edge:g})"
        for name, col, spec in zip(
            train_set.names, train_set.theta.T, _specs(info, seed).values(), strict=True
        )
        for edge in (spec.low, spec.high)
        if (share := float(np.mean(col == np.float32(edge)))) > 0.005
    ]
    if at_bound:
        raise PatientError(
            "the fit's prior puts draws on a parameter's bound, where they are clipped: "
            f"{', '.join(at_bound)}; a flow cannot hold such a point mass, so keep the prior inside "
            "the valid range"
        )
    t1 = time.perf_counter()
    specs = _specs(info, seed)
    names = train_set.names
    low = np.array([specs[k].low for k in names], float)
    high = np.array([specs[k].high for k in names], float)
    est = npe.train(
        jax.random.key(seed),
        train_set.theta,
        train_set.clean,
        grid,
        names,
        low,
        high,
        arch=arch,
        training=training,
        progress=(lambda e, n, *_: progress("training", e, n)) if progress else None,
    )
    emu = _emulator(info, est, train_set, seed, progress) if emulator else None
    t2 = time.perf_counter()
    mixture = None
    if reference:
        ref = simulate_prior(
            info,
            reference,
            seed=seed + 1,
            plan=next(iter(fit.plans)),
            until=fit.horizon_days,
            days=forecast_days(fit),
            progress=(lambda _s, d, n: progress("reference", d, n)) if progress else None,
        )
        j = grid.instruments.index(fit.primary)
        ok = np.isfinite(ref.clean).all(axis=(1, 2))
        scores = np.asarray(add_noise(grid, jax.random.key(seed + 2), ref.clean[ok], instrument_axis=1))[:, j]
        ins = fit.instruments[fit.primary]
        m = fit_mixture(
            ref.days,
            scores,
            ins.high if ins.higher_is_better else ins.low,
            higher_is_better=ins.higher_is_better,
        )
        mixture = {
            "share": m.share.tolist(),
            "r": m.r.tolist(),
            "tau": m.tau.tolist(),
            "sd": m.sd,
            "best": m.best,
            "higher_is_better": m.higher_is_better,
            "patients": int(ok.sum()),
        }
    est.meta.update(
        model=info.name,
        fingerprint=fingerprint(info),
        seed=seed,
        simulate_s=round(t1 - t0, 1),
        train_s=round(t2 - t1, 1),
        reference_s=round(time.perf_counter() - t2, 1),
        mixture=mixture,
        trained=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return est, emu


def _emulator(
    info: ModelInfo,
    est: npe.Estimator,
    train_set: Cohort,
    seed: int,
    progress: Callable[[str, int, int], None] | None,
) -> reference.Emulator:
    t = time.perf_counter()
    emu = reference.train_emulator(
        jax.random.key(seed + 3),
        train_set.theta,
        train_set.clean,
        est.grid,
        est.names,
        est.low,
        est.high,
        est.mean,
        est.sd,
        progress=(lambda e, n, *_: progress("emulator", e, n)) if progress else None,
    )
    emu.meta.update(
        model=info.name, fingerprint=fingerprint(info), seed=seed, train_s=round(time.perf_counter() - t, 1)
    )
    return emu


def train_emulator(
    info: ModelInfo,
    est: npe.Estimator,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> reference.Emulator:
    """The reference fit's emulator for an estimator trained without one: the estimator's own
    prior simulations drawn again (same seed and count: the same patients) and the emulator
    trained on them."""
    fit = fit_spec(info)
    seed, n = int(est.meta.get("seed", 0)), int(est.meta["simulations"])
    train_set = simulate_prior(
        info, n, seed=seed, plan=None, until=fit.window_days, days=list(est.grid.days), progress=progress
    )
    return _emulator(info, est, train_set, seed, progress)


def _specs(info: ModelInfo, seed: int) -> dict[str, Any]:
    """The declared specs (units, ranges) of the fitted quantities, in the prior's order."""
    fit = fit_spec(info)
    c = compile_scenario(fit_scenario(info, n=1, seed=seed, plan=None, until=fit.window_days, days=[0]))
    specs = c.specs()
    return {k: specs[k] for k in fit.prior}


def mixture_of(est: npe.Estimator) -> RecoveryMixture | None:
    """The mixture-of-recovery-curves baseline stored with an estimator (None: not fitted)."""
    m = est.meta.get("mixture")
    if not m:
        return None
    return RecoveryMixture(
        np.asarray(m["share"]),
        np.asarray(m["r"]),
        np.asarray(m["tau"]),
        float(m["sd"]),
        float(m["best"]),
        bool(m["higher_is_better"]),
    )


def save_estimator(
    est: npe.Estimator | None, folder: Path, emulator: reference.Emulator | None = None
) -> None:
    """Write the estimator and/or the emulator (None: leave what `folder` holds)."""
    folder.mkdir(parents=True, exist_ok=True)
    if est is not None:
        est.save(folder, write_bytes_atomic)
    if emulator is not None:
        emulator.save(folder, write_bytes_atomic)


def _artefact(info: ModelInfo, where: Path, files: tuple[str, str], what: str, train: str, load: Any) -> Any:
    """Load a trained artefact of `info` from `where`, with a plain error when it is missing
    or was trained for another model."""
    if not all((where / f).is_file() for f in files):
        raise PatientError(
            f"no {what} for model {info.name!r} in {where}: train one with `{train}` (minutes on 2 cores)"
        )
    obj = load(where)
    if obj.meta.get("model") != info.name:
        raise PatientError(
            f"the {what} in {where} was trained for model {obj.meta.get('model')!r}, not {info.name!r}"
        )
    return obj


def load_emulator(info: ModelInfo, folder: Path | None = None) -> reference.Emulator:
    """The reference fit's emulator shipped with the model's estimator (or in `folder`)."""
    train = f"neurorehab train-estimator {info.name} --emulator-only"
    files = ("emulator.json", "emulator.eqx")
    emu: reference.Emulator = _artefact(
        info, folder or estimator_folder(info), files, "emulator for the reference fit", train,
        reference.Emulator.load,
    )  # fmt: skip
    return emu


def load_estimator(info: ModelInfo, folder: Path | None = None) -> npe.Estimator:
    """The model's trained estimator (from `folder`, default the one shipped with the model)."""
    files = ("estimator.json", "flow.eqx")
    est: npe.Estimator = _artefact(
        info, folder or estimator_folder(info), files, "trained estimator",
        f"neurorehab train-estimator {info.name}", npe.Estimator.load,
    )  # fmt: skip
    return est
