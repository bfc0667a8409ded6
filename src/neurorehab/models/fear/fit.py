"""How one person with post-traumatic stress is fitted and forecast with `fear`.

Fitted: the trauma's intensity, the fear learning rate, and the three gains that keep the
disorder going in the model (avoidance, intrusions, negative appraisal). Their prior is the
spread of the PTSD cohorts in scenarios/ (ptsd-exposure-vs-cpt-trial.yaml: a cohort that tends to
stay ill, after Schnurr et al. 2022), kept inside each parameter's valid range: that cohort's
avoidance gain (log-normal about 6, SD 0.4 in log) puts a tenth of its patients at the range's
end, 10, where a draw is clipped, and a flow cannot hold such a point mass (the 90 % intervals
then held 81 % of the truths), so the prior here is uniform over 2-10; the intrusion rate's
spread is 0.35 in log (0.4 % of draws beyond 20).

The fitting window is the first twelve weeks after the trauma, on a weekly grid (weekly PCL-5
self-reports are routine in PTSD care; Blevins et al. 2015); treatment plans start on day 85 and
the forecast runs to a year. The model's assessments carry their own test-retest error
(`pcl_noise`, `caps_noise`), so the instruments add none.
"""

from __future__ import annotations

from neurorehab.core.spec import FitSpec, Instrument, Plan

_OWN_NOISE = "none added: the model's PCL-5-like and CAPS-5-like scores carry their own retest error"

FIT = FitSpec(
    prior={
        "trauma.intensity": {"dist": "uniform", "low": 0.8, "high": 1.5},
        "learning_rate": {"dist": "lognormal", "median": 0.3, "sd_log": 0.4},
        "avoidance_gain": {"dist": "uniform", "low": 2.0, "high": 10.0},
        "intrusion_rate": {"dist": "lognormal", "median": 8.0, "sd_log": 0.35},
        "appraisal_gain": {"dist": "lognormal", "median": 0.6, "sd_log": 0.35},
    },
    history={
        "events": [{"kind": "trauma", "day": 0, "name": "trauma", "params": {"pairings": 3}}],
        "patients": {"params": {"cue_sd": 0.4}},
    },
    instruments={
        "PCL-5": Instrument(
            "pcl5_like",
            0.0,
            0.0,
            80.0,
            _OWN_NOISE,
            ("pcl5", "pcl-5", "ptsd checklist", "ptsd checklist for dsm-5", "pcl5_like"),
            higher_is_better=False,
        ),
        "CAPS-5": Instrument(
            "caps5_like",
            0.0,
            0.0,
            80.0,
            _OWN_NOISE,
            ("caps5", "caps-5", "clinician-administered ptsd scale", "caps5_like"),
            higher_is_better=False,
        ),
    },
    onset_day=0,
    window_days=84,
    horizon_days=365,
    grid_step=7,
    plans={
        "waiting-list": Plan(
            (), "natural course: extinction by everyday reminders against avoidance", "no treatment"
        ),
        "prolonged-exposure": Plan(
            ({"intervention": "prolonged-exposure", "weeks": 10, "sessions_per_week": 1, "minutes": 45},),
            "extinction: the trauma cue confronted with nothing bad happening, in a new context",
            "prolonged exposure, 10 weekly 45-minute sessions (Foa et al. 2007)",
        ),
        "cognitive-processing-therapy": Plan(
            (
                {
                    "intervention": "cognitive-processing-therapy",
                    "weeks": 12,
                    "sessions_per_week": 1,
                    "minutes": 60,
                },
            ),
            "reappraisal: the trauma's meaning revalued, lowering its expected outcome",
            "cognitive processing therapy, 12 weekly 60-minute sessions (Resick et al. 2017)",
        ),
    },
    primary="PCL-5",
    milestone=33.0,
    source="models/fear/fit.py",
    # The course is bistable (README): the noise of the window decides whether a patient is
    # recovering, which parameter draws alone leave open; each forecast draw runs 32 paths and
    # keeps one by the record's likelihood (forecast intervals held 95.5 % of later assessments
    # with one path, 94.5 % with 8, 93.8 % with 32; 2026-12-05, bench/README.md). The scores'
    # own retest error (model parameters `pcl_noise` 3 points, `caps_noise` 2) is the spread of
    # a record about a path's score.
    particles=32,
    particle_sd={"PCL-5": 3.0, "CAPS-5": 2.0},
)
