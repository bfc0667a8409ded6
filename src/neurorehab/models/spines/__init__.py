"""`spines`: clustered formation of new dendritic spines with repeated practice (Fu et al. 2012)."""

from neurorehab.models.registry import ModelInfo, register
from neurorehab.models.spines.model import MEASURES, PARAMS, TASKS, Spines

INFO = register(
    ModelInfo(
        name="spines",
        summary="Fu et al. 2012 / seed 000 Fig. 3: repeated practice forms new spines in clusters.",
        source="Fu, Yu, Lu & Zuo 2012, Nature 483:92; Harvey & Svoboda 2007; "
        "Govindarajan, Kelleher & Tonegawa 2006",
        model=Spines,
        params=PARAMS,
        measures=MEASURES,
        tasks=TASKS,
        reps_per_minute=5.0,
        options={"n_branches": (1, 10_000), "n_sites": (10, 10_000), "max_cluster_sites": (1, 10)},
        figures="neurorehab.models.spines.figures:figures",
        example=lambda: Spines(n_branches=4, n_sites=30),
        differentiable={"learn_rate": "skill"},
        doc="src/neurorehab/models/spines/README.md",
    )
)

__all__ = ["INFO", "Spines"]
