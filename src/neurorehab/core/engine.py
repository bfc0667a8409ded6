"""The multi-timescale engine: one `simulate` entry point over a compiled calendar.

A calendar is a sequence of *slots*: one per session (several may share a day), plus one for
each other moment at which something happens (an event, an assessment). Each slot runs, in
order: the day steps for every day boundary crossed since the previous slot (`Model.day`, in a
bounded scan whose skipped steps cost nothing), the offline update for the hours since the
previous slot (`Model.offline`), the events that fall in the slot, the progression rule's
reassessment, the session's trials (a `lax.scan`, trials past the session's count masked
out), then the assessment where one is kept. Beside the model's state the engine carries the
patient's condition (`core.condition.Tone`: fatigue, pain, stimulation priming, exercise
pulse, synaptic tag) and the progression rule's dose factor: each session is done with its
adherence probability, its repetitions scaled by the dose factor and stopped by pain, each
repetition's plasticity scaled by fatigue, priming and genotype; the offline update learns the
hours slept and the exercise captured (`Context`).

Every branch that depends on the calendar only (is there a session, an event, an assessment,
another day to step) is a `lax.cond` on a value shared by all patients: under `vmap` it stays a
real branch, so empty slots cost nothing, and it is differentiable in reverse mode. Day steps
are checkpointed (`jax.checkpoint`), so a gradient over months keeps one day's intermediates
at a time.

Code is written for one patient (`simulate_one`) and batched by `simulate`: patients run in
lanes of a width fixed by the model (`lanes`) under `vmap`, and the lanes of a chunk one after the other
under `lax.map`. The compiled lane is the same whatever the chunk, so a patient gives
bit-identical numbers alone, in a batch of one and in any larger batch or chunk size. Each
patient carries its own PRNG key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from neurorehab.core import condition as cond_
from neurorehab.core.compiling import LIGHT_LLVM, accelerated, on_cpu
from neurorehab.core.condition import Tone
from neurorehab.core.failures import failure_code
from neurorehab.core.model import Event, Model, Params
from neurorehab.core.progression import Rule, decide
from neurorehab.core.types import Context, Modulation, State, Stimulus, tree_where


class Calendar(NamedTuple):
    """An arm's schedule compiled to dense arrays over slots (leading axis E); all traced.

    day: absolute day of the slot; minute: its time of day in minutes; gap_hours: offline hours
    since the previous slot (for the first, since day 0 at 09:00); days: day boundaries crossed
    since the previous slot (the day steps to run); n_trials: trials in the slot's session (0:
    none); task, intensity: the stimulus; modulation: the session's gains; events: [E, K]
    whether each of the arm's K events happens in the slot; adherence: probability that the
    patient does the session, before its drift; adherence_drift: change of that probability per
    week of the block; adherence_progress: change per unit of perceived progress (the
    progression rule's measure since the last reassessment); weeks: weeks since the block
    began; progressive: whether the dose factor of the progression rule scales the session;
    reassess: whether the rule decides at the start of the slot; assess: whether the slot's
    measures are kept; measure: whether they are computed (kept, or read by the rule).
    """

    day: Array
    minute: Array
    gap_hours: Array
    days: Array
    n_trials: Array
    task: Array
    intensity: Array
    modulation: Modulation
    events: Array
    adherence: Array
    adherence_drift: Array
    adherence_progress: Array
    weeks: Array
    progressive: Array
    reassess: Array
    assess: Array
    measure: Array

    @property
    def max_trials(self) -> int:
        return int(np.max(np.asarray(self.n_trials), initial=0))

    @property
    def max_days(self) -> int:
        """The most day boundaries one slot crosses (the bound of the day-step scan)."""
        return int(np.max(np.asarray(self.days), initial=0))


class Static(NamedTuple):
    """What a compilation depends on besides array shapes (hashable)."""

    model: Model
    events: tuple[Event, ...]
    max_trials: int
    max_days: int
    rule: Rule | None


def simulate_one(
    model: Model,
    params: Params,
    calendar: Calendar,
    key: Array,
    *,
    condition: dict[str, Array] | None = None,
    events: Sequence[Event] = (),
    event_values: Sequence[dict[str, Any]] | None = None,
    max_trials: int | None = None,
    max_days: int | None = None,
    rule: Rule | None = None,
) -> tuple[dict[str, Array], State, Array]:
    """Run one patient through a calendar.

    Returns (measures: name -> array over slots, final state, failure code). Differentiable
    in forward and reverse mode with respect to `params`, `condition` and `event_values` (no
    Python branching on traced values). `events`: the calendar's event kinds, in the order of
    its `events` columns; `event_values`: per event, values of its parameters (missing ones
    take their declared defaults). `rule`: the arm's progression rule, if any. Under `jit`,
    pass `max_trials` and `max_days` (static): the calendar's own are not readable from a tracer.
    """
    static, values = _prepare(model, calendar, events, event_values, max_trials, max_days, rule)
    measures, carry, _ = _run(static, params, cond_.complete(condition), values, calendar, key, ())
    return measures, carry.state, failure_code(measures, carry.state)


def snapshots_one(
    model: Model,
    params: Params,
    calendar: Calendar,
    key: Array,
    slots: tuple[int, ...],
    *,
    condition: dict[str, Array] | None = None,
    events: Sequence[Event] = (),
    event_values: Sequence[dict[str, Any]] | None = None,
    max_trials: int | None = None,
    max_days: int | None = None,
    rule: Rule | None = None,
    initial: State | None = None,
) -> tuple[Any, ...]:
    """`model.snapshot(state)` of one patient after each slot index in `slots` (for figures).

    The same numbers as `simulate_one` with the same key: the snapshots ride along in the scan.
    `initial`: the patient's developed state (`develop`), when the model develops.
    """
    static, values = _prepare(model, calendar, events, event_values, max_trials, max_days, rule)
    return _run(static, params, cond_.complete(condition), values, calendar, key, tuple(slots), initial)[2]


def _prepare(
    model: Model,
    calendar: Calendar,
    events: Sequence[Event],
    event_values: Sequence[dict[str, Any]] | None,
    max_trials: int | None,
    max_days: int | None,
    rule: Rule | None,
) -> tuple[Static, tuple[dict[str, Array], ...]]:
    """One patient's static part (the calendar's own bounds unless given) and event values."""
    static = Static(
        model,
        tuple(events),
        calendar.max_trials if max_trials is None else max_trials,
        calendar.max_days if max_days is None else max_days,
        rule,
    )
    _check_events(static.events, calendar)
    return static, _event_values(static.events, event_values)


def _check_events(events: tuple[Event, ...], calendar: Calendar) -> None:
    if calendar.events.shape[1] != len(events):
        raise ValueError(
            f"the calendar has {calendar.events.shape[1]} event column(s) (event_days) but "
            f"{len(events)} event(s) were given; pass one event per entry of event_days"
        )


def _event_values(
    events: tuple[Event, ...], given: Sequence[dict[str, Any]] | None
) -> tuple[dict[str, Array], ...]:
    given = list(given) if given is not None else [{} for _ in events]
    if len(given) != len(events):
        raise ValueError(f"event_values has {len(given)} entries for {len(events)} events")
    out = []
    for event, values in zip(events, given, strict=True):
        unknown = sorted(set(values) - set(event.params))
        if unknown:
            raise KeyError(
                f"{type(event).__name__} has no parameter(s) {unknown}; valid: {sorted(event.params)}"
            )
        out.append(
            {
                name: jnp.asarray(values.get(name, spec.default), jnp.float32)
                for name, spec in event.params.items()
            }
        )
    return tuple(out)


def _run(
    static: Static,
    params: Params,
    condition: dict[str, Array],
    values: tuple[dict[str, Array], ...],
    calendar: Calendar,
    key: Array,
    snapshot_slots: tuple[int, ...],
    initial: State | None = None,
    resume: Carry | None = None,
) -> tuple[dict[str, Array], Carry, tuple[Any, ...]]:
    model, events, n_max, max_days, rule = static
    k_init, k_run, k_stream, k_events = _split_run_key(key)
    if resume is not None:
        state0 = resume.state
    else:
        state0 = model.init(params, k_init) if initial is None else initial
    snap0 = tuple(model.snapshot(state0) for _ in snapshot_slots)
    zero = jnp.zeros((), jnp.float32)
    ctl0 = _controls()
    tone0 = cond_.rest(condition)
    if resume is not None:
        tone0, ctl0 = resume.tone, resume.ctl
    shapes = jax.eval_shape(model.assess, params, state0, k_init)
    blank = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    @jax.checkpoint
    def one_day(st: State, day: Array) -> State:
        # Day keys come from the absolute day: the same draws for a day in every arm.
        return _like(model.day(params, st, Context(day, k_stream), jax.random.fold_in(k_stream, day)), st)

    def step_days(state: State, slot: Any) -> State:
        if not model.steps_days or max_days == 0:
            return state

        def body(st: State, i: Array) -> tuple[State, None]:
            day = slot.day - slot.days + i + 1
            return jax.lax.cond(i < slot.days, one_day, lambda s, _d: s, st, day), None

        return jax.lax.scan(body, state, jnp.arange(max_days))[0]

    def run_slot(carry: tuple[State, Tone, dict[str, Array], tuple[Any, ...]], xs: tuple[Any, Array]) -> Any:
        state, tone, ctl, snaps = carry
        slot, index = xs
        # Keys come from the slot's absolute time (day, minute), not its position, so a patient
        # draws the same numbers for the same session in every arm (common random numbers).
        k = jax.random.fold_in(jax.random.fold_in(k_run, slot.day), slot.minute)
        k_off, k_trials, k_assess = jax.random.split(k, 3)
        end_hour = 24.0 * slot.day + slot.minute / 60.0
        slept = cond_.slept_hours(end_hour, slot.gap_hours, condition)
        tone, capture = cond_.offline(tone, slot.gap_hours, condition)
        state = step_days(state, slot)
        context = Context(slot.day, k_stream, slept, capture)
        state = _like(model.offline(params, state, slot.gap_hours, context, k_off), state)
        k_day = jax.random.fold_in(k_events, slot.day)
        for j, event in enumerate(events):
            k_j = k_day if j == 0 else jax.random.fold_in(k_day, j)  # the first keeps its old key
            state = jax.lax.cond(
                slot.events[j],
                lambda s, e=event, v=values[j], kk=k_j: _like(e.apply(model, params, s, v, kk), s),
                lambda s: s,
                state,
            )
        ctl, tone = _reassess(rule, ctl, tone, slot.reassess)
        # The patient does the session with the adherence probability (1 when supervised).
        progress = (ctl["value"] - ctl["reference"]) * (
            1.0 if rule is None or rule.higher_is_better else -1.0
        )
        p_do = jnp.clip(
            slot.adherence + slot.adherence_drift * slot.weeks + slot.adherence_progress * progress, 0.0, 1.0
        )
        mod = slot.modulation
        offered = (slot.n_trials > 0) | (mod.exercise > 0) | (mod.priming > 0)
        done = offered & (jax.random.uniform(jax.random.fold_in(k, 7)) < p_do)
        tone = cond_.session_start(tone, done * mod.exercise, done * mod.priming, slot.intensity, condition)
        scale = jnp.where(slot.progressive, ctl["factor"], 1.0)
        n_do = jnp.where(done, jnp.round(slot.n_trials * scale), 0)
        stim = Stimulus(slot.task, slot.intensity)

        def run_trial(carry_t: tuple[State, Tone, Array], xt: tuple[Array, Array]) -> Any:
            st, tn, reps = carry_t
            t, kt = xt
            go = (t < n_do) & cond_.can_continue(tn, condition)
            gains = mod._replace(plasticity=mod.plasticity * cond_.plasticity_gain(tn, condition))
            new = _like(model.trial(params, st, stim, gains, kt), st)
            tn_new = cond_.after_repetition(tn, slot.intensity, condition)
            return (tree_where(go, new, st), tree_where(go, tn_new, tn), reps + go), None

        def session(c: tuple[State, Tone, Array]) -> tuple[State, Tone, Array]:
            # Trials run in blocks of TRIAL_BLOCK; a block past the session's own count (a
            # calendar-shared bound, so a real branch under vmap) is skipped, so a short session
            # in a calendar whose longest is long costs its own trials, not the longest's.
            high = 1.0 if rule is None else rule.high
            n_scan = int(np.ceil(n_max * high))
            size = min(TRIAL_BLOCK, n_scan)
            n_blocks = -(-n_scan // size)
            t = jnp.arange(n_blocks * size).reshape(n_blocks, size)
            keys = jax.random.split(k_trials, n_blocks * size).reshape(n_blocks, size)
            bound = jnp.ceil(slot.n_trials * high)

            def block(cc: tuple[State, Tone, Array], xb: tuple[Array, Array]) -> Any:
                run = lambda c_: jax.lax.scan(run_trial, c_, xb)[0]  # noqa: E731
                return jax.lax.cond(xb[0][0] < bound, run, lambda c_: c_, cc), None

            return jax.lax.scan(block, c, (t, keys))[0]

        reps = zero
        if n_max > 0:
            state, tone, reps = jax.lax.cond(slot.n_trials > 0, session, lambda c: c, (state, tone, zero))
        snaps = tuple(
            tree_where(index == at, model.snapshot(state), old)
            for at, old in zip(snapshot_slots, snaps, strict=True)
        )
        measures = jax.lax.cond(
            slot.measure, lambda s: model.assess(params, s, k_assess), lambda s: blank, state
        )
        ctl = {**ctl, "reps": ctl["reps"] + reps, "sessions": ctl["sessions"] + done}
        if rule is not None:
            ctl["value"] = jnp.where(slot.measure, measures[rule.measure].astype(jnp.float32), ctl["value"])
        measures = {
            **measures,
            "fatigue": tone.fatigue,
            "pain": tone.pain,
            "reps_done": ctl["reps"],
            "sessions_done": ctl["sessions"],
            "dose_factor": ctl["factor"],
            "reason": ctl["reason"],
        }
        return (state, tone, ctl, snaps), measures

    def slot_or_padding(carry: Any, xs: tuple[Any, Array]) -> Any:
        # A padded slot (day -1, `pad`) changes nothing and measures nothing: a calendar-shared
        # branch, so arms padded to one shape share one compilation at no cost.
        def skip(c: Any, x: tuple[Any, Array]) -> Any:
            out = jax.eval_shape(run_slot, c, x)[1]
            return c, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), out)

        return jax.lax.cond(xs[0].day >= 0, run_slot, skip, carry, xs)

    n_slots = calendar.day.shape[0]
    (state, tone, ctl, snaps), measures = jax.lax.scan(
        slot_or_padding, (state0, tone0, ctl0, snap0), (calendar, jnp.arange(n_slots))
    )
    return measures, Carry(state, tone, ctl), snaps


def _controls() -> dict[str, Array]:
    """The progression's controls before the first slot: dose factor, tracked measure now and at
    the last reassessment, reassessments so far, reason of the latest decision, repetitions and
    sessions done."""
    zero = jnp.zeros((), jnp.float32)
    return {"factor": zero + 1.0, "value": zero, "reference": zero, "n_reassess": zero, "reason": zero,
            "reps": zero, "sessions": zero}  # fmt: skip


def initial_carry(
    model: Model,
    params: Params,
    keys: Array,
    *,
    condition: dict[str, Array] | None = None,
    initial: Any = None,
    chunk_size: int | None = None,
    threads: int = 1,
) -> Carry:
    """Each patient's `Carry` before the first slot: `model.init` with the key `simulate` uses
    (or the developed states `initial`), the condition at rest, the controls at their start.
    Resuming from it (`simulate(resume=...)`) runs a calendar in parts under the one compiled
    program that runs each part."""
    n = int(keys.shape[0])
    state = (
        develop(model, params, keys, chunk_size=chunk_size, threads=threads) if initial is None else initial
    )
    rows = {k: _rows(v, f"condition[{k!r}]", n) for k, v in cond_.complete(condition).items()}
    tone = jax.vmap(cond_.rest)(rows)
    ctl = {k: jnp.full((n,), v) for k, v in _controls().items()}
    return Carry(state, jax.tree_util.tree_map(np.asarray, tone), ctl)


class Carry(NamedTuple):
    """Where a patient's run stands after a slot: the model's state, the condition's tone
    (fatigue, pain, sleep pressure) and the progression's controls. `simulate(resume=...)` goes
    on from it with the rest of a calendar (`split_calendar`), with the numbers of one run:
    keys come from absolute times, never from a slot's position."""

    state: Any
    tone: Any
    ctl: dict[str, Array]


