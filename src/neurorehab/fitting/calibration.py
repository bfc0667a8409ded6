"""Is a posterior calibrated? Simulation-based calibration and interval coverage.

Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788): for patients whose true
parameters were drawn from the prior, the rank of the truth among L posterior draws is uniform
on 0..L exactly when the posterior is right on average over the prior; a U shape means too
narrow, a hump too wide, a slope a bias. Coverage: the share of truths (or of held-out
observations) inside central intervals, which should equal the interval's level; with N
patients its binomial standard error is sqrt(level (1 - level) / N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def ranks(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """[patients, L, parameters] draws and [patients, parameters] truths -> ranks 0..L (how
    many draws fall below the truth)."""
    return (np.asarray(draws) < np.asarray(truth)[:, None, :]).sum(axis=1)


@dataclass(frozen=True)
class Uniformity:
    """A chi-square test of ranks against the uniform, per parameter, on `bins` equal bins."""

    counts: np.ndarray  # [bins, parameters]
    chi2: np.ndarray  # [parameters]
    p: np.ndarray  # [parameters]


def rank_uniformity(r: np.ndarray, n_draws: int, bins: int = 10) -> Uniformity:
    """Ranks 0..n_draws binned into `bins` (n_draws + 1 must divide into them evenly)."""
    r = np.asarray(r)
    if (n_draws + 1) % bins:
        raise ValueError(f"{n_draws + 1} rank values do not split into {bins} equal bins")
    b = r * bins // (n_draws + 1)
    counts = np.stack([(b == i).sum(axis=0) for i in range(bins)])
    expected = r.shape[0] / bins
    chi2 = ((counts - expected) ** 2 / expected).sum(axis=0)
    return Uniformity(counts, chi2, stats.chi2.sf(chi2, bins - 1))


def interval(draws: np.ndarray, level: float, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The central `level` interval of draws along `axis` (empirical quantiles)."""
    a = (1 - level) / 2
    return np.quantile(draws, a, axis=axis), np.quantile(draws, 1 - a, axis=axis)


def coverage(draws: np.ndarray, truth: np.ndarray, level: float = 0.9, axis: int = 1) -> np.ndarray:
    """Share of truths inside the central `level` interval of the draws, per trailing entry
    (`truth` has the draws' shape without `axis`); NaN truths are left out."""
    lo, hi = interval(draws, level, axis)
    truth = np.asarray(truth, float)
    inside = (truth >= lo) & (truth <= hi)
    seen = np.isfinite(truth)
    return np.where(seen, inside, 0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
