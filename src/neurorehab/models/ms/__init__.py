"""`ms`: multiple sclerosis: demyelination and conduction, relapses, compensation, and
rehabilitation over years."""

from neurorehab.core.spec import Param
from neurorehab.models.ms.cable import CRRSS
from neurorehab.models.ms.events import Lesion
from neurorehab.models.ms.interventions import INTERVENTIONS
from neurorehab.models.ms.model import MEASURES, PARAMS, Ms
from neurorehab.models.registry import ModelInfo, register


def _gain(default: float, unit: str, doc: str, high: float) -> Param:
    return Param(default, unit, "by definition", doc, 0.0, high)


INFO = register(
    ModelInfo(
        name="ms",
        summary="Multiple sclerosis: axons that demyelinate, block with heat and remyelinate; relapses, "
        "progression, compensation, training and therapy over years.",
        source=f"{CRRSS} (node); Smith, Blakemore & McDonald 1981; Smith & McDonald 1999; "
        "Trapp et al. 1998; Pearson et al. 2015",
        model=Ms,
        params=PARAMS,
        measures=MEASURES,
        tasks=("walking", "hand", "cognitive"),
        reps_per_minute=1.0,
        options={"axons": (8, 512)},
        events={"lesion": Lesion},
        interventions=INTERVENTIONS,
        gains={
            "skill": _gain(1.0, "1", "practice of the task's pathway (compensation skill) a minute", 1.0),
            "load": _gain(1.0, "1", "exertion a minute (MS fatigue)", 1.0),
            "aerobic": _gain(0.0, "1", "aerobic training a minute", 1.0),
            "resistance": _gain(0.0, "1", "resistance training a minute", 1.0),
            "balance": _gain(0.0, "1", "balance training a minute (also trains the leg pathway)", 1.0),
            "cognitive": _gain(0.0, "1", "cognitive training a minute (trains the cognitive pathway)", 1.0),
            "heat": _gain(0.0, "degrees C/min", "heating a minute", 0.5),
            "cooling": _gain(0.0, "degrees C/min", "cooling a minute", 0.5),
            "pacing": _gain(0.0, "1", "fatigue management a minute", 1.0),
            "dmt": _gain(0.0, "1", "a dose's relative reduction of the lesion rate", 0.99),
            "dmt_cover_days": _gain(0.0, "days", "days a dose covers", 400.0),
        },
        capabilities=("exercise-heat",),
        figures="neurorehab.models.ms.figures:figures",
        example=lambda: Ms(axons=16),
        differentiable={
            "walk_speed": "t25fw_like",
            "compensation": "function_legs",
            "skill_rate": "function_legs",
            "sdmt_sd": "sdmt_like",
        },
        techniques={
            "aerobic exercise": "intervention aerobic-training (intensity: fraction of peak work rate)",
            "resistance exercise": "intervention resistance-training",
            "balance training": "intervention balance-training",
            "cognitive training": "intervention cognitive-rehabilitation",
            "task practice (MS)": "intervention task-practice (task walking, hand or cognitive)",
            "cooling and heat": "interventions cooling and heat-exposure (parameter rate)",
            "disease-modifying therapy": "intervention dmt (any efficacy); interventions dmt-interferon "
            "and dmt-glatiramer; interventions dmt-fingolimod and dmt-natalizumab (one session a week)",
            "fatigue monitoring and management": "intervention fatigue-management; measures fatigue_like, "
            "fatigue_impact_like",
        },
        doc="src/neurorehab/models/ms/README.md",
    )
)

__all__ = ["INFO", "Lesion", "Ms"]