def shared_slots(calendars: Sequence[Calendar]) -> int:
    """How many leading slots every calendar holds alike, field by field (the run-in that a
    scenario's arms share before their protocols part): run once, then each arm from there."""
    if len(calendars) < 2:
        return 0
    n = min(int(c.day.shape[0]) for c in calendars)
    same = np.ones(n, bool)
    first = jax.tree_util.tree_leaves(calendars[0])
    for other in calendars[1:]:
        for a, b in zip(first, jax.tree_util.tree_leaves(other), strict=True):
            a, b = np.asarray(a)[:n], np.asarray(b)[:n]
            same &= (a == b).reshape(n, -1).all(axis=1)
    return int(np.argmin(same)) if not same.all() else n


def split_calendar(calendar: Calendar, at: int) -> tuple[Calendar, Calendar]:
    """The calendar's slots before `at` and from `at` on. Each slot's offline hours and day
    steps count from the slot before it, so the tail goes on from the head's last slot."""
    head = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[:at], calendar)
    tail = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[at:], calendar)
    return head, tail


class Bounds(NamedTuple):
    """The shape a calendar is padded to: slots, the longest session, the most day steps a
    slot runs. Arms padded to one `Bounds` run under one compiled program (`common_bounds`)."""

    slots: int
    max_trials: int
    max_days: int


