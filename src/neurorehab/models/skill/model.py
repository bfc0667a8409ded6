"""`skill`: acquisition, consolidation and retention of a practised motor skill.

The model of the modulators of plasticity (SCIENCE.md section 6): what a session teaches, what
sleep and exercise add afterwards, and what is kept weeks later. It has no injury; it stands
for any practised skill (a finger-tapping sequence, a visuomotor tracking task, a therapy
task) and is where exercise timing, sleep, spacing, fatigue and genotype are tested.

Mechanisms and sources:
- Acquisition, per repetition, by the two-state model of Smith, Ghazizadeh & Shadmehr 2006:
  the room to improve e = 1 - (x_f + x_s) drives a fast and a slow process,
  x_f <- A_f x_f + B_f g e, x_s <- x_s + B_s g e, where g is the session's plasticity gain
  (fatigue, priming, genotype: `core.condition`) times drive and intensity. The slow process
  forgets with time offline, not per repetition: Smith's A_s = 0.996 a trial would erase half of
  the consolidated skill in one 180-repetition session.
- Retention offline: x_f decays over days and x_s over a year, so gains decay fast after
  practice, then plateau (Wang, Winstein, D'Argenio & Schweighofer 2020).
- Sleep-dependent enhancement (Walker et al. 2002, 2003): what a session taught waits for
  sleep; the hours of a gap spent asleep consolidate it into x_s with an offline gain
  (sleep_gain x the waiting learning). The same hours awake give none. Calibrated so that one
  Walker-style session (12 trials of 30 s, about 180 sequences) is followed by about 20 % faster
  performance after a night (Walker 2002: about 20 %; Fischer 2002: 33.5 %).
- Exercise-enhanced consolidation (Roig et al. 2012; Thomas et al. 2016) by synaptic tagging
  and capture (Frey & Morris 1997; behavioural tagging, Moncada & Viola 2007): practice tags
  its synapses for a few hours; an exercise pulse captured by the tag moves a share
  1 - exp(-exercise_gain x capture) of the fast process into the slow one. Acquisition is
  unchanged; retention after a day and a week rises; soon after beats later, after beats before,
  high intensity beats moderate, and exercise_response 0 (a non-responder, or the replications
  that found nothing) removes the effect.
Not modelled: the loss of the sleep benefit after a first night of sleep deprivation
(Stickgold et al. 2000); waiting learning does not decay while awake.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import Context, Modulation, State, Stimulus

_SMITH = "Smith, Ghazizadeh & Shadmehr 2006 (PLoS Biol 4:e179)"

PARAMS: dict[str, Param] = {
    "a_fast": Param(0.92, "1/repetition", _SMITH, "retention of the fast process per repetition", 0, 1),
    "b_fast": Param(0.03, "1/repetition", _SMITH, "learning rate of the fast process", 0, 1),
    "b_slow": Param(0.001, "1/repetition", _SMITH, "learning rate of the slow process", 0, 1),
    "fast_tau_days": Param(
        7.0,
        "days",
        "modelled: fast early decay of gains over days to weeks (Wang et al. 2020)",
        "offline time constant of the fast process",
        0.01,
        3650,
    ),
    "slow_tau_days": Param(
        365.0,
        "days",
        "modelled: the plateau of retention (Wang et al. 2020)",
        "offline time constant of the slow process",
        1,
        36500,
    ),
    "sleep_gain": Param(
        1.0,
        "1",
        "calibrated: about +20 % speed after a night following one session (Walker et al. 2002)",
        "offline gain: share of the waiting learning that a night adds to the slow process",
        0,
        5,
    ),
    "sleep_tau_h": Param(
        2.0,
        "h of sleep",
        "modelled: most of the gain within a night (Walker et al. 2002: stage-2 NREM)",
        "hours of sleep that consolidate 63 % of the waiting learning",
        0.1,
        24,
    ),
    "sleep_capacity": Param(
        0.25,
        "skill",
        "modelled: consolidation resources per night are limited (Smolen, Zhang & "
        "Byrne 2016), the basis of the spacing effect",
        "learning a night can consolidate before it saturates",
        0.01,
        10,
    ),
    "exercise_gain": Param(
        2.5,
        "1/h of capture",
        "modelled: retention gains of 10-20 % a week after intense exercise (Roig et al. 2012)",
        "rate at which captured pulse moves the fast process into the slow",
        0,
        100,
    ),
    "speed_base": Param(
        10.0,
        "sequences / 30 s",
        "modelled: an untrained tapping speed (Walker et al. 2002 task)",
        "speed with no skill",
        0,
        100,
    ),
    "speed_range": Param(
        20.0, "sequences / 30 s", "modelled", "speed added by full skill (x_f + x_s = 1)", 0, 100
    ),
}

MEASURES: dict[str, Measure] = {
    "skill": Measure("0-1", "x_f + x_s: the expressed skill"),
    "speed_like": Measure("sequences / 30 s", "tapping-speed-like score: speed_base + speed_range x skill"),
    "x_fast": Measure("0-1", "the fast (labile) process"),
    "x_slow": Measure("0-1", "the slow (consolidated) process"),
    "awaiting_sleep": Measure("0-1", "learning not yet consolidated by sleep"),
}


@dataclass(frozen=True)
class Skill(Model):
    """One practised skill with fast, slow and sleep-waiting memory; see the module docstring."""

    name: str = "skill"

    def init(self, params: dict[str, Array], key: Array) -> State:
        z = jnp.zeros(())
        return State(
            fast={"room": z + 1.0}, plastic={"x_fast": z, "x_slow": z}, structural={}, slow={"awaiting": z}
        )

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        x_f, x_s = state.plastic["x_fast"], state.plastic["x_slow"]
        room = 1.0 - (x_f + x_s)
        g = modulation.plasticity * modulation.drive * stimulus.intensity
        new_f = params["a_fast"] * x_f + params["b_fast"] * g * room
        new_s = x_s + params["b_slow"] * g * room
        learned = jnp.maximum((new_f + new_s) - (x_f + x_s), 0.0)
        return state._replace(
            plastic={"x_fast": new_f, "x_slow": new_s},
            slow={"awaiting": state.slow["awaiting"] + learned},
        )

    def offline(
        self, params: dict[str, Array], state: State, hours: Array, context: Context, key: Array
    ) -> State:
        # Capture and sleep act early in a gap (the tag lasts hours, a night is one block), so
        # they move what was there at its start; decay then acts on the result.
        x_f, x_s = state.plastic["x_fast"], state.plastic["x_slow"]
        moved = x_f * (1.0 - jnp.exp(-params["exercise_gain"] * context.capture))
        consumed = state.slow["awaiting"] * (1.0 - jnp.exp(-context.slept / params["sleep_tau_h"]))
        cap = params["sleep_capacity"]
        room = jnp.maximum(1.0 - x_f - x_s, 0.0)
        added = jnp.minimum(params["sleep_gain"] * cap * (1.0 - jnp.exp(-consumed / cap)), room)
        x_f = (x_f - moved) * jnp.exp(-hours / (24.0 * params["fast_tau_days"]))
        x_s = (x_s + moved + added) * jnp.exp(-hours / (24.0 * params["slow_tau_days"]))
        return state._replace(
            plastic={"x_fast": x_f, "x_slow": x_s},
            slow={"awaiting": state.slow["awaiting"] - consumed},
        )

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        x_f, x_s = state.plastic["x_fast"], state.plastic["x_slow"]
        return {
            "skill": x_f + x_s,
            "speed_like": params["speed_base"] + params["speed_range"] * (x_f + x_s),
            "x_fast": x_f,
            "x_slow": x_s,
            "awaiting_sleep": state.slow["awaiting"],
        }
