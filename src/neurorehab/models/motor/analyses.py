"""The proportional recovery rule, analysed as its critics ask.

Prabhakaran et al. 2008 and Winters et al. 2015: change in FM-UE ~ 0.7 x (66 - initial) among
"fitters", with a minority of (mostly severe) non-fitters. Hope et al. 2019 (Brain 142:15):
the correlation between baseline and change is inflated whenever outcomes vary less than
baselines, and selecting fitters by their outcome makes any cohort look proportional; so
corr(baseline, outcome) and the variance ratio are reported beside the slope, and fitters
should come from a baseline marker (e.g. a motor-evoked potential, Byblow et al. 2015). When
no marker is given, fitters are chosen by outcome as Winters et al. did in spirit (recovering
at least half the rule's prediction); the result says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProportionalRecovery:
    slope: float  # change / impairment fitted through the origin on fitters
    fitters: np.ndarray  # bool per patient
    fitters_by_outcome: bool  # True when no baseline marker was given (Hope et al.'s caveat)
    share_nonfitters: float
    ratio_sd_fitters: float  # spread of change / impairment among fitters
    ratio_mean_nonfitters: float
    corr_baseline_change: float
    corr_baseline_outcome: float
    variance_ratio: float  # var(outcome) / var(baseline)


def proportional_recovery(
    baseline: np.ndarray,
    outcome: np.ndarray,
    *,
    fitters: np.ndarray | None = None,
    max_score: float = 66.0,
    rule: float = 0.7,
) -> ProportionalRecovery:
    """Analyse baseline and outcome scores of one cohort (same patients, same order).

    `fitters`: a baseline marker per patient (True: expected to follow the rule); without it,
    patients recovering less than half the rule's prediction (with >= 5 points to gain) are
    non-fitters.
    """
    baseline = np.asarray(baseline, float)
    outcome = np.asarray(outcome, float)
    if baseline.shape != outcome.shape or baseline.ndim != 1 or baseline.size < 3:
        raise ValueError(
            f"need two 1-D arrays of equal length >= 3, got {baseline.shape} and {outcome.shape}"
        )
    impairment = max_score - baseline
    change = outcome - baseline
    by_outcome = fitters is None
    if fitters is None:
        fitters = ~((impairment >= 5.0) & (change < 0.5 * rule * impairment))
    fitters = np.asarray(fitters, bool)
    x, y = impairment[fitters], change[fitters]
    slope = float(x @ y / (x @ x)) if x.size and x @ x > 0 else float("nan")
    room = impairment >= 5.0
    ratio = np.where(room, change / np.where(room, impairment, 1.0), np.nan)
    return ProportionalRecovery(
        slope=slope,
        fitters=fitters,
        fitters_by_outcome=by_outcome,
        share_nonfitters=float(1.0 - fitters.mean()),
        ratio_sd_fitters=float(np.nanstd(ratio[fitters])) if fitters.any() else float("nan"),
        ratio_mean_nonfitters=float(np.nanmean(ratio[~fitters])) if (~fitters).any() else float("nan"),
        corr_baseline_change=float(np.corrcoef(baseline, change)[0, 1]),
        corr_baseline_outcome=float(np.corrcoef(baseline, outcome)[0, 1]),
        variance_ratio=float(outcome.var(ddof=1) / baseline.var(ddof=1)),
    )


@dataclass(frozen=True)
class DoseThreshold:
    """Han et al. 2008's threshold: per dose, the share of patients who keep losing use after
    therapy ends and of those who keep gaining, and the dose where most stop losing."""

    doses: np.ndarray  # [D], sorted
    losing: np.ndarray  # [D] share with use later < use right after therapy - tol
    gaining: np.ndarray  # [D] share with use later > use right after therapy + tol
    error_after: np.ndarray  # [D] mean error right after therapy
    threshold: float  # dose where `losing` first falls through 0.5 (linear); nan if it never does
    error_at_threshold: float  # error right after therapy at that dose (linear); nan likewise


def dose_threshold(
    doses: Sequence[float] | np.ndarray,
    use_after: Sequence[np.ndarray] | np.ndarray,
    use_later: Sequence[np.ndarray] | np.ndarray,
    error_after: Sequence[np.ndarray] | np.ndarray,
    *,
    tol: float = 0.02,
) -> DoseThreshold:
    """Find the post-therapy threshold of a dose sweep (Han, Arbib & Schweighofer 2008).

    `use_after`, `use_later`, `error_after`: per dose, one value per patient (a [doses, patients]
    array, or one 1-D array per dose when arms differ in size; the three agree patient by
    patient within a dose): spontaneous use right after therapy and at the end of follow-up,
    and the error right after therapy. `tol` ignores small changes: for weekly shares of 200
    reaches a day (SD 0.013 each), 0.02 is about one SD of the difference of two, so ~16 % of
    patients whose true use holds still count as losing (and as many as gaining) by chance.
    Patients near the healthy ceiling hold rather than gain, so `losing` defines the threshold.
    """
    doses = np.asarray(doses, float)
    rows = [[np.asarray(x, float) for x in a] for a in (use_after, use_later, error_after)]
    if doses.ndim != 1 or doses.size < 2 or any(len(r) != doses.size for r in rows):
        raise ValueError(
            f"need doses [D >= 2] and three sequences of D patient arrays; got doses {doses.shape} "
            f"and {[len(r) for r in rows]} rows"
        )
    for i, (after, later, err) in enumerate(zip(*rows, strict=True)):
        if after.ndim != 1 or after.size == 0 or after.shape != later.shape or after.shape != err.shape:
            raise ValueError(
                f"dose {doses[i]:g}: need three equal, non-empty 1-D patient arrays; got "
                f"{after.shape}, {later.shape}, {err.shape}"
            )
    order = np.argsort(doses)
    doses = doses[order]
    after, later, err = ([r[i] for i in order] for r in rows)
    losing = np.array([np.mean(b < a - tol) for a, b in zip(after, later, strict=True)])
    gaining = np.array([np.mean(b > a + tol) for a, b in zip(after, later, strict=True)])
    err_mean = np.array([e.mean() for e in err])
    threshold = error_at = float("nan")
    for i in range(len(doses) - 1):
        if losing[i] >= 0.5 > losing[i + 1]:
            w = (losing[i] - 0.5) / (losing[i] - losing[i + 1])
            threshold = float(doses[i] + w * (doses[i + 1] - doses[i]))
            error_at = float(err_mean[i] + w * (err_mean[i + 1] - err_mean[i]))
            break
    return DoseThreshold(doses, losing, gaining, err_mean, threshold, error_at)
