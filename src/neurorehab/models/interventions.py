"""The generic technique library: how a session's specification becomes its trials' gains.

An intervention is a small declarative part: a summary and source, its own parameters (units,
ranges, defaults: a scenario block may set them), and the session gains it sets, each a number
or the name of one of its parameters. Generic gains (plasticity, drive, exercise, priming) act
on every model; any other gain is a model's own (`ModelInfo.gains`): an intervention sets it
where the model declares it, and `requires` lists the gains or capabilities without which the
intervention means nothing (a scenario refuses it elsewhere). A model's own interventions live
in its folder and are declared in its `ModelInfo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neurorehab.core.spec import Param
from neurorehab.core.types import GENERIC_GAINS, Modulation


@dataclass(frozen=True)
class Intervention:
    """Gains for every session; `rotate` cycles the task through the model's tasks.

    gains: gain name -> a number, or the name of a parameter in `params`; requires: model
    gains or capabilities it needs; practice: False when the session has no repetitions of a
    task (exercise, stimulation); max_intensity: 1 = usual for practice, a fraction of peak
    work rate for exercise.
    """

    summary: str
    gains: Mapping[str, float | str] = field(default_factory=dict)
    params: Mapping[str, Param] = field(default_factory=dict)
    rotate: bool = False
    requires: tuple[str, ...] = ()
    source: str = ""
    practice: bool = True
    max_intensity: float = 2.0

    def __post_init__(self) -> None:
        for gain, value in self.gains.items():
            if isinstance(value, str) and value not in self.params:
                raise ValueError(f"gain {gain!r} names parameter {value!r}, which is not declared")

    def __hash__(self) -> int:
        return hash((self.summary, tuple(self.gains.items()), tuple(self.params)))

    def values(self, given: Mapping[str, float] | None = None) -> dict[str, float]:
        """Every parameter's value: `given` over the declared defaults."""
        return {name: float((given or {}).get(name, spec.default)) for name, spec in self.params.items()}

    def modulation(self, given: Mapping[str, float] | None, neutral: Mapping[str, float]) -> Modulation:
        """The session's gains for parameter values `given`; `neutral`: the model's own gains
        at their neutral values (gains the model does not declare are not set)."""
        values = self.values(given)
        resolved = {g: values[v] if isinstance(v, str) else float(v) for g, v in self.gains.items()}
        generic = {g: resolved.get(g, d) for g, d in zip(GENERIC_GAINS, (1.0, 1.0, 0.0, 0.0), strict=True)}
        extra = {g: resolved.get(g, d) for g, d in neutral.items()}
        return Modulation(**generic, extra=extra)

    def session(self, index: int, task: int, n_tasks: int) -> int:
        """The task of the block's `index`-th session."""
        return (task + index) % n_tasks if self.rotate else task


def _gain(default: float, doc: str, low: float, high: float, source: str) -> Param:
    return Param(default, "1", source, doc, low, high)


_PRIMING = "priming added to the plasticity gain's priming level (core.condition)"

