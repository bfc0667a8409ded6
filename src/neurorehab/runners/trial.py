"""The trial step of a run: allocate, drop out, analyse, estimate power; write trial.json.

Reads the merged results (every patient under every arm), applies the scenario's trial design
with its own random streams (numpy Generators seeded from the scenario's seed, so the same
scenario gives the same allocation), and writes `patients.parquet` (id, allocated arm, drop-out
day, traits) and `trial.json` atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from neurorehab.cohort.trial import TrialData, allocate, analyse, dropout_days, power_curve, strata_codes
from neurorehab.config import CompiledScenario
from neurorehab.io.atomic import write_json_atomic
from neurorehab.io.results import query, write_parquet

# Stream numbers folded with the seed: allocation, drop-out and power never share numbers.
ALLOCATION, DROPOUT, POWER = 7001, 7002, 7003


def trial_data(c: CompiledScenario, out: Path) -> TrialData:
    s, t = c.scenario, c.scenario.trial
    assert t is not None
    n, arms = c.n_patients, [a.name for a in s.arms]
    ids = np.arange(n)
    traits = c.sample_traits(ids)
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
    rows = query(
        out,
        "select arm, patient, day, value, failure from daily where measure = "
        f"'{t.primary.measure}' order by arm, patient, day, minute",
    ).df()
    index = {name: i for i, name in enumerate(arms)}
    rows["a"] = rows["arm"].map(index)
    base = np.full((n, len(arms)), np.nan)
    follow = np.full((n, len(arms)), np.nan)
    failed_any = np.zeros((n, len(arms)), bool)
    for day, target in ((t.primary.baseline_day, base), (t.primary.followup_day, follow)):
        sel = rows[rows["day"] == day]
        target[sel["patient"].to_numpy(), sel["a"].to_numpy()] = sel["value"].to_numpy()
    bad = rows[rows["failure"] != 0]
    failed_any[bad["patient"].to_numpy(), bad["a"].to_numpy()] = True
    follow[failed_any] = np.nan
    mine = rows[rows["a"].to_numpy() == allocated[rows["patient"].to_numpy()]]
    visits = mine[["patient", "day", "value"]].reset_index(drop=True)
    return TrialData(
        arms=tuple(arms),
        control=index[t.control],
        allocated=allocated,
        baseline_potential=base,
        potential=follow,
        dropout_day=drop,
        failed=failed_any[ids, allocated],
        baseline_day=t.primary.baseline_day,
        followup_day=t.primary.followup_day,
        visits=visits,
        traits=traits,
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
    table = pd.DataFrame(
        {
            "patient": np.arange(data.n, dtype=np.int32),
            "arm": [data.arms[a] for a in data.allocated],
            "dropout_day": data.dropout_day,
            **{k: np.asarray(v, np.float64) for k, v in data.traits.items()},
        }
    )
    write_parquet(out / "patients.parquet", pa.Table.from_pandas(table, preserve_index=False))
    write_json_atomic(out / "trial.json", result)
    return result
