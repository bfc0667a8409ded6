"""The proportional recovery rule, analysed as its critics ask.

Prabhakaran et al. 2008 and Winters et al. 2015: change in FM-UE ~ 0.7 x (66 - initial) among
"fitters", with a minority of (mostly severe) non-fitters. Hope et al. 2019 (Brain 142:15):
the correlation between baseline and change is inflated whenever outcomes vary less than
baselines, so corr(baseline, outcome) and the variance ratio are reported beside the slope.
Non-fitters are found as Winters et al. did in spirit, by their distance from the rule: a
patient recovering less than half of the rule's prediction (with at least 5 points of
impairment) is a non-fitter; the slope is then fitted on the fitters (least squares through
the origin, as the rule states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProportionalRecovery:
    slope: float  # fitted on fitters, through the origin
    fitters: np.ndarray  # bool per patient
    share_nonfitters: float
    corr_baseline_change: float
    corr_baseline_outcome: float
    variance_ratio: float  # var(outcome) / var(baseline)


def proportional_recovery(
    baseline: np.ndarray, outcome: np.ndarray, max_score: float = 66.0, rule: float = 0.7
) -> ProportionalRecovery:
    """Analyse baseline and outcome scores of one cohort (same patients, same order)."""
    baseline = np.asarray(baseline, float)
    outcome = np.asarray(outcome, float)
    if baseline.shape != outcome.shape or baseline.ndim != 1 or baseline.size < 3:
        raise ValueError(
            f"need two 1-D arrays of equal length >= 3, got {baseline.shape} and {outcome.shape}"
        )
    impairment = max_score - baseline
    change = outcome - baseline
    fitters = ~((impairment >= 5.0) & (change < 0.5 * rule * impairment))
    x, y = impairment[fitters], change[fitters]
    slope = float(x @ y / (x @ x)) if x.size and x @ x > 0 else float("nan")
    return ProportionalRecovery(
        slope=slope,
        fitters=fitters,
        share_nonfitters=float(1.0 - fitters.mean()),
        corr_baseline_change=float(np.corrcoef(baseline, change)[0, 1]),
        corr_baseline_outcome=float(np.corrcoef(baseline, outcome)[0, 1]),
        variance_ratio=float(outcome.var(ddof=1) / baseline.var(ddof=1)),
    )
