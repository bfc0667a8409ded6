"""Importing a patient's history: tidy CSV and FHIR R4, and the plain errors for bad input.

Each error must name where (row and column, or the resource path), the bad value and what
would be valid; good files must give the same assessments whichever format carries them.
"""

import json
from datetime import date

import pytest

from neurorehab.io.history import HistoryError, read_history
from neurorehab.models import registry

INSTRUMENTS = registry.get("motor").fit.instruments


def _csv(tmp_path, text, name="h.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _errors(path, **kw):
    with pytest.raises(HistoryError) as err:
        read_history(path, INSTRUMENTS, **kw)
    return " | ".join(err.value.lines)


def test_csv_days_and_dates_and_aliases(tmp_path):
    p = _csv(
        tmp_path,
        "patient,instrument,score,days_since_onset,date,onset_date\n"
        "A,FM-UE,30,3,,\n"
        "A,fugl-meyer upper extremity,33,,2026-01-08,2026-01-01\n"
        "A,ARAT,12,7,,\n"
        "A,mal,1.5,14,,\n",
    )
    h = read_history(p, INSTRUMENTS)
    assert h.patient == "A" and h.onset == date(2026, 1, 1)
    assert [(a.instrument, a.day, a.score) for a in h.assessments] == [
        ("FM-UE", 3.0, 30.0),
        ("FM-UE", 7.0, 33.0),
        ("ARAT", 7.0, 12.0),
        ("MAL-AOU", 14.0, 1.5),
    ]


def test_csv_sessions_are_read(tmp_path):
    p = _csv(
        tmp_path,
        "instrument,score,days_since_onset,record,intervention,minutes\n"
        "FM-UE,30,3,,,\n,,5,session,task-practice,30\n",
    )
    h = read_history(p, INSTRUMENTS)
    assert len(h.sessions) == 1 and h.sessions[0].minutes == 30.0 and h.sessions[0].day == 5.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("instrument,score\nFM-UE,3\n", "missing column(s) days_since_onset (or date)"),
        (
            "instrument,score,days_since_onset\nFM-UE,abc,3\n",
            "row 1 (line 2), column 'score': 'abc' is not a number",
        ),
        ("instrument,score,days_since_onset\nFM-UE,70,3\n", "70 lies outside FM-UE's range 0-66"),
        ("instrument,score,days_since_onset\nFMX,30,3\n", "column 'instrument': 'FMX' is not an instrument"),
        ("instrument,score,days_since_onset\nFM-UE,30,-2\n", "day -2 since onset lies outside 0-3650"),
        ("instrument,score,date\nFM-UE,30,2026-01-05\n", "a date needs the onset"),
        ("instrument,score,date\nFM-UE,30,5 Jan\n", "'5 Jan' is not a date (YYYY-MM-DD)"),
        (
            "patient,instrument,score,days_since_onset\nA,FM-UE,30,3\nB,FM-UE,31,3\n",
            "holds 2 patients (A, B)",
        ),
        ("", "the file is empty"),
        ("instrument,score,days_since_onset,record\n,,3,visit\n", "'visit'; use assessment or session"),
    ],
)
def test_csv_errors_say_where_and_what(tmp_path, text, expected):
    assert expected in _errors(_csv(tmp_path, text))


def test_not_utf8_and_missing_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"instrument,score\n\xff\xfe\n")
    assert "not UTF-8" in _errors(p)
    assert "no such file" in _errors(tmp_path / "nothing.csv")


def _obs(code, value, when, subject="Patient/P1", status="final"):
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": "http://example.org", "code": code}]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value},
    }


def _bundle(*resources):
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_fhir_bundle_matches_the_csv(tmp_path):
    cond = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/P1"},
        "onsetDateTime": "2026-01-01",
        "code": {"text": "stroke"},
    }
    b = _bundle(
        cond,
        _obs("FM-UE", 30, "2026-01-04"),
        _obs("fugl-meyer ue", 33, "2026-01-08T10:00:00Z"),
        _obs("FM-UE", 99, "2026-01-09", status="entered-in-error"),
        {"resourceType": "Patient", "id": "P1"},
    )
    p = tmp_path / "h.json"
    p.write_text(json.dumps(b))
    h = read_history(p, INSTRUMENTS)
    assert h.onset == date(2026, 1, 1)
    assert [(a.instrument, a.day, a.score) for a in h.assessments] == [
        ("FM-UE", 3.0, 30.0),
        ("FM-UE", 7.0, 33.0),
    ]
    assert any("entered-in-error" in n for n in h.notes)
    # NDJSON of the same resources, with the onset given
    nd = tmp_path / "h.ndjson"
    nd.write_text(
        "\n".join(json.dumps(r) for r in (_obs("FM-UE", 30, "2026-01-04"), _obs("arat", 12, "2026-01-08")))
    )
    h2 = read_history(nd, INSTRUMENTS, onset=date(2026, 1, 1))
    assert [(a.instrument, a.day) for a in h2.assessments] == [("FM-UE", 3.0), ("ARAT", 7.0)]


@pytest.mark.parametrize(
    "resource, expected",
    [
        (
            {**_obs("FM-UE", 30, "2026-01-04"), "valueQuantity": {"value": "lots"}},
            "entry[0].resource.valueQuantity",
        ),
        (
            {k: v for k, v in _obs("FM-UE", 30, "2026-01-04").items() if k != "valueQuantity"},
            "valueQuantity.value: missing",
        ),
        (_obs("FM-UE", 80, "2026-01-04"), "80 lies outside FM-UE's range 0-66"),
        (_obs("grip", 30, "2026-01-04"), "entry[0].resource.code: 'grip' is not an instrument"),
        (
            {k: v for k, v in _obs("FM-UE", 30, "x").items() if k != "effectiveDateTime"},
            "effectiveDateTime: missing",
        ),
        (_obs("FM-UE", 30, "2025-12-01"), "is before the onset 2026-01-01"),
    ],
)
def test_fhir_errors_name_the_resource_path(tmp_path, resource, expected):
    p = tmp_path / "h.json"
    p.write_text(json.dumps(_bundle(resource)))
    assert expected in _errors(p, onset=date(2026, 1, 1))


def test_fhir_not_json_and_two_patients(tmp_path):
    p = tmp_path / "h.json"
    p.write_text('{"resourceType": "Bundle", ')
    assert "not valid JSON (line 1" in _errors(p)
    p.write_text(
        json.dumps(_bundle(_obs("FM-UE", 30, "2026-01-04"), _obs("FM-UE", 30, "2026-01-04", "Patient/P2")))
    )
    assert "holds 2 patients" in _errors(p, onset=date(2026, 1, 1))
    h = read_history(p, INSTRUMENTS, onset=date(2026, 1, 1), patient="P2")
    assert h.patient == "P2" and len(h.assessments) == 1
