"""Modulators of plasticity against SCIENCE.md section 6 and analytic solutions.

References: exercise (Roig et al. 2012; Thomas et al. 2016: after beats before, high beats
moderate, 20 min after beats 1 h and 2 h after, acquisition unchanged, and replications that
found nothing); sleep (Walker et al. 2002: about +20 % speed after a night, none after the same
time awake); spacing (same total practice, spaced beats massed); fatigue (late repetitions of a
long session yield less); pain-monitoring (Thomee 1997: a session stops at the pain limit).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core import condition as modulators
from neurorehab.core.engine import simulate, simulate_one
from neurorehab.models import default_params
from neurorehab.models.pathway import INFO as PATHWAY
from neurorehab.models.pathway import Pathway
from neurorehab.models.protocol import Adherence, Block, compile_calendar
from neurorehab.models.skill import INFO, Skill

MODEL = Skill()
PARAMS = default_params(INFO)


def _run(blocks, days, params=None, probe_hours=()):
    """Skill after each slot, and the slots' (day, hour): assessed after every session and at
    the probes' clock times."""
    sessions = [t for b in blocks for t in b.session_times()]
    cal = compile_calendar(
        blocks, duration_days=max(days), assess_days=days, n_tasks=1, assess_times=[*probe_hours, *sessions]
    )
    given = params or {}
    condition = {k: v for k, v in given.items() if k in modulators.PARAMS}
    model = {**PARAMS, **{k: v for k, v in given.items() if k not in modulators.PARAMS}}
    measures, _, code = simulate_one(MODEL, model, cal, jax.random.key(0), condition=condition)
    assert int(code) == 0
    times = list(zip(np.asarray(cal.day).tolist(), (np.asarray(cal.minute) / 60).tolist(), strict=True))
    return {k: np.asarray(v) for k, v in measures.items()}, times


def _at(measures, times, day, hour, name="skill"):
    return float(measures[name][times.index((day, hour))])


PRACTICE = Block("task-practice", 1, 1, 7, 180, hour=10.0)


def _exercise(hour, intensity=0.9, **params):
    blocks = [PRACTICE] + (
        [Block("aerobic-exercise", 1, 1, 7, 1, hour=hour, intensity=intensity)] if hour else []
    )
    m, t = _run(blocks, [0, 2, 8], params)
    return _at(m, t, 1, 10.0), _at(m, t, 2, 9.0), _at(m, t, 8, 9.0)


def test_exercise_timing_and_intensity_orderings_with_acquisition_unchanged():
    rest = _exercise(None)
    high = {
        name: _exercise(h)
        for name, h in [("before", 9 + 40 / 60), ("20min", 10 + 20 / 60), ("1h", 11.0), ("2h", 12.0)]
    }
    moderate = _exercise(10 + 20 / 60, intensity=0.6)
    for acquired, *_ in [*high.values(), moderate]:
        assert acquired == pytest.approx(rest[0], abs=1e-6)  # acquisition unchanged
    week = {k: v[2] for k, v in high.items()}
    assert week["20min"] > week["1h"] > week["2h"] > rest[2]  # soon after beats later
    assert week["20min"] > week["before"] > rest[2]  # after beats before
    assert week["20min"] > moderate[2] > rest[2]  # high beats moderate
    assert high["20min"][1] > rest[1]  # 1-day retention also improves
    assert week["20min"] / rest[2] - 1 == pytest.approx(0.15, abs=0.1)  # Roig 2012: 10-20 % (modelled)


def test_exercise_effect_vanishes_for_a_non_responder():
    rest, none = _exercise(None), _exercise(10 + 20 / 60, exercise_response=0.0)
    assert none[2] == pytest.approx(rest[2], rel=1e-3)
    below = _exercise(10 + 20 / 60, intensity=0.45)  # under the catecholamine threshold
    assert below[2] == pytest.approx(rest[2], rel=1e-3)


