"""The multi-timescale engine: one `simulate` entry point over a compiled calendar.

A calendar is a sequence of *slots*: one per session (several may share a day), plus one for
each other day on which something happens (an injury, an assessment). Each slot runs, in
order: the offline update for the hours since the previous slot (consolidation, decay,
structural growth: closed form or sub-stepped by the model), the injury if one falls in the
slot, the session's trials (a `lax.scan`, trials past the session's count masked out), then the
assessment. Beside the model's state the engine carries the patient's condition
(`core.modulators.Tone`: fatigue, pain, stimulation priming, exercise pulse, synaptic tag) and
the progression rule's dose factor: each session is done with its adherence probability, its
repetitions scaled by the dose factor and stopped by pain, each repetition's plasticity scaled
by fatigue, priming and genotype; the offline update learns the hours slept and the exercise
captured (`Context`). Days on which nothing happens cost
nothing, so months of rehabilitation cost what their sessions cost.

Code is written for one patient (`simulate_one`) and batched with `vmap` over chunks of
patients sized for the cache (`simulate`). Each patient carries its own PRNG key, so a patient
gives the same numbers alone or in any batch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache, partial
from typing import Any, NamedTuple, Protocol, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from neurorehab.core import modulators
from neurorehab.core.failures import failure_code
from neurorehab.core.modulators import Tone
from neurorehab.core.progression import Rule, decide
from neurorehab.core.types import Context, Modulation, State, Stimulus, tree_where

Params = dict[str, Array]


class Model(Protocol):
    """The contract every model implements (pure functions, no hidden state).

    A model object holds only static structure (sizes) and must be hashable; everything that
    varies between patients lives in `params`.
    """

    name: str

    def init(self, params: Params, key: Array) -> State: ...

    def trial(
        self, params: Params, state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State: ...

    def offline(self, params: Params, state: State, hours: Array, context: Context, key: Array) -> State: ...

    def assess(self, params: Params, state: State, key: Array) -> dict[str, Array]: ...


class Injury(Protocol):
    """A pure transformation of a model's state at a time (lesion, cut, demyelination)."""

    def apply(self, params: Params, state: State, key: Array) -> State: ...


class Calendar(NamedTuple):
    """An arm's schedule compiled to dense arrays over slots (leading axis E).

    day: absolute day of the slot; minute: its time of day in minutes; gap_hours: offline hours
    since the previous slot (for the first, since day 0 at 09:00); n_trials: trials in the
    slot's session (0: none); task, intensity: the stimulus; modulation: the session's gains;
    injure: whether the injury happens in the slot; adherence: probability that the patient
    does the session, before its drift; adherence_drift: change of that probability per week
    of the block; adherence_progress: change per unit of perceived progress (the progression
    rule's measure since the last reassessment); weeks: weeks since the block began;
    progressive: whether the dose factor of the progression rule scales the session;
    reassess: whether the rule decides at the start of the slot; assess: (host-side, not
    traced) which slots' measures are kept.
    """

    day: Array
    minute: Array
    gap_hours: Array
    n_trials: Array
    task: Array
    intensity: Array
    modulation: Modulation
    injure: Array
    adherence: Array
    adherence_drift: Array
    adherence_progress: Array
    weeks: Array
    progressive: Array
    reassess: Array
    assess: Any = None  # bool per slot, read at the edge: which slots' measures are kept

    @property
    def max_trials(self) -> int:
        return int(np.max(np.asarray(self.n_trials), initial=0))


# Measures the engine adds to every model's: the patient's condition and what was done.
ENGINE_MEASURES = ("fatigue", "pain", "reps_done", "sessions_done", "dose_factor", "reason")


class NoInjury:
    """The identity injury, for arms or models without one."""

    def apply(self, params: Params, state: State, key: Array) -> State:
        return state

    def __hash__(self) -> int:
        return hash(NoInjury)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoInjury)


def simulate_one(
    model: Model,
    params: Params,
    calendar: Calendar,
    key: Array,
    *,
    injury: Injury | None = None,
    max_trials: int | None = None,
    rule: Rule | None = None,
) -> tuple[dict[str, Array], State, Array]:
    """Run one patient through a calendar.

    Returns (measures: name -> array over slots, final state, failure code). Differentiable
    with respect to `params` (no Python branching on traced values). `rule`: the arm's
    progression rule (`core.progression`), if any.
    """
    measures, state, _ = _run(model, params, calendar, key, injury, max_trials, (), rule)
    return measures, state, failure_code(measures, state)


