"""The patient's condition around the sessions: fatigue, pain, stimulation priming, the
exercise pulse, the synaptic tag of recent practice, and the sleep clock.

These act on every model through the engine, never through a score: fatigue and genotype scale
the plasticity of each repetition, pain stops a session, stimulation primes the plasticity of
the repetitions that follow it, and the offline update of a model learns (through `Context`)
how many of the hours since the last slot were slept and how much exercise pulse met a tagged
memory. Every function is pure; parameters come from the patient's params (names below), with
neutral values when a model does not declare them. Sources and units: `models/modulators.py`.

Mechanisms:
- Fatigue F (0-1) rises with each repetition, F += (1 - F) intensity / fatigue_reps, and
  recovers offline with time constant fatigue_recovery_h; a repetition's plasticity is scaled
  by (1 - fatigue_cost F), so late repetitions of a long session yield less.
- Pain (NRS 0-10) rises above the patient's baseline by pain_per_rep each repetition and
  returns to baseline offline (pain_recovery_h); no repetition is done once pain reaches
  pain_limit (the pain-monitoring model of Thomee 1997).
- Stimulation (tDCS, rTMS, peripheral) adds its amplitude to a priming level that decays with
  priming_tau_h; plasticity is scaled by (1 + stim_response x priming).
- Aerobic exercise adds a pulse of amplitude exercise_response x max(0, I - theta) / (1 - theta)
  (I: intensity as a fraction of peak work rate), decaying with pulse_tau_h; practice sets a
  synaptic tag to 1 that decays with tag_tau_h (synaptic tagging and capture, Frey & Morris
  1997). The capture over a gap is the integral of pulse x tag, which a model with consolidation
  turns into transfer to its slow memory: exercise soon after practice beats later exercise,
  and exercise just before practice helps less than just after when pulse_tau_h < tag_tau_h.
- Sleep: the hours of a gap that fall between sleep_start_h and sleep_start_h + sleep_h on the
  clock.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array

# Values that switch a mechanism off, for models or tests that do not declare it.
NEUTRAL_PARAMS = {
    "fatigue_reps": jnp.inf,
    "fatigue_cost": 0.0,
    "fatigue_recovery_h": 1.0,
    "pain": 0.0,
    "pain_per_rep": 0.0,
    "pain_limit": 10.0,
    "pain_recovery_h": 12.0,
    "bdnf_met": 0.0,
    "bdnf_met_cost": 0.0,
    "stim_response": 0.0,
    "priming_tau_h": 1.0,
    "exercise_response": 0.0,
    "exercise_threshold": 0.5,
    "pulse_tau_h": 0.5,
    "tag_tau_h": 2.0,
    "sleep_start_h": 23.0,
    "sleep_h": 8.0,
}


def get(params: dict[str, Array], name: str) -> Array:
    """A modulator parameter of the patient, or its neutral value."""
    return jnp.asarray(params[name] if name in params else NEUTRAL_PARAMS[name], jnp.float32)


class Tone(NamedTuple):
    """The condition state the engine carries beside the model's state (scalars per patient).

    fatigue (0-1); pain (NRS 0-10); priming (stimulation level); pulse (exercise level); tag
    (recent practice, 0-1); peak_fatigue, peak_pain: the highest since the last reassessment.
    """

    fatigue: Array
    pain: Array
    priming: Array
    pulse: Array
    tag: Array
    peak_fatigue: Array
    peak_pain: Array


def rest(params: dict[str, Array]) -> Tone:
    """Rested: no fatigue, baseline pain, nothing primed or tagged."""
    z = jnp.zeros((), jnp.float32)
    pain = get(params, "pain")
    return Tone(z, pain, z, z, z, z, pain)


def slept_hours(end_hour: Array, hours: Array, params: dict[str, Array]) -> Array:
    """Hours of [end_hour - hours, end_hour] (absolute hours) that fall in the nightly sleep."""
    start, length = get(params, "sleep_start_h"), get(params, "sleep_h")

    def asleep_until(t: Array) -> Array:  # cumulative hours slept from the clock's origin
        shifted = t - start
        return length * jnp.floor(shifted / 24.0) + jnp.minimum(jnp.mod(shifted, 24.0), length)

    return asleep_until(end_hour) - asleep_until(end_hour - hours)


def offline(tone: Tone, hours: Array, params: dict[str, Array]) -> tuple[Tone, Array]:
    """Recovery and decay over `hours`; returns the new tone and the gap's capture (pulse x tag
    integrated over the gap, in hours)."""
    tau_p, tau_t = get(params, "pulse_tau_h"), get(params, "tag_tau_h")
    tau = tau_p * tau_t / (tau_p + tau_t)
    capture = tone.pulse * tone.tag * tau * (1.0 - jnp.exp(-hours / tau))
    base = get(params, "pain")
    return (
        tone._replace(
            fatigue=tone.fatigue * jnp.exp(-hours / get(params, "fatigue_recovery_h")),
            pain=base + (tone.pain - base) * jnp.exp(-hours / get(params, "pain_recovery_h")),
            priming=tone.priming * jnp.exp(-hours / get(params, "priming_tau_h")),
            pulse=tone.pulse * jnp.exp(-hours / tau_p),
            tag=tone.tag * jnp.exp(-hours / tau_t),
        ),
        capture,
    )


def session_start(
    tone: Tone, exercise: Array, priming: Array, intensity: Array, params: dict[str, Array]
) -> Tone:
    """An exercise session (exercise = 1) adds its pulse; a stimulation session adds priming."""
    theta = get(params, "exercise_threshold")
    drive = jnp.maximum(intensity - theta, 0.0) / (1.0 - theta)
    return tone._replace(
        pulse=tone.pulse + exercise * get(params, "exercise_response") * drive,
        priming=tone.priming + priming,
    )


def plasticity_gain(tone: Tone, params: dict[str, Array]) -> Array:
    """The factor on a repetition's plasticity from fatigue, priming and genotype."""
    return (
        (1.0 - get(params, "fatigue_cost") * tone.fatigue)
        * (1.0 + get(params, "stim_response") * tone.priming)
        * (1.0 - get(params, "bdnf_met_cost") * get(params, "bdnf_met"))
    )


def can_continue(tone: Tone, params: dict[str, Array]) -> Array:
    """Whether pain still allows another repetition."""
    return tone.pain < get(params, "pain_limit")


def after_repetition(tone: Tone, intensity: Array, params: dict[str, Array]) -> Tone:
    """A repetition done: fatigue and pain rise, the practice is tagged."""
    fatigue = tone.fatigue + (1.0 - tone.fatigue) * intensity / get(params, "fatigue_reps")
    pain = jnp.minimum(tone.pain + get(params, "pain_per_rep") * intensity, 10.0)
    return tone._replace(
        fatigue=fatigue,
        pain=pain,
        tag=jnp.ones_like(tone.tag),
        peak_fatigue=jnp.maximum(tone.peak_fatigue, fatigue),
        peak_pain=jnp.maximum(tone.peak_pain, pain),
    )
