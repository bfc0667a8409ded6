"""The model contract: what the engine calls, as an abstract base with small pure methods.

A model is a frozen dataclass of static structure (sizes), hashable so that one compilation
serves it; everything that varies between patients comes in `params`. The engine owns the
clock: it calls `trial` for each repetition of a session, `day` once for every day boundary
the calendar crosses (models whose state changes day by day: daily-life use, spine turnover),
`offline` for the hours between slots (closed-form consolidation, decay), events at their
slots, and `assess` where measures are kept. All of them are pure functions of their inputs,
so the engine can `vmap` them over patients and differentiate them in reverse mode.

An `Event` (a lesion, a cut, a repair, a relapse) transforms the state once, at its slot.
It declares its own parameters (`params`, with units and ranges); their per-patient values
arrive in `values`, so a scenario can give each a number or a distribution over patients.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from jax import Array

from neurorehab.core.spec import Param
from neurorehab.core.types import Context, Modulation, State, Stimulus

Params = dict[str, Array]


class Model(ABC):
    """The engine's contract. Subclasses are frozen dataclasses holding only static structure.

    `steps_days`: whether `day` is called once per day boundary (False: the engine never calls
    it and quiet days cost nothing). `develops`: whether `init` is a costly developmental phase
    (a map formed by experience). It does not depend on the arm, so runners compute it once per
    patient draw (`core.engine.develop`) and hand it to every arm (`simulate(initial=...)`).
    `lane_width`: patients a vmapped lane holds, where the model has measured a better width
    than the engine's default from its state size (`core.engine.lanes`); a power of two.
    """

    name: str
    steps_days: ClassVar[bool] = False
    develops: ClassVar[bool] = False
    lane_width: ClassVar[int | None] = None

    @abstractmethod
    def init(self, params: Params, key: Array) -> State:
        """The healthy state before day 0."""

    @abstractmethod
    def trial(
        self, params: Params, state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        """One repetition of a session's task under the session's gains."""

    def day(self, params: Params, state: State, context: Context, key: Array) -> State:
        """Entering day `context.day`: what happens once a day (only when `steps_days`)."""
        return state

    def offline(self, params: Params, state: State, hours: Array, context: Context, key: Array) -> State:
        """The `hours` since the previous slot (after the day steps): closed-form processes."""
        return state

    @abstractmethod
    def assess(self, params: Params, state: State, key: Array) -> dict[str, Array]:
        """Every declared measure of the current state (no state change: a retest is free)."""

    def snapshot(self, state: State) -> dict[str, Array]:
        """Arrays worth a picture in the report (empty: none)."""
        return {}


class Event(ABC):
    """Something that happens to a patient once, at a slot: it transforms the model's state.

    `params`: the event's own parameters (units, ranges, defaults); `summary`: one line for
    `neurorehab list`. Subclasses are frozen dataclasses without fields (hashable kinds).
    """

    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}

    @abstractmethod
    def apply(self, model: Any, params: Params, state: State, values: dict[str, Array], key: Array) -> State:
        """The state after the event; `values` holds every declared parameter's value."""
