"""Progression from reassessment (seed 002: assess, set milestones, reassess).

A scripted assessment series must step the dose up when the milestone is met, hold when it is
not, and step down when pain or fatigue passed its limit, within the factor's bounds; inside
the engine, the repetitions done must equal the sum of each session's dose times the factor in
force (a conservation check).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core.engine import simulate_one
from neurorehab.core.progression import Rule, decide
from neurorehab.models import default_params
from neurorehab.models.protocol import Block, compile_calendar
from neurorehab.models.skill import INFO, Skill


def _series(rule, values, pains, fatigues):
    factor, reference, out = jnp.float32(1.0), jnp.float32(0.0), []
    for i, (v, p, f) in enumerate(zip(values, pains, fatigues, strict=True)):
        factor, decision, reason = decide(
            rule, factor, jnp.float32(v), reference, jnp.bool_(i == 0), jnp.float32(p), jnp.float32(f)
        )
        reference = jnp.float32(v)
        out.append((round(float(factor), 6), int(decision), int(reason)))
    return out


def test_scripted_series_steps_up_holds_and_steps_down():
    rule = Rule(
        "fm_ue_like", milestone=2.0, up=1.25, down=0.8, low=0.5, high=1.6, pain_limit=5.0, fatigue_limit=0.8
    )
    values = [10, 13, 14, 17, 20, 23, 26, 27]
    pains = [0, 1, 1, 6, 1, 1, 1, 1]
    fatigues = [0, 0.2, 0.2, 0.2, 0.9, 0.2, 0.2, 0.2]
    assert _series(rule, values, pains, fatigues) == [
        (1.0, 0, 1),  # baseline recorded
        (1.25, 1, 2),  # +3 >= 2: up
        (1.25, 0, 3),  # +1: hold
        (1.0, -1, 4),  # pain 6 > 5 wins over the milestone: down
        (0.8, -1, 5),  # fatigue 0.9 > 0.8: down
        (1.0, 1, 2),
        (1.25, 1, 2),
        (1.25, 0, 3),
    ]
    capped = _series(rule, [0, 5, 10, 15, 20], [0] * 5, [0] * 5)
    assert [c[0] for c in capped] == [1.0, 1.25, 1.5625, 1.6, 1.6]  # bounded by `high`


def test_lower_is_better_reverses_the_milestone():
    rule = Rule("error_q1", milestone=1.0, higher_is_better=False)
    assert [r[2] for r in _series(rule, [30, 28, 28.5], [0] * 3, [0] * 3)] == [1, 2, 3]


def test_engine_applies_the_factor_to_progressive_sessions():
    """Weekly reassessment of skill with a milestone the early weeks meet and later weeks miss:
    the factor steps up, then holds; repetitions done equal sum(dose x factor in force)."""
    rule = Rule("skill", milestone=0.03, up=1.5, high=3.0)
    blocks = [Block("task-practice", 0, 28, 5, 40, progressive=True)]
    days = [0, 7, 14, 21, 28]
    cal = compile_calendar(blocks, duration_days=28, assess_days=days, n_tasks=1, reassess_days=days)
    m, _, code = simulate_one(Skill(), default_params(INFO), cal, jax.random.key(0), rule=rule)
    assert int(code) == 0
    factor, reps, reason = (np.asarray(m[k]) for k in ("dose_factor", "reps_done", "reason"))
    n = np.asarray(cal.n_trials)
    expected = np.cumsum(np.round(n * factor))  # the factor in force at each slot
    np.testing.assert_array_equal(reps, expected)
    assess = np.asarray(cal.assess)
    assert reason[assess][0] == 1  # the first reassessment records the baseline
    assert factor[assess][1] == pytest.approx(1.5)  # week 1 met the milestone
    assert factor[assess].max() > 1.5 and set(reason[assess][1:].tolist()) <= {2, 3}
