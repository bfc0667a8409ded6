"""Models, injuries, interventions and assessments, each with a registry for `neurorehab list`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurorehab.models import motor, pathway, skill, spines
from neurorehab.models.base import MeasureSpec, ModelInfo, ParamSpec, default_params
from neurorehab.models.interventions import INTERVENTIONS

MODELS: dict[str, tuple[type, ModelInfo]] = {
    "pathway": (pathway.Pathway, pathway.INFO),
    "spines": (spines.Spines, spines.INFO),
    "motor": (motor.Motor, motor.INFO),
    "skill": (skill.Skill, skill.INFO),
}

# Injury constructors by model and kind: (model instance, severity) -> injury object.
INJURIES: dict[str, dict[str, Callable[[Any, float], Any]]] = {
    "pathway": {"lose-b": lambda m, sev: pathway.LoseB(n_cells=m.n_cells, severity=sev)},
    "spines": {},
    "skill": {},
    "motor": {
        "focal-lesion": lambda m, sev: motor.FocalLesion(severity=sev),
        "diffuse": lambda m, sev: motor.Diffuse(severity=sev),
    },
}

__all__ = ["INJURIES", "INTERVENTIONS", "MODELS", "MeasureSpec", "ModelInfo", "ParamSpec", "default_params"]
