"""Choosing a plan from forecasts, by hand-made forecasts whose answer is known.

Three plans of `motor`'s library with known outcome draws: the recommendation must be the best
within the limits (minutes a week from the blocks at the model's pace: 300 repetitions x 5
sessions at 10 a minute = 150 minutes), must name a better plan the limits exclude, must follow
the milestone objective when asked (a plan with a lower mean can reach a target more often),
and must say when two plans cannot be told apart.
"""

import numpy as np
import pytest

from neurorehab.models import registry
from neurorehab.runners.patient import Forecast
from neurorehab.runners.recommend import Limits, plan_load, recommend

INFO = registry.get("motor")
DAYS = np.array([0, 14, 90, 183])


def _forecast(plan, finals, pain=1.0):
    finals = np.asarray(finals, float)
    clean = np.stack([np.full_like(finals, 30.0), np.full_like(finals, 35.0), finals - 2, finals], axis=1)
    n = len(finals)
    scores = {"FM-UE": clean, "ARAT": clean * 0.5, "MAL-AOU": clean / 66 * 5}
    return Forecast(plan, DAYS, scores, scores, np.full(n, pain), np.full(n, 0.2), 0)


def test_plan_load_from_blocks_and_pace():
    assert plan_load(INFO, "high-dose-practice") == (150.0, 5)
    assert plan_load(INFO, "usual-care") == (15.0, 5)
    assert plan_load(INFO, "cimt") == (70.0, 7)  # 100 repetitions x 7 a week in its first block
    assert plan_load(INFO, "no-therapy") == (0.0, 0)


def test_best_within_limits_and_the_excluded_better_plan():
    rng = np.random.default_rng(0)
    fc = {
        "usual-care": _forecast("usual-care", 45 + rng.normal(0, 3, 200)),
        "high-dose-practice": _forecast("high-dose-practice", 55 + rng.normal(0, 3, 200)),
        "no-therapy": _forecast("no-therapy", 40 + rng.normal(0, 3, 200)),
    }
    rec = recommend(INFO, fc, Limits(minutes_per_week=100))
    assert rec.plan == "usual-care"
    excluded = [r for r in rec.reasons if "high-dose-practice would do better" in r]
    assert excluded and "150 min a week > the limit 100" in excluded[0], rec.reasons
    assert recommend(INFO, fc, Limits()).plan == "high-dose-practice"
    assert recommend(INFO, fc, Limits(sessions_per_week=4)).plan == "no-therapy"
    none = recommend(INFO, fc, Limits(sessions_per_week=4, pain=0.5))
    assert none.plan is None and "no plan" in none.reasons[0]


def test_milestone_objective_prefers_the_likelier_plan():
    # usual care: all at 49 (never 50); no therapy: half at 40, half at 52 (mean 46, P = 0.5)
    fc = {
        "usual-care": _forecast("usual-care", np.full(100, 49.0)),
        "no-therapy": _forecast("no-therapy", np.r_[np.full(50, 40.0), np.full(50, 52.0)]),
    }
    assert recommend(INFO, fc, Limits()).plan == "usual-care"
    rec = recommend(INFO, fc, Limits(), objective="milestone", milestone=50)
    assert rec.plan == "no-therapy"
    assert next(o for o in rec.options if o.plan == "no-therapy").milestone == pytest.approx(0.5)


def test_plans_not_told_apart_are_said_so():
    rng = np.random.default_rng(1)
    base = 50 + rng.normal(0, 4, 300)
    fc = {
        "usual-care": _forecast("usual-care", base + rng.normal(0, 0.5, 300)),
        "no-therapy": _forecast("no-therapy", base + rng.normal(0, 0.5, 300)),
    }
    rec = recommend(INFO, fc, Limits())
    assert any("not told apart" in r for r in rec.reasons), rec.reasons
