"""Turn a validated Scenario, once, into core objects: model, injury, calendars and samplers.

Randomness: one root key per run (the scenario's seed). A patient's traits come from
fold_in(fold_in(root, 1), patient) and its simulation stream from fold_in(fold_in(root, 2),
patient), so a patient gives the same numbers in any shard, chunk or machine, and every arm
simulates the same virtual patients with the same streams (common random numbers: arms differ
only by their protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neurorehab.config.scenario import Fixed, LogNormal, Normal, Scenario, Uniform
from neurorehab.core.engine import Calendar, Injury, Model
from neurorehab.models import INJURIES, MODELS, ModelInfo
from neurorehab.models.protocol import Block, compile_calendar


@dataclass(frozen=True)
class CompiledArm:
    name: str
    calendar: Calendar
    assess: np.ndarray  # bool per slot: keep this slot's measures in the results
    days: np.ndarray  # day of each slot


@dataclass(frozen=True)
class CompiledScenario:
    scenario: Scenario
    model: Model
    info: ModelInfo
    injury: Injury | None
    arms: tuple[CompiledArm, ...]
    measures: tuple[str, ...]

    @property
    def n_patients(self) -> int:
        return self.scenario.patients.count

    def root_key(self) -> jax.Array:
        return jax.random.key(self.scenario.seed)

    def sim_keys(self, ids: np.ndarray) -> jax.Array:
        base = jax.random.fold_in(self.root_key(), 2)
        return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids, jnp.uint32))

    def sample_params(self, ids: np.ndarray) -> dict[str, jax.Array]:
        """Per-patient parameters for these patient ids ([len(ids)] per parameter).

        A distribution of injury severity adds `injury_severity`, which injuries read in place
        of their fixed severity.
        """
        base = jax.random.fold_in(self.root_key(), 1)
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids, jnp.uint32))
        out = {}
        for index, (name, spec) in enumerate(self.info.params.items()):
            given = self.scenario.patients.params.get(name, spec.default)
            k = jax.vmap(lambda kk, j=index: jax.random.fold_in(kk, j))(keys)
            value = _draw(given, k)
            out[name] = jnp.clip(value, spec.low, spec.high).astype(jnp.float32)
        injury = self.scenario.injury
        if injury is not None and not isinstance(injury.severity, float | int):
            k = jax.vmap(lambda kk: jax.random.fold_in(kk, 1_000_003))(keys)
            out["injury_severity"] = jnp.clip(_draw(injury.severity, k), 0.0, 1.0).astype(jnp.float32)
        return out


def _draw(d: Any, keys: jax.Array) -> jax.Array:
    n = keys.shape[0]
    z = jax.vmap(lambda k: jax.random.normal(k))(keys)
    u = jax.vmap(lambda k: jax.random.uniform(k))(keys)
    match d:
        case float() | int():
            return jnp.full(n, float(d))
        case Fixed(value=v):
            return jnp.full(n, v)
        case Normal(mean=m, sd=s):
            return m + s * z
        case LogNormal(median=m, sd_log=s):
            return m * jnp.exp(s * z)
        case Uniform(low=lo, high=hi):
            return lo + (hi - lo) * u
    raise TypeError(f"unknown distribution {d!r}")


def compile_scenario(s: Scenario) -> CompiledScenario:
    cls, info = MODELS[s.model]
    model = cls(**s.model_options)
    injury = None
    if s.injury is not None:
        fixed = s.injury.severity if isinstance(s.injury.severity, float | int) else 1.0
        injury = INJURIES[s.model][s.injury.kind](model, float(fixed))
    assess_days = sorted(
        set(range(0, s.duration_days + 1, s.assessments.every_days)) | set(s.assessments.days)
    )
    arms = []
    for arm in s.arms:
        blocks = [
            Block(
                intervention=b.intervention,
                start_day=b.start_day,
                days=b.n_days,
                sessions_per_week=b.sessions_per_week,
                repetitions=b.repetitions
                if b.repetitions is not None
                else max(1, math.floor((b.minutes or 0) * info.reps_per_minute)),
                task=info.tasks.index(b.task) if isinstance(b.task, str) else b.task,
                intensity=b.intensity,
                sessions_per_day=b.sessions_per_day,
                hours_between=b.hours_between,
            )
            for b in arm.protocol
        ]
        cal = compile_calendar(
            blocks,
            duration_days=s.duration_days,
            assess_days=assess_days,
            n_tasks=len(info.tasks),
            injury_day=None if s.injury is None else s.injury.day,
        )
        arms.append(CompiledArm(arm.name, cal, np.asarray(cal.assess), np.asarray(cal.day)))
    measures = tuple(s.assessments.measures or info.measures)
    return CompiledScenario(s, model, info, injury, tuple(arms), measures)
