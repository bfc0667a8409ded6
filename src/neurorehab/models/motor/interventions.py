"""`motor`'s own interventions: techniques that need its two limbs and its arm choice.

Each acts only through `motor`'s session gains (`forced_use`, `movement`, `error`) and the
generic ones; their parameters can be set per block in a scenario.
"""

from __future__ import annotations

from neurorehab.core.spec import Param
from neurorehab.models.interventions import Intervention

INTERVENTIONS = {
    "cimt": Intervention(
        "constraint-induced movement therapy: shaping practice plus a mitt on the less affected "
        "hand for a share of daily-life actions (90 % by default) for the rest of each session's day",
        gains={"forced_use": "mitt_share"},
        params={
            "mitt_share": Param(
                0.9,
                "fraction of daily-life reaches",
                "EXCITE (Wolf et al. 2006): mitt for 90 % of waking hours",
                "share of the day's reaches forced onto the affected arm",
                0.0,
                1.0,
            )
        },
        source="Taub et al. 1993; EXCITE (Wolf et al. 2006): mitt for 90 % of waking hours",
    ),
    "mirror-therapy": Intervention(
        "mirror therapy: the mirror illusion drives the affected cortex at reduced gain without "
        "error feedback or outcome (the less affected limb's own practice is not modelled)",
        gains={"plasticity": "mirror_gain", "error": 0.0, "drive": "mirror_gain", "movement": 0.0},
        params={
            "mirror_gain": Param(
                0.7,
                "1",
                "illustrative: the illusion drives less than movement (Cochrane 2018, Thieme et al.)",
                "drive and plasticity of a mirrored repetition relative to a real one",
                0.0,
                1.0,
            )
        },
        source="Ramachandran & Rogers-Ramachandran 1996; Cochrane 2018 (Thieme et al.)",
    ),
    "bilateral-training": Intervention(
        "bilateral arm training: both arms reach together in mirror symmetry; the affected arm "
        "moves with its own error feedback while the intact hemisphere's movement drives the "
        "affected cortex through callosal coupling, modelled as a gain (1.3 by default) on its "
        "recruited cells' activity (it recruits no extra cells: like practice at a higher "
        "intensity); the less affected arm's own practice is not modelled",
        gains={"drive": "callosal_gain"},
        params={
            "callosal_gain": Param(
                1.3,
                "1",
                "illustrative (Cauraugh & Summers 2005: interhemispheric facilitation)",
                "gain of the callosal drive on the affected cortex's recruited cells",
                1.0,
                3.0,
            )
        },
        source="Cauraugh & Summers 2005 (bilateral movement training, interhemispheric "
        "facilitation); Stinear & Byblow 2004; the 1.3 gain is illustrative",
    ),
}
