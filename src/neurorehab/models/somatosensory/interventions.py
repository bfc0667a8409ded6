"""`somatosensory`'s own interventions: sensory re-education before and after reinnervation,
vibration, 20 Hz stimulation after repair, fine manipulation practice and constraint of the
intact hand. Each acts only through the model's gains (`attend`, `everyday`, `cross_modal`,
`stim20`); a repetition is five minutes. The task picks the territory touched: median-territory,
ulnar-territory, radial-territory or whole-hand (the fingertips)."""

from __future__ import annotations

from neurorehab.models.interventions import Intervention

_NONE = {"attend": 0.0, "everyday": 0.0}

INTERVENTIONS = {
    "early-reeducation": Intervention(
        "early sensory re-education before reinnervation: visuo- and audio-tactile substitution "
        "(the Sensor Glove), mirror viewing, imagined touch: drive to the deprived cortex with no "
        "afferent input, which keeps it engaged by its own map",
        gains={**_NONE, "cross_modal": 1.0},
        source="Rosen & Lundborg 2007 (J Hand Surg Br 32:31); Lundborg & Rosen 2007 (Acta Physiol 189:207)",
    ),
    "late-reeducation": Intervention(
        "late sensory re-education after reinnervation: graded textures, object discrimination and "
        "localisation training: attended touch of the territory, seen where it lands",
        gains={"attend": 1.0},
        source="Dellon 1981; Imai et al. 1991 (J Hand Surg Am 16:60); Lundborg & Rosen 2007",
    ),
    "vibration": Intervention(
        "vibration of the territory's skin: afferent drive without attention or feedback",
        gains={"attend": 0.0, "everyday": 1.0},
        source="Dellon 1981 (vibration in re-education); modelled as unattended touch",
    ),
    "nerve-stimulation-20hz": Intervention(
        "brief low-frequency (20 Hz) electrical stimulation of the nerve right after repair: the "
        "axons waiting at the suture cross it together (one session in the week after the repair)",
        gains={**_NONE, "stim20": 1.0},
        source="Al-Majed et al. 2000; Brushart et al. 2002; Gordon et al. 2010 (carpal tunnel trial)",
    ),
    "fine-manipulation": Intervention(
        "fine manipulation practice (buttons, coins, small objects): attended touch of the fingertips",
        gains={"attend": 0.7},
        source="Lundborg & Rosen 2007",
    ),
    "constraint": Intervention(
        "constraint of the intact hand: the affected hand does the day's handling (unattended touch "
        "of its territory)",
        gains={"attend": 0.0, "everyday": 1.0},
        source="seed 002 (constraint-induced therapy); Rosen et al. 2015 (recalled)",
    ),
}
