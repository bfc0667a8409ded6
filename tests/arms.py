"""A bundled scenario's arms run in-process, for the model tests: the scenario's own patients,
events and condition, each arm through `simulate` (no run folder)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml

from neurorehab.config import compile_scenario, parse_scenario
from neurorehab.core import simulate

ROOT = Path(__file__).resolve().parents[1]


class ArmRun(NamedTuple):
    measures: dict[str, np.ndarray]  # name -> [patients, slots]
    days: np.ndarray  # day of each slot
    kept: np.ndarray  # whether the slot is an assessment

    def kept_values(self, measure: str) -> np.ndarray:
        """[patients, assessments] of `measure`."""
        return np.asarray(self.measures[measure])[:, self.kept]

    def at(self, measure: str, day: int) -> np.ndarray:
        """`measure` for every patient at the last assessment of `day`."""
        return np.asarray(self.measures[measure])[:, np.flatnonzero(self.kept & (self.days == day))[-1]]


def run_arms(name: str, n: int, edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, ArmRun]:
    """Every arm of scenarios/`name` for its first `n` patients; `edit` changes the scenario
    (a dict of its YAML) first."""
    data = yaml.safe_load((ROOT / "scenarios" / name).read_text())
    data["patients"]["count"] = n
    if edit is not None:
        edit(data)
    c = compile_scenario(parse_scenario(data))
    ids = np.arange(n)
    params, condition, values, keys = (
        c.sample_params(ids),
        c.sample_condition(ids),
        c.sample_events(ids),
        c.sim_keys(ids),
    )
    out = {}
    for arm in c.arms:
        m, codes = simulate(c.model, params, arm.calendar, keys, events=c.events, condition=condition,
                            event_values=values, rule=arm.rule, bounds=c.bounds)  # fmt: skip
        assert (np.asarray(codes) == 0).all(), (name, arm.name, np.asarray(codes))
        out[arm.name] = ArmRun(m, np.asarray(arm.days), np.asarray(arm.assess))
    return out