def test_sleep_gain_and_no_gain_after_the_same_time_awake():
    """Walker et al. 2002: trained at 10:00, no change by 22:00, about +20 % after the night;
    trained at 22:00, about +20 % by 10:00. Tolerance: 20 +- 5 % and |wake| < 3 %."""
    m, t = _run([PRACTICE], [0, 2], probe_hours=[(1, 22.0), (2, 10.0)])
    end, evening, morning = (_at(m, t, d, h, "speed_like") for d, h in [(1, 10.0), (1, 22.0), (2, 10.0)])
    assert abs(evening / end - 1) < 0.03
    assert morning / end - 1 == pytest.approx(0.20, abs=0.05)
    m, t = _run([Block("task-practice", 1, 1, 7, 180, hour=22.0)], [0, 3], probe_hours=[(2, 10.0), (2, 22.0)])
    end, morning = _at(m, t, 1, 22.0, "speed_like"), _at(m, t, 2, 10.0, "speed_like")
    assert morning / end - 1 == pytest.approx(0.20, abs=0.05)


def test_slept_hours_follow_the_clock():
    p = {"sleep_start_h": jnp.float32(23.0), "sleep_h": jnp.float32(8.0)}
    day2 = 24.0 * 2
    assert float(modulators.slept_hours(jnp.float32(day2 + 10), jnp.float32(12.0), p)) == pytest.approx(8.0)
    assert float(modulators.slept_hours(jnp.float32(day2 + 22), jnp.float32(12.0), p)) == pytest.approx(0.0)
    assert float(modulators.slept_hours(jnp.float32(day2 + 3), jnp.float32(2.0), p)) == pytest.approx(2.0)
    assert float(modulators.slept_hours(jnp.float32(day2 + 10), jnp.float32(72.0), p)) == pytest.approx(24.0)


def test_spaced_beats_massed_at_equal_dose():
    """Same 400 repetitions, one session or four on consecutive days, retention a week after
    the last session: spaced ahead (Shea et al. 2000; SCIENCE.md section 6), with or without
    fatigue (the per-night capacity of consolidation alone favours spacing)."""
    for params in ({}, {"fatigue_cost": jnp.float32(0.0)}):
        massed, _ = _run([Block("task-practice", 4, 1, 7, 400)], [0, 11], params)
        spaced, _ = _run([Block("task-practice", 1, 4, 7, 100)], [0, 11], params)
        assert massed["reps_done"][-1] == spaced["reps_done"][-1] == 400
        assert spaced["skill"][-1] > massed["skill"][-1] * 1.02


def test_fatigue_follows_its_recursion_and_lowers_the_yield_of_late_repetitions():
    p = {"fatigue_reps": jnp.float32(300.0), "fatigue_cost": jnp.float32(0.5)}
    tone = modulators.rest(p)
    for _ in range(150):
        tone = modulators.after_repetition(tone, jnp.float32(1.0), p)
    assert float(tone.fatigue) == pytest.approx(1 - (1 - 1 / 300) ** 150, rel=1e-5)
    assert float(modulators.plasticity_gain(tone, p)) == pytest.approx(
        1 - 0.5 * float(tone.fatigue), rel=1e-6
    )
    rested, _ = modulators.offline(tone, jnp.float32(2.0), {**p, "fatigue_recovery_h": jnp.float32(1.0)})
    assert float(rested.fatigue) == pytest.approx(float(tone.fatigue) * np.exp(-2.0), rel=1e-5)

    def halves(params):  # gain of reps 1-300 and 301-600 of one session
        m1, _ = _run([Block("task-practice", 1, 1, 7, 300)], [0, 2], params)
        m2, _ = _run([Block("task-practice", 1, 1, 7, 600)], [0, 2], params)
        first = m1["skill"][1]
        return first, m2["skill"][1] - first

    tired, fresh = halves({}), halves({"fatigue_cost": jnp.float32(0.0)})
    assert tired[1] / tired[0] < 0.85 * fresh[1] / fresh[0]


