"""`somatosensory`: peripheral nerve injury, regrowth, misdirection, sensory re-education and
the remapping of the hand's cortical map."""

from neurorehab.core.spec import Param
from neurorehab.models.registry import ModelInfo, register
from neurorehab.models.somatosensory.events import Amputation, NerveBlock, NerveCrush, NerveCut, NerveGraft
from neurorehab.models.somatosensory.interventions import INTERVENTIONS
from neurorehab.models.somatosensory.model import MEASURES, PARAMS, Somatosensory


def _gain(default: float, doc: str) -> Param:
    return Param(default, "1", "by definition", doc, 0.0, 1.0)


INFO = register(
    ModelInfo(
        name="somatosensory",
        summary="The hand's skin, three nerves and a cortical map formed by experience: amputation, "
        "block, crush, cut and repair, misdirected regrowth, sensory re-education.",
        source="Ritter, Martinetz & Schulten 1992; Grajski & Merzenich 1990; Pons et al. 1991; "
        "Merzenich et al. 1983, 1984; Rosen & Lundborg 2007",
        model=Somatosensory,
        params=PARAMS,
        measures=MEASURES,
        tasks=("median-territory", "ulnar-territory", "radial-territory", "whole-hand"),
        reps_per_minute=0.2,
        options={"side": (8, 32), "touches": (8, 512), "development": (4, 400)},
        events={
            "amputation": Amputation,
            "nerve-block": NerveBlock,
            "nerve-crush": NerveCrush,
            "nerve-cut": NerveCut,
            "nerve-graft": NerveGraft,
        },
        interventions=INTERVENTIONS,
        gains={
            "attend": _gain(1.0, "attended touch a minute (a practice minute is attended)"),
            "everyday": _gain(0.0, "unattended touch a minute (forced use, vibration)"),
            "cross_modal": _gain(0.0, "cross-modal drive with no afferent input a minute"),
            "stim20": _gain(0.0, "20 Hz stimulation of the repaired nerve"),
        },
        figures="neurorehab.models.somatosensory.figures:figures",
        example=lambda: Somatosensory(side=8, touches=16, development=8),
        differentiable={"adult_rate": "localisation_like", "touch_sd_mm": "localisation_like"},
        techniques={
            "sensory re-education": "interventions early-reeducation and late-reeducation "
            "(before reinnervation, and after)",
            "vibrotactile stimulation (sensory)": "intervention vibration (afferent drive)",
            "electrical stimulation after nerve repair": "intervention nerve-stimulation-20hz",
            "mirror viewing, visuo- and audio-tactile substitution": "intervention early-reeducation",
            "fine manipulation practice": "intervention fine-manipulation",
            "constraint of the intact hand": "intervention constraint",
        },
        doc="src/neurorehab/models/somatosensory/README.md",
    )
)

__all__ = ["INFO", "Amputation", "NerveBlock", "NerveCrush", "NerveCut", "NerveGraft", "Somatosensory"]
