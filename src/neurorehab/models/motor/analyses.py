"""The proportional recovery rule, analysed as its critics ask.

Prabhakaran et al. 2008 and Winters et al. 2015: change in FM-UE ~ 0.7 x (66 - initial) among
"fitters", with a minority of (mostly severe) non-fitters. Hope et al. 2019 (Brain 142:15):
the correlation between baseline and change is inflated whenever outcomes vary less than
baselines, and selecting fitters by their outcome makes any cohort look proportional; so
corr(baseline, outcome) and the variance ratio are reported beside the slope, and fitters
should come from a baseline marker (e.g. a motor-evoked potential, Byblow et al. 2015). When
no marker is given, fitters are chosen by outcome as Winters et al. did in spirit (recovering
at least half the rule's prediction); the result says which.

The coupling, in numbers (Hope et al. 2019; Oldham 1962): with k = SD(outcome) / SD(baseline)
and r = corr(baseline, outcome), corr(baseline, change) = (r k - 1) / sqrt(1 + k^2 - 2 r k).
With no relation at all (r = 0) it is -1 / sqrt(1 + k^2), which nears -1 as k falls: a strong
corr(baseline, change), and a slope near 1 with a tight spread of recovery ratios, are then
what coupling alone gives. The evidence is in the dependence of the outcome on the baseline:
the rule, outcome = baseline + b (max - baseline), says the outcome regressed on the baseline
has slope 1 - b, so the analysis compares that slope (ordinary least squares, its t interval)
with 1 - b of the fitted rule, and warns when the outcomes depend on baselines less than the
rule says (a null cohort of Hope et al.: the slope b near 0.85, the outcome's slope on
baseline near 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


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
    corr_baseline_outcome_ci: tuple[float, float]  # 95 % interval (Fisher's z)
    coupling_expected: float  # corr(baseline, change) that coupling alone gives: -1/sqrt(1 + k^2)
    outcome_slope: float  # OLS slope of outcome on baseline (the rule says 1 - slope)
    outcome_slope_ci: tuple[float, float]  # its (1 - alpha) t interval
    p_outcome_slope: float  # two-sided p of outcome_slope = 1 - slope
    warnings: tuple[str, ...]  # why the slope may not mean proportional recovery (plain words)

    @property
    def artefact_likely(self) -> bool:
        """True when the slope is likely a coupling or selection artefact (`warnings` say why)."""
        return bool(self.warnings)


def proportional_recovery(
    baseline: np.ndarray,
    outcome: np.ndarray,
    *,
    fitters: np.ndarray | None = None,
    max_score: float = 66.0,
    rule: float = 0.7,
    alpha: float = 0.05,
) -> ProportionalRecovery:
    """Analyse baseline and outcome scores of one cohort (same patients, same order).

    `fitters`: a baseline marker per patient (True: expected to follow the rule); without it,
    patients recovering less than half the rule's prediction (with >= 5 points to gain) are
    non-fitters. The result's `warnings` (and `artefact_likely`) say when the slope is likely a
    coupling or selection artefact: fitters chosen by outcome, or fitters' outcomes that depend
    on their baselines less than the fitted rule says (their slope on baseline below 1 - slope
    at `alpha`).
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
    r_yx = float(np.corrcoef(baseline, outcome)[0, 1])
    r_xd = float(np.corrcoef(baseline, change)[0, 1])
    var_ratio = float(outcome.var(ddof=1) / baseline.var(ddof=1))
    low, high = _fisher(r_yx, baseline.size, alpha)
    expected = -1.0 / np.sqrt(1.0 + var_ratio)
    fit = stats.linregress(baseline[fitters], outcome[fitters]) if fitters.sum() >= 3 else None
    beta, p_beta, beta_ci = float("nan"), float("nan"), (float("nan"), float("nan"))
    if fit is not None and np.isfinite(fit.stderr) and fit.stderr > 0:
        dof = int(fitters.sum()) - 2
        beta = float(fit.slope)
        p_beta = float(2 * stats.t.sf(abs(beta - (1.0 - slope)) / fit.stderr, dof))
        half = float(stats.t.ppf(1 - alpha / 2, dof) * fit.stderr)
        beta_ci = (beta - half, beta + half)
    warnings = []
    if by_outcome:
        warnings.append(
            "fitters were chosen by their outcome, which makes any cohort look proportional (Hope "
            "et al. 2019); give a baseline marker (e.g. MEP status) instead"
        )
    if p_beta < alpha and beta < 1.0 - slope:
        warnings.append(
            f"outcomes depend on baselines less than the rule says (slope of outcome on baseline "
            f"{beta:.2f}, {100 * (1 - alpha):.0f} % CI {beta_ci[0]:.2f} to {beta_ci[1]:.2f}, against "
            f"{1 - slope:.2f}) and vary less than them (variance ratio {var_ratio:.2f}): "
            f"corr(baseline, change) {r_xd:.2f} is near what coupling alone gives ({expected:.2f}), "
            f"so the slope {slope:.2f} is likely an artefact (Hope et al. 2019)"
        )
    return ProportionalRecovery(
        slope=slope,
        fitters=fitters,
        fitters_by_outcome=by_outcome,
        share_nonfitters=float(1.0 - fitters.mean()),
        ratio_sd_fitters=float(np.nanstd(ratio[fitters])) if fitters.any() else float("nan"),
        ratio_mean_nonfitters=float(np.nanmean(ratio[~fitters])) if (~fitters).any() else float("nan"),
        corr_baseline_change=r_xd,
        corr_baseline_outcome=r_yx,
        variance_ratio=var_ratio,
        corr_baseline_outcome_ci=(low, high),
        coupling_expected=float(expected),
        outcome_slope=beta,
        outcome_slope_ci=beta_ci,
        p_outcome_slope=p_beta,
        warnings=tuple(warnings),
    )


