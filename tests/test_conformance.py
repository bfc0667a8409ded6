"""One table over every registered model x each of its events x each of its interventions.

Every model must pass every test here (DESIGN.md: the contract). A model added later, in this
package or through the `neurorehab.models` entry point, is covered by registering it: the table
is built from the registry, never by hand.
"""

import itertools
import json

import jax
import jax.numpy as jnp
import jsonschema
import numpy as np
import pytest

from neurorehab.config import parse_scenario
from neurorehab.config.schema import json_schema
from neurorehab.core.engine import develop, simulate, simulate_one, snapshots_one
from neurorehab.core.failures import NONFINITE, OK
from neurorehab.core.model import Model
from neurorehab.models import default_params, models
from neurorehab.models.protocol import Block, compile_calendar

MODELS = models()


def _cases():
    out = []
    for name, info in sorted(MODELS.items()):
        for event in [None, *info.events]:
            for iv in info.available_interventions():
                out.append((name, event, iv))
    return out


CASES = _cases()


def _setup(name, event=None, intervention="task-practice", n=3):
    """The model's example, 20 days: practice at 09:00 and the intervention at 14:00 on 5 days a
    week from day 2, the event on day 1. Every intervention gives the same calendar shapes, so
    the cases of one model and event share one compilation."""
    info = MODELS[name]
    iv = info.available_interventions()[intervention]
    blocks = [
        Block("task-practice", 2, 14, 5, 12),
        Block(intervention, 2, 14, 5, 12, intensity=min(1.0, iv.max_intensity) * 0.9, hour=14.0),
    ]
    cal = compile_calendar(
        blocks, duration_days=20, assess_days=[0, 5, 10, 20], info=info, event_days=[1] if event else []
    )
    events = (info.events[event](),) if event else ()
    params = default_params(info, n)
    keys = jax.random.split(jax.random.key(7), n)
    return info.example(), info, events, cal, params, keys


def _first_event(name):
    return next(iter(MODELS[name].events), None)


def test_every_model_declares_what_the_table_needs():
    for name, info in MODELS.items():
        assert issubclass(info.model, Model), name
        assert info.example is not None, f"{name}: no example instance"
        assert isinstance(info.example(), info.model)
        assert info.differentiable, f"{name}: no differentiable parameter declared"
        for key, spec in info.params.items():
            assert spec.unit and spec.source and spec.low <= spec.default <= spec.high, (name, key)


