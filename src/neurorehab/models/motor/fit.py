"""How one stroke patient is fitted and forecast with `motor` (the fitting layer reads this).

Fitted: the lesion's severity, the corticospinal damage it brings, the viable share of the
lost tissue (spontaneous-recovery potential), and the two plasticity gains. Their prior is the
spread of the stroke cohorts in scenarios/ (stroke-natural-history.yaml), widened so that the
estimator sees mild to severe, MEP-positive and MEP-negative patients. Adherence is not
fitted: the window's usual care is supervised, and a plan's adherence is the plan's.

The fitting window is the first two weeks after onset (the issue's "weeks 1-2"): usual care
(task practice five days a week, about 30 repetitions a session: Lang et al. 2009 counted a
mean of 32 functional upper-limb repetitions a session) starts on day 3. Candidate plans start
on day 15 and run six weeks; the forecast runs to 183 days (six months).
"""

from __future__ import annotations

from neurorehab.core.spec import FitSpec, Instrument, Plan

_NOISE = (
    "illustrative: a test-retest error of about 2 points (FM-UE intraclass correlations of "
    "0.95-0.99 and smallest real differences of 3-5 points, Gladstone et al. 2002 and See et "
    "al. 2013, recalled)"
)


def _block(intervention: str, weeks: int, per_week: int, reps: int, **params: float) -> dict[str, object]:
    block: dict[str, object] = {
        "intervention": intervention,
        "weeks": weeks,
        "sessions_per_week": per_week,
        "repetitions": reps,
    }
    if params:
        block["params"] = dict(params)
    return block


FIT = FitSpec(
    prior={
        "stroke.severity": {"dist": "uniform", "low": 0.1, "high": 1.0},
        "cst_per_severity": {"dist": "uniform", "low": 0.0, "high": 1.0},
        "penumbra": {"dist": "uniform", "low": 0.0, "high": 1.0},
        "alpha_use": {"dist": "lognormal", "median": 0.002, "sd_log": 0.5},
        "alpha_error": {"dist": "lognormal", "median": 0.005, "sd_log": 0.5},
    },
    history={
        "events": [{"kind": "focal-lesion", "day": 1, "name": "stroke"}],
        "protocol": [
            {
                "intervention": "task-practice",
                "start_day": 4,
                "days": 12,
                "sessions_per_week": 5,
                "repetitions": 30,
            }
        ],
    },
    instruments={
        "FM-UE": Instrument(
            "fm_ue_like",
            2.0,
            0.0,
            66.0,
            _NOISE,
            ("fm-ue", "fmue", "fma-ue", "fm_ue", "fugl-meyer upper extremity", "fugl-meyer ue", "fm_ue_like"),
        ),
        "ARAT": Instrument(
            "arat_like",
            2.0,
            0.0,
            57.0,
            "illustrative: about 2 points (ARAT test-retest intraclass correlation ~0.98, recalled)",
            ("arat", "action research arm test", "arat_like"),
        ),
        "MAL-AOU": Instrument(
            "mal_like",
            0.3,
            0.0,
            5.0,
            "illustrative: about 0.3 points (MAL amount-of-use test-retest, van der Lee et al. 2004, "
            "recalled)",
            ("mal", "mal-aou", "motor activity log", "mal_like"),
        ),
    },
    onset_day=1,
    window_days=14,
    horizon_days=183,
    plans={
        "usual-care": Plan(
            (_block("task-practice", 6, 5, 30),),
            "use-dependent plasticity at the usual dose (below Han et al.'s threshold for most)",
            "task practice 5 days a week, 30 repetitions, 6 weeks",
        ),
        "high-dose-practice": Plan(
            (_block("task-practice", 6, 5, 300),),
            "use-dependent plasticity: enough practice to push the arm past the threshold where "
            "daily life keeps using (and so training) it",
            "task practice 5 days a week, 300 repetitions, 6 weeks (Birkenmeier et al. 2010)",
        ),
        "cimt": Plan(
            (_block("cimt", 2, 7, 100), _block("task-practice", 4, 5, 30)),
            "forced use: the mitt moves daily-life reaching onto the affected arm, so use trains it",
            "constraint-induced movement therapy 2 weeks (mitt, 100 repetitions daily), then usual care",
        ),
        "mirror-therapy": Plan(
            (_block("mirror-therapy", 6, 5, 100),),
            "drive without movement: plasticity from the mirrored illusion, no error feedback",
            "mirror therapy 5 days a week, 100 repetitions, 6 weeks",
        ),
        "bilateral-training": Plan(
            (_block("bilateral-training", 6, 5, 100),),
            "callosal drive: both arms move, raising the affected cortex's activity",
            "bilateral arm training 5 days a week, 100 repetitions, 6 weeks",
        ),
        "no-therapy": Plan((), "spontaneous recovery and daily-life use alone", "no therapy after week 2"),
    },
    primary="FM-UE",
    milestone=50.0,
    source="models/motor/fit.py",
)
