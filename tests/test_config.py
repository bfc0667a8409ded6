"""Scenario validation: every mistake names its field, the value given and what is valid."""

from pathlib import Path

import pytest
import yaml

from neurorehab.config import (
    Scenario,
    ScenarioError,
    compile_scenario,
    load_scenario,
    parse_scenario,
)
from neurorehab.models import models

ROOT = Path(__file__).resolve().parents[1]
GOOD = {
    "name": "t",
    "model": "pathway",
    "seed": 1,
    "duration_days": 56,
    "patients": {
        "count": 5,
        "params": {"learning_rate": {"dist": "lognormal", "median": 0.01, "sd_log": 0.3}},
    },
    "events": [{"kind": "lose-b", "day": 1}],
    "arms": [
        {
            "name": "practice",
            "protocol": [{"start_day": 7, "weeks": 6, "sessions_per_week": 5, "repetitions": 100}],
        },
        {"name": "none"},
    ],
}


def _errors(data):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return info.value.lines


def _block(**kw):
    return {
        **GOOD,
        "arms": [{"name": "a", "protocol": [{"start_day": 7, "weeks": 6, "sessions_per_week": 5, **kw}]}],
    }


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "src/neurorehab/scenarios").glob("*.yaml")),
    ids=str,
)
def test_bundled_scenarios_are_valid(path):
    compile_scenario(load_scenario(path))


def test_good_scenario_compiles_with_reproducible_patients():
    c = compile_scenario(parse_scenario(GOOD))
    a = c.sample_params([0, 1, 2])["learning_rate"]
    b = c.sample_params([2, 1, 0])["learning_rate"]
    assert a.tolist() == b[::-1].tolist()  # a patient's traits do not depend on its batch
    assert len(set(a.tolist())) == 3
    other = compile_scenario(parse_scenario({**GOOD, "seed": 2})).sample_params([0])["learning_rate"]
    assert other.tolist() != a[:1].tolist()


@pytest.mark.parametrize(
    "data, path, fragment",
    [
        ({**GOOD, "colour": "red"}, "colour", "unknown key"),
        ({**GOOD, "model": "nope"}, "model", f"valid: {sorted(models())}"),
        ({**GOOD, "seed": "x"}, "seed", "'x'"),
        (_block(repetitions=-3), "arms.0.protocol.0.repetitions", "-3"),
        (_block(repetitions=10, intensity=5), "arms.0.protocol.0.intensity", "less than or equal to 2"),
        (_block(), "arms.0.protocol.0", "exactly one of repetitions or minutes"),
        (_block(repetitions=5, intervention="magic"), "arms[0] (a).protocol[0].intervention", "valid:"),
        (_block(repetitions=5, task="juggling"), "arms[0] (a).protocol[0].task", "use-d"),
        ({**GOOD, "patients": {"count": 0}}, "patients.count", "greater than or equal to 1"),
        ({**GOOD, "patients": {"count": 3, "params": {"zz": 1.0}}}, "patients.params.zz", "valid:"),
        (
            {**GOOD, "patients": {"count": 3, "params": {"gain": {"dist": "normal", "mean": -5, "sd": 1}}}},
            "patients.params.gain",
            "outside the valid range",
        ),
        (
            {**GOOD, "patients": {"count": 3, "params": {"gain": float("nan")}}},
            "patients.params.gain",
            "finite number",
        ),
        (
            {
                **GOOD,
                "patients": {
                    "count": 3,
                    "params": {"gain": {"dist": "normal", "mean": 8, "sd": float("inf")}},
                },
            },
            "patients.params.gain.sd",
            "finite number",
        ),
        (
            {**GOOD, "model": "spines", "events": [], "model_options": {"n_sites": 3}},
            "model_options.n_sites",
            "valid: 10..10000",
        ),
        (
            {
                **GOOD,
                "arms": [
                    {
                        "name": "both",
                        "protocol": [
                            {"start_day": 3, "days": 5, "sessions_per_week": 5, "repetitions": 10},
                            {"start_day": 5, "days": 5, "sessions_per_week": 5, "repetitions": 10},
                        ],
                    }
                ],
            },
            "arms[0] (both).protocol",
            "two sessions fall on day 5",
        ),
        ({**GOOD, "events": [{"kind": "cut", "day": 1}]}, "events[0].kind", "lose-b"),
        (
            _block(repetitions=5, intervention="cimt"),
            "arms[0] (a).protocol[0].intervention",
            "not an intervention of pathway",
        ),
        (
            _block(repetitions=5, intervention="error-augmented"),
            "arms[0] (a).protocol[0].intervention",
            "it needs error",
        ),
        (
            {**GOOD, "events": [{"kind": "lose-b", "day": 1, "params": {"severity": 1.5}}]},
            "events[0].params.severity",
            "[0, 1]",
        ),
        (
            {**GOOD, "events": [{"kind": "lose-b", "day": 1, "params": {"size": 0.5}}]},
            "events[0].params.size",
            "valid: ['severity']",
        ),
        (
            {**GOOD, "events": [{"kind": "lose-b", "day": 1}, {"kind": "lose-b", "day": 9}]},
            "events[1]",
            "distinct `name`",
        ),
        (
            _block(repetitions=5, intervention="tdcs", params={"priming": 9.0}),
            "arms[0] (a).protocol[0].params.priming",
            "[0, 2]",
        ),
        (
            _block(repetitions=5, intervention="tdcs", params={"volts": 1.0}),
            "arms[0] (a).protocol[0].params.volts",
            "valid: ['priming']",
        ),
        (
            {**GOOD, "patients": {"count": 2, "params": {"pain": 3.0}}},
            "patients.params.pain",
            "move it to patients.condition.pain",
        ),
        ({**GOOD, "duration_days": 20}, "arms[0] (practice).protocol[0]", "after duration_days"),
        ({**GOOD, "arms": []}, "arms", "at least 1"),
        # Issue 4: protocol input that cannot be given, each refused naming the block.
        (
            {
                **GOOD,
                "arms": [
                    {
                        "name": "clash",
                        "protocol": [
                            {"start_day": 3, "days": 5, "sessions_per_week": 5, "minutes": 60, "hour": 10},
                            {"start_day": 3, "days": 5, "sessions_per_week": 5, "minutes": 30, "hour": 10.5},
                        ],
                    }
                ],
            },
            "arms[0] (clash).protocol[1]",
            "starts before the session of block 0",
        ),
        (
            {
                **GOOD,
                "arms": [
                    {
                        "name": "long",
                        "protocol": [
                            {"start_day": 3, "days": 5, "sessions_per_week": 5, "minutes": 500, "hour": 8},
                            {"start_day": 3, "days": 5, "sessions_per_week": 5, "minutes": 300, "hour": 18},
                        ],
                    }
                ],
            },
            "arms[0] (long).protocol",
            "more than 720 a day",
        ),
        (_block(repetitions=-5), "arms.0.protocol.0.repetitions", "greater than or equal to 1"),
        (
            _block(repetitions=5, intervention="aerobic-exercise"),
            "arms[0] (a).protocol[0].intervention",
            "consolidation",
        ),
        (
            {**GOOD, "arms": [{"name": "a", "progression": {"measure": "speed", "milestone": 1}}]},
            "arms[0] (a).progression.measure",
            "d_function",
        ),
        (
            _block(repetitions=5, progressive=True),
            "arms[0] (a).protocol[0].progressive",
            "no progression rule",
        ),
    ],
)
def test_bad_scenarios_name_field_value_and_valid_choice(data, path, fragment):
    lines = _errors(data)
    assert any(line.startswith(path) and fragment in line for line in lines), lines