INTERVENTIONS: dict[str, Intervention] = {
    "task-practice": Intervention(
        "repeated practice of one task (the trained task every session, the limb moving)"
    ),
    "varied-practice": Intervention(
        "varied practice: the task changes every session, cycling through all tasks",
        rotate=True,
        source="Fu et al. 2012's control for repetition",
    ),
    "error-augmented": Intervention(
        "practice with error feedback amplified (visual error augmentation; 2x by default)",
        gains={"error": "error_gain"},
        params={
            "error_gain": _gain(2.0, "factor on the error shown", 1.0, 10.0, "Patton et al. 2006"),
        },
        requires=("error",),
        source="Patton et al. 2006; Han et al. 2008 varied the error shown",
    ),
    "error-reduced": Intervention(
        "practice with error feedback reduced (assistance or error reduction; halved by default)",
        gains={"error": "error_gain"},
        params={
            "error_gain": _gain(0.5, "factor on the error shown", 0.0, 1.0, "Han, Arbib & Schweighofer 2008"),
        },
        requires=("error",),
        source="Han, Arbib & Schweighofer 2008",
    ),
    "motor-imagery": Intervention(
        "motor imagery or action observation: the trained population is driven without "
        "movement; use-dependent plasticity at reduced gain, no error feedback, no outcome "
        "(models that declare `error` and `movement` gains)",
        gains={"plasticity": "imagery_gain", "error": 0.0, "movement": 0.0},
        params={
            "imagery_gain": _gain(
                0.5,
                "plasticity of an imagined repetition relative to a real one",
                0.0,
                1.0,
                "modelled: mental practice helps, less than physical practice (Cochrane reviews)",
            ),
        },
        source="Jeannerod 2001 (shared substrate); Cochrane reviews of mental practice",
    ),
    "aerobic-exercise": Intervention(
        "aerobic exercise (e.g. cycling): a pulse of catecholamines and BDNF that, captured by the "
        "tag of recent practice, consolidates it; intensity is the fraction of peak work rate",
        gains={"exercise": 1.0},
        requires=("consolidation",),
        source="Roig et al. 2012; Thomas et al. 2016; core.condition",
        practice=False,
        max_intensity=1.0,
    ),
    "tdcs": Intervention(
        "anodal transcranial direct current stimulation: primes plasticity for about an hour",
        gains={"priming": "priming"},
        params={"priming": _gain(0.3, _PRIMING, 0.0, 2.0, "Nitsche & Paulus 2001; SMD about 0.3 (recalled)")},
        source="Nitsche & Paulus 2001 (after-effects); small effects on ADL, SMD about 0.3 (recalled)",
        practice=False,
    ),
    "rtms": Intervention(
        "facilitatory repetitive TMS (e.g. 10 Hz or intermittent theta burst) over the affected cortex",
        gains={"priming": "priming"},
        params={"priming": _gain(0.3, _PRIMING, 0.0, 2.0, "Huang et al. 2005; SMD about 0.3 (recalled)")},
        source="Huang et al. 2005 (theta burst after-effects); SMD about 0.3 (recalled)",
        practice=False,
    ),
    "vibrotactile": Intervention(
        "vibrotactile stimulation of the limb: afferent input that primes plasticity, at half tDCS gain",
        gains={"priming": "priming"},
        params={"priming": _gain(0.15, _PRIMING, 0.0, 2.0, "modelled as afferent priming")},
        source="modelled as afferent priming (seed 001 names it for sensory re-education)",
        practice=False,
    ),
    "electrical-stimulation": Intervention(
        "peripheral (neuromuscular or sensory) electrical stimulation: afferent priming at half tDCS gain",
        gains={"priming": "priming"},
        params={"priming": _gain(0.15, _PRIMING, 0.0, 2.0, "modelled as afferent priming")},
        source="modelled as afferent priming (Conforto et al. 2002: peripheral nerve stimulation)",
        practice=False,
    ),
}

# Every technique the four seed articles name (those a model's own interventions express are
# in its ModelInfo.techniques), and how a scenario expresses it (or why not yet).
TECHNIQUES: dict[str, str] = {
    "task practice": "intervention task-practice (dose: repetitions or minutes, intensity, time of day)",
    "task variability": "intervention varied-practice",
    "augmented feedback": (
        "interventions error-augmented and error-reduced (models with an `error` gain; error_gain)"
    ),
    "motor imagery": "intervention motor-imagery",
    "action observation": "intervention motor-imagery (same substrate: drive without movement)",
    "sensory re-education": "a model's own interventions, in models of the hand's map (see the model rows)",
    "vibrotactile stimulation": "intervention vibrotactile (priming of plasticity; parameter priming)",
    "electrical stimulation": (
        "intervention electrical-stimulation (priming of plasticity; parameter priming)"
    ),
    "TMS": "intervention rtms (priming of plasticity; parameter priming)",
    "tDCS": "intervention tdcs (priming of plasticity; parameter priming)",
    "aerobic exercise": "intervention aerobic-exercise (models with consolidation)",
    "resistance training": "a model's own interventions, in models with muscle state (see the model rows)",
    "balance training": "a model's own interventions, in models with postural state (see the model rows)",
    "cognitive training": "a model's own interventions, in models with a cognitive pathway (model rows)",
    "sleep": "the sleep clock (condition sleep_start_h, sleep_h) and each block's hour",
    "nutrition": "out of scope: no metabolic model",
    "CBT, exposure therapy (incl. VR), mindfulness": (
        "a fear-memory model's own interventions (see the model rows)"
    ),
    "disease-modifying therapy": "a disease-course model's own interventions (see the model rows)",
    "home programme": "a block with adherence (initial, per_week, per_progress)",
    "reassessment and progression": "arms[].progression (milestone, steps, limits) on progressive blocks",
    "telehealth check-in": "a reassessment day of arms[].progression (decisions need no clinic visit)",
    "fatigue monitoring": "the fatigue measure; progression.fatigue_limit steps the dose down",
    "pain monitoring": "condition pain, pain_per_rep, pain_limit (a session stops); progression.pain_limit",
    "spacing": "the schedule itself: sessions_per_week, sessions_per_day, hours_between",
    "BDNF genotype": "condition bdnf_met (a patient trait)",
}
