"""`pathway` reproduces seed 000, Figure 2 (the surviving route takes over when B is lost)."""

import jax
import numpy as np
import pytest

from neurorehab.core.engine import simulate
from neurorehab.models import default_params
from neurorehab.models.pathway import INFO, LoseB, Pathway
from neurorehab.models.protocol import Block, compile_calendar

DAYS = [*list(range(0, 71, 7)), 1]


def _run(reps, n=16):
    blocks = [Block("task-practice", 7, 42, 5, reps)] if reps else []
    cal = compile_calendar(blocks, duration_days=70, assess_days=DAYS, n_tasks=2, event_days=[1])
    measures, codes = simulate(
        Pathway(), default_params(INFO, n), cal, jax.random.split(jax.random.key(3), n), events=(LoseB(),)
    )
    assert np.all(codes == 0)
    days = np.asarray(cal.day)
    return {k: {int(d): v[:, i].mean() for i, d in enumerate(days)} for k, v in measures.items()}


@pytest.fixture(scope="module")
def arms():
    return {reps: _run(reps) for reps in (0, 30, 100)}


def test_losing_b_silences_d(arms):
    # Healthy D responds fully (100 % by definition); without B its drive falls to w_A alone.
    m = arms[0]
    assert m["d_function"][0] == pytest.approx(100.0, abs=0.01)
    assert m["d_function"][1] < 15.0
    assert m["w_bd"][1] == 0.0


def test_practice_restores_d_through_a(arms):
    # Seed 000 Fig. 2: practice strengthens A->D and D's function recovers (>= 90 % of
    # pre-injury by the end of 6 weeks of 100 repetitions, 5 days a week).
    m = arms[100]
    assert m["d_function"][49] >= 90.0
    assert m["w_ad"][49] >= 3 * m["w_ad"][0]


def test_without_practice_no_recovery_and_unused_synapses_fade(arms):
    # Seed 000: "use it or lose it": no practice, no recovery; the unused A->D route fades
    # (below 60 % of its healthy weight after 7 weeks with a 3-week disuse time constant).
    m = arms[0]
    assert m["d_function"][49] <= m["d_function"][1]
    assert m["w_ad"][49] < 0.6 * m["w_ad"][0]


def test_more_practice_recovers_faster(arms):
    # Dose: at the same day, 100 repetitions a session beat 30 (Hebbian growth per trial).
    assert arms[100]["d_function"][21] > arms[30]["d_function"][21] + 20.0
