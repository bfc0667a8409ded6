"""Events of `fear`: the trauma, and an aversive event alone (reinstatement)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Event
from neurorehab.core.spec import Param
from neurorehab.core.types import State
from neurorehab.models.fear.model import GMNN, _observation

MAX_PAIRINGS = 20


def _pairings(model: Any, params: dict[str, Array], state: State, x: Array, count: Array) -> State:
    """`count` (up to MAX_PAIRINGS) observed trials `x`, a trial a minute."""

    def one(i: Array, s: State) -> State:
        w = jnp.clip(count - i, 0.0, 1.0)
        s = model._learn(params, s, x, jnp.ones(()), w)
        return model._advance(params, s, params["trial_minutes"] * (w > 0))

    return jax.lax.fori_loop(0, MAX_PAIRINGS, one, state)


@dataclass(frozen=True)
class Trauma(Event):
    """The trauma: the trauma cue in the trauma's context paired with an aversive outcome of
    `intensity`, `pairings` times (conditioning); it sensitises arousal and leaves negative
    appraisals in proportion to its intensity."""

    summary = "the trauma: the cue and context paired with an aversive outcome (conditioning), sensitisation"
    params = {  # noqa: RUF012
        "intensity": Param(1.0, "outcome", "modelled: 1 is the asymptote of conditioning", "size of the "
                           "aversive outcome", 0.0, 2.0),
        "pairings": Param(3.0, "trials", "modelled: a trauma is a brief episode of a few moments",
                          "cue-outcome pairings of the episode", 1.0, float(MAX_PAIRINGS)),
        "context": Param(1.0, "similarity", "by definition: the trauma's context", "similarity of the "
                         "episode's context to the trauma context", 0.0, 1.0),
    }  # fmt: skip

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        one = jnp.ones(())
        x = _observation(one, values["context"], one, values["intensity"])
        state = _pairings(model, params, state, x, values["pairings"])
        slow = dict(state.slow)
        slow["hyper"] = slow["hyper"] + params["hyper_gain"] * values["intensity"]
        slow["appraisal"] = jnp.clip(slow["appraisal"] + params["appraisal_gain"] * values["intensity"], 0, 1)
        return state._replace(slow=slow)


@dataclass(frozen=True)
class AversiveEvent(Event):
    """An aversive outcome with no cue, in a context (reinstatement's unsignalled shock)."""

    summary = f"an aversive outcome alone, in a context (reinstatement; {GMNN})"
    params = {  # noqa: RUF012
        "intensity": Param(1.0, "outcome", "modelled", "size of the aversive outcome", 0.0, 2.0),
        "repetitions": Param(1.0, "trials", "Rescorla & Heth 1975 (a few unsignalled shocks)",
                             "how many", 1.0, float(MAX_PAIRINGS)),
        "context": Param(1.0, "similarity", "modelled", "similarity of its context to the trauma's",
                         0.0, 1.0),
    }  # fmt: skip

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        x = _observation(jnp.zeros(()), values["context"], jnp.zeros(()), values["intensity"])
        return _pairings(model, params, state, x, values["repetitions"])
