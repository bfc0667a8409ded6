"""Interventions: how a session's specification becomes its trials' stimulus and modulation.

Each intervention is a small part with one method, `session(index, task, n_tasks)` -> (task
code, Modulation of gains). It acts on a model only through the model's mechanisms: the gains
scale learning, error feedback, drive, forced use and whether the limb moves. Interventions
that make sense only for models with two limbs say so in `requires`; the scenario refuses them
elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurorehab.core.types import NEUTRAL, Modulation


@dataclass(frozen=True)
class Intervention:
    """Fixed gains for every session; `rotate` cycles the task through the model's tasks."""

    summary: str
    gains: Modulation = NEUTRAL
    rotate: bool = False
    requires: str | None = None  # a model capability, e.g. "two-limbs"
    source: str = ""
    practice: bool = True  # False: the session has no repetitions of a task (exercise, stimulation)
    max_intensity: float = 2.0  # intensity: 1 = usual for practice; fraction of peak for exercise

    def session(self, index: int, task: int, n_tasks: int) -> tuple[int, Modulation]:
        return ((task + index) % n_tasks if self.rotate else task), self.gains


INTERVENTIONS: dict[str, Intervention] = {
    "task-practice": Intervention(
        "repeated practice of one task (the trained task every session, the affected limb moving)"
    ),
    "varied-practice": Intervention(
        "varied practice: the task changes every session, cycling through all tasks",
        rotate=True,
        source="Fu et al. 2012's control for repetition",
    ),
    "cimt": Intervention(
        "constraint-induced movement therapy: shaping practice plus a mitt on the less affected "
        "hand for 90 % of daily-life actions for the rest of each session's day",
        gains=NEUTRAL._replace(forced_use=0.9),
        requires="two-limbs",
        source="Taub et al. 1993; EXCITE (Wolf et al. 2006): mitt for 90 % of waking hours",
    ),
    "error-augmented": Intervention(
        "practice with error feedback amplified 2x (visual error augmentation)",
        gains=NEUTRAL._replace(error=2.0),
        requires="error-feedback",
        source="Patton et al. 2006; Han et al. 2008 varied the error shown",
    ),
    "error-reduced": Intervention(
        "practice with error feedback halved (assistance or error reduction)",
        gains=NEUTRAL._replace(error=0.5),
        requires="error-feedback",
        source="Han, Arbib & Schweighofer 2008",
    ),
    "motor-imagery": Intervention(
        "motor imagery or action observation: the motor population is driven without movement; "
        "use-dependent plasticity at half gain, no error feedback, no outcome",
        gains=NEUTRAL._replace(plasticity=0.5, error=0.0, movement=0.0),
        source="Jeannerod 2001 (shared substrate); Cochrane reviews of mental practice",
    ),
    "mirror-therapy": Intervention(
        "mirror therapy: the mirror illusion drives the affected cortex at reduced gain without "
        "error feedback or outcome (the less affected limb's own practice is not modelled)",
        gains=NEUTRAL._replace(plasticity=0.7, error=0.0, drive=0.7, movement=0.0),
        requires="two-limbs",
        source="Ramachandran & Rogers-Ramachandran 1996; Cochrane 2018 (Thieme et al.)",
    ),
    "bilateral-training": Intervention(
        "bilateral arm training: both arms reach together in mirror symmetry; the affected arm "
        "moves with its own error feedback while the intact hemisphere's movement drives the "
        "affected cortex through callosal coupling, modelled as a gain of 1.3 on its recruited "
        "cells' activity (it recruits no extra cells: like practice at intensity 1.3); the less "
        "affected arm's own practice is not modelled",
        gains=NEUTRAL._replace(drive=1.3),
        requires="two-limbs",
        source="Cauraugh & Summers 2005 (bilateral movement training, interhemispheric "
        "facilitation); Stinear & Byblow 2004; the 1.3 gain is illustrative",
    ),
    "aerobic-exercise": Intervention(
        "aerobic exercise (e.g. cycling): a pulse of catecholamines and BDNF that, captured by the "
        "tag of recent practice, consolidates it; intensity is the fraction of peak work rate",
        gains=NEUTRAL._replace(exercise=1.0),
        requires="consolidation",
        source="Roig et al. 2012; Thomas et al. 2016; core.modulators",
        practice=False,
        max_intensity=1.0,
    ),
    "tdcs": Intervention(
        "anodal transcranial direct current stimulation: primes plasticity for about an hour",
        gains=NEUTRAL._replace(priming=0.3),
        source="Nitsche & Paulus 2001 (after-effects); small effects on ADL, SMD about 0.3 (recalled)",
        practice=False,
    ),
    "rtms": Intervention(
        "facilitatory repetitive TMS (e.g. 10 Hz or intermittent theta burst) over the affected cortex",
        gains=NEUTRAL._replace(priming=0.3),
        source="Huang et al. 2005 (theta burst after-effects); SMD about 0.3 (recalled)",
        practice=False,
    ),
    "vibrotactile": Intervention(
        "vibrotactile stimulation of the limb: afferent input that primes plasticity, at half tDCS gain",
        gains=NEUTRAL._replace(priming=0.15),
        source="modelled as afferent priming (seed 001 names it for sensory re-education)",
        practice=False,
    ),
    "electrical-stimulation": Intervention(
        "peripheral (neuromuscular or sensory) electrical stimulation: afferent priming at half tDCS gain",
        gains=NEUTRAL._replace(priming=0.15),
        source="modelled as afferent priming (Conforto et al. 2002: peripheral nerve stimulation)",
        practice=False,
    ),
}

