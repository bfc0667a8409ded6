"""Forecasts out of neurorehab: a tidy CSV and FHIR R4 (R4B classes) RiskAssessments.

Each plan's forecast becomes rows (plan, instrument, day since onset, median and the 50 % and
90 % predictive intervals of a recorded score) and one RiskAssessment: the probability of
reaching the milestone by the horizon, with the expected score and its interval in the note,
and the method (neurorehab's model and estimator) named, so that a record system shows what
produced it. Scores are the model's "-like" scores, and the export says so.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import numpy as np

METHOD_SYSTEM = "https://neurorehab.dev/method"


def forecast_rows(forecasts: dict[str, Any]) -> list[dict[str, Any]]:
    """Tidy rows from `runners.patient.Forecast`s (duck-typed: plan, days, recorded)."""
    rows = []
    for plan, f in forecasts.items():
        for instrument, x in f.recorded.items():
            q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            for k, d in enumerate(f.days):
                rows.append(
                    {
                        "plan": plan,
                        "instrument": instrument,
                        "day_since_onset": int(d),
                        "median": round(float(q[2, k]), 3),
                        "low_50": round(float(q[1, k]), 3),
                        "high_50": round(float(q[3, k]), 3),
                        "low_90": round(float(q[0, k]), 3),
                        "high_90": round(float(q[4, k]), 3),
                        "draws": int(x.shape[0]),
                    }
                )
    return rows


def forecast_csv(forecasts: dict[str, Any]) -> str:
    rows = forecast_rows(forecasts)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["plan"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def risk_assessments(
    forecasts: dict[str, Any],
    *,
    patient: str,
    model: str,
    primary: str,
    milestone: float,
    horizon: int,
    onset: date | None,
    higher_is_better: bool = True,
) -> str:
    """A FHIR R4 Bundle (collection) of one RiskAssessment per plan, validated by
    fhir.resources' R4B classes; JSON text."""
    from fhir.resources.R4B.bundle import Bundle

    entries = []
    subject = patient if "/" in patient else f"Patient/{patient}"
    for plan, f in forecasts.items():
        col = int(np.argmin(np.abs(f.days - horizon)))
        x = f.clean[primary][:, col]
        p = f.reach(primary, milestone, horizon, higher_is_better)
        relation = ">=" if higher_is_better else "<="
        outcome = f"{primary}-like score {relation} {milestone:g} by day {horizon} after onset"
        prediction: dict[str, Any] = {
            "outcome": {"text": outcome},
            "probabilityDecimal": round(p, 4),
            "rationale": f"plan {plan}: {len(x)} posterior draws of the model",
        }
        if onset is not None:
            prediction["whenPeriod"] = {
                "start": onset.isoformat(),
                "end": (onset + timedelta(days=horizon)).isoformat(),
            }
        entries.append(
            {
                "resource": {
                    "resourceType": "RiskAssessment",
                    "status": "preliminary",
                    "subject": {"reference": subject},
                    "method": {
                        "coding": [{"system": METHOD_SYSTEM, "code": f"{model}-npe"}],
                        "text": f"neurorehab model {model}: amortised posterior, simulated forecast "
                        "(simulated '-like' scores, not the real instrument)",
                    },
                    "prediction": [prediction],
                    "note": [
                        {
                            "text": f"plan {plan}: expected {primary}-like score on day {horizon} "
                            f"{x.mean():.1f} (90 % interval {np.quantile(x, 0.05):.1f}-"
                            f"{np.quantile(x, 0.95):.1f})"
                        }
                    ],
                }
            }
        )
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)), indent=1)
