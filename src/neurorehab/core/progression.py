"""Progression from reassessment: rules that read an assessment and set the next sessions' dose.

Seed 002: assess a baseline, set progressive milestones, reassess. At each reassessment a rule
compares the tracked measure with its value at the previous reassessment and, in this order:
steps the dose down when pain or fatigue since then passed its limit, steps it up when the
improvement reached the milestone, and otherwise holds. The dose factor multiplies the
repetitions of the arm's progressive sessions, within [low, high]. Everything is traced
(`jnp.where`, no Python branching), so the rule runs inside the compiled scan and each patient
gets their own decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import Array

# Decision reasons, as recorded per reassessment (`reason` measure); decision is -1, 0 or +1.
REASONS = {
    0: "no reassessment",
    1: "baseline recorded",
    2: "milestone met: dose up",
    3: "milestone not met: hold",
    4: "pain over its limit: dose down",
    5: "fatigue over its limit: dose down",
}


@dataclass(frozen=True)
class Rule:
    """A progression rule (static: one per arm).

    measure: the tracked measure; higher_is_better: its direction; milestone: the improvement
    between reassessments that earns a step up (measure units); up, down: dose factors per step;
    low, high: bounds of the dose factor; pain_limit (NRS 0-10) and fatigue_limit (0-1): peaks
    since the last reassessment that make it step down.
    """

    measure: str
    milestone: float
    higher_is_better: bool = True
    up: float = 1.25
    down: float = 0.8
    low: float = 0.5
    high: float = 3.0
    pain_limit: float = 5.0
    fatigue_limit: float = 0.8


def decide(
    rule: Rule,
    factor: Array,
    value: Array,
    reference: Array,
    first: Array,
    peak_pain: Array,
    peak_fatigue: Array,
) -> tuple[Array, Array, Array]:
    """One reassessment: (new dose factor, decision -1/0/+1, reason code of `REASONS`).

    `first` marks the baseline reassessment, which only records the reference.
    """
    gain = (value - reference) * (1.0 if rule.higher_is_better else -1.0)
    reason = jnp.where(
        first,
        1,
        jnp.where(
            peak_pain > rule.pain_limit,
            4,
            jnp.where(peak_fatigue > rule.fatigue_limit, 5, jnp.where(gain >= rule.milestone, 2, 3)),
        ),
    )
    decision = jnp.where(reason == 2, 1, jnp.where(reason >= 4, -1, 0))
    step = jnp.where(decision > 0, rule.up, jnp.where(decision < 0, rule.down, 1.0))
    return jnp.clip(factor * step, rule.low, rule.high), decision, reason