def common_bounds(calendars: Sequence[Calendar]) -> Bounds:
    """The smallest `Bounds` that holds every calendar (a scenario's arms)."""
    return Bounds(
        max(int(c.day.shape[0]) for c in calendars),
        max(c.max_trials for c in calendars),
        max(c.max_days for c in calendars),
    )


def pad(calendar: Calendar, slots: int) -> Calendar:
    """`calendar` with padded slots appended up to `slots`: day -1, which the engine skips
    (no offline time, no session, no event, no measure), so the real slots' numbers are
    unchanged. The results of padded slots are dropped by `simulate`."""
    extra = slots - int(calendar.day.shape[0])
    if extra < 0:
        raise ValueError(f"cannot pad a calendar of {calendar.day.shape[0]} slots to {slots}")
    if extra == 0:
        return calendar

    def grow(x: Array) -> Array:
        fill = -1 if x is calendar.day else 0
        tail = jnp.full((extra, *x.shape[1:]), fill, x.dtype)
        return jnp.concatenate([jnp.asarray(x), tail])

    return jax.tree_util.tree_map(grow, calendar)


def _like(new: Any, old: Any) -> Any:
    """`new` with the dtypes of `old`: a state keeps the types its `init` gave it (in float32
    a no-op; under JAX_ENABLE_X64, float64 parameters do not change a carry's type)."""
    return jax.tree_util.tree_map(lambda n, o: jnp.asarray(n, jnp.result_type(o)), new, old)