def _fisher(r: float, n: int, alpha: float) -> tuple[float, float]:
    """(1 - alpha) interval of a Pearson correlation by Fisher's z."""
    if n < 4 or not np.isfinite(r):
        return float("nan"), float("nan")
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.0 / np.sqrt(n - 3)
    q = stats.norm.ppf(1 - alpha / 2)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))


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
    gaining_threshold: float  # dose where `gaining` first rises through 0.5 (the virtuous circle)
    error_at_gaining_threshold: float  # error right after therapy there

    def gaining_dose(self, share: float) -> float:
        """Dose at which the share of patients who keep gaining first reaches `share`,
        interpolated linearly in log dose between the doses swept (nan if it never does)."""
        return _crossing(self.doses, self.gaining, share)[0]

    @property
    def sharpness(self) -> float:
        """How abruptly the virtuous circle sets in: the ratio of the doses at which 75 % and 20 %
        of patients keep gaining (1: a step; Han et al. 2008's threshold is a bistability)."""
        return self.gaining_dose(0.75) / self.gaining_dose(0.2)


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
    gain_at, i, w = _crossing(doses, gaining, 0.5)
    gain_err = (
        float(err_mean[i] + w * (err_mean[i + 1] - err_mean[i])) if np.isfinite(gain_at) else float("nan")
    )
    return DoseThreshold(doses, losing, gaining, err_mean, threshold, error_at, gain_at, gain_err)


def _crossing(doses: np.ndarray, share: np.ndarray, level: float) -> tuple[float, int, float]:
    """(dose, index, weight) where `share` first rises to `level`: linear in log dose between
    two positive doses (linear from 0), nan when it never does."""
    for i in range(len(doses) - 1):
        if share[i] < level <= share[i + 1]:
            w = float((level - share[i]) / (share[i + 1] - share[i]))
            lo, hi = doses[i], doses[i + 1]
            dose = lo * (hi / lo) ** w if lo > 0 else lo + w * (hi - lo)
            return float(dose), i, w
    return float("nan"), 0, 0.0