def test_pain_stops_a_session_at_its_limit_and_settles_by_morning():
    params = {"pain": jnp.float32(2.0), "pain_per_rep": jnp.float32(0.05), "pain_limit": jnp.float32(5.0)}
    m, t = _run([Block("task-practice", 1, 1, 7, 100)], [0, 2], params)
    assert m["reps_done"][t.index((1, 9.0))] == 60  # (5 - 2) / 0.05 repetitions, then it stops
    assert m["pain"][t.index((1, 9.0))] == pytest.approx(5.0, abs=1e-4)
    expected = 2.0 + 3.0 * np.exp(-24.0 / 12.0)  # back towards baseline over 24 h (tau 12 h)
    assert m["pain"][t.index((2, 9.0))] == pytest.approx(expected, rel=1e-4)


def test_stimulation_primes_the_practice_that_follows_within_its_window():
    def acquired(stim_hour, **params):
        blocks = [PRACTICE] + ([Block("tdcs", 1, 1, 7, 1, hour=stim_hour)] if stim_hour else [])
        m, t = _run(blocks, [0, 2], params)
        return _at(m, t, 1, 10.0)

    none, near, far = acquired(None), acquired(9.75), acquired(7.0)
    assert near > far > none  # priming decays over its window (Nitsche & Paulus 2001)
    assert acquired(9.75, stim_response=jnp.float32(0.0)) == pytest.approx(none, abs=1e-7)


def test_bdnf_met_lowers_plasticity_by_its_cost():
    """The first repetition's slow learning scales exactly with the genotype factor."""
    m_val, t = _run([Block("task-practice", 1, 1, 7, 1)], [0, 2])
    m_met, _ = _run([Block("task-practice", 1, 1, 7, 1)], [0, 2], {"bdnf_met": jnp.float32(1.0)})
    i = t.index((1, 9.0))
    assert m_met["x_slow"][i] / m_val["x_slow"][i] == pytest.approx(0.8, rel=1e-5)


def test_home_programme_adherence_matches_its_probability():
    """Binomial check: 400 patients x 28 offered sessions, done with probability 0.9 falling by
    0.1 a week (weeks 0-3 of the block): expected share 0.707, tolerance 4 binomial SE."""
    n = 400
    block = Block("task-practice", 0, 28, 7, 10, adherence=Adherence(0.9, -0.1))
    cal = compile_calendar([block], duration_days=28, assess_days=[28], n_tasks=len(PATHWAY.tasks))
    measures, _ = simulate(
        Pathway(n_cells=4), default_params(PATHWAY, n), cal, jax.random.split(jax.random.key(3), n)
    )
    done = measures["sessions_done"][:, -1]
    expected = np.mean([0.9 - 0.1 * d / 7 for d in range(28)])  # weeks since the block began
    share = done.mean() / 28
    se = np.sqrt(expected * (1 - expected) / (n * 28))
    assert share == pytest.approx(expected, abs=4 * se)
    assert measures["reps_done"][:, -1].tolist() == (10 * done).tolist()


def test_techniques_table_names_only_real_interventions():
    """`neurorehab list techniques` must not promise an intervention that does not exist."""
    import re

    from neurorehab.models import models
    from neurorehab.models.interventions import INTERVENTIONS, TECHNIQUES

    every = set(INTERVENTIONS).union(*(info.interventions for info in models().values()))
    table = [*TECHNIQUES.values(), *(how for info in models().values() for how in info.techniques.values())]
    named = {
        n
        for how in table
        for m in re.findall(r"interventions? ([a-z0-9-]+)(?: and ([a-z0-9-]+))?", how)
        for n in m
        if n
    }
    assert named and named <= every  # generic ones, and the models' own
    assert every <= named  # and every intervention serves a named technique
