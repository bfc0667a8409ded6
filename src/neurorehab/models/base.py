"""What every model declares beside the engine contract: parameters with units and sources,
measures with units, injuries it can receive, and its tasks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
from jax import Array


@dataclass(frozen=True)
class ParamSpec:
    """One model parameter: default, unit, provenance, meaning and valid range (inclusive)."""

    default: float
    unit: str
    source: str
    doc: str
    low: float = -math.inf
    high: float = math.inf


@dataclass(frozen=True)
class MeasureSpec:
    """One assessment a model reports: unit and what it means."""

    unit: str
    doc: str


@dataclass(frozen=True)
class ModelInfo:
    """The declarative part of a model, read by the config layer, the CLI and the docs."""

    name: str
    summary: str
    source: str
    params: dict[str, ParamSpec]
    measures: dict[str, MeasureSpec]
    tasks: tuple[str, ...]
    reps_per_minute: float
    injuries: dict[str, str] = field(default_factory=dict)
    options: dict[str, tuple[int, int]] = field(default_factory=dict)  # structure: name -> range
    capabilities: tuple[str, ...] = ()  # what interventions may require, e.g. "two-limbs"

    def __post_init__(self) -> None:
        # Every model carries the patient's condition (fatigue, pain, genotype, responsiveness;
        # core.modulators) and reports what the engine adds (what was done, decisions).
        from neurorehab.models.modulators import ENGINE_MEASURE_SPECS, MODULATOR_PARAMS

        object.__setattr__(self, "params", {**self.params, **MODULATOR_PARAMS})
        object.__setattr__(self, "measures", {**self.measures, **ENGINE_MEASURE_SPECS})


def default_params(
    info: ModelInfo, n: int | None = None, overrides: dict[str, object] | None = None
) -> dict[str, Array]:
    """Parameters as float32 arrays: scalars, or [n] rows when `n` is given.

    `overrides` maps a parameter name to a scalar or an [n] array of per-patient values.
    """
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(info.params))
    if unknown:
        raise KeyError(f"{info.name} has no parameter(s) {unknown}; valid: {sorted(info.params)}")
    out = {}
    for name, spec in info.params.items():
        value = jnp.asarray(overrides.get(name, spec.default), jnp.float32)
        out[name] = value if n is None else jnp.broadcast_to(value, (n,))
    return out
