"""Declarations: a parameter or a measure with its unit, valid range and provenance.

Pure data, read by the config layer (validation, JSON Schema), the CLI (`neurorehab list`),
the docs and the conformance tests. A model, an event, an intervention and the patient's
condition all declare their numbers with these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """One parameter: default, unit, provenance, meaning and valid range (inclusive).

    `fittable`: a patient's value may be estimated from assessments (the fitting layer reads it;
    which parameters are differentiable is the model's declaration, `ModelInfo.differentiable`).
    """

    default: float
    unit: str
    source: str
    doc: str
    low: float = -math.inf
    high: float = math.inf
    fittable: bool = False

    def check(self, value: float) -> str | None:
        """None if `value` is valid, else a plain reason naming the range and unit."""
        if not self.low <= value <= self.high:
            return f"{value:g} lies outside the valid range [{self.low:g}, {self.high:g}] {self.unit}"
        return None


@dataclass(frozen=True)
class Measure:
    """One assessment a model reports: unit and what it means."""

    unit: str
    doc: str
