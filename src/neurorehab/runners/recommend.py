"""Recommending a plan: the best forecast within what the patient can do, with reasons.

The plan with the best expected primary score (or milestone probability) among those within the
patient's limits (minutes and sessions a week from the plan's blocks at the model's pace; peak
pain and fatigue from the forecast), with the reasons: the forecast, the mechanism the plan works
through, the paired difference from the next best plan, and better plans the limits exclude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurorehab.models.registry import ModelInfo
from neurorehab.runners.fit_sims import PatientError, fit_spec
from neurorehab.runners.patient import Forecast


@dataclass(frozen=True)
class Limits:
    """What the patient can do: minutes of therapy a week, sessions a week, the pain (NRS 0-10)
    and fatigue (0-1) they accept at the worst point of a day (None: no limit)."""

    minutes_per_week: float | None = None
    sessions_per_week: int | None = None
    pain: float | None = None
    fatigue: float | None = None


def plan_load(info: ModelInfo, plan: str) -> tuple[float, int]:
    """(minutes, sessions) in the plan's busiest week, at the model's pace."""
    blocks = fit_spec(info).plans[plan].protocol
    minutes = [
        float(b["minutes"]) if "minutes" in b else float(b["repetitions"]) / info.reps_per_minute
        for b in blocks
    ]
    per_week = [int(b["sessions_per_week"]) * int(b.get("sessions_per_day", 1)) for b in blocks]
    if not blocks:
        return 0.0, 0
    return max(m * s for m, s in zip(minutes, per_week, strict=True)), max(per_week)


@dataclass
class Option:
    plan: str
    expected: float  # mean primary score at the day asked
    low: float
    high: float
    milestone: float  # probability of reaching the milestone by then
    minutes_per_week: float
    sessions_per_week: int
    pain: float  # median peak
    fatigue: float
    within: bool
    why_not: list[str]


@dataclass
class Recommendation:
    plan: str | None
    objective: str
    day: int
    milestone: float
    options: list[Option]
    reasons: list[str]


def recommend(
    info: ModelInfo,
    forecasts: dict[str, Forecast],
    limits: Limits,
    *,
    objective: str = "outcome",
    day: int | None = None,
    milestone: float | None = None,
) -> Recommendation:
    """The best plan within the limits by `objective` ("outcome": the expected primary score on
    `day`, default the horizon; "milestone": the probability of reaching `milestone` by then)."""
    if objective not in ("outcome", "milestone"):
        raise PatientError(f"objective {objective!r}: use outcome or milestone")
    fit = fit_spec(info)
    ins = fit.instruments[fit.primary]
    day = fit.horizon_days if day is None else day
    target = fit.milestone if milestone is None else milestone
    sign = 1.0 if ins.higher_is_better else -1.0
    options = []
    for plan, f in forecasts.items():
        col = int(np.argmin(np.abs(f.days - day)))
        x = f.clean[fit.primary][:, col]
        minutes, sessions = plan_load(info, plan)
        pain, fatigue = float(np.median(f.peak_pain)), float(np.median(f.peak_fatigue))
        why = []
        if limits.minutes_per_week is not None and minutes > limits.minutes_per_week + 1e-9:
            why.append(f"{minutes:.0f} min a week > the limit {limits.minutes_per_week:g}")
        if limits.sessions_per_week is not None and sessions > limits.sessions_per_week:
            why.append(f"{sessions} sessions a week > the limit {limits.sessions_per_week}")
        if limits.pain is not None and pain > limits.pain:
            why.append(f"pain peaks at {pain:.1f} (median) > the limit {limits.pain:g}")
        if limits.fatigue is not None and fatigue > limits.fatigue:
            why.append(f"fatigue peaks at {fatigue:.2f} (median) > the limit {limits.fatigue:g}")
        options.append(
            Option(
                plan,
                float(x.mean()),
                float(np.quantile(x, 0.05)),
                float(np.quantile(x, 0.95)),
                f.reach(fit.primary, target, day, ins.higher_is_better),
                minutes,
                sessions,
                pain,
                fatigue,
                not why,
                why,
            )
        )

    def score(o: Option) -> float:
        return o.milestone if objective == "milestone" else sign * o.expected

    options.sort(key=score, reverse=True)
    allowed = [o for o in options if o.within]
    if not allowed:
        return Recommendation(
            None, objective, day, target, options, ["no plan of the library fits within the patient's limits"]
        )
    best = allowed[0]
    reasons = [
        f"{best.plan}: expected {fit.primary}-like {best.expected:.1f} on day {day} "
        f"(90 % interval {best.low:.1f}-{best.high:.1f}); "
        f"P(reach {target:g} by day {day}) = {best.milestone:.2f}",
        f"works through: {fit.plans[best.plan].mechanism}",
    ]
    if len(allowed) > 1:
        runner = allowed[1]
        a = forecasts[best.plan].clean[fit.primary][
            :, int(np.argmin(np.abs(forecasts[best.plan].days - day)))
        ]
        b = forecasts[runner.plan].clean[fit.primary][
            :, int(np.argmin(np.abs(forecasts[runner.plan].days - day)))
        ]
        m = min(len(a), len(b))
        diff = sign * (a[:m] - b[:m])  # the same draws and keys: a paired difference
        reasons.append(
            f"against the next best within limits ({runner.plan}): {(a[:m] - b[:m]).mean():+.1f} points, "
            f"better in {(diff > 0).mean():.0%} of posterior draws"
        )
        se = float(diff.std(ddof=1) / np.sqrt(m)) if m > 1 else np.inf
        if objective == "outcome" and abs(float(diff.mean())) < 2 * se:
            reasons.append(
                f"{best.plan} and {runner.plan} are not told apart by this forecast (difference within "
                f"twice its standard error, {se:.2f} points): choose between them by preference"
            )
    excluded = [o for o in options if not o.within and score(o) > score(best)]
    for o in excluded:
        reasons.append(f"{o.plan} would do better but is outside the limits: {'; '.join(o.why_not)}")
    return Recommendation(best.plan, objective, day, target, options, reasons)
