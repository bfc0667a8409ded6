"""Declarations: a parameter or a measure with its unit, valid range and provenance.

Pure data, read by the config layer (validation, JSON Schema), the CLI (`neurorehab list`),
the docs and the conformance tests. A model, an event, an intervention and the patient's
condition all declare their numbers with these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class Instrument:
    """A clinical-style instrument a patient's history may hold, read as one of the model's
    measures (simulated scores are "-like": the model's, never the real instrument's).

    `noise_sd`: the measurement error of one administration, in the measure's unit, added to
    the model's noise-free score when simulating what a clinician would record; `low`/`high`:
    the valid score range (scores are clipped to it, and imported scores outside it are
    refused); `aliases`: the names and codes an import accepts for it (CSV `instrument`
    column, FHIR `Observation.code`), compared case-blind; `higher_is_better`: which end of
    the range is healthy (impairment is the distance from it).
    """

    measure: str
    noise_sd: float
    low: float
    high: float
    source: str
    aliases: tuple[str, ...] = ()
    higher_is_better: bool = True


@dataclass(frozen=True)
class Plan:
    """A candidate plan: its protocol blocks in scenario syntax, run one after another from
    the day after the fitting window (a block's `start_day` is set then; what a week asks of
    the patient follows from the blocks and the model's pace), the mechanism it works through,
    and a one-line summary (plain words)."""

    protocol: tuple[dict[str, Any], ...]
    mechanism: str
    summary: str = ""


@dataclass(frozen=True)
class FitSpec:
    """How one patient of this model is fitted and forecast (the fitting issue's declaration).

    `prior`: the fitted quantities in scenario syntax (a model parameter, or EVENT.param of an
    event in `history`) -> a distribution (dict as in a scenario's `patients.params`); their
    joint draw is the prior the estimator learns against. `history`: the scenario fragment
    every patient shares (model_options, events, fixed patients.params, the usual care of the
    fitting window as `protocol`); `onset_day`: the scenario day of the injury (day 0 since
    onset). `window_days`: the estimator reads assessments up to this many days after onset;
    later ones are what a forecast is checked against. `horizon_days`: forecasts run this far
    after onset. `plans`: the plan library. `primary`: the instrument a recommendation
    maximises and milestones use; `milestone`: its default target score; `grid_step`: days
    between the estimator's grid days in the window (assessments snap to the nearest).
    `particles`: paths simulated for each posterior draw of a forecast, of which one is kept,
    drawn with weights of the record's likelihood given the path's window scores (sequential
    importance resampling at the window's end), so that a forecast follows the course the
    window shows: for a model whose course the noise in the window decides (a bistable one),
    parameters alone leave both courses open. `particle_sd`: per instrument, the spread of a
    record about a path's window score beyond `noise_sd`, for a model whose scores carry their
    own retest error (its score is then not noise-free). Both shape forecasts only, not what
    an estimator learns.
    """

    prior: dict[str, dict[str, Any]]
    history: dict[str, Any]
    instruments: dict[str, Instrument]
    onset_day: int
    window_days: int
    horizon_days: int
    plans: dict[str, Plan]
    primary: str
    milestone: float
    source: str = ""
    grid_step: int = 1
    particles: int = 1
    particle_sd: dict[str, float] = field(default_factory=dict)
