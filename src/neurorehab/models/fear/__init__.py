"""`fear`: the fear memory of PTSD, exposure therapy and the return of fear."""

from neurorehab.core.spec import Param
from neurorehab.models.fear.events import AversiveEvent, Trauma
from neurorehab.models.fear.fit import FIT
from neurorehab.models.fear.interventions import INTERVENTIONS
from neurorehab.models.fear.model import GBN, GMNN, MEASURES, PARAMS, VLACHOS, Fear
from neurorehab.models.registry import ModelInfo, register

INFO = register(
    ModelInfo(
        name="fear",
        summary="PTSD's fear memory: latent-cause learning (or a circuit, or Rescorla-Wagner), "
        "exposure, reappraisal, and the return of fear.",
        source=f"{GBN}; {GMNN}; {VLACHOS}; Quirk 2002; Schnurr et al. 2022",
        model=Fear,
        params=PARAMS,
        measures=MEASURES,
        tasks=("trauma-cue", "similar-cue", "no-cue"),
        reps_per_minute=0.2,
        options={"view": (0, 2), "n_causes": (2, 16)},
        events={"trauma": Trauma, "aversive-event": AversiveEvent},
        interventions=INTERVENTIONS,
        gains={
            "cue_match": Param(
                1.0, "similarity", "modelled", "similarity of a session's cue to its task's", 0, 1
            ),
            "context": Param(
                0.5,
                "similarity",
                "modelled: an everyday context",
                "similarity of a session's context to the trauma's",
                0,
                1,
            ),
            "outcome": Param(
                0.0, "outcome", "modelled: nothing bad happens", "aversive outcome of a trial", 0, 2
            ),
            "reappraisal": Param(0.0, "1", "modelled", "reappraisal a trial (1: CPT's)", 0, 1),
            "escape": Param(0.0, "1", "modelled", "within-session avoidance allowed (0: none)", 0, 1),
            "regulation_training": Param(
                0.0, "1", "modelled", "regulation training a trial (1: mindfulness)", 0, 1
            ),
        },
        capabilities=("fear-memory",),
        figures="neurorehab.models.fear.figures:figures",
        example=lambda: Fear(n_causes=4),
        differentiable={
            "learning_rate": "threat",
            "arousal_gain": "fear_everyday",
            "hyper_gain": "hyperarousal",
        },
        techniques={
            "prolonged exposure (imaginal)": "intervention prolonged-exposure (cue_match, context)",
            "in vivo exposure": "intervention in-vivo-exposure",
            "virtual reality exposure": "intervention vr-exposure",
            "cognitive processing therapy": "intervention cognitive-processing-therapy",
            "CBT": "intervention cbt (parameter reappraisal)",
            "mindfulness": "intervention mindfulness",
            "prefrontal TMS": "intervention rtms (priming of extinction learning)",
            "laboratory fear conditioning": "intervention conditioning (parameters context, outcome)",
            "laboratory extinction, and retrieval then extinction": "intervention extinction (a block of "
            "1 repetition, then another block minutes to hours later: hour)",
            "sleep after exposure": "evening sessions (hour) and patients.condition sleep",
        },
        doc="src/neurorehab/models/fear/README.md",
        fit=FIT,
    )
)

__all__ = ["INFO", "AversiveEvent", "Fear", "Trauma"]