def test_file_errors_are_plain(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\nmodel: pathway\n")
    with pytest.raises(ScenarioError, match="malformed YAML at line"):
        load_scenario(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(listy)


def test_schema_is_json_schema_with_every_field():
    schema = Scenario.model_json_schema()
    assert schema["additionalProperties"] is False
    assert {"model", "patients", "arms", "seed", "events", "assessments"} <= set(schema["properties"])
    yaml.safe_dump(schema)  # serialisable


def test_event_parameters_may_vary_between_patients():
    data = {
        **GOOD,
        "events": [
            {"kind": "lose-b", "day": 1, "name": "first",
             "params": {"severity": {"dist": "uniform", "low": 0.2, "high": 0.9}}},
            {"kind": "lose-b", "day": 30, "name": "second", "params": {"severity": 0.25}},
        ],
    }  # fmt: skip
    c = compile_scenario(parse_scenario(data))
    first, second = c.sample_events(list(range(20)))
    sev = first["severity"]
    assert len(set(sev.tolist())) == 20 and float(sev.min()) >= 0.2 and float(sev.max()) <= 0.9
    assert set(second["severity"].tolist()) == {0.25}
    assert "first.severity" in c.sample_traits([0, 1])


def test_an_old_single_injury_still_loads():
    # Scenarios written before `events:` keep working: the injury becomes an event named
    # `injury`, and `severity` in strata, subgroups and correlations becomes injury.severity.
    old = {
        **GOOD,
        "injury": {"kind": "lose-b", "day": 1, "severity": {"dist": "uniform", "low": 0.2, "high": 0.9}},
    }
    del old["events"]
    s = parse_scenario(old)
    assert [(e.kind, e.day, e.label) for e in s.events] == [("lose-b", 1, "injury")]
    bare = {k: v for k, v in GOOD.items() if k != "events"}
    default = parse_scenario({**bare, "injury": {"kind": "lose-b", "day": 1}})
    assert default.events[0].params == {"severity": 1.0}  # the old default severity, kept
    trial = {
        "control": "practice",
        "primary": {"measure": "d_function", "baseline_day": 0, "followup_day": 56},
        "allocation": {"scheme": "stratified", "strata": ["severity"]},
        "subgroups": ["severity"],
    }
    upgraded = parse_scenario({**old, "trial": trial})
    assert upgraded.trial.allocation.strata == ["injury.severity"]
    assert upgraded.trial.subgroups == ["injury.severity"]
    severity = {"dist": "uniform", "low": 0.2, "high": 0.9}
    new = {
        **GOOD,
        "events": [{"kind": "lose-b", "day": 1, "name": "injury", "params": {"severity": severity}}],
    }
    assert s == parse_scenario(new)