# Every technique the four seed articles name, and how a scenario expresses it (or why not yet).
TECHNIQUES: dict[str, str] = {
    "task practice": "intervention task-practice (dose: repetitions or minutes, intensity, time of day)",
    "task variability": "intervention varied-practice",
    "constraint-induced movement therapy": "intervention cimt (models with two limbs: motor)",
    "augmented feedback": "interventions error-augmented and error-reduced (models with error feedback)",
    "motor imagery": "intervention motor-imagery",
    "action observation": "intervention motor-imagery (same substrate: drive without movement)",
    "mirror therapy": "intervention mirror-therapy (models with two limbs)",
    "bilateral training": "intervention bilateral-training (models with two limbs)",
    "sensory re-education": "out of scope until the somatosensory (nerve injury) model exists",
    "vibrotactile stimulation": "intervention vibrotactile (priming of plasticity)",
    "electrical stimulation": "intervention electrical-stimulation (priming of plasticity)",
    "TMS": "intervention rtms (priming of plasticity)",
    "tDCS": "intervention tdcs (priming of plasticity)",
    "aerobic exercise": "intervention aerobic-exercise (models with consolidation: skill)",
    "resistance training": "out of scope: no model has muscle state yet",
    "balance training": "out of scope: no model has postural state yet",
    "cognitive training": "out of scope: no cognitive model yet",
    "sleep": "the sleep clock (params sleep_start_h, sleep_h) and each block's hour",
    "nutrition": "out of scope: no metabolic model",
    "CBT, exposure therapy (incl. VR), mindfulness": "out of scope until the fear-memory (PTSD) model exists",
    "disease-modifying therapy": "out of scope until the MS model exists",
    "home programme": "a block with adherence (initial, per_week, per_progress)",
    "reassessment and progression": "arms[].progression (milestone, steps, limits) on progressive blocks",
    "telehealth check-in": "a reassessment day of arms[].progression (decisions need no clinic visit)",
    "fatigue monitoring": "the fatigue measure; progression.fatigue_limit steps the dose down",
    "pain monitoring": "params pain, pain_per_rep, pain_limit (a session stops); progression.pain_limit",
    "spacing": "the schedule itself: sessions_per_week, sessions_per_day, hours_between",
    "BDNF genotype": "param bdnf_met (a patient trait)",
}
