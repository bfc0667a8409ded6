"""`fear`'s own interventions: exposure in its forms, conditioning and extinction for the
laboratory, cognitive therapies and mindfulness. Each acts only through `fear`'s session gains
(`cue_match`, `context`, `outcome`, `reappraisal`, `regulation_training`) and the generic
ones; their parameters can be set per block. A repetition is a minute of the session."""

from __future__ import annotations

from neurorehab.core.spec import Param
from neurorehab.models.interventions import Intervention


def _cue(default: float, source: str) -> Param:
    return Param(
        default, "similarity", source, "similarity of what is confronted to the trauma cue", 0.0, 1.0
    )


def _ctx(default: float, source: str) -> Param:
    return Param(
        default, "similarity", source, "similarity of the session's context to the trauma's", 0.0, 1.0
    )


_EXPOSURE: dict[str, float | str] = {
    "cue_match": "cue_match",
    "context": "context",
    "outcome": 0.0,
    "escape": "escape",
}


def _escape(default: float, source: str) -> Param:
    return Param(default, "1", source, "within-session avoidance allowed", 0.0, 1.0)


def _exposure(summary: str, cue: Param, context: Param, escape: Param, source: str) -> Intervention:
    """An exposure: a cue like the trauma's confronted in a context, and nothing bad happens."""
    return Intervention(
        summary,
        gains=_EXPOSURE,
        params={"cue_match": cue, "context": context, "escape": escape},
        source=source,
    )


INTERVENTIONS = {
    "prolonged-exposure": _exposure(
        "prolonged exposure, imaginal: revisiting the trauma memory aloud in the therapist's office "
        "(the cue recalled, not present; a safe, dissimilar context; nothing bad happens)",
        _cue(0.75, "illustrative: an imagined cue is less than the real one (Foa et al. 2007)"),
        _ctx(0.3, "illustrative: the therapist's office"),
        _escape(0.5, "illustrative"),
        "Foa, Hembree & Rothbaum 2007 (prolonged exposure); Schnurr et al. 2022",
    ),
    "in-vivo-exposure": _exposure(
        "in vivo exposure: confronting real reminders in the places avoided",
        _cue(0.85, "illustrative: real reminders, not the trauma itself"),
        _ctx(0.6, "illustrative: everyday places like the trauma's"),
        _escape(1.0, "illustrative"),
        "Foa, Hembree & Rothbaum 2007",
    ),
    "vr-exposure": _exposure(
        "virtual reality exposure: the trauma's scene rebuilt around the patient",
        _cue(0.8, "illustrative: Rothbaum et al. 2001 (Vietnam veterans)"),
        _ctx(0.7, "illustrative: a rendered trauma context"),
        _escape(0.5, "illustrative"),
        "Rothbaum et al. 2001; Difede et al. 2007",
    ),
    "conditioning": Intervention(
        "laboratory fear conditioning: the cue paired with an aversive outcome in a context",
        gains={"cue_match": 1.0, "context": "context", "outcome": "outcome"},
        params={
            "context": _ctx(1.0, "the conditioning context A"),
            "outcome": Param(
                1.0,
                "outcome",
                "modelled: 1 is conditioning's asymptote",
                "size of the aversive outcome",
                0.0,
                2.0,
            ),
        },
        source="Quirk 2002; Bouton 2004",
    ),
    "extinction": Intervention(
        "laboratory extinction: the cue alone in a context (nothing happens); one repetition is a "
        "retrieval trial",
        gains={"cue_match": 1.0, "context": "context", "outcome": 0.0},
        params={"context": _ctx(1.0, "the conditioning context A (AAA) or another (ABA renewal: 0)")},
        source="Quirk 2002; Bouton 2004; Monfils et al. 2009 (retrieval-extinction)",
    ),
    "cognitive-processing-therapy": Intervention(
        "cognitive processing therapy: reappraising the trauma's meaning and its consequences "
        "(the outcome's expected value and negative beliefs fall); without the written trauma "
        "account, so no exposure to the cue",
        gains={"cue_match": 0.0, "reappraisal": 1.0},
        source="Resick et al. 2017 (CPT manual; CPT without the written account); Schnurr et al. 2022",
    ),
    "cbt": Intervention(
        "cognitive behavioural therapy: cognitive restructuring with some graded exposure",
        gains={**_EXPOSURE, "reappraisal": "reappraisal"},
        params={
            "escape": _escape(0.5, "illustrative"),
            "cue_match": _cue(0.5, "illustrative"),
            "context": _ctx(0.4, "illustrative"),
            "reappraisal": Param(
                0.6,
                "1",
                "illustrative: less restructuring than CPT",
                "strength of reappraisal against CPT's",
                0.0,
                1.0,
            ),
        },
        source="Ehlers & Clark 2000 (cognitive therapy for PTSD)",
    ),
    "mindfulness": Intervention(
        "mindfulness training: prefrontal regulation of fear expression grows with practice "
        "(no exposure to the trauma cue)",
        gains={"cue_match": 0.0, "regulation_training": 1.0},
        source="Hoelzel et al. 2011; Polusny et al. 2015 (g about -0.44 against controls)",
    ),
}