@pytest.mark.parametrize("name, event, intervention", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_runs_finite_and_batch_equals_alone(name, event, intervention):
    # Bit-identical: a patient alone, in a batch of one, and at any position of any chunk.
    model, info, events, cal, params, keys = _setup(name, event, intervention)
    batched, codes = simulate(model, params, cal, keys, events=events, chunk_size=2)
    assert np.all(codes == OK)
    for k, v in batched.items():
        assert v.shape == (3, len(cal.day)), k
        kept = v[:, np.asarray(cal.assess)]
        # NaN only where a measure is undefined by design (a survival share before its census)
        assert not np.isinf(kept).any() and (np.isfinite(kept).any() or k.startswith("survival")), k
    assert set(batched) >= set(info.measures)
    for i in range(3):
        p_i = jax.tree_util.tree_map(lambda x, i=i: x[i : i + 1], params)
        alone, _ = simulate(model, p_i, cal, keys[i : i + 1], events=events)
        for k in info.measures:
            np.testing.assert_array_equal(batched[k][i], alone[k][0], err_msg=f"{name}.{k} patient {i}")
    wide, _ = simulate(model, params, cal, keys, events=events, chunk_size=5)
    for k in info.measures:
        np.testing.assert_array_equal(wide[k], batched[k], err_msg=f"{name}.{k}")
    again, _ = simulate(model, params, cal, keys, events=events, chunk_size=2)
    for k in info.measures:
        np.testing.assert_array_equal(again[k], batched[k], err_msg=f"{name}.{k}: same seed, other numbers")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_patient_is_the_same_in_any_lane_and_chunk(name):
    # One lane more than a lane holds: two lanes one after the other, the last padded; chunks
    # of a lane and of two; a patient alone. Patient 0 sits in lane 0, the last one alone in
    # the second lane.
    from neurorehab.core.engine import lanes

    model, info, events, cal, params, _ = _setup(name, _first_event(name), n=1)
    width = lanes(model, params)
    n = width + 1
    params = default_params(info, n)
    keys = jax.random.split(jax.random.key(11), n)
    runs = [
        simulate(model, params, cal, keys, events=events, chunk_size=c, threads=2)[0]
        for c in (width, 2 * width)
    ]
    for i in (0, width // 2, n - 1):
        one = {k: v[i : i + 1] for k, v in params.items()}
        alone = simulate(model, one, cal, keys[i : i + 1], events=events)[0]
        for k in info.measures:
            for run in runs:
                np.testing.assert_array_equal(run[k][i], alone[k][0], err_msg=f"{name}.{k} patient {i}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_padded_calendar_gives_the_same_numbers(name):
    # A scenario's arms run at one shape (`common_bounds`: more slots, a longer session bound,
    # more day steps), so that they share one compilation; the padding must change nothing.
    from neurorehab.core.engine import Bounds

    model, info, events, cal, params, keys = _setup(name, _first_event(name))
    own, _ = simulate(model, params, cal, keys, events=events)
    bounds = Bounds(int(cal.day.shape[0]) + 3, cal.max_trials + 9, cal.max_days + 2)
    padded, _ = simulate(model, params, cal, keys, events=events, bounds=bounds)
    for k in info.measures:
        assert padded[k].shape == own[k].shape, k
        np.testing.assert_array_equal(padded[k], own[k], err_msg=f"{name}.{k}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_calendar_run_in_parts_gives_the_numbers_of_one_run(name):
    # Arms that share a stretch run it once and each goes on from its carry (the runners'
    # `CompiledScenario.branches`): split anywhere, the parts give the whole run's numbers, bit
    # for bit, and the failure codes of whole runs; so do three parts in a chain under one
    # shape (an arm cut at its branch, where a later arm leaves it, and after a picture).
    from neurorehab.core.engine import Bounds, initial_carry, split_calendar
    from neurorehab.core.failures import after_run_in

    model, info, events, cal, params, keys = _setup(name, _first_event(name))
    whole, codes = simulate(model, params, cal, keys, events=events)
    n = int(cal.day.shape[0])
    for at in sorted({1, n // 2, n - 1}):
        head, tail = split_calendar(cal, at)
        bounds = Bounds(max(at, n - at), cal.max_trials, cal.max_days)
        begin = initial_carry(model, params, keys)
        first, _, carry = simulate(model, params, head, keys, events=events, resume=begin, bounds=bounds,
                                   return_carry=True)  # fmt: skip
        rest, rest_codes = simulate(model, params, tail, keys, events=events, resume=carry, bounds=bounds)
        for k in info.measures:
            joined = np.concatenate([first[k], rest[k]], axis=1)
            np.testing.assert_array_equal(joined, whole[k], err_msg=f"{name}.{k} split at slot {at}")
        np.testing.assert_array_equal(after_run_in(rest_codes, first), codes)
    if n >= 3:
        cuts = sorted({0, 1, max(2, n // 2), n})
        bounds = Bounds(max(b - a for a, b in itertools.pairwise(cuts)), cal.max_trials, cal.max_days)
        carry, parts = initial_carry(model, params, keys), []
        for a, b in itertools.pairwise(cuts):
            part = split_calendar(split_calendar(cal, b)[0], a)[1]
            done, _, carry = simulate(model, params, part, keys, events=events, resume=carry, bounds=bounds,
                                      return_carry=True)  # fmt: skip
            parts.append(done)
        for k in info.measures:
            joined = np.concatenate([p[k] for p in parts], axis=1)
            np.testing.assert_array_equal(joined, whole[k], err_msg=f"{name}.{k} in parts at {cuts}")


def test_failure_codes_of_a_run_in_count_in_the_whole_run():
    # A measure past the divergence bound in the run-in makes the whole run DIVERGED; a
    # resumed run's own NONFINITE (its final state) stands.
    from neurorehab.core.failures import DIVERGED, NONFINITE, OK, after_run_in

    run_in = {"a": np.array([[1.0, 2e6], [1.0, np.nan], [1.0, 1.0]])}
    codes = after_run_in(np.array([OK, OK, NONFINITE], np.int32), run_in)
    assert codes.tolist() == [DIVERGED, OK, NONFINITE]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_other_keys_give_other_numbers(name):
    # With practice and the model's first event, a stochastic model's measures depend on the
    # key; a deterministic one's do not.
    model, info, events, cal, params, keys = _setup(name, _first_event(name))
    one, _ = simulate(model, params, cal, keys, events=events)
    other, _ = simulate(model, params, cal, jax.random.split(jax.random.key(8), 3), events=events)
    differs = any(not np.array_equal(other[k], one[k]) for k in info.measures)
    assert differs == info.stochastic


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unbatched_patient_agrees_with_the_batch(name):
    # simulate_one (the code path that gradients use) is the same computation without vmap:
    # equal to float32 rounding.
    model, info, events, cal, params, keys = _setup(name, _first_event(name))
    batched, _ = simulate(model, params, cal, keys, events=events)
    one = jax.jit(simulate_one, static_argnums=0, static_argnames=("events", "max_trials", "max_days"))
    for i in range(3):
        p_i = jax.tree_util.tree_map(lambda x, i=i: x[i], params)
        alone, _, _ = one(model, p_i, cal, keys[i], events=events, max_trials=cal.max_trials,
                          max_days=cal.max_days)  # fmt: skip
        for k in info.measures:
            np.testing.assert_allclose(
                batched[k][i], np.asarray(alone[k]), rtol=1e-5, atol=1e-6, err_msg=f"{name}.{k} patient {i}"
            )


GRADIENT_RTOL = 0.02  # a gradient within 2 % of its central difference
STEP, FINE_STEP = 1e-4, 1e-6  # relative steps of the difference: first, and past a kink


def _central_difference(f, p0, param, step):
    """(f(x + h) - f(x - h)) / 2h in `param` at `p0`, h `step` relative to x (absolute at 0)."""
    x = float(p0[param])
    h = step * abs(x) if x != 0 else step
    return (float(f({**p0, param: x + h})) - float(f({**p0, param: x - h}))) / (2 * h)


def gradients(name, model=None, cal=None, only=None, fine=False):
    """(reverse-mode gradient, central difference) per declared differentiable parameter of
    one patient, the declared measure at the last slot, the same random numbers throughout.

    Run under JAX_ENABLE_X64 (`_in_float64`): the derivative is pathwise (the model's
    discrete draws, e.g. an arm choice, held fixed), which a float64 difference with a small
    step measures exactly; float32 differences drown in rounding over thousands of steps.
    `fine`: where the difference at `STEP` is more than `GRADIENT_RTOL` off the gradient, it is
    taken again at `FINE_STEP`, in the same compiled program (a kink inside the first step).
    """
    example, info, events, default_cal, params, keys = _setup(name, _first_event(name), n=1)
    model, cal = model or example, cal or default_cal
    p0 = {k: jnp.asarray(v[0], jnp.float64) for k, v in params.items()}
    wanted = {p: m for p, m in info.differentiable.items() if only is None or p in only}
    out = {}
    for measure in sorted(set(wanted.values())):

        @jax.jit
        def f(p, measure=measure):
            run = simulate_one(model, p, cal, keys[0], events=events, max_trials=cal.max_trials,
                               max_days=cal.max_days)  # fmt: skip
            return run[0][measure][-1]

        grads = jax.grad(f)(p0)
        for param in (p for p, m in wanted.items() if m == measure):
            grad, fd = float(grads[param]), _central_difference(f, p0, param, STEP)
            if fine and abs(grad - fd) > GRADIENT_RTOL * abs(fd):
                fd = _central_difference(f, p0, param, FINE_STEP)
            out[param] = (grad, fd)
    return out


def _in_float64(code, timeout=900):
    """Run `code` (which prints JSON) in a fresh interpreter with 64-bit JAX; its result."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    here = str(Path(__file__).resolve().parent)
    res = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r})\n{code}"],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_reverse_mode_gradients_match_central_differences(name):
    # Every parameter the model marks differentiable: jax.grad through the whole calendar (day
    # steps, events, sessions, assessments) within 2 % of a central difference.
    # A piecewise-smooth model (weight floors, clipped gains: somatosensory's map) can have a
    # kink inside the 1e-4 step, which spoils that difference but not the derivative; then the
    # difference is taken again at a step of 1e-6 (float64 keeps it to about 1e-9), where it
    # must agree. A wrong gradient disagrees at both. (Both in one process: the program is
    # compiled once.)
    code = f"import json, test_conformance as t; print(json.dumps(t.gradients({name!r}, fine=True)))"
    found = _in_float64(code)
    assert set(found) == set(MODELS[name].differentiable)
    for param, (grad, fd) in found.items():
        assert np.isfinite(grad) and abs(grad) > 0, (param, grad, fd)
        assert grad == pytest.approx(fd, rel=GRADIENT_RTOL), (param, grad, fd)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_blown_up_patient_is_flagged_and_the_batch_goes_on(name):
    model, info, events, cal, params, keys = _setup(name, _first_event(name))
    bad = {k: v.at[1].set(jnp.nan) for k, v in params.items()}
    good, _ = simulate(model, params, cal, keys, events=events)
    measures, codes = simulate(model, bad, cal, keys, events=events)
    assert codes.tolist() == [OK, NONFINITE, OK]
    for k in info.measures:
        np.testing.assert_array_equal(measures[k][[0, 2]], good[k][[0, 2]])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_round_trip(name):
    # A scenario of every model validates against the JSON Schema (the union and the model's
    # own part), and parses back to the same scenario.
    info = MODELS[name]
    available = info.available_interventions()
    iv = next((k for k, v in available.items() if v.params), "varied-practice")
    data = {
        "name": f"{name}-round-trip",
        "model": name,
        "seed": 1,
        "duration_days": 20,
        "patients": {
            "count": 2,
            "params": {next(iter(info.params)): next(iter(info.params.values())).default},
        },
        "events": [
            {
                "kind": k,
                "day": 1 + i,
                "name": f"e{i}",
                "params": {
                    p: {"dist": "uniform", "low": s.low, "high": s.high} for p, s in cls.params.items()
                },
            }
            for i, (k, cls) in enumerate(info.events.items())
        ],
        "arms": [
            {
                "name": "a",
                "protocol": [{"start_day": 2, "weeks": 1, "sessions_per_week": 3, "repetitions": 5}],
            },
            {
                "name": "b",
                "protocol": [
                    {
                        "intervention": iv,
                        "start_day": 2,
                        "weeks": 1,
                        "sessions_per_week": 3,
                        "repetitions": 5,
                        "intensity": 0.8,
                        "params": {p: s.default for p, s in available[iv].params.items()},
                    }
                ],
            },
        ],
    }
    scenario = parse_scenario(data)
    dumped = json.loads(scenario.model_dump_json())
    jsonschema.validate(dumped, json_schema())
    jsonschema.validate(dumped, json_schema(name))
    assert parse_scenario(dumped) == scenario
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**dumped, "model": name, "patients": {"count": 2, "params": {"nope": 1}}}, json_schema()
        )


def test_schema_lists_each_models_parameters_with_units():
    schema = json_schema()
    text = json.dumps(schema)
    for info in MODELS.values():
        for key, spec in info.params.items():
            assert f'"{key}"' in text
            assert f"[{spec.unit}]" in text


@pytest.mark.parametrize(
    "name", [n for n in sorted(MODELS) if MODELS[n].model.snapshot is not Model.snapshot]
)
def test_snapshots_ride_along_with_the_same_numbers(name):
    # A snapshot taken in the scan at the last slot equals the snapshot of simulate_one's final
    # state; one at slot 0 differs once sessions have run (the pictures are of the same patient).
    model, _, events, cal, params, keys = _setup(name, _first_event(name), n=1)
    p0 = jax.tree_util.tree_map(lambda x: x[0], params)
    _, final, _ = simulate_one(model, p0, cal, keys[0], events=events)
    first, last = snapshots_one(model, p0, cal, keys[0], (0, len(cal.day) - 1), events=events)
    for k, v in model.snapshot(final).items():
        np.testing.assert_array_equal(np.asarray(last[k]), np.asarray(v))
    assert any(not np.array_equal(np.asarray(first[k]), np.asarray(last[k])) for k in first)


def test_quiet_days_cost_nothing():
    # A 12-week calendar with 2 sessions and weekly assessments has a slot per event day only.
    cal = compile_calendar(
        [Block("task-practice", 10, 7, 2, 50)],
        duration_days=84,
        assess_days=list(range(0, 85, 7)),
        n_tasks=2,
        event_days=[1],
    )
    assert len(cal.day) == 13 + 1 + 2
    assert float(cal.gap_hours.sum()) == 84 * 24
    assert int(cal.days.sum()) == 84  # every day boundary is stepped exactly once


def test_sessions_within_a_day():
    # Two sessions 4 h apart on each of 2 days: 4 session slots, 4 h gaps within a day, the
    # event before the first session of its day, the day's assessment after its last session.
    cal = compile_calendar(
        [Block("task-practice", 1, 2, 7, 10, sessions_per_day=2, hours_between=4.0)],
        duration_days=3,
        assess_days=[0, 1, 2, 3],
        n_tasks=2,
        event_days=[1],
    )
    assert cal.day.tolist() == [0, 1, 1, 2, 2, 3]
    assert cal.gap_hours.tolist() == [0.0, 24.0, 4.0, 20.0, 4.0, 20.0]
    assert cal.events[:, 0].tolist() == [False, True, False, False, False, False]
    assert cal.assess.tolist() == [True, False, True, False, True, True]
    assert cal.days.tolist() == [0, 1, 0, 1, 0, 1]
    assert float(cal.gap_hours.sum()) == 3 * 24


def test_assessments_at_a_clock_time_and_retests():
    # An assessment at 14:00 and two retests 10 minutes apart are kept at their own times,
    # after the day's 09:00 session; retests change nothing, so only noise differs.
    cal = compile_calendar(
        [Block("task-practice", 1, 1, 7, 10)],
        duration_days=2,
        assess_days=[0],
        n_tasks=2,
        assess_times=[(1, 14.0), (1, 14.0 + 1 / 6), (1, 14.0 + 2 / 6)],
    )
    assert cal.day.tolist() == [0, 1, 1, 1, 1]
    assert cal.minute.tolist() == [540, 540, 840, 850, 860]
    assert cal.assess.tolist() == [True, False, True, True, True]


def test_arms_share_random_numbers_by_absolute_time():
    # Common random numbers: the same patient loses the same B cells on day 3 whether or not
    # its arm had sessions before (different slot layouts, same absolute times).
    info = MODELS["pathway"]
    model, (event,) = info.example(), tuple(e() for e in info.events.values())
    params = default_params(info, 4)
    keys = jax.random.split(jax.random.key(5), 4)
    finals = []
    for blocks in ([Block("task-practice", 1, 2, 7, 20)], []):
        cal = compile_calendar(blocks, duration_days=6, assess_days=[0, 6], n_tasks=2, event_days=[3])
        _, _, state = simulate(
            model, params, cal, keys, events=(event,), event_values=({"severity": 0.5},), return_state=True
        )
        finals.append(np.asarray(state.structural["alive"]))
    np.testing.assert_array_equal(finals[0], finals[1])
    assert 0 < finals[0].sum() < finals[0].size


def test_two_events_of_one_kind_draw_their_own_numbers():
    # A second lesion months after the first (a second stroke): each event has its own key, so
    # the second removes other cells; with severity 0 it changes nothing.
    info = MODELS["pathway"]
    model, event = info.example(), info.events["lose-b"]()
    params = default_params(info, 2)
    keys = jax.random.split(jax.random.key(5), 2)
    cal = compile_calendar([], duration_days=40, assess_days=[0, 40], n_tasks=2, event_days=[1, 30])
    one = compile_calendar([], duration_days=40, assess_days=[0, 40], n_tasks=2, event_days=[1])

    def alive(cal, values, events):
        state = simulate(model, params, cal, keys, events=events, event_values=values, return_state=True)[2]
        return np.asarray(state.structural["alive"])

    first = alive(one, ({"severity": 0.5},), (event,))
    both = alive(cal, ({"severity": 0.5}, {"severity": 0.5}), (event, event))
    none_second = alive(cal, ({"severity": 0.5}, {"severity": 0.0}), (event, event))
    np.testing.assert_array_equal(none_second, first)
    assert both.sum() < first.sum()  # the second lesion hit cells the first had spared


def test_developed_initial_states_give_the_same_numbers():
    # core.engine.develop computes `init` once per patient draw (Model.develops) for every arm
    # to reuse: simulate(initial=...) gives the numbers simulate gives with its own init, to
    # float32 rounding (two compiled programs); a wrong number of rows is refused.
    model, info, events, cal, params, keys = _setup("pathway", _first_event("pathway"))
    own, _ = simulate(model, params, cal, keys, events=events)
    initial = develop(model, params, keys)
    reused, _ = simulate(model, params, cal, keys, events=events, initial=initial)
    for k in info.measures:
        np.testing.assert_allclose(reused[k], own[k], rtol=1e-5, atol=1e-6, err_msg=k)
    short = jax.tree_util.tree_map(lambda x: x[:2], initial)
    with pytest.raises(ValueError, match="expected 3 rows"):
        simulate(model, params, cal, keys, events=events, initial=short)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_lanes_on_an_accelerator_are_as_wide_as_the_state_allows(name, monkeypatch):
    # On a GPU a scan step costs a kernel launch per operation whatever the width, so a lane
    # holds up to 128 MiB of state (at most 16,384 patients; bench/README.md, the H100 run) and
    # a chunk is one lane; a model's own lane_width, measured on CPU cores, is for CPUs only.
    from neurorehab.core import engine

    model, _, _, _, params, _ = _setup(name, _first_event(name), n=1)
    on_cpu = engine.lanes(model, params)
    if model.lane_width is not None:
        assert on_cpu == model.lane_width
    monkeypatch.setattr(engine, "accelerated", lambda: True)
    width = engine.lanes(model, params)
    fits = min(
        engine.ACCELERATOR_LANE_BUDGET_BYTES // engine.state_bytes(model, params), engine.ACCELERATOR_MAX_LANE
    )
    assert width & (width - 1) == 0 and max(16, fits) >= width > max(16, fits) // 2, (width, fits)
    assert engine.auto_chunk(model, params) == width


@pytest.mark.parametrize("name", ["motor", "pathway"])
def test_chunks_run_at_once_give_the_numbers_of_one_at_a_time(name):
    # On the CPU a batch's chunks run at once, one thread each, on the one compiled program
    # (runners/hosts.py: XLA sharing a lane's small operations between cores gained nothing); each
    # patient's numbers must be bit for bit those of the chunks run one after the other. The
    # engine does this whatever the model (two models here, to keep the suite's time; every
    # model's batches run at once in the tests above, against each patient alone).
    from neurorehab.core import engine

    model, info, events, cal, params, keys = _setup(name, _first_event(name), n=5)
    assert engine._chunking(5, 16, 2, 2) == (4, 2) and engine._chunking(5, 16, 2, 1) == (6, 1)
    assert engine._chunking(100, 1024, 64, 4) == (64, 4)
    at_once, _ = simulate(model, params, cal, keys, events=events, lane_width=2, threads=3)
    in_turn, _ = simulate(model, params, cal, keys, events=events, lane_width=2, threads=1)
    for k in info.measures:
        np.testing.assert_array_equal(at_once[k], in_turn[k], err_msg=f"{name}.{k}")
    n = 2 * engine.lanes(model, params) + 1  # three lanes: develop has no lane_width of its own
    params, keys = default_params(info, n), jax.random.split(jax.random.key(3), n)
    start = develop(model, params, keys, threads=3)
    again = develop(model, params, keys, threads=1)
    for a, b in zip(jax.tree_util.tree_leaves(start), jax.tree_util.tree_leaves(again), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: developed state")
