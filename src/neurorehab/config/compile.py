"""Turn a validated Scenario, once, into core objects: model, events, calendars and samplers.

Randomness: one root key per run (the scenario's seed). A patient's traits come from
fold_in(fold_in(root, 1), patient) and its simulation stream from fold_in(fold_in(root, 2),
patient), so a patient gives the same numbers in any shard, chunk or machine, and every arm
simulates the same virtual patients with the same streams (common random numbers: arms differ
only by their protocol).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from neurorehab.config import inputs
from neurorehab.config.inputs import InputError
from neurorehab.config.scenario import (
    Fixed,
    LogNormal,
    Normal,
    Scenario,
    ScenarioError,
    Uniform,
    core_block,
    correlation_matrix,
    varying,
)
from neurorehab.core import condition as condition_
from neurorehab.core.engine import Bounds, Calendar, common_bounds, shared_slots
from neurorehab.core.model import Event, Model
from neurorehab.core.progression import Rule
from neurorehab.models import ModelInfo, registry
from neurorehab.models.protocol import Block, compile_calendar


@dataclass(frozen=True)
class CompiledArm:
    name: str
    calendar: Calendar
    assess: np.ndarray  # bool per slot: keep this slot's measures in the results
    days: np.ndarray  # day of each slot
    minutes: np.ndarray  # clock time of each slot, in minutes after midnight
    rule: Rule | None = None  # progression from reassessment


@dataclass(frozen=True)
class CompiledScenario:
    scenario: Scenario
    model: Model
    info: ModelInfo
    events: tuple[Event, ...]
    arms: tuple[CompiledArm, ...]
    measures: tuple[str, ...]
    table: dict[str, np.ndarray] | None = None
    # The files a field names, as read: field -> {"path", "sha256"} (what a run records and checks).
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    # The last draw (`sample`), kept: a shard asks for its patients' draws three or four times.
    _drawn: dict[bytes, dict[str, jax.Array]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def bounds(self) -> Bounds:
        """One calendar shape for every arm, so that all arms run under one compiled program."""
        return common_bounds([a.calendar for a in self.arms])

    @cached_property
    def branches(self) -> tuple[tuple[int, int], ...]:
        """Where each arm leaves an earlier one: (parent arm, slot), the earlier arm whose
        calendar it follows longest (`core.engine.shared_slots`; the first such arm on a tie)
        and the first slot where they differ (at most the last slot of either, when one
        calendar begins the other); (-1, 0) for an arm that shares nothing. A shard
        runs the slots two arms share once, and the later arm goes on from the earlier one's
        carry, so arms that part at different days (a control arm, therapy from day 90, therapy
        from day 7) form a tree. An arm keeps at least one slot of its own; none branch when an
        arm follows a progression rule (its controls are per arm).

        The parent's own branch is never later than the child's: had the parent left its own
        parent q after the child's slot, the child would follow q as long, and q comes first."""
        if any(a.rule is not None for a in self.arms):
            return tuple((-1, 0) for _ in self.arms)
        calendars = [a.calendar for a in self.arms]
        length = [int(cal.day.shape[0]) for cal in calendars]
        out = [(-1, 0)]
        for i in range(1, len(calendars)):
            best = (-1, 0)
            for j in range(i):
                at = min(shared_slots([calendars[j], calendars[i]]), length[i] - 1, length[j] - 1)
                if at > best[1]:
                    best = (j, at)
            out.append(best)
        return tuple(out)

    def stops(self, arm: int) -> tuple[int, ...]:
        """The slots where a later arm leaves this one (after this arm's own branch), in order:
        a shard keeps this arm's carry at each for the arms that go on from it."""
        start = self.branches[arm][1]
        return tuple(sorted({at for parent, at in self.branches if parent == arm and at > start}))

    @property
    def branched(self) -> bool:
        """Whether any arm goes on from another's carry (`branches`)."""
        return any(parent >= 0 for parent, _ in self.branches)

    @cached_property
    def split_bounds(self) -> Bounds:
        """One shape for every part of every arm between its branch, its stops and its end
        (`branches`): the slots of the longest part, and every arm's bounds on trials and day
        steps as the whole calendars would run at (a session's trial keys depend on its bound),
        so all parts run under one compiled program."""
        whole = self.bounds
        longest = 0
        for i, arm in enumerate(self.arms):
            cuts = (self.branches[i][1], *self.stops(i), int(arm.calendar.day.shape[0]))
            longest = max(longest, *(b - a for a, b in itertools.pairwise(cuts)))
        return Bounds(longest, whole.max_trials, whole.max_days)

    @property
    def n_patients(self) -> int:
        return self.scenario.patients.count

    def root_key(self) -> jax.Array:
        return jax.random.key(self.scenario.seed)

    def sim_keys(self, ids: np.ndarray) -> jax.Array:
        base = jax.random.fold_in(self.root_key(), 2)
        return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids, jnp.uint32))

    def sample_params(self, ids: np.ndarray) -> dict[str, jax.Array]:
        """Per-patient model parameters for these patient ids ([len(ids)] per parameter)."""
        drawn = self.sample(ids)
        return {name: drawn[name] for name in self.info.params}

    def sample_condition(self, ids: np.ndarray) -> dict[str, jax.Array]:
        """Per-patient condition parameters (`core.condition`) for these patient ids."""
        drawn = self.sample(ids)
        return {name: drawn[name] for name in condition_.PARAMS}

    def sample_events(self, ids: np.ndarray) -> tuple[dict[str, jax.Array], ...]:
        """Per event, its parameters' per-patient values."""
        return self.event_values(self.sample(ids))

    def event_values(self, drawn: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        """Per event, its parameters' values from `drawn` (as `sample` gives, or edited)."""
        return tuple(
            {k: drawn[f"{e.label}.{k}"] for k in self.info.events[e.kind].params}
            for e in self.scenario.events
        )

    def sample_traits(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Every quantity that varies between patients (parameters, traits, event parameters)."""
        drawn = self.sample(ids)
        return {k: np.asarray(v) for k, v in drawn.items() if k in varying(self.scenario)}

    def sample(self, ids: np.ndarray) -> dict[str, jax.Array]:
        """Draw every parameter, trait and event parameter for these patients.

        Each quantity has its own normal score per patient, from a key that folds in the patient
        and the quantity, so a patient is the same whatever else is drawn. Correlations mix the
        scores of the quantities they name (Gaussian copula); each score then goes through its
        quantity's distribution. A patient table replaces the distributions of its columns by one
        row per patient, drawn with replacement.
        """
        tag = np.asarray(ids, np.int64).tobytes()
        if tag not in self._drawn:
            self._drawn.clear()
            self._drawn[tag] = self._sample(ids)
        return dict(self._drawn[tag])

    def _sample(self, ids: np.ndarray) -> dict[str, jax.Array]:
        s = self.scenario
        base = jax.random.fold_in(self.root_key(), 1)
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids, jnp.uint32))
        specs = self.specs()
        given: dict[str, Any] = {
            name: s.patients.params.get(name, spec.default) for name, spec in self.info.params.items()
        }
        given.update(
            {name: s.patients.condition.get(name, spec.default) for name, spec in condition_.PARAMS.items()}
        )
        # Score streams: model parameters, then the condition's, by position (the condition
        # followed the model's parameters before it had its own section); event e's parameters
        # from 1,000,003 + 1000 e; traits from 2,000,000.
        index = {name: j for j, name in enumerate(given)}
        for e_index, e in enumerate(s.events):
            for j, (name, spec) in enumerate(self.info.events[e.kind].params.items()):
                label = f"{e.label}.{name}"
                given[label], index[label] = e.params.get(name, spec.default), 1_000_003 + 1000 * e_index + j
        for i, (name, dist) in enumerate(s.patients.traits.items()):
            given[name], index[name] = dist, 2_000_000 + i
        scores = _scores(keys, jnp.asarray([index[name] for name in given], jnp.uint32))
        z = {name: scores[:, i] for i, name in enumerate(given)}
        if s.patients.correlations:
            names, r = correlation_matrix(s.patients.correlations)
            chol = np.linalg.cholesky(r)
            mixed = jnp.stack([z[n] for n in names], axis=1) @ jnp.asarray(chol.T, jnp.float32)
            z.update({n: mixed[:, i] for i, n in enumerate(names)})
        out = {name: _transform(given[name], z[name]) for name in given}
        if self.table:
            n_rows = len(next(iter(self.table.values())))
            rows = jax.vmap(lambda kk: jax.random.randint(jax.random.fold_in(kk, 3_000_000), (), 0, n_rows))(
                keys
            )
            for name, column in self.table.items():
                out[name] = jnp.asarray(column, jnp.float32)[rows]
        for name, spec in specs.items():
            out[name] = jnp.clip(out[name], spec.low, spec.high)
        return {k: v.astype(jnp.float32) for k, v in out.items()}

    def specs(self) -> dict[str, Any]:
        """Every declared parameter a patient has, by its scenario name (NAME.PARAM for events)."""
        out: dict[str, Any] = {**self.info.params, **condition_.PARAMS}
        for e in self.scenario.events:
            out.update({f"{e.label}.{k}": v for k, v in self.info.events[e.kind].params.items()})
        return out


@jax.jit
def _scores(keys: jax.Array, streams: jax.Array) -> jax.Array:
    """[patients, streams] standard normal scores, each from its patient's key folded with its
    stream: one compiled call for a shard (drawing quantity by quantity cost a dispatch each)."""
    return jax.vmap(lambda k: jax.vmap(lambda j: jax.random.normal(jax.random.fold_in(k, j)))(streams))(keys)


def _transform(d: Any, z: jax.Array) -> jax.Array:
    """A standard normal score through a distribution's quantile function."""
    match d:
        case float() | int():
            return jnp.full(z.shape, float(d))
        case Fixed(value=v):
            return jnp.full(z.shape, v)
        case Normal(mean=m, sd=sd):
            return m + sd * z
        case LogNormal(median=m, sd_log=sd):
            return m * jnp.exp(sd * z)
        case Uniform(low=lo, high=hi):
            return lo + (hi - lo) * norm.cdf(z)
    raise TypeError(f"unknown distribution {d!r}")


def compile_scenario(s: Scenario) -> CompiledScenario:
    info = registry.get(s.model)
    model = info.build(**s.model_options)
    events = tuple(info.events[e.kind]() for e in s.events)
    # Reassessment days are kept too, so that every progression decision is in the results.
    reassessed = {d for arm in s.arms if arm.progression for d in arm.progression.days(s.duration_days)}
    assess_days = sorted(
        set(range(0, s.duration_days + 1, s.assessments.every_days)) | set(s.assessments.days) | reassessed
    )
    timed = [t for a in s.assessments.at for t in a.times()]
    gains = {name: spec.default for name, spec in info.gains.items()}
    arms = []
    for arm in s.arms:
        blocks = [core_block(b, info, Block) for b in arm.protocol]
        rule, reassess = None, []
        if arm.progression is not None:
            g = arm.progression
            rule = Rule(g.measure, g.milestone, g.higher_is_better, g.up, g.down, g.min_factor, g.max_factor,
                        g.pain_limit, g.fatigue_limit)  # fmt: skip
            reassess = g.days(s.duration_days)
        cal = compile_calendar(
            blocks,
            duration_days=s.duration_days,
            assess_days=assess_days,
            n_tasks=len(info.tasks),
            event_days=[e.day for e in s.events],
            reassess_days=reassess,
            assess_times=timed,
            interventions=info.available_interventions(),
            gains=gains,
        )
        arms.append(
            CompiledArm(
                arm.name, cal, np.asarray(cal.assess), np.asarray(cal.day), np.asarray(cal.minute), rule
            )
        )
    measures = tuple(s.assessments.measures or (*info.measures, *condition_.MEASURES))
    table: dict[str, np.ndarray] | None = None
    digests: dict[str, dict[str, str]] = {}
    if s.patients.table:
        try:
            read = inputs.read_table(s.patients.table)
        except InputError as err:
            raise ScenarioError([f"patients.table: {line}" for line in err.lines]) from None
        table = read.columns
        digests = {"patients.table": {"path": s.patients.table, "sha256": read.sha256}}
    return CompiledScenario(s, model, info, events, tuple(arms), measures, table, digests)