def snapshots_one(
    model: Model,
    params: Params,
    calendar: Calendar,
    key: Array,
    slots: tuple[int, ...],
    *,
    injury: Injury | None = None,
    max_trials: int | None = None,
    rule: Rule | None = None,
) -> tuple[Any, ...]:
    """`model.snapshot(state)` of one patient after each slot index in `slots` (for figures).

    The same numbers as `simulate_one` with the same key: the snapshots ride along in the scan.
    Under `jit`, pass `max_trials` (static): the calendar's own is not readable from a tracer.
    """
    return _run(model, params, calendar, key, injury, max_trials, tuple(slots), rule)[2]


def _run(
    model: Model,
    params: Params,
    calendar: Calendar,
    key: Array,
    injury: Injury | None,
    max_trials: int | None,
    snapshot_slots: tuple[int, ...],
    rule: Rule | None = None,
) -> tuple[dict[str, Array], State, tuple[Any, ...]]:
    injury = NoInjury() if injury is None else injury
    n_max = calendar.max_trials if max_trials is None else max_trials
    k_init, k_run, k_stream, k_injury = jax.random.split(key, 4)
    state0 = model.init(params, k_init)
    snap0 = tuple(model.snapshot(state0) for _ in snapshot_slots)  # type: ignore[attr-defined]
    zero = jnp.zeros((), jnp.float32)
    # Dose factor, tracked measure now and at the last reassessment, reassessments so far,
    # reason of the latest decision, repetitions and sessions done.
    ctl0 = {"factor": zero + 1.0, "value": zero, "reference": zero, "n_reassess": zero, "reason": zero,
            "reps": zero, "sessions": zero}  # fmt: skip

    def run_slot(carry: tuple[State, Tone, dict[str, Array], tuple[Any, ...]], xs: tuple[Any, Array]) -> Any:
        state, tone, ctl, snaps = carry
        slot, index = xs
        # Keys come from the slot's absolute time (day, minute), not its position, so a patient
        # draws the same numbers for the same session in every arm (common random numbers).
        k = jax.random.fold_in(jax.random.fold_in(k_run, slot.day), slot.minute)
        k_off, k_trials, k_assess = jax.random.split(k, 3)
        end_hour = 24.0 * slot.day + slot.minute / 60.0
        slept = modulators.slept_hours(end_hour, slot.gap_hours, params)
        tone, capture = modulators.offline(tone, slot.gap_hours, params)
        context = Context(slot.day, k_stream, slept, capture)
        state = model.offline(params, state, slot.gap_hours, context, k_off)
        k_inj = jax.random.fold_in(k_injury, slot.day)
        state = tree_where(slot.injure, injury.apply(params, state, k_inj), state)
        ctl, tone = _reassess(rule, ctl, tone, slot.reassess)
        # The patient does the session with the adherence probability (1 when supervised).
        progress = (ctl["value"] - ctl["reference"]) * (
            1.0 if rule is None or rule.higher_is_better else -1.0
        )
        p_do = jnp.clip(
            slot.adherence + slot.adherence_drift * slot.weeks + slot.adherence_progress * progress, 0.0, 1.0
        )
        offered = (slot.n_trials > 0) | (slot.modulation.exercise > 0) | (slot.modulation.priming > 0)
        done = offered & (jax.random.uniform(jax.random.fold_in(k, 7)) < p_do)
        mod = slot.modulation
        tone = modulators.session_start(tone, done * mod.exercise, done * mod.priming, slot.intensity, params)
        scale = jnp.where(slot.progressive, ctl["factor"], 1.0)
        n_do = jnp.where(done, jnp.round(slot.n_trials * scale), 0)
        stim = Stimulus(slot.task, slot.intensity)

        def run_trial(carry_t: tuple[State, Tone, Array], xt: tuple[Array, Array]) -> Any:
            st, tn, reps = carry_t
            t, kt = xt
            go = (t < n_do) & modulators.can_continue(tn, params)
            gains = mod._replace(plasticity=mod.plasticity * modulators.plasticity_gain(tn, params))
            new = model.trial(params, st, stim, gains, kt)
            tn_new = modulators.after_repetition(tn, slot.intensity, params)
            return (tree_where(go, new, st), tree_where(go, tn_new, tn), reps + go), None

        reps = zero
        if n_max > 0:
            n_scan = n_max if rule is None else int(np.ceil(n_max * rule.high))
            (state, tone, reps), _ = jax.lax.scan(
                run_trial, (state, tone, zero), (jnp.arange(n_scan), jax.random.split(k_trials, n_scan))
            )
        snaps = tuple(
            tree_where(index == at, model.snapshot(state), old)  # type: ignore[attr-defined]
            for at, old in zip(snapshot_slots, snaps, strict=True)
        )
        measures = model.assess(params, state, k_assess)
        ctl = {**ctl, "reps": ctl["reps"] + reps, "sessions": ctl["sessions"] + done}
        if rule is not None:
            ctl["value"] = measures[rule.measure].astype(jnp.float32)
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

    n_slots = calendar.day.shape[0]
    (state, _, _, snaps), measures = jax.lax.scan(
        run_slot,
        (state0, modulators.rest(params), ctl0, snap0),
        (calendar._replace(assess=None), jnp.arange(n_slots)),
    )
    return measures, state, snaps


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


