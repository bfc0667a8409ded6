"""`pathway`: a lost relay and the surviving pathway that takes over (seed 000, Figure 2)."""

from neurorehab.models.pathway.events import LoseB
from neurorehab.models.pathway.model import MEASURES, PARAMS, Pathway
from neurorehab.models.registry import ModelInfo, register

INFO = register(
    ModelInfo(
        name="pathway",
        summary="Seed 000 Fig. 2: neuron B is lost and practice strengthens the surviving A->D route.",
        source="Awasthi & Mantri (seed 000), Fig. 2; van Rossum, Bi & Turrigiano 2000; "
        "Han, Arbib & Schweighofer 2008",
        model=Pathway,
        params=PARAMS,
        measures=MEASURES,
        tasks=("use-d", "other"),
        reps_per_minute=10.0,
        options={"n_cells": (1, 10_000)},
        events={"lose-b": LoseB},
        figures="neurorehab.models.pathway.figures:figures",
        example=lambda: Pathway(n_cells=4),
        differentiable={"learning_rate": "d_function", "gain": "d_function", "daily_use": "w_ad"},
        doc="src/neurorehab/models/pathway/README.md",
    )
)

__all__ = ["INFO", "LoseB", "Pathway"]
