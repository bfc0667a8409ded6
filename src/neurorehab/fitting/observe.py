"""Assessments as an estimator reads them: values on a fixed grid of days, with a mask.

A patient is assessed on irregular days and rarely with every instrument, so the estimator
reads a fixed grid (instruments x days since onset) of values in [0, 1] (each instrument's
score range) and a mask of which were observed: missing values are simply unmasked. Training
shows it the same kind of record: the model's scores on the grid plus each instrument's
measurement error, with a random share of entries kept (`observe`), so one trained estimator
serves any pattern of assessments, from none (the posterior is then the prior) to daily ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.stats import norm
from jax.typing import ArrayLike


@dataclass(frozen=True)
class Grid:
    """The estimator's view: `days` since onset (ascending integers) of each instrument in
    `instruments`, whose scores run from `low` to `high` and carry `noise_sd` of error."""

    instruments: tuple[str, ...]
    days: tuple[int, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    noise_sd: tuple[float, ...]

    def as_dict(self) -> dict[str, list]:
        """The grid as JSON-ready lists (what a saved estimator or emulator stores)."""
        return {k: list(getattr(self, k)) for k in ("instruments", "days", "low", "high", "noise_sd")}

    @classmethod
    def from_dict(cls, g: dict[str, list]) -> Grid:
        return cls(
            tuple(g["instruments"]), tuple(int(d) for d in g["days"]), tuple(g["low"]), tuple(g["high"]),
            tuple(g["noise_sd"]),
        )  # fmt: skip

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.instruments), len(self.days)

    @property
    def width(self) -> int:
        """Length of the encoded vector: values and mask."""
        return 2 * len(self.instruments) * len(self.days)

    def snap(self, instrument: int, day: float) -> int | None:
        """The grid column of an assessment on `day` since onset (nearest grid day; None when
        it lies outside the grid by more than half a step)."""
        days = np.asarray(self.days, float)
        j = int(np.argmin(np.abs(days - day)))
        step = float(np.min(np.diff(days))) if len(days) > 1 else 1.0
        return j if abs(days[j] - day) <= step / 2 + 1e-9 else None


def encode(grid: Grid, values: Array) -> Array:
    """[..., instruments, days] scores with NaN for missing -> [..., 2 x instruments x days]:
    the scores scaled to [0, 1] by each instrument's range (0 where missing), then the mask."""
    low = jnp.asarray(grid.low, jnp.float32)[:, None]
    high = jnp.asarray(grid.high, jnp.float32)[:, None]
    seen = ~jnp.isnan(values)
    scaled = jnp.where(seen, (jnp.nan_to_num(values) - low) / (high - low), 0.0)
    flat = (*scaled.shape[:-2], -1)
    return jnp.concatenate([scaled.reshape(flat), seen.astype(jnp.float32).reshape(flat)], axis=-1)


def observe(grid: Grid, key: Array, clean: Array) -> Array:
    """What a clinic would have recorded of noise-free scores [n, instruments, days]: each
    instrument's measurement error added (clipped to its range) and, per patient and
    instrument, a share q ~ U(0, 1) of the grid days kept (NaN elsewhere), so records range
    from empty to complete."""
    n = clean.shape[0]
    k_noise, k_share, k_keep = jax.random.split(key, 3)
    sd = jnp.asarray(grid.noise_sd, jnp.float32)[:, None]
    low = jnp.asarray(grid.low, jnp.float32)[:, None]
    high = jnp.asarray(grid.high, jnp.float32)[:, None]
    noisy = jnp.clip(clean + sd * jax.random.normal(k_noise, clean.shape), low, high)
    share = jax.random.uniform(k_share, (n, len(grid.instruments), 1))
    keep = jax.random.uniform(k_keep, clean.shape) < share
    return jnp.where(keep, noisy, jnp.nan)


def add_noise(grid: Grid, key: Array, clean: Array, instrument_axis: int = -2) -> Array:
    """Scores as recorded: each instrument's measurement error added to noise-free scores
    (instruments on `instrument_axis`), clipped to its range (a predictive draw)."""
    shape = [1] * clean.ndim
    shape[instrument_axis] = len(grid.instruments)
    sd = jnp.asarray(grid.noise_sd, jnp.float32).reshape(shape)
    low = jnp.asarray(grid.low, jnp.float32).reshape(shape)
    high = jnp.asarray(grid.high, jnp.float32).reshape(shape)
    return jnp.clip(clean + sd * jax.random.normal(key, clean.shape), low, high)


def record_log_likelihood(
    grid: Grid, record: ArrayLike, scores: ArrayLike, extra_sd: ArrayLike | None = None
) -> Array:
    """log p(record | a path's scores): `record` [..., instruments, days] (NaN: not assessed),
    `scores` the path's scores on the same days; each instrument's measurement error
    (`noise_sd`, and `extra_sd` [instruments] beyond it) as `add_noise` adds it, so a record at
    an end of the range carries the probability mass that clipping puts there. Summed over what
    was assessed; a path with no assessed value has log-likelihood 0."""
    shape = (len(grid.instruments), 1)
    sd = jnp.asarray(grid.noise_sd, jnp.float32).reshape(shape)
    if extra_sd is not None:
        sd = jnp.sqrt(sd * sd + jnp.asarray(extra_sd, jnp.float32).reshape(shape) ** 2)
    sd = jnp.maximum(sd, 1e-3)  # a noise-free instrument: a narrow kernel, not a Dirac mass
    low = jnp.asarray(grid.low, jnp.float32).reshape(shape)
    high = jnp.asarray(grid.high, jnp.float32).reshape(shape)
    record = jnp.asarray(record)
    seen = ~jnp.isnan(record)
    ll = censored_normal_logpdf(jnp.nan_to_num(record), jnp.asarray(scores), sd, low, high)
    return jnp.sum(jnp.where(seen, ll, 0.0), axis=(-2, -1))


def censored_normal_logpdf(y: Array, mean: Array, sd: Array, low: Any, high: Any, tol: float = 0.0) -> Array:
    """log density of a score recorded as Normal(mean, sd^2) clipped to [low, high]: at an end
    of the range (within `tol`) the probability mass clipping puts there, else the density."""
    inner = norm.logpdf(y, mean, sd)
    floor = norm.logcdf((low - mean) / sd)
    ceiling = norm.logcdf((mean - high) / sd)
    return jnp.where(y <= low + tol, floor, jnp.where(y >= high - tol, ceiling, inner))


def resample_paths(
    grid: Grid,
    key: Array,
    records: ArrayLike,
    window: ArrayLike,
    ok: ArrayLike,
    extra_sd: ArrayLike | None = None,
) -> Array:
    """Which of k paths to keep for each of m draws (sequential importance resampling):
    `window` [m, k, instruments, days] the paths' scores on the grid, `records` [m, ...] or
    one record [instruments, days], `ok` [m, k] the paths that ran; each kept path is drawn
    with weights of `record_log_likelihood`, so the kept paths follow p(path | draw, record).
    A draw whose paths all failed keeps any one (its failure is reported downstream)."""
    records = jnp.asarray(records)
    if records.ndim == 2:
        records = records[None]
    ll = record_log_likelihood(grid, records[:, None], jnp.asarray(window), extra_sd)
    ll = jnp.where(jnp.asarray(ok) & jnp.isfinite(ll), ll, -jnp.inf)
    ll = jnp.where(jnp.isfinite(ll).any(axis=1, keepdims=True), ll, 0.0)
    return jax.random.categorical(key, ll, axis=1)