def auto_chunk(model: Model, params: Params, budget: int = CACHE_BUDGET_BYTES) -> int:
    """Patients per chunk so that a chunk's states fit in `budget` bytes (about a cache's share).

    Each step of the compiled scan has a fixed cost, so bigger chunks amortise it, until the
    chunk's states spill out of cache (PEERS.md: 100-patient chunks of a 200-neuron network ran
    3x faster than one vmap over 1,000). Small models get large chunks, large ones small.
    """
    one = jax.tree_util.tree_map(lambda x: x[0], params)
    shapes = jax.eval_shape(model.init, one, jax.random.key(0))
    per_patient = sum(np.prod(x.shape) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))
    return int(np.clip(budget // max(int(per_patient), 1), 16, 16_384))


@lru_cache(maxsize=64)
def _batched(model: Model, injury: Injury, max_trials: int, rule: Rule | None) -> Callable[..., Any]:
    one = partial(simulate_one, model, injury=injury, max_trials=max_trials, rule=rule)
    return jax.jit(jax.vmap(lambda p, c, k: one(p, c, k), in_axes=(0, None, 0)))


def simulate(
    model: Model,
    params: Params,
    calendar: Calendar,
    keys: Array,
    *,
    injury: Injury | None = None,
    chunk_size: int | None = None,
    return_state: bool = False,
    rule: Rule | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray] | tuple[dict[str, np.ndarray], np.ndarray, Any]:
    """Run a batch of patients (leading axis of every `params` leaf and of `keys`).

    Patients run in chunks of `chunk_size` (default: `auto_chunk`) under one compiled `vmap`;
    the last chunk is padded,
    so every chunk reuses one compilation. Returns (measures: name -> [patients, slots],
    failure codes [patients]) and, with `return_state`, the final states (batched pytree).
    A patient whose numbers blow up gets a non-zero code; the others are unaffected.
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
    # Models and injuries are frozen dataclasses: hashable, so one compilation serves each.
    fn = _batched(cast(Hashable, model), cast(Hashable, injury or NoInjury()), calendar.max_trials, rule)
    size = min(chunk_size, n)
    outs = []
    for start in range(0, n, size):
        idx = np.arange(start, start + size)
        idx = np.where(idx < n, idx, 0)  # pad the last chunk with patient 0, dropped below
        chunk = jax.tree_util.tree_map(lambda x, i=idx: x[i], params)
        measures, state, codes = fn(chunk, calendar._replace(assess=None), keys[idx])
        keep = min(size, n - start)
        outs.append(
            jax.tree_util.tree_map(
                lambda x, k=keep: np.asarray(x)[:k], (measures, codes, state if return_state else None)
            )
        )
    measures = {k: np.concatenate([o[0][k] for o in outs]) for k in outs[0][0]}
    codes = np.concatenate([o[1] for o in outs])
    if not return_state:
        return measures, codes
    state = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *[o[2] for o in outs])
    return measures, codes, state
