"""`ms`'s own interventions: training, cognitive rehabilitation, heat and cooling,
disease-modifying therapy and fatigue management. Each acts only through `ms`'s session gains
(README.md); a repetition is a minute of the session (a dose of therapy: one repetition)."""

from __future__ import annotations

from neurorehab.core.spec import Param
from neurorehab.models.interventions import Intervention

_QUIET = {"skill": 0.0, "load": 0.0}  # no practice of a task, no exertion


def _dmt(summary: str, efficacy: float, source: str) -> Intervention:
    """A disease-modifying drug: each dose lowers the rate of new lesions by `efficacy` (its
    relative reduction of the relapse rate in its pivotal trial) for `cover_days`."""
    return Intervention(
        f"{summary}; one session is a dose that covers `cover_days` (default a week: schedule one "
        "session a week for continuous therapy)",
        gains={**_QUIET, "dmt": "efficacy", "dmt_cover_days": "cover_days"},
        params={
            "efficacy": Param(efficacy, "1", source, "relative reduction of the new-lesion rate", 0.0, 0.99),
            "cover_days": Param(7.0, "days", "by design", "days a dose covers", 1.0, 400.0),
        },
        source=source,
    )


def _rate(default: float, doc: str, source: str) -> Param:
    return Param(default, "degrees C/min", source, doc, 0.0, 0.5)


INTERVENTIONS = {
    "aerobic-training": Intervention(
        "aerobic training (cycling, arm ergometry): fitness rises with minutes x intensity "
        "(fraction of peak work rate); the body heats as it works; no walking practice (treadmill "
        "walking: add task-practice of walking)",
        gains={"aerobic": 1.0, "exercise": 1.0, "skill": 0.0},
        source="Pearson, Dieberg & Smart 2015 (13 trials); Dalgas et al. 2008",
        max_intensity=1.0,
    ),
    "resistance-training": Intervention(
        "progressive resistance training of the legs: strength rises with minutes x intensity",
        gains={"resistance": 1.0},
        source="Dalgas et al. 2009; Kjolhede et al. 2012",
    ),
    "balance-training": Intervention(
        "balance and gait training: balance rises, and practice raises the leg pathway's compensation skill",
        gains={"balance": 1.0},
        source="Paltamaa et al. 2012 (review of balance and mobility training)",
    ),
    "cognitive-rehabilitation": Intervention(
        "cognitive rehabilitation (processing-speed and memory training): practice raises the "
        "cognitive pathway's compensation skill, whatever the session's task",
        gains={"cognitive": 1.0, "load": 0.5},
        source="Chiaravalloti et al. 2013; Goverover et al. 2018",
    ),
    "cooling": Intervention(
        "cooling (a cooling garment, cold drinks): lowers core temperature while worn",
        gains={**_QUIET, "cooling": "rate"},
        params={
            "rate": _rate(
                0.02,
                "cooling per minute worn",
                "Schwid et al. 2003 (NASA/MS Cooling Study: core temperature about 0.5 degrees C lower)",
            )
        },
        source="Schwid et al. 2003; White et al. 2000",
    ),
    "heat-exposure": Intervention(
        "heat exposure (a warm bath, a hot day): raises core temperature while it lasts",
        gains={**_QUIET, "heat": "rate"},
        params={
            "rate": _rate(
                0.04,
                "heating per minute",
                "modelled: a hot bath raises core temperature "
                "about 1 degree C in 30 min (the historical hot-bath test; Guthrie 1951)",
            )
        },
        source="Uhthoff 1890; Guthrie 1951; Davis et al. 2010",
    ),
    "fatigue-management": Intervention(
        "fatigue management (energy conservation: pacing, rest, priorities): lowers the fatigue "
        "cost of exertion",
        gains={**_QUIET, "pacing": 1.0},
        source="Mathiowetz et al. 2005 (6 weekly 2-hour sessions)",
    ),
    "dmt": _dmt("disease-modifying therapy of a given efficacy", 0.3, "set per drug (see dmt-*)"),
    "dmt-interferon": _dmt(
        "interferon beta", 0.3, "IFNB Multiple Sclerosis Study Group 1993 (about a third fewer relapses)"
    ),
    "dmt-glatiramer": _dmt("glatiramer acetate", 0.29, "Johnson et al. 1995 (29 % fewer relapses)"),
    "dmt-fingolimod": _dmt("fingolimod", 0.54, "Kappos et al. 2010, FREEDOMS (54 % fewer relapses)"),
    "dmt-natalizumab": _dmt("natalizumab", 0.68, "Polman et al. 2006, AFFIRM (68 % fewer relapses)"),
}