def _reassess(
    rule: Rule | None, ctl: dict[str, Array], tone: Tone, now: Array
) -> tuple[dict[str, Array], Tone]:
    """At a reassessment slot, the rule decides the dose factor; peaks of pain and fatigue reset."""
    if rule is None:
        return ctl, tone
    factor, _, reason = decide(
        rule,
        ctl["factor"],
        ctl["value"],
        ctl["reference"],
        ctl["n_reassess"] == 0,
        tone.peak_pain,
        tone.peak_fatigue,
    )
    new = {
        **ctl,
        "factor": factor,
        "reference": ctl["value"],
        "n_reassess": ctl["n_reassess"] + 1,
        "reason": reason.astype(jnp.float32),
    }
    ctl = {k: jnp.where(now, new[k], v) for k, v in ctl.items()}
    tone = tone._replace(
        peak_pain=jnp.where(now, tone.pain, tone.peak_pain),
        peak_fatigue=jnp.where(now, tone.fatigue, tone.peak_fatigue),
    )
    return ctl, tone


CACHE_BUDGET_BYTES = 8 * 2**20
TRIAL_BLOCK = 8  # trials a session runs at a time (`_run`: blocks past its count are skipped)
LANE_BUDGET_BYTES = 2 * 2**20
# On a GPU (or any accelerator) each operation of a scan step is a kernel launch of a few
# microseconds whatever its size, so a lane is as wide as its state allows: 128 MiB of state,
# at most 16,384 patients (on an H100, 100,000 `motor` patients x 12 weeks ran in lanes of
# 16,384 in 88.5 s end to end, 29x the rate of 2 CPU cores: bench/README.md;
# other widths are yet to be measured there, `bench/gpu.py lanes`).
ACCELERATOR_LANE_BUDGET_BYTES = 128 * 2**20
ACCELERATOR_MAX_LANE = 16_384


