"""One table of models; every model must pass every test here (DESIGN.md: the contract)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core.engine import simulate, simulate_one
from neurorehab.core.failures import NONFINITE, OK
from neurorehab.models import INJURIES, MODELS, default_params
from neurorehab.models.motor import Motor
from neurorehab.models.pathway import Pathway
from neurorehab.models.protocol import Block, compile_calendar
from neurorehab.models.skill import Skill
from neurorehab.models.spines import Spines

# model, (parameter, measure) for the derivative check (a smooth path from one to the other),
# and a parameter that feeds continuous state (made NaN to blow a patient up).
TABLE = {
    "pathway": (Pathway(n_cells=4), ("learning_rate", "d_function"), "learning_rate"),
    "spines": (Spines(n_branches=4, n_sites=30), ("learn_rate", "skill"), "learn_rate"),
    "motor": (Motor(n_cells=32, daily_reaches=10), ("fm_width_deg", "fm_ue_like"), "alpha_error"),
    "skill": (Skill(), ("b_slow", "skill"), "b_fast"),
}


def _setup(name, n=3):
    model = TABLE[name][0]
    info = MODELS[name][1]
    injuries = INJURIES[name]
    injury = next(iter(injuries.values()))(model, 1.0) if injuries else None
    cal = compile_calendar(
        [Block("task-practice", 2, 14, 5, 12)],
        duration_days=20,
        assess_days=[0, 5, 10, 20],
        n_tasks=len(info.tasks),
        injury_day=1 if injury else None,
    )
    params = default_params(info, n)
    keys = jax.random.split(jax.random.key(7), n)
    return model, info, injury, cal, params, keys


def test_table_covers_every_model():
    assert set(TABLE) == set(MODELS)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_runs_assesses_and_is_finite(name):
    model, info, injury, cal, params, keys = _setup(name)
    measures, codes = simulate(model, params, cal, keys, injury=injury)
    assert set(measures) == set(info.measures)
    for k, v in measures.items():
        assert v.shape == (3, len(cal.day)), k
    assert np.all(codes == OK)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_batch_equals_alone_and_seeds(name):
    model, info, injury, cal, params, keys = _setup(name)
    batched, _ = simulate(model, params, cal, keys, injury=injury, chunk_size=2)  # padded chunk
    for i in range(3):
        p_i = jax.tree_util.tree_map(lambda x, i=i: x[i], params)
        alone, _, _ = simulate_one(model, p_i, cal, keys[i], injury=injury)
        for k in info.measures:
            np.testing.assert_allclose(
                batched[k][i], np.asarray(alone[k]), rtol=1e-5, atol=1e-6, err_msg=f"{name}.{k} patient {i}"
            )
    again, _ = simulate(model, params, cal, keys, injury=injury)
    for k in info.measures:  # another chunk size compiles other vector code: last-bit float32 rounding only
        np.testing.assert_allclose(again[k], batched[k], rtol=1e-6, atol=1e-7, err_msg=f"{name}.{k}")
    other, _ = simulate(model, params, cal, jax.random.split(jax.random.key(8), 3), injury=injury)
    assert any(not np.array_equal(other[k], batched[k]) for k in info.measures)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_forward_mode_derivative_matches_finite_difference(name):
    model, _info, injury, cal, params, keys = _setup(name, n=1)
    p0 = jax.tree_util.tree_map(lambda x: x[0], params)
    pname, mname = TABLE[name][1]

    def outcome(value):
        p = {**p0, pname: value}
        return simulate_one(model, p, cal, keys[0], injury=injury)[0][mname][-1]

    x = p0[pname]
    _, tangent = jax.jvp(outcome, (x,), (jnp.ones_like(x),))
    h = 0.01 * x
    fd = (outcome(x + h) - outcome(x - h)) / (2 * h)
    assert np.isfinite(float(tangent)) and abs(float(tangent)) > 0
    assert float(tangent) == pytest.approx(float(fd), rel=0.05)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_blown_up_patient_is_flagged_and_the_batch_goes_on(name):
    model, info, injury, cal, params, keys = _setup(name)
    first = TABLE[name][2]
    bad = {**params, first: params[first].at[1].set(jnp.nan)}
    good, _ = simulate(model, params, cal, keys, injury=injury)
    measures, codes = simulate(model, bad, cal, keys, injury=injury)
    assert codes.tolist() == [OK, NONFINITE, OK]
    for k in info.measures:
        np.testing.assert_array_equal(measures[k][[0, 2]], good[k][[0, 2]])


def test_quiet_days_cost_nothing():
    # A 12-week calendar with 2 sessions and weekly assessments has a slot per event day only.
    cal = compile_calendar(
        [Block("task-practice", 10, 7, 2, 50)],
        duration_days=84,
        assess_days=list(range(0, 85, 7)),
        n_tasks=2,
        injury_day=1,
    )
    assert len(cal.day) == 13 + 1 + 2
    assert float(cal.gap_hours.sum()) == 84 * 24


def test_sessions_within_a_day():
    # Two sessions 4 h apart on each of 2 days: 4 session slots, 4 h gaps within a day, the
    # injury before the first session of its day, the day's assessment after its last session.
    cal = compile_calendar(
        [Block("task-practice", 1, 2, 7, 10, sessions_per_day=2, hours_between=4.0)],
        duration_days=3,
        assess_days=[0, 1, 2, 3],
        n_tasks=2,
        injury_day=1,
    )
    assert cal.day.tolist() == [0, 1, 1, 2, 2, 3]
    assert cal.gap_hours.tolist() == [0.0, 24.0, 4.0, 20.0, 4.0, 20.0]
    assert cal.injure.tolist() == [False, True, False, False, False, False]
    assert cal.assess.tolist() == [True, False, True, False, True, True]
    assert float(cal.gap_hours.sum()) == 3 * 24


def test_arms_share_random_numbers_by_absolute_time():
    # Common random numbers: the same patient loses the same B cells on day 3 whether or not
    # its arm had sessions before (different slot layouts, same absolute times).
    from neurorehab.models.pathway import INFO, LoseB

    params = default_params(INFO, 4)
    keys = jax.random.split(jax.random.key(5), 4)
    finals = []
    for blocks in ([Block("task-practice", 1, 2, 7, 20)], []):
        cal = compile_calendar(blocks, duration_days=6, assess_days=[0, 6], n_tasks=2, injury_day=3)
        _, _, state = simulate(Pathway(), params, cal, keys, injury=LoseB(severity=0.5), return_state=True)
        finals.append(np.asarray(state.structural["alive"]))
    np.testing.assert_array_equal(finals[0], finals[1])
    assert 0 < finals[0].sum() < finals[0].size


@pytest.mark.parametrize("severity, dead", [(0.05, 1), (0.15, 2), (0.25, 3), (0.5, 5), (1.0, 10)])
def test_lesion_size_rounds_half_up(severity, dead):
    from neurorehab.models.pathway import INFO, LoseB

    model = Pathway()
    params = default_params(INFO)
    state = LoseB(severity=severity).apply(params, model.init(params, jax.random.key(0)), jax.random.key(1))
    assert int(10 - state.structural["alive"][10:20].sum()) == dead


def test_spines_step_every_day_with_several_sessions_a_day():
    # Three sessions a day, 6 h apart, must still run each day's turnover once.
    from neurorehab.models.spines import INFO

    model = Spines(n_branches=8, n_sites=100)
    params = default_params(INFO, 4)
    keys = jax.random.split(jax.random.key(2), 4)
    out = {}
    for per_day, reps in ((1, 48), (3, 16)):
        cal = compile_calendar(
            [Block("task-practice", 1, 12, 7, reps, sessions_per_day=per_day, hours_between=6.0)],
            duration_days=12,
            assess_days=[12],
            n_tasks=len(INFO.tasks),
        )
        measures, _, state = simulate(model, params, cal, keys, return_state=True)
        assert np.all(np.asarray(state.slow["day"]) == 12.0)
        out[per_day] = measures["new_spines"][:, -1].mean()
    assert out[3] > 0.5 * out[1]


@pytest.mark.parametrize("name", [n for n in sorted(TABLE) if hasattr(TABLE[n][0], "snapshot")])
def test_snapshots_ride_along_with_the_same_numbers(name):
    # A snapshot taken in the scan at the last slot equals the snapshot of simulate_one's final
    # state; one at slot 0 differs once sessions have run (the pictures are of the same patient).
    from neurorehab.core.engine import snapshots_one

    model, _, injury, cal, params, keys = _setup(name, n=1)
    p0 = jax.tree_util.tree_map(lambda x: x[0], params)
    _, final, _ = simulate_one(model, p0, cal, keys[0], injury=injury)
    first, last = snapshots_one(
        model,
        p0,
        cal._replace(assess=None),
        keys[0],
        (0, len(cal.day) - 1),
        injury=injury,
        max_trials=cal.max_trials,
    )
    for k, v in model.snapshot(final).items():
        np.testing.assert_array_equal(np.asarray(last[k]), np.asarray(v))
    assert any(not np.array_equal(np.asarray(first[k]), np.asarray(last[k])) for k in first)
