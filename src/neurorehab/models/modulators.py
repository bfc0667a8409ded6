"""Parameters and measures of the patient's condition (`core.modulators`), shared by every model.

Each model's `ModelInfo` includes these, so a scenario can vary them per patient (genotype,
pain, responsiveness to exercise or stimulation) like any model parameter.
"""

from __future__ import annotations

from neurorehab.models.base import MeasureSpec, ParamSpec

MODULATOR_PARAMS: dict[str, ParamSpec] = {
    "fatigue_reps": ParamSpec(
        300.0,
        "repetitions",
        "modelled: Lang et al. 2009 (about 300 repetitions an hour were tolerated after stroke)",
        "repetitions at intensity 1 that bring fatigue to 63 %",
        1.0,
        1e6,
    ),
    "fatigue_cost": ParamSpec(
        0.5,
        "1",
        "modelled: massed-practice decrements (Brawn et al. 2010)",
        "share of a repetition's plasticity lost at full fatigue",
        0.0,
        1.0,
    ),
    "fatigue_recovery_h": ParamSpec(
        1.0,
        "h",
        "modelled: reactive inhibition dissipates within an hour (Brawn et al. 2010)",
        "time constant of recovery from fatigue",
        0.01,
        240.0,
    ),
    "pain": ParamSpec(
        0.0, "NRS 0-10", "patient trait", "baseline pain, to which pain returns at rest", 0.0, 10.0
    ),
    "pain_per_rep": ParamSpec(
        0.0,
        "NRS points",
        "patient trait (0: load does not hurt)",
        "pain added by a repetition at intensity 1",
        0.0,
        1.0,
    ),
    "pain_limit": ParamSpec(
        5.0,
        "NRS 0-10",
        "Thomee 1997 pain-monitoring model: up to 5/10 is acceptable during exercise",
        "pain at which a session stops",
        0.0,
        10.0,
    ),
    "pain_recovery_h": ParamSpec(
        12.0,
        "h",
        "Thomee 1997: load-induced pain should settle by the next morning",
        "time constant of pain's return to baseline",
        0.1,
        720.0,
    ),
    "bdnf_met": ParamSpec(
        0.0,
        "0/1",
        "patient trait: BDNF Val66Met carrier (about 30 % in the US; SCIENCE.md section 6)",
        "1 for a Met carrier",
        0.0,
        1.0,
    ),
    "bdnf_met_cost": ParamSpec(
        0.2,
        "1",
        "modelled: small, variable effect (Kleim et al. 2006; McHughen et al. 2010)",
        "share of plasticity a Met carrier loses",
        0.0,
        1.0,
    ),
    "stim_response": ParamSpec(
        1.0,
        "1",
        "patient trait: about half of people do not respond to tDCS (Wiethoff et al. 2014); 0 "
        "models a non-responder",
        "gain from stimulation priming to plasticity",
        0.0,
        5.0,
    ),
    "priming_tau_h": ParamSpec(
        1.0,
        "h",
        "Nitsche & Paulus 2001: after-effects of 13 min anodal tDCS last up to 90 min",
        "time constant of stimulation priming",
        0.05,
        48.0,
    ),
    "exercise_response": ParamSpec(
        1.0,
        "1",
        "patient trait; 0 models the replications that found no effect (SCIENCE.md section 6)",
        "exercise pulse at peak intensity",
        0.0,
        5.0,
    ),
    "exercise_threshold": ParamSpec(
        0.5,
        "fraction of peak work rate",
        "catecholamines rise steeply above about 50-60 % of peak (Zouhal et al. 2008)",
        "intensity below which exercise gives no pulse",
        0.0,
        0.95,
    ),
    "pulse_tau_h": ParamSpec(
        0.5,
        "h",
        "modelled: catecholamines and lactate return to baseline within about an hour "
        "of exercise (Zouhal et al. 2008)",
        "time constant of the exercise pulse",
        0.05,
        24.0,
    ),
    "tag_tau_h": ParamSpec(
        2.0,
        "h",
        "Frey & Morris 1997: synaptic tags last about 1.5-3 h",
        "time constant of the synaptic tag of recent practice",
        0.1,
        48.0,
    ),
    "sleep_start_h": ParamSpec(
        23.0, "h of the clock", "patient habit", "time the patient falls asleep", 0.0, 24.0
    ),
    "sleep_h": ParamSpec(8.0, "h", "patient habit", "hours asleep a night", 0.0, 16.0),
}

ENGINE_MEASURE_SPECS: dict[str, MeasureSpec] = {
    "fatigue": MeasureSpec("0-1", "fatigue after the day's last slot"),
    "pain": MeasureSpec("NRS 0-10", "pain after the day's last slot"),
    "reps_done": MeasureSpec("repetitions", "repetitions done so far (after pain stops and missed sessions)"),
    "sessions_done": MeasureSpec("sessions", "sessions done so far (adherence: against those offered)"),
    "dose_factor": MeasureSpec("1", "the progression rule's factor on progressive sessions' dose"),
    "reason": MeasureSpec("code", "reason of the latest progression decision (core.progression.REASONS)"),
}