def state_bytes(model: Model, params: Params) -> int:
    """Bytes of one patient's state (`params`: one patient's, or rows of them)."""
    one = jax.tree_util.tree_map(lambda x: x[0] if jnp.ndim(x) else x, params)
    shapes = jax.eval_shape(model.init, one, jax.random.key(0))
    return max(1, int(sum(np.prod(x.shape) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))))


def lanes(model: Model, params: Params) -> int:
    """Patients per vmapped lane: a power of two from the size of one patient's state (16 to 256;
    about 2 MiB of state a lane), so a function of the model's structure alone, never of the
    batch: the compiled lane, and so every patient's numbers, are the same whatever the batch.

    Wide lanes amortise each scan step's fixed cost (XLA's dispatch of every operation) over
    more patients (bench/README.md: a cohort in lanes of 16 took 1.5x as long as in lanes of
    256). A batch smaller than a lane is padded to one, so one patient alone costs a lane's work.
    On an accelerator the lane is far wider (`ACCELERATOR_LANE_BUDGET_BYTES`, up to 16,384
    patients) and a model's own `lane_width`, measured on CPU cores, does not apply.
    """
    if accelerated():
        budget, most = ACCELERATOR_LANE_BUDGET_BYTES, ACCELERATOR_MAX_LANE
    elif model.lane_width is not None:  # the model's own measured choice
        return int(model.lane_width)
    else:
        budget, most = LANE_BUDGET_BYTES, 256
    width = int(np.clip(budget // state_bytes(model, params), 16, most))
    return 1 << (width.bit_length() - 1)


def auto_chunk(model: Model, params: Params, budget: int = CACHE_BUDGET_BYTES) -> int:
    """Patients per chunk (whole lanes) so that a chunk's states fit in `budget` bytes.

    Each dispatch of the compiled function has a fixed cost, so bigger chunks amortise it;
    small models get large chunks, large ones small. The chunk size never changes a patient's
    numbers (the lanes are the unit of vectorised work). On an accelerator a chunk is one lane,
    already as wide as a step's fixed cost calls for (a wider chunk only pads the last one more).
    """
    width = lanes(model, params)
    if accelerated():
        return width
    n = int(np.clip(budget // state_bytes(model, params), 16, 16_384))
    return max(width, n // width * width)


def _split_run_key(key: Array) -> Array:
    """A patient's key split into (init, run, day stream, events): one place, so `develop`
    draws the very initial state `simulate` would."""
    return jax.random.split(key, 4)


def _in_lanes(lane: Callable[..., Any], width: int, n_lanes_args: int) -> Callable[..., Any]:
    """`lane` (vmapped over `width` patients) over a chunk of whole lanes, one lane after the
    other under `lax.map`: [groups * width, ...] -> [groups, width, ...] and back. The first
    `n_lanes_args` arguments are batched; the rest are passed to every lane as they are."""

    def chunk(*args: Any) -> Any:
        split = partial(jax.tree_util.tree_map, lambda x: x.reshape(-1, width, *x.shape[1:]))
        batched, shared = args[:n_lanes_args], args[n_lanes_args:]
        out = jax.lax.map(lambda a: lane(*a, *shared), tuple(split(x) for x in batched))
        return jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), out)

    return chunk


def _chunking(n: int, chunk_size: int, width: int, threads: int) -> tuple[int, int]:
    """(patients a chunk holds, chunks run at once) for `n` patients in chunks of at most
    `chunk_size` (rounded up to whole lanes): with `threads` > 1 the batch is cut into a whole
    number of chunks for every thread (`_each`); on an accelerator one chunk at a time (a
    chunk is already one wide lane). The chunk size never changes a patient's numbers."""
    if threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if accelerated():
        threads = 1
    n_lanes = -(-min(chunk_size, n) // width)
    if threads > 1:  # a whole number of chunks for every core, as even as lanes allow
        every = -(-n // width)  # lanes the whole batch needs
        chunks = -(-every // n_lanes)
        n_lanes = -(-every // (-(-chunks // threads) * threads))
    return n_lanes * width, threads


def _each(work: Callable[[Any], Any], items: Sequence[Any], threads: int) -> list[Any]:
    """`work` over `items`, in order, up to `threads` at once: XLA on the CPU shares one
    program's small operations between cores to little gain, while two calls of the same
    compiled program from two threads each keep a core busy (JAX lets go of Python's lock while
    XLA computes, and compiles a program once however many threads ask; runners/hosts.py)."""
    if threads <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="neurorehab-chunk") as pool:
        return list(pool.map(work, items))


def _padded_chunks(n: int, size: int) -> Iterator[tuple[np.ndarray, int]]:
    """(row indices, rows kept) of each chunk of `size` over `n` patients; the last chunk is
    padded with patient 0 (its extra rows are dropped), so every chunk reuses one compilation."""
    for start in range(0, n, size):
        idx = np.arange(start, start + size)
        yield np.where(idx < n, idx, 0), min(size, n - start)


@lru_cache(maxsize=64)
def _batched(static: Static, width: int, start: str = "init") -> Callable[..., Any]:
    """`start`: "init" (model.init), "developed" (s0 is a developed state) or "resume" (s0 is a
    `Carry`)."""

    def one(
        p: Params, c: dict[str, Array], v: tuple[dict[str, Array], ...], k: Array, s0: Any, cal: Calendar
    ) -> Any:
        initial = s0 if start == "developed" else None
        resume = s0 if start == "resume" else None
        measures, carry, _ = _run(static, p, c, v, cal, k, (), initial, resume)
        return measures, carry, failure_code(measures, carry.state)

    chunk = _in_lanes(jax.vmap(one, in_axes=(0, 0, 0, 0, 0, None)), width, 5)
    options = _compiler_options()
    return jax.jit(lambda p, c, v, cal, k, s0: chunk(p, c, v, k, s0, cal), compiler_options=options)


@lru_cache(maxsize=16)
def _developing(model: Model, width: int) -> Callable[..., Any]:
    lane = jax.vmap(lambda p, k: model.init(p, _split_run_key(k)[0]))
    return jax.jit(_in_lanes(lane, width, 2), compiler_options=_compiler_options())


def _compiler_options() -> dict[str, Any] | None:
    """On the CPU, LLVM at level 1 for the engine's programs (core/compiling.py): over every
    registered model (`bench/compile.py`, bench/README.md, 2026-12-06) the first call, mostly
    compilation, was 8-37 % shorter and compiled runs as fast; scores move by rounding, and every
    run of the engine, alone, batched, sharded or resumed, compiles with the same options, so
    they are the same in all of them."""
    return on_cpu(LIGHT_LLVM)


def develop(
    model: Model, params: Params, keys: Array, *, chunk_size: int | None = None, threads: int = 1
) -> Any:
    """Every patient's initial state (`model.init` with the key `simulate` would use), in the
    same lanes as `simulate`: for a model that `develops`, compute it once per patient draw
    and pass it to each arm as `simulate(initial=...)` (the same numbers as without).
    `threads`: chunks at once, as in `simulate`."""
    n = int(keys.shape[0])
    width = lanes(model, params)
    size, threads = _chunking(n, chunk_size or auto_chunk(model, params), width, threads)
    fn = _developing(cast(Hashable, model), width)

    def chunk(rows: tuple[np.ndarray, int]) -> Any:
        idx, keep = rows
        state = fn(jax.tree_util.tree_map(lambda x: x[idx], params), keys[idx])
        return jax.tree_util.tree_map(lambda x: np.asarray(x)[:keep], state)

    outs = _each(chunk, list(_padded_chunks(n, size)), threads)
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def simulate(
    model: Model,
    params: Params,
    calendar: Calendar,
    keys: Array,
    *,
    condition: dict[str, Array] | None = None,
    events: Sequence[Event] = (),
    event_values: Sequence[dict[str, Any]] | None = None,
    chunk_size: int | None = None,
    return_state: bool = False,
    rule: Rule | None = None,
    initial: Any = None,
    bounds: Bounds | None = None,
    resume: Carry | None = None,
    return_carry: bool = False,
    lane_width: int | None = None,
    threads: int = 1,
) -> tuple[dict[str, np.ndarray], np.ndarray] | tuple[dict[str, np.ndarray], np.ndarray, Any]:
    """Run a batch of patients (leading axis of every `params` leaf and of `keys`).

    `condition` and `event_values` leaves are scalars (every patient) or [patients] rows.
    Patients run in chunks of `chunk_size` (default: `auto_chunk`, rounded up to whole lanes)
    under one compiled function; the last chunk is padded, so every chunk reuses one
    compilation. Returns (measures: name -> [patients, slots], failure codes [patients]) and,
    with `return_state`, the final states (batched pytree). A patient whose numbers blow up
    gets a non-zero code; the others are unaffected. `initial`: the patients' initial states
    (batched, from `develop`) in place of `model.init`. `bounds`: the shape to run the calendar
    at (`common_bounds` of a scenario's arms, so that they share one compiled program); the
    numbers and the returned slots are the calendar's own either way. `return_carry`: return
    each patient's `Carry` after the last slot in place of the state; `resume`: go on from such
    a carry (batched) with the rest of a calendar (`split_calendar`), which gives the numbers
    of the whole calendar run at once when both parts run at the same `bounds` trials and day
    steps (the trial keys of a session depend on the bound of its trials). The failure code of
    a resumed run covers its own slots only. `lane_width`: patients a lane holds in place of
    `lanes(model, params)` (a power of two), for a small batch that would otherwise be padded
    to a wide lane; a caller that sets it keeps it fixed, since XLA may round a patient's
    numbers differently in another width. `threads`: chunks run at once, each from its own
    thread on the one compiled program (a runner gives one per core of its process,
    `runners.hosts.cores()`; on an accelerator chunks run one at a time); the batch is then
    cut into a whole number of chunks for every thread, which changes no patient's numbers.
    """
    n = int(keys.shape[0])
    for name, leaf in params.items():
        if jnp.shape(leaf)[:1] != (n,):
            raise ValueError(
                f"params[{name!r}] has shape {jnp.shape(leaf)}; expected a leading patient axis "
                f"of {n} (one row per key)"
            )
    if chunk_size is None:
        chunk_size = auto_chunk(model, params)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    events = tuple(events)
    _check_events(events, calendar)
    rows = partial(_rows, n=n)
    cond_rows = {k: rows(v, f"condition[{k!r}]") for k, v in cond_.complete(condition).items()}
    values = tuple(
        {k: rows(v, f"event_values[{j}][{k!r}]") for k, v in vals.items()}
        for j, vals in enumerate(_event_values(events, event_values))
    )
    n_slots = int(calendar.day.shape[0])
    if bounds is None:
        bounds = Bounds(n_slots, calendar.max_trials, calendar.max_days)
    if bounds.max_trials < calendar.max_trials or bounds.max_days < calendar.max_days:
        raise ValueError(f"bounds {bounds} do not hold the calendar ({calendar.max_trials} trials, "
                         f"{calendar.max_days} day steps)")  # fmt: skip
    calendar = pad(calendar, bounds.slots)
    static = Static(cast(Hashable, model), events, bounds.max_trials, bounds.max_days, rule)  # type: ignore[arg-type]
    width = lanes(model, params) if lane_width is None else int(lane_width)
    if width < 1 or width & (width - 1):
        raise ValueError(f"lane_width must be a power of two, got {lane_width!r}")
    if resume is not None and initial is not None:
        raise ValueError("give initial (developed states) or resume (carries), not both")
    start = "resume" if resume is not None else "developed" if initial is not None else "init"
    if resume is not None:
        initial = resume
    if initial is None:
        initial = np.zeros((n,), np.float32)  # a placeholder: each lane runs model.init
    else:
        for leaf in jax.tree_util.tree_leaves(initial):
            if np.shape(leaf)[:1] != (n,):
                raise ValueError(f"initial states have a leaf of shape {np.shape(leaf)}; expected {n} rows")
    fn = _batched(static, width, start)
    size, threads = _chunking(n, chunk_size, width, threads)

    def chunk(rows: tuple[np.ndarray, int]) -> Any:
        idx, keep = rows
        take = partial(jax.tree_util.tree_map, lambda x: x[idx])
        measures, carry, codes = fn(
            take(params), take(cond_rows), take(values), calendar, keys[idx], take(initial)
        )
        measures = {k: v[:, :n_slots] for k, v in measures.items()}  # the padded slots dropped
        kept = carry if return_carry else carry.state if return_state else None
        return jax.tree_util.tree_map(lambda x: np.asarray(x)[:keep], (measures, codes, kept))

    outs = _each(chunk, list(_padded_chunks(n, size)), threads)
    measures = {k: np.concatenate([o[0][k] for o in outs]) for k in outs[0][0]}
    codes = np.concatenate([o[1] for o in outs])
    if not (return_state or return_carry):
        return measures, codes
    last = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *[o[2] for o in outs])
    return measures, codes, last


def _rows(value: Any, where: str, n: int) -> Array:
    """A scalar broadcast to [n], or an [n] row checked."""
    x = jnp.asarray(value, jnp.float32)
    if x.ndim == 0:
        return jnp.broadcast_to(x, (n,))
    if x.shape != (n,):
        raise ValueError(f"{where} has shape {x.shape}; expected a scalar or one value per patient ({n})")
    return x
