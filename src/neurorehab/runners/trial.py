"""The trial step of a run: allocate, drop out, analyse, estimate power; write trial.json.

Reads the merged results (every patient under every arm), applies the scenario's trial design
with its own random streams (numpy Generators seeded from the scenario's seed, so the same
scenario gives the same allocation), and writes `patients.parquet` (id, allocated arm, drop-out
day, traits) and `trial.json` atomically.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from neurorehab.cohort.trial import (
    TrialData,
    allocate,
    analyse,
    analyse_secondary,
    dropout_days,
    power_curve,
    strata_codes,
)
from neurorehab.config import CompiledScenario
from neurorehab.config.scenario import Endpoint
from neurorehab.io.atomic import write_json_atomic
from neurorehab.io.results import query, write_parquet
from neurorehab.runners.shards import RunError

# Stream numbers folded with the seed: allocation, drop-out and power never share numbers.
ALLOCATION, DROPOUT, POWER = 7001, 7002, 7003
NOT_ENROLLED = "not enrolled"  # patients.parquet's arm for a patient who failed screening


def screen(c: CompiledScenario, out: Path) -> np.ndarray:
    """Which simulated patients the trial enrols: those meeting every eligibility criterion on
    its screening day (the day's last assessment under the control arm, which before any
    treatment is every arm's: a patient's arms share its random numbers)."""
    t = c.scenario.trial
    assert t is not None
    ok = np.ones(c.n_patients, bool)
    for crit in t.eligibility:
        rows = query(
            out,
            f"select patient, last(value order by minute) from daily where measure = '{crit.measure}' "
            f"and arm = '{t.control}' and day = {int(crit.day)} group by patient",
        ).fetchall()
        value = np.full(c.n_patients, np.nan)
        if rows:
            got = np.asarray(rows, float)
            value[got[:, 0].astype(int)] = got[:, 1]
        low = -np.inf if crit.at_least is None else crit.at_least
        high = np.inf if crit.at_most is None else crit.at_most
        ok &= np.isfinite(value) & (value >= low) & (value <= high)
    return ok


def trial_data(c: CompiledScenario, out: Path) -> TrialData:
    """The trial over the enrolled patients (`screen`), numbered 0..n-1 in enrolment order, with
    its primary outcome; `TrialData.patients` holds their ids in the run."""
    s, t = c.scenario, c.scenario.trial
    assert t is not None
    arms = [a.name for a in s.arms]
    ids = np.flatnonzero(screen(c, out))
    n = len(ids)
    if n < 2:
        raise RunError(
            f"only {n} of {c.n_patients} simulated patients meet the trial's eligibility criteria; "
            "widen trial.eligibility or simulate more patients"
        )
    traits = {k: v[ids] for k, v in c.sample_traits(np.arange(c.n_patients)).items()}
    alloc = t.allocation
    strata = strata_codes({k: traits[k] for k in alloc.strata}) if alloc.scheme == "stratified" else None
    allocated = allocate(
        n,
        len(arms),
        np.random.default_rng([s.seed, ALLOCATION]),
        scheme=alloc.scheme,
        block_size=alloc.block_size,
        strata=strata,
    )
    drop = dropout_days(
        n, t.dropout_per_week, t.primary.baseline_day, np.random.default_rng([s.seed, DROPOUT])
    )
    enrolled = TrialData(
        arms=tuple(arms),
        control=arms.index(t.control),
        allocated=allocated,
        baseline_potential=np.empty((n, 0)),
        potential=np.empty((n, 0)),
        dropout_day=drop,
        failed=np.zeros(n, bool),
        baseline_day=t.primary.baseline_day,
        followup_day=t.primary.followup_day,
        traits=traits,
        patients=ids,
        screened=c.n_patients,
    )
    return outcome_data(c, out, enrolled, t.primary)


def outcome_data(c: CompiledScenario, out: Path, data: TrialData, end: Endpoint) -> TrialData:
    """`data`'s enrolment, allocation and drop-out with the outcome `end` read from the run
    (the primary's, or a secondary's)."""
    n, n_arms = data.n, len(data.arms)
    position = np.full(c.n_patients, -1)
    position[data.patients] = np.arange(n)
    rows = query(
        out,
        "select arm, patient, day, value, failure from daily where measure = "
        f"'{end.measure}' order by arm, patient, day, minute",
    ).df()
    rows["a"] = rows["arm"].map({name: i for i, name in enumerate(data.arms)})
    rows["patient"] = position[rows["patient"].to_numpy()]
    rows = rows[rows["patient"].to_numpy() >= 0]
    base = np.full((n, n_arms), np.nan)
    follow = np.full((n, n_arms), np.nan)
    failed_any = np.zeros((n, n_arms), bool)
    for day, target in ((end.baseline_day, base), (end.followup_day, follow)):
        sel = rows[rows["day"] == day]
        target[sel["patient"].to_numpy(), sel["a"].to_numpy()] = sel["value"].to_numpy()
    bad = rows[rows["failure"] != 0]
    failed_any[bad["patient"].to_numpy(), bad["a"].to_numpy()] = True
    follow[failed_any] = np.nan
    mine = rows[rows["a"].to_numpy() == data.allocated[rows["patient"].to_numpy()]]
    return replace(
        data,
        baseline_potential=base,
        potential=follow,
        failed=failed_any[np.arange(n), data.allocated],
        baseline_day=end.baseline_day,
        followup_day=end.followup_day,
        visits=mine[["patient", "day", "value"]].reset_index(drop=True),
    )


def write_trial(c: CompiledScenario, out: Path) -> dict[str, Any]:
    """Analyse the run as the scenario's trial; write patients.parquet and trial.json."""
    t = c.scenario.trial
    assert t is not None
    data = trial_data(c, out)
    result = analyse(
        data, mid=t.mid, higher_is_better=t.higher_is_better, subgroups=tuple(t.subgroups), alpha=t.alpha
    )
    result["primary_measure"] = t.primary.measure
    result["secondary"] = []
    for i, end in enumerate(t.secondary):
        try:
            data_i = outcome_data(c, out, data, end)
            log = end.scale == "log"
            second = analyse_secondary(data_i, log=log, higher_is_better=end.higher_is_better, alpha=t.alpha)
        except ValueError as err:
            raise RunError(f"trial.secondary.{i} ({end.measure}): {err}") from None
        result["secondary"].append({**end.model_dump(), **second})
    result["eligibility"] = [crit.model_dump(exclude_none=True) for crit in t.eligibility]
    result["allocation"] = t.allocation.model_dump()
    result["dropout_per_week"] = t.dropout_per_week
    if t.power is not None:
        rng = np.random.default_rng([c.scenario.seed, POWER])
        result["power"] = {
            name: power_curve(
                data,
                a,
                tuple(sorted(t.power.sizes)),
                t.power.repeats,
                rng,
                per_week=t.dropout_per_week,
                alpha=t.alpha,
            )
            for a, name in enumerate(data.arms)
            if a != data.control
        }
    # Every simulated patient: the enrolled with their arm, the others "not enrolled".
    n = c.n_patients
    arm = np.asarray([NOT_ENROLLED] * n, dtype=object)
    arm[data.patients] = [data.arms[a] for a in data.allocated]
    dropout = np.full(n, np.nan)
    dropout[data.patients] = data.dropout_day
    traits = c.sample_traits(np.arange(n))
    table = pd.DataFrame(
        {
            "patient": np.arange(n, dtype=np.int32),
            "arm": arm,
            "dropout_day": dropout,
            **{k: np.asarray(v, np.float64) for k, v in traits.items()},
        }
    )
    write_parquet(out / "patients.parquet", pa.Table.from_pandas(table, preserve_index=False))
    write_json_atomic(out / "trial.json", result)
    return result
