"""`motor`: use-dependent motor recovery after stroke, with arm choice (Han et al. 2008)."""

from neurorehab.core.spec import Param
from neurorehab.models.motor.analyses import (
    DoseThreshold,
    ProportionalRecovery,
    dose_threshold,
    proportional_recovery,
)
from neurorehab.models.motor.events import Diffuse, FocalLesion
from neurorehab.models.motor.fit import FIT
from neurorehab.models.motor.interventions import INTERVENTIONS
from neurorehab.models.motor.model import MEASURES, PARAMS, Motor
from neurorehab.models.registry import ModelInfo, register

INFO = register(
    ModelInfo(
        name="motor",
        summary="Han et al. 2008: two motor cortices, arm choice by reward, use-dependent recovery "
        "and learned non-use after stroke.",
        source="Han, Arbib & Schweighofer 2008, PLoS Comput Biol 4:e1000133; Prabhakaran et al. 2008; "
        "Byblow et al. 2015",
        model=Motor,
        params=PARAMS,
        measures=MEASURES,
        tasks=("all-directions", "quadrant-1", "quadrant-2", "quadrant-3", "quadrant-4"),
        reps_per_minute=10.0,
        options={"n_cells": (8, 5000), "n_basis": (4, 64), "daily_reaches": (1, 2000), "n_test": (4, 128)},
        events={"focal-lesion": FocalLesion, "diffuse": Diffuse},
        interventions=INTERVENTIONS,
        gains={
            "error": Param(
                1.0, "1", "Han et al. 2008", "factor on the error feedback of a reach (0: none)", 0.0, 10.0
            ),
            "forced_use": Param(
                0.0,
                "fraction",
                "Taub et al. 1993",
                "share of the day's reaches forced onto the affected arm",
                0.0,
                1.0,
            ),
            "movement": Param(
                1.0,
                "0/1",
                "Jeannerod 2001",
                "1 when the limb really moves; 0 when imagined or mirrored",
                0.0,
                1.0,
            ),
        },
        capabilities=("two-limbs",),
        figures="neurorehab.models.motor.figures:figures",
        example=lambda: Motor(n_cells=32, daily_reaches=10),
        differentiable={
            "alpha_use": "fm_ue_like",
            "alpha_error": "fm_ue_like",
            "fm_width_deg": "fm_ue_like",
            "cst_per_severity": "cst_gain",
        },
        techniques={
            "constraint-induced movement therapy": "intervention cimt (parameter mitt_share)",
            "mirror therapy": "intervention mirror-therapy (parameter mirror_gain)",
            "bilateral training": "intervention bilateral-training (parameter callosal_gain)",
        },
        doc="src/neurorehab/models/motor/README.md",
        fit=FIT,
    )
)

__all__ = [
    "INFO",
    "Diffuse",
    "DoseThreshold",
    "FocalLesion",
    "Motor",
    "ProportionalRecovery",
    "dose_threshold",
    "proportional_recovery",
]
