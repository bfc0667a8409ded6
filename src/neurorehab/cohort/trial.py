"""Randomised virtual trials: allocation, drop-out, analysis and power by simulation.

Numbers in, numbers out (numpy, scipy, statsmodels); nothing here knows how the patients were
simulated. A virtual patient is simulated under every arm (the simulator gives counterfactuals
for free), but a trial sees only the arm it was allocated to, up to the day it dropped out;
the counterfactuals give the true effect beside the trial's estimate.

Methods (named as a statistician would look them up):
- allocation: simple, permuted blocks, or permuted blocks within strata (median splits);
- change from baseline per arm with t intervals; Welch's t-test on change;
- ANCOVA of follow-up on arm and baseline (the primary analysis; Vickers & Altman 2001, BMJ
  323:1123), statsmodels OLS;
- a linear mixed model over repeated post-baseline visits (random intercept per patient, arm x
  visit fixed effects, baseline as covariate; REML in closed form, `cohort.lmm`, checked
  against statsmodels' MixedLM), the effect read at follow-up;
- Hedges' g on change with the Hedges & Olkin (1985) large-sample interval;
- responders against a minimal important difference; risk difference with Newcombe's hybrid
  score interval; number needed to treat as its inverse (Altman 1998, BMJ 317:1309);
- heterogeneity: effect in the low and high halves of each named trait, and the arm x trait
  interaction test;
- power by simulation: repeat the trial at candidate sizes, drawing patients with replacement
  from the simulated cohort (a virtual super-population), with Wilson intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from neurorehab.cohort.lmm import fit_random_intercept


@dataclass(frozen=True)
class TrialData:
    """One trial's data: every enrolled patient, its arm and its observed primary measure.

    potential[i, a] is patient i's follow-up value had it been allocated arm a (NaN where the
    simulation failed); baseline_potential likewise at baseline.
    """

    arms: tuple[str, ...]
    control: int
    allocated: np.ndarray  # [n] arm index
    baseline_potential: np.ndarray  # [n, arms]
    potential: np.ndarray  # [n, arms]
    dropout_day: np.ndarray  # [n]; inf: stayed
    failed: np.ndarray  # [n] bool: the simulation of the allocated arm failed
    baseline_day: int
    followup_day: int
    visits: pd.DataFrame | None = None  # patient, day, value under the allocated arm (all visits)
    traits: dict[str, np.ndarray] = field(default_factory=dict)
    patients: np.ndarray | None = None  # [n] each enrolled patient's id in the run (default 0..n-1)
    screened: int | None = None  # patients screened for eligibility (default n: everyone enrolled)

    def __post_init__(self) -> None:
        if self.patients is None:
            object.__setattr__(self, "patients", np.arange(len(self.allocated)))
        if self.screened is None:
            object.__setattr__(self, "screened", len(self.allocated))

    @property
    def n(self) -> int:
        return len(self.allocated)

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """Baseline and follow-up as a trial sees them (follow-up NaN when lost or failed)."""
        idx = np.arange(self.n)
        base = self.baseline_potential[idx, self.allocated]
        follow = self.potential[idx, self.allocated].copy()
        follow[(self.dropout_day <= self.followup_day) | self.failed] = np.nan
        return base, follow


def allocate(
    n: int,
    n_arms: int,
    rng: np.random.Generator,
    *,
    scheme: str = "block",
    block_size: int = 4,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Arm index for each of n patients in enrolment order."""
    if scheme == "simple":
        return rng.integers(0, n_arms, n)
    if block_size % n_arms:
        raise ValueError(f"block_size {block_size} is not a multiple of {n_arms} arms")
    groups = np.zeros(n, int) if scheme == "block" or strata is None else np.asarray(strata)
    out = np.empty(n, int)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        n_blocks = -(-len(members) // block_size)
        seq = np.concatenate([rng.permutation(np.arange(block_size) % n_arms) for _ in range(n_blocks)])
        out[members] = seq[: len(members)]
    return out


def strata_codes(values: dict[str, np.ndarray]) -> np.ndarray:
    """One stratum per combination of median halves of the given quantities."""
    n = len(next(iter(values.values())))
    code = np.zeros(n, int)
    for bit, v in enumerate(values.values()):
        code |= (np.asarray(v) > np.median(v)).astype(int) << bit
    return code


def dropout_days(n: int, per_week: float, baseline_day: int, rng: np.random.Generator) -> np.ndarray:
    """Day each patient leaves: constant hazard, `per_week` chance in any week after baseline."""
    if per_week <= 0:
        return np.full(n, np.inf)
    weeks = rng.geometric(per_week, n) - 1 + rng.uniform(0, 1, n)
    return baseline_day + 7.0 * weeks


def _t_ci(x: np.ndarray, alpha: float) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    m = float(np.mean(x)) if len(x) else math.nan
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(1 - alpha / 2, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def hedges_g(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hedges' g of x over y with its normal-approximation interval (Hedges & Olkin 1985;
    Borenstein et al. 2009, ch. 4)."""
    n1, n2 = len(x), len(y)
    sp = math.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / (n1 + n2 - 2))
    d = (np.mean(x) - np.mean(y)) / sp if sp > 0 else math.nan
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    g = float(j * d)
    se = j * math.sqrt((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))  # V_g = J^2 V_d (Borenstein 2009)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return g, g - z * se, g + z * se


def ancova(follow: np.ndarray, base: np.ndarray, treated: np.ndarray, alpha: float = 0.05) -> dict[str, Any]:
    """Effect of treatment on follow-up adjusted for baseline (OLS: follow ~ 1 + treated + base)."""
    import statsmodels.api as sm

    columns = [treated.astype(float)]
    adjusted = bool(np.ptp(base) > 1e-9 * max(1.0, float(np.abs(base).max())))
    if adjusted:  # a baseline that does not vary between patients adjusts nothing
        columns.append(base)
    X = sm.add_constant(np.column_stack(columns), has_constant="add")
    fit = sm.OLS(follow, X).fit()
    lo, hi = fit.conf_int(alpha)[1]
    return {
        "adjusted_for_baseline": adjusted,
        "effect": float(fit.params[1]),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p": float(fit.pvalues[1]),
    }


def _mixed_model(data: TrialData, arm: int, base: np.ndarray, alpha: float) -> dict[str, Any]:
    """Random-intercept linear mixed model over post-baseline visits; arm effect at follow-up."""
    if data.visits is None:
        return {"error": "no repeated visits recorded"}
    v = data.visits
    keep = np.isin(data.allocated, (arm, data.control)) & ~data.failed
    ids = np.flatnonzero(keep)
    frame = v[v["patient"].isin(ids) & (v["day"] > data.baseline_day)].copy()
    frame = frame[frame["day"] < data.dropout_day[frame["patient"].to_numpy()]]
    frame["treated"] = (data.allocated[frame["patient"].to_numpy()] == arm).astype(int)
    frame["baseline"] = base[frame["patient"].to_numpy()]
    if frame.empty or frame["treated"].nunique() < 2:
        return {"error": "too few observed visits"}
    days = np.sort(frame["day"].unique())
    if data.followup_day not in days:
        return {"error": f"no visit observed on the follow-up day {data.followup_day}"}
    # value ~ treated * C(day, reference = follow-up) (+ baseline): `treated` is then the arm's
    # effect at follow-up
    day = frame["day"].to_numpy()
    dummies = np.stack([day == d for d in days if d != data.followup_day], axis=1).astype(float)
    treated = frame["treated"].to_numpy(float)[:, None]
    columns = [np.ones((len(frame), 1)), treated, dummies, treated * dummies]
    if frame["baseline"].nunique() > 1:
        columns.append(frame["baseline"].to_numpy(float)[:, None])
    x = np.concatenate(columns, axis=1)
    try:  # a visit day observed in one arm only leaves the design rank-deficient: an error
        fit = fit_random_intercept(x, frame["value"].to_numpy(float), frame["patient"].to_numpy())
    except (np.linalg.LinAlgError, ValueError) as err:
        return {"error": f"the mixed model could not be fitted: {err}"}
    effect, se = float(fit.beta[1]), float(np.sqrt(fit.cov[1, 1]))
    z = stats.norm.ppf(1 - alpha / 2)
    return {
        "effect": effect,
        "ci_low": effect - z * se,
        "ci_high": effect + z * se,
        "p": float(2 * stats.norm.sf(abs(effect) / se)),
        "converged": fit.converged,
        "visits": len(frame),
    }


def analyse(
    data: TrialData,
    *,
    mid: float | None = None,
    higher_is_better: bool = True,
    subgroups: tuple[str, ...] = (),
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The whole analysis of one trial, as plain JSON-able numbers."""
    base, follow = data.observed()
    change = follow - base
    sign = 1.0 if higher_is_better else -1.0
    analysed = np.isfinite(follow)
    consort: dict[str, Any] = {"screened": data.screened, "enrolled": data.n, "arms": {}}
    per_arm: dict[str, Any] = {}
    for a, name in enumerate(data.arms):
        mine = data.allocated == a
        consort["arms"][name] = {
            "allocated": int(mine.sum()),
            "lost_to_follow_up": int((mine & (data.dropout_day <= data.followup_day) & ~data.failed).sum()),
            "simulation_failed": int((mine & data.failed).sum()),
            "analysed": int((mine & analysed).sum()),
        }
        m, lo, hi = _t_ci(change[mine & analysed], alpha)
        per_arm[name] = {
            "baseline_mean": _f(np.mean(base[mine])),
            "followup_mean": _f(np.mean(follow[mine & analysed])) if (mine & analysed).any() else None,
            "change_mean": _f(m),
            "change_ci": [_f(lo), _f(hi)],
            "change_sd": _f(np.std(change[mine & analysed], ddof=1)) if (mine & analysed).sum() > 1 else None,
        }
    comparisons = {}
    for a, name in enumerate(data.arms):
        if a != data.control:
            comparisons[name] = _compare(data, a, base, follow, change, analysed, sign, mid, subgroups, alpha)
    return {
        "arms": list(data.arms),
        "control": data.arms[data.control],
        "baseline_day": data.baseline_day,
        "followup_day": data.followup_day,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "mid": mid,
        "consort": consort,
        "per_arm": per_arm,
        "comparisons": comparisons,
    }


def analyse_secondary(
    data: TrialData, *, log: bool = False, higher_is_better: bool = True, alpha: float = 0.05
) -> dict[str, Any]:
    """A secondary outcome: per-arm means and, for each arm against control, the ANCOVA of
    follow-up on arm and baseline with the true (counterfactual) effect beside it. With `log`,
    values are analysed as logs and effects reported as % ratios, 100 (exp(b) - 1): -34 means
    follow-up 34 % lower than under control at equal baseline; means are geometric."""
    base, follow = data.observed()
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = ~(base > 0) | ~((follow > 0) | np.isnan(follow))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"scale log needs positive values; patient {int(data.patients[i])} has baseline "  # type: ignore[index]
                    f"{base[i]:g} and follow-up {follow[i]:g}"
                )
            base, follow = np.log(base), np.log(follow)
            potential = np.log(data.potential)
    else:
        potential = data.potential

    def shown(x: float) -> float | None:  # a log difference as a % ratio
        return _f(100.0 * (math.exp(x) - 1.0)) if log else _f(x)

    analysed = np.isfinite(follow)
    per_arm = {}
    for a, name in enumerate(data.arms):
        mine = data.allocated == a
        b, f = base[mine], follow[mine & analysed]
        per_arm[name] = {
            "baseline_mean": _f(math.exp(b.mean()) if log else b.mean()),
            "followup_mean": (_f(math.exp(f.mean()) if log else f.mean())) if len(f) else None,
            "analysed": len(f),
        }
    comparisons: dict[str, Any] = {}
    for a, name in enumerate(data.arms):
        if a == data.control:
            continue
        both = np.isin(data.allocated, (a, data.control)) & analysed
        row: dict[str, Any] = {"n_treated": int((both & (data.allocated == a)).sum()),
                               "n_control": int((both & (data.allocated == data.control)).sum())}  # fmt: skip
        if min(row["n_treated"], row["n_control"]) < 2:
            row["error"] = "fewer than two analysed patients in an arm"
        else:
            fit = ancova(follow[both], base[both], data.allocated[both] == a, alpha)
            row["ancova"] = {**fit, **{k: shown(fit[k]) for k in ("effect", "ci_low", "ci_high")}}
        true = potential[:, a] - potential[:, data.control]
        row["true_effect"] = shown(float(np.nanmean(true)))
        comparisons[name] = row
    return {
        "unit": "% ratio to control" if log else "measure's units",
        "higher_is_better": higher_is_better,
        "per_arm": per_arm,
        "comparisons": comparisons,
    }


def _compare(
    data: TrialData,
    a: int,
    base: np.ndarray,
    follow: np.ndarray,
    change: np.ndarray,
    analysed: np.ndarray,
    sign: float,
    mid: float | None,
    subgroups: tuple[str, ...],
    alpha: float,
) -> dict[str, Any]:
    c = data.control
    t_mask, c_mask = (data.allocated == a) & analysed, (data.allocated == c) & analysed
    both = t_mask | c_mask
    out: dict[str, Any] = {"n_treated": int(t_mask.sum()), "n_control": int(c_mask.sum())}
    if t_mask.sum() < 2 or c_mask.sum() < 2:
        out["error"] = "fewer than two analysed patients in an arm"
        return out
    welch = stats.ttest_ind(change[t_mask], change[c_mask], equal_var=False)
    ci = welch.confidence_interval(1 - alpha)
    out["change_difference"] = {
        "effect": _f(np.mean(change[t_mask]) - np.mean(change[c_mask])),
        "ci_low": _f(ci.low),
        "ci_high": _f(ci.high),
        "p": _f(welch.pvalue),
        "test": "Welch t-test on change from baseline",
    }
    out["ancova"] = ancova(follow[both], base[both], data.allocated[both] == a, alpha)
    out["mixed_model"] = _mixed_model(data, a, base, alpha)
    g, glo, ghi = hedges_g(change[t_mask], change[c_mask], alpha)
    out["hedges_g"] = {"g": _f(g), "ci_low": _f(glo), "ci_high": _f(ghi)}
    true = data.potential[:, a] - data.potential[:, c]
    out["true_effect"] = {
        "mean": _f(np.nanmean(true)),
        "note": "mean over all enrolled patients of follow-up under this arm minus under control "
        "(counterfactuals the simulator knows; a real trial cannot see this)",
    }
    if mid is not None:
        out["responders"] = _responders(sign * change[t_mask] >= mid, sign * change[c_mask] >= mid, alpha)
    out["subgroups"] = {}
    for name in subgroups:
        values = data.traits[name]
        cut = float(np.median(values[both]))
        groups: dict[str, Any] = {}
        for half, mask in (("low", values <= cut), ("high", values > cut)):
            tm, cm = t_mask & mask, c_mask & mask
            row: dict[str, Any] = {"n_treated": int(tm.sum()), "n_control": int(cm.sum())}
            if tm.sum() >= 2 and cm.sum() >= 2:
                w = stats.ttest_ind(change[tm], change[cm], equal_var=False)
                wci = w.confidence_interval(1 - alpha)
                row.update(
                    effect=_f(np.mean(change[tm]) - np.mean(change[cm])),
                    ci_low=_f(wci.low),
                    ci_high=_f(wci.high),
                )
            row["true_effect"] = _f(np.nanmean(true[mask]))
            groups[half] = row
        z = (values - values[both].mean()) / (values[both].std() or 1.0)
        groups["split_at"] = cut
        groups["interaction_p"] = _interaction_p(change[both], data.allocated[both] == a, z[both])
        out["subgroups"][name] = groups
    return out


def _interaction_p(change: np.ndarray, treated: np.ndarray, z: np.ndarray) -> float | None:
    import statsmodels.api as sm

    X = sm.add_constant(np.column_stack([treated, z, treated * z]).astype(float), has_constant="add")
    fit = sm.OLS(change, X).fit()
    return _f(fit.pvalues[3])


def _responders(t: np.ndarray, c: np.ndarray, alpha: float) -> dict[str, Any]:
    from statsmodels.stats.proportion import confint_proportions_2indep

    rt, rc = float(t.mean()), float(c.mean())
    lo, hi = confint_proportions_2indep(
        int(t.sum()), len(t), int(c.sum()), len(c), method="newcomb", compare="diff", alpha=alpha
    )
    rd = rt - rc
    out: dict[str, Any] = {
        "rate_treated": rt,
        "rate_control": rc,
        "risk_difference": rd,
        "rd_ci": [float(lo), float(hi)],
        "nnt": _f(1 / rd) if rd != 0 else None,
    }
    if lo > 0 or hi < 0:
        out["nnt_ci"] = sorted([float(1 / hi), float(1 / lo)])
    else:
        out["nnt_ci"] = None
        out["nnt_note"] = "the risk difference interval includes 0: NNT is unbounded (benefit or harm)"
    return out


def power_curve(
    data: TrialData,
    arm: int,
    sizes: tuple[int, ...],
    repeats: int,
    rng: np.random.Generator,
    *,
    per_week: float = 0.0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Share of repeated virtual trials (n patients an arm) whose ANCOVA rejects no effect.

    Each trial draws its patients with replacement from the simulated cohort (failed simulations
    left out), gives each a fresh drop-out day, and analyses the completers.
    """
    from statsmodels.stats.proportion import proportion_confint

    pool = np.flatnonzero(np.isfinite(data.potential[:, arm]) & np.isfinite(data.potential[:, data.control]))
    rows = []
    for n in sizes:
        hits = 0
        for _ in range(repeats):
            t_idx, c_idx = rng.choice(pool, n), rng.choice(pool, n)
            base = np.concatenate(
                [data.baseline_potential[t_idx, arm], data.baseline_potential[c_idx, data.control]]
            )
            follow = np.concatenate([data.potential[t_idx, arm], data.potential[c_idx, data.control]])
            treated = np.repeat([True, False], n)
            stay = dropout_days(2 * n, per_week, data.baseline_day, rng) > data.followup_day
            if stay[treated].sum() < 2 or stay[~treated].sum() < 2:
                continue
            hits += ancova(follow[stay], base[stay], treated[stay], alpha)["p"] < alpha
        lo, hi = proportion_confint(hits, repeats, alpha=0.05, method="wilson")
        rows.append({"n_per_arm": int(n), "power": hits / repeats, "ci": [float(lo), float(hi)]})
    return {"rows": rows, "repeats": repeats, "alpha": alpha, "needed": _needed(rows)}


def _needed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Patients an arm for 80 % and 90 % power, interpolated linearly between tried sizes."""
    out: dict[str, Any] = {}
    for target in (0.8, 0.9):
        key = f"{round(target * 100)}%"
        out[key] = None
        prev = None
        for r in rows:
            if r["power"] >= target:
                if prev is None or prev["power"] >= target:
                    out[key] = r["n_per_arm"]
                else:
                    frac = (target - prev["power"]) / (r["power"] - prev["power"])
                    out[key] = math.ceil(
                        prev["n_per_arm"] + frac * (r["n_per_arm"] - prev["n_per_arm"]) - 1e-9
                    )
                break
            prev = r
    return out


def _f(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
