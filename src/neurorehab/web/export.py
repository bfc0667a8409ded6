"""A patient's record out of the clinic: a FHIR R4 Bundle and an iCalendar feed.

FHIR (validated by fhir.resources' R4B classes): the Patient, a CarePlan per programme with an
activity per exercise, a Goal per milestone, an Observation per assessment (the model's
"-like" scores, named so) and a QuestionnaireResponse per logged exercise (repetitions,
difficulty, pain, fatigue). iCalendar (the `icalendar` package): the programme's sessions as a
weekly recurring event on its weekdays until the plan ends, and each reassessment date.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from neurorehab.core.spec import FitSpec
from neurorehab.web.clinic import blocks_of, plan_end
from neurorehab.web.db import Assessment, Patient, Programme, SessionLog

SYSTEM = "https://neurorehab.dev/clinic"


def fhir_bundle(
    patient: Patient,
    fit: FitSpec,
    programmes: list[Programme],
    assessments: list[Assessment],
    logs: list[SessionLog],
) -> str:
    from fhir.resources.R4B.bundle import Bundle

    subject = {"reference": f"Patient/{patient.id}"}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"Patient/{patient.id}",
            "resource": {
                "resourceType": "Patient",
                "id": str(patient.id),
                "name": [{"text": patient.name}],
            },
        }
    ]
    for prog in programmes:
        goals = []
        for k, m in enumerate(prog.milestones or []):
            gid = f"goal-{prog.id}-{k}"
            goals.append({"reference": f"Goal/{gid}"})
            entries.append(
                {
                    "fullUrl": f"Goal/{gid}",
                    "resource": {
                        "resourceType": "Goal",
                        "id": gid,
                        "lifecycleStatus": "active" if prog.active else "completed",
                        "description": {
                            "text": f"{fit.primary}-like score {m['score']} by day {m['by_day']}"
                        },
                        "subject": subject,
                        "target": [
                            {
                                "measure": {"text": f"{fit.primary}-like"},
                                "detailQuantity": {"value": float(m["score"])},
                                "dueDate": (patient.onset + timedelta(days=int(m["by_day"]))).isoformat(),
                            }
                        ],
                    },
                }
            )
        activities = [
            {
                "detail": {
                    "status": "in-progress" if prog.active else "completed",
                    "description": f"{b['intervention']}: {b.get('repetitions', b.get('minutes'))} "
                    f"{'repetitions' if 'repetitions' in b else 'minutes'} x "
                    f"{b['sessions_per_week']} a week for {b.get('weeks', 1)} weeks ({prog.setting})",
                }
            }
            for b in blocks_of(fit, prog.plan)
        ]
        entries.append(
            {
                "fullUrl": f"CarePlan/careplan-{prog.id}",
                "resource": {
                    "resourceType": "CarePlan",
                    "id": f"careplan-{prog.id}",
                    "status": "active" if prog.active else "completed",
                    "intent": "plan",
                    "title": prog.plan,
                    "description": fit.plans[prog.plan].summary if prog.plan in fit.plans else prog.plan,
                    "subject": subject,
                    "period": {"start": prog.start.isoformat(), "end": plan_end(fit, prog).isoformat()},
                    "goal": goals,
                    "activity": activities,
                },
            }
        )
    for a in assessments:
        entries.append(
            {
                "fullUrl": f"Observation/obs-{a.id}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"obs-{a.id}",
                    "status": "final",
                    "code": {"coding": [{"system": SYSTEM, "code": a.instrument}], "text": a.instrument},
                    "subject": subject,
                    "effectiveDateTime": (patient.onset + timedelta(days=round(a.day))).isoformat(),
                    "valueQuantity": {"value": float(a.score)},
                },
            }
        )
    for log in logs:
        answers = [
            ("exercise", {"valueString": log.exercise}),
            (log.unit, {"valueDecimal": float(log.done)}),
            ("prescribed", {"valueDecimal": float(log.prescribed)}),
            ("difficulty", {"valueInteger": int(log.difficulty)}),
            ("pain", {"valueInteger": int(log.pain)}),
            ("fatigue", {"valueInteger": int(log.fatigue)}),
        ]
        entries.append(
            {
                "fullUrl": f"QuestionnaireResponse/log-{log.id}",
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "id": f"log-{log.id}",
                    "status": "completed",
                    "subject": subject,
                    "authored": log.day.isoformat(),
                    "item": [{"linkId": k, "answer": [v]} for k, v in answers],
                },
            }
        )
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)), indent=1)


def calendar(patient: Patient, fit: FitSpec, programme: Programme | None) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//neurorehab//clinic//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Rehabilitation programme")
    if programme is not None:
        hh, mm = (int(x) for x in programme.time_of_day.split(":"))
        end = plan_end(fit, programme)
        ev = Event()
        ev.add("uid", f"programme-{programme.id}@neurorehab")
        ev.add("summary", f"Rehabilitation session ({programme.plan})")
        ev.add("description", fit.plans[programme.plan].summary if programme.plan in fit.plans else "")
        ev.add("dtstart", datetime.combine(programme.start, time(hh, mm)))
        ev.add("duration", timedelta(minutes=45))
        ev.add(
            "rrule",
            {
                "freq": "weekly",
                "byday": programme.weekdays.split(","),
                "until": datetime.combine(end, time(23, 59)),
            },
        )
        ev.add("dtstamp", datetime.combine(programme.start, time(0, 0)))
        cal.add_component(ev)
        day = programme.start + timedelta(days=programme.reassess_every_days)
        while day <= end:
            r = Event()
            r.add("uid", f"reassessment-{programme.id}-{day.isoformat()}@neurorehab")
            r.add("summary", "Reassessment at the clinic")
            r.add("dtstart", day)
            r.add("dtstamp", datetime.combine(programme.start, time(0, 0)))
            cal.add_component(r)
            day += timedelta(days=programme.reassess_every_days)
    return bytes(cal.to_ical())
