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

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array


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
