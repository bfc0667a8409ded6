"""Immutable state and the small records that travel between the engine and a model.

`State` splits a model's variables by timescale (DESIGN.md): `fast` activity that lives within a
trial, `plastic` synaptic weights, `structural` state (synaptic elements, spines, masks) and
`slow` variables (recovery potential, myelin, skill, day counters). Each field holds whatever
pytree the model needs; the engine only maps over it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


class State(NamedTuple):
    """A model's state, split by timescale. Each field is a pytree (often a dict of arrays)."""

    fast: Any
    plastic: Any
    structural: Any
    slow: Any


class Stimulus(NamedTuple):
    """What one trial presents: which task (int code) and at what intensity (0-2, 1 = usual)."""

    task: Array
    intensity: Array


class Modulation(NamedTuple):
    """Gains that interventions set for a session (dimensionless, 1 = neutral).

    The engine and every model understand the generic gains: plasticity (multiplies synaptic
    learning rates), drive (scales the external drive of the trained population), exercise (1
    for an aerobic exercise session; its pulse scales with the session's intensity) and priming
    (what a stimulation session adds, `core.condition`). `extra` holds the gains a model
    declares for itself (its `ModelInfo.gains`: error feedback, forced use, whether the limb
    moves), by name, with the model's neutral value where an intervention
    sets none.
    """

    plasticity: Any
    drive: Any
    exercise: Any = 0.0
    priming: Any = 0.0
    extra: Any = {}  # noqa: RUF012  (a NamedTuple default; never mutated)


GENERIC_GAINS = ("plasticity", "drive", "exercise", "priming")
NEUTRAL = Modulation(plasticity=1.0, drive=1.0, exercise=0.0, priming=0.0, extra={})


class Context(NamedTuple):
    """Where the clock stands for an offline update.

    day: absolute day of the slot; stream: the patient's calendar key: fold an absolute time
    (e.g. the day) into it for randomness that must not depend on how a calendar is sliced into
    slots, so arms with different schedules share random numbers day by day; slept: hours of
    the gap spent asleep; capture: exercise pulse x synaptic tag integrated over the gap (hours),
    the drive of exercise-enhanced consolidation (`core.condition`).
    """

    day: Array
    stream: Array
    slept: Any = 0.0
    capture: Any = 0.0


def tree_where(pred: Array, on_true: Any, on_false: Any) -> Any:
    """Select between two pytrees of the same structure with a scalar traced predicate."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)
