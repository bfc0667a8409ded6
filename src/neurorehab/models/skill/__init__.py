"""`skill`: acquisition, consolidation and retention of a practised motor skill."""

from neurorehab.models.registry import ModelInfo, register
from neurorehab.models.skill.model import _SMITH, MEASURES, PARAMS, Skill

INFO = register(
    ModelInfo(
        name="skill",
        summary="Practised motor skill: two-state acquisition, sleep and exercise consolidation, retention.",
        source=f"{_SMITH}; Walker et al. 2002; Roig et al. 2012; Frey & Morris 1997",
        model=Skill,
        params=PARAMS,
        measures=MEASURES,
        tasks=("sequence",),
        reps_per_minute=30.0,
        capabilities=("consolidation",),
        example=Skill,
        differentiable={"b_slow": "skill", "b_fast": "x_fast", "sleep_gain": "x_slow"},
        stochastic=False,
        doc="src/neurorehab/models/skill/README.md",
    )
)

__all__ = ["INFO", "Skill"]
