"""The patient's condition around the sessions: fatigue, pain, stimulation priming, the
exercise pulse, the synaptic tag of recent practice, and the sleep clock; in one place.

These act on every model through the engine, never through a score: fatigue and genotype scale
the plasticity of each repetition, pain stops a session, stimulation primes the plasticity of
the repetitions that follow it, and the offline update of a model learns (through `Context`)
how many of the hours since the last slot were slept and how much exercise pulse met a tagged
memory. Every function is pure. The condition's parameters (`PARAMS`, with units and sources)
are the patient's, apart from the model's: the engine takes them as their own dict
(`condition=`), with the declared defaults for any not given; no model declares them.

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

from neurorehab.core.spec import Measure, Param

PARAMS: dict[str, Param] = {
    "fatigue_reps": Param(
        300.0,
        "repetitions",
        "modelled: Lang et al. 2009 (about 300 repetitions an hour were tolerated after stroke)",
        "repetitions at intensity 1 that bring fatigue to 63 %",
        1.0,
        1e6,
    ),
    "fatigue_cost": Param(
        0.5,
        "1",
        "modelled: massed-practice decrements (Brawn et al. 2010)",
        "share of a repetition's plasticity lost at full fatigue",
        0.0,
        1.0,
    ),
    "fatigue_recovery_h": Param(
        1.0,
        "h",
        "modelled: reactive inhibition dissipates within an hour (Brawn et al. 2010)",
        "time constant of recovery from fatigue",
        0.01,
        240.0,
    ),
    "pain": Param(
        0.0, "NRS 0-10", "patient trait", "baseline pain, to which pain returns at rest", 0.0, 10.0
    ),
    "pain_per_rep": Param(
        0.0,
        "NRS points",
        "patient trait (0: load does not hurt)",
        "pain added by a repetition at intensity 1",
        0.0,
        1.0,
    ),
    "pain_limit": Param(
        5.0,
        "NRS 0-10",
        "Thomee 1997 pain-monitoring model: up to 5/10 is acceptable during exercise",
        "pain at which a session stops",
        0.0,
        10.0,
    ),
    "pain_recovery_h": Param(
        12.0,
        "h",
        "Thomee 1997: load-induced pain should settle by the next morning",
        "time constant of pain's return to baseline",
        0.1,
        720.0,
    ),
    "bdnf_met": Param(
        0.0,
        "0/1",
        "patient trait: BDNF Val66Met carrier (about 30 % in the US; SCIENCE.md section 6)",
        "1 for a Met carrier",
        0.0,
        1.0,
    ),
    "bdnf_met_cost": Param(
        0.2,
        "1",
        "modelled: small, variable effect (Kleim et al. 2006; McHughen et al. 2010)",
        "share of plasticity a Met carrier loses",
        0.0,
        1.0,
    ),
    "stim_response": Param(
        1.0,
        "1",
        "patient trait: about half of people do not respond to tDCS (Wiethoff et al. 2014); 0 "
        "models a non-responder",
        "gain from stimulation priming to plasticity",
        0.0,
        5.0,
    ),
    "priming_tau_h": Param(
        1.0,
        "h",
        "Nitsche & Paulus 2001: after-effects of 13 min anodal tDCS last up to 90 min",
        "time constant of stimulation priming",
        0.05,
        48.0,
    ),
    "exercise_response": Param(
        1.0,
        "1",
        "patient trait; 0 models the replications that found no effect (SCIENCE.md section 6)",
        "exercise pulse at peak intensity",
        0.0,
        5.0,
    ),
    "exercise_threshold": Param(
        0.5,
        "fraction of peak work rate",
        "catecholamines rise steeply above about 50-60 % of peak (Zouhal et al. 2008)",
        "intensity below which exercise gives no pulse",
        0.0,
        0.95,
    ),
    "pulse_tau_h": Param(
        0.5,
        "h",
        "modelled: catecholamines and lactate return to baseline within about an hour "
        "of exercise (Zouhal et al. 2008)",
        "time constant of the exercise pulse",
        0.05,
        24.0,
    ),
    "tag_tau_h": Param(
        2.0,
        "h",
        "Frey & Morris 1997: synaptic tags last about 1.5-3 h",
        "time constant of the synaptic tag of recent practice",
        0.1,
        48.0,
    ),
    "sleep_start_h": Param(
        23.0, "h of the clock", "patient habit", "time the patient falls asleep", 0.0, 24.0
    ),
    "sleep_h": Param(8.0, "h", "patient habit", "hours asleep a night", 0.0, 16.0),
}

MEASURES: dict[str, Measure] = {
    "fatigue": Measure("0-1", "fatigue after the day's last slot"),
    "pain": Measure("NRS 0-10", "pain after the day's last slot"),
    "reps_done": Measure("repetitions", "repetitions done so far (after pain stops and missed sessions)"),
    "sessions_done": Measure("sessions", "sessions done so far (adherence: against those offered)"),
    "dose_factor": Measure("1", "the progression rule's factor on progressive sessions' dose"),
    "reason": Measure("code", "reason of the latest progression decision (core.progression.REASONS)"),
}


def complete(condition: dict[str, Array] | None, n: int | None = None) -> dict[str, Array]:
    """`condition` with every missing parameter at its default (scalars, or [n] rows)."""
    given = condition or {}
    unknown = sorted(set(given) - set(PARAMS))
    if unknown:
        raise KeyError(f"no condition parameter(s) {unknown}; valid: {sorted(PARAMS)}")
    out = {}
    for name, spec in PARAMS.items():
        value = jnp.asarray(given.get(name, spec.default), jnp.float32)
        out[name] = value if n is None or value.ndim else jnp.broadcast_to(value, (n,))
    return out


def get(condition: dict[str, Array], name: str) -> Array:
    """A condition parameter of the patient, or its declared default when not given."""
    return jnp.asarray(condition[name] if name in condition else PARAMS[name].default, jnp.float32)


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
