"""The scenario file, validated by frozen pydantic models that refuse unknown keys.

An error names the field's path, the value given and what would be valid; `ScenarioError`
carries those lines to the CLI, which prints them and exits with code 2.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from neurorehab.config import inputs
from neurorehab.config.inputs import InputError, shorten
from neurorehab.core import condition as condition_
from neurorehab.models import registry

MAX_ERROR_CHARS = 1_900  # an error report stays readable: at most this much, then "and N more"
MAX_LINE_CHARS = 600


def fit_lines(lines: list[str], budget: int = MAX_ERROR_CHARS) -> list[str]:
    """Lines cut to MAX_LINE_CHARS each and to `budget` in all; the rest counted, not shown."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        line = (
            line
            if len(line) <= MAX_LINE_CHARS
            else line[: MAX_LINE_CHARS - 20] + f"... ({len(line):,} chars)"
        )
        if used + len(line) > budget and out:
            out.append(f"... and {len(lines) - i} more problems (fix these first)")
            break
        out.append(line)
        used += len(line) + 4
    return out


class ScenarioError(Exception):
    """A scenario the user wrote is not valid; `lines` say where and why (at most
    MAX_ERROR_CHARS characters in all, however bad the input)."""

    def __init__(self, lines: list[str], source: str = "scenario"):
        self.lines = fit_lines(list(lines) or ["not valid"])
        self.source = shorten(source, 200).strip("'") if len(source) > 200 else source
        super().__init__(f"{self.source}: " + "; ".join(self.lines))


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Fixed(_Strict):
    """Every patient gets the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float


class Normal(_Strict):
    """Normal distribution, clipped to the parameter's valid range."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)


class LogNormal(_Strict):
    """Log-normal distribution given by its median and the SD of log(value)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sd_log: float = Field(ge=0)


class Uniform(_Strict):
    """Uniform distribution on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self


Distribution = Annotated[Fixed | Normal | LogNormal | Uniform, Field(discriminator="dist")]
DISTRIBUTIONS = ("fixed", "normal", "lognormal", "uniform")


def _quantity_kind(v: Any) -> str | None:
    """Which alternative a value-or-distribution is: a number, or the mapping its `dist` names
    (a mapping with only `value` is fixed). None: neither, and the error names the choices."""
    if isinstance(v, Fixed | Normal | LogNormal | Uniform):  # serialising a validated scenario
        return v.dist
    if isinstance(v, dict):
        dist = v.get("dist", "fixed" if "value" in v else None)
        return dist if isinstance(dist, str) and dist in DISTRIBUTIONS else None
    if isinstance(v, int | float | str) and not isinstance(v, bool):
        return "number"
    return None


QUANTITY_ERROR = "quantity"
Quantity = Annotated[
    Annotated[float, Tag("number")]
    | Annotated[Fixed, Tag("fixed")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[LogNormal, Tag("lognormal")]
    | Annotated[Uniform, Tag("uniform")],
    Discriminator(
        _quantity_kind,
        custom_error_type=QUANTITY_ERROR,
        custom_error_message="give a number, or a mapping whose `dist` is one of " + ", ".join(DISTRIBUTIONS),
    ),
]


class Correlation(_Strict):
    """A correlation between two varying quantities (model parameters, traits or event parameters),
    imposed by a Gaussian copula: each keeps its own distribution."""

    a: str
    b: str
    r: float = Field(gt=-1, lt=1, description="correlation of the underlying normal scores")


class Patients(_Strict):
    """How many virtual patients each arm simulates, and how their parameters and traits vary."""

    count: int = Field(ge=1, le=1_000_000, description="virtual patients (each arm runs all of them)")
    params: dict[str, Quantity] = Field(
        default_factory=dict, description="model parameter -> a number or a distribution"
    )
    condition: dict[str, Quantity] = Field(
        default_factory=dict,
        description="the patient's condition (fatigue, pain, genotype, responsiveness, sleep; "
        "`neurorehab list condition`) -> a number or a distribution",
    )
    traits: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")], Quantity] = Field(
        default_factory=dict,
        description="recorded patient traits (age, months since injury, ...) -> a number or a distribution; "
        "they act on the model only through correlations with its parameters",
    )
    correlations: list[Correlation] = Field(
        default_factory=list, max_length=500, description="pairwise correlations (Gaussian copula)"
    )
    table: str | None = Field(
        default=None,
        description="CSV of real or reference patients (a header of parameter/trait names, one row per "
        "patient); each virtual patient draws one row, whose values replace the distributions",
    )


class Event(_Strict):
    """Something that happens to every patient on a day: a lesion, a cut, its repair, a relapse."""

    kind: str = Field(description="an event the model declares (see `neurorehab list events`)")
    day: int = Field(ge=0, le=3650, description="day of the event (before that day's sessions)")
    name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_-]{0,39}$",
        description="a label (default: the kind); a varying parameter is then called NAME.PARAM",
    )
    params: dict[str, Quantity] = Field(
        default_factory=dict,
        description="the event's parameters -> a number or a distribution over patients "
        "(draws are clipped to the parameter's range)",
    )

    @property
    def label(self) -> str:
        return self.name or self.kind


class HomeAdherence(_Strict):
    """A home programme: the probability that the patient does each session."""

    initial: float = Field(ge=0, le=1, description="probability of doing a session at the block's start")
    per_week: float = Field(default=0.0, ge=-1, le=1, description="change of that probability per week")
    per_progress: float = Field(
        default=0.0,
        ge=-10,
        le=10,
        description="change per unit of perceived progress (the arm's progression measure)",
    )


class Progression(_Strict):
    """Progression from reassessment: the dose of the arm's progressive blocks follows the rule."""

    measure: str = Field(description="the measure reassessed (a measure of the model)")
    milestone: float = Field(gt=0, description="improvement between reassessments that steps the dose up")
    every_days: int = Field(default=7, ge=1, le=365, description="days between reassessments")
    start_day: int = Field(default=0, ge=0, le=3650, description="day of the baseline reassessment")
    higher_is_better: bool = True
    up: float = Field(default=1.25, gt=1, le=4, description="dose factor of a step up")
    down: float = Field(default=0.8, gt=0, lt=1, description="dose factor of a step down")
    min_factor: float = Field(default=0.5, gt=0, le=1)
    max_factor: float = Field(default=3.0, ge=1, le=10)
    pain_limit: float = Field(
        default=5.0, ge=0, le=10, description="peak pain (NRS) that steps the dose down"
    )
    fatigue_limit: float = Field(
        default=0.8, gt=0, le=1, description="peak fatigue (0-1) that steps the dose down"
    )

    def days(self, duration_days: int) -> list[int]:
        """The reassessment days within a scenario of `duration_days`."""
        return list(range(self.start_day, duration_days + 1, self.every_days))


class Block(_Strict):
    """A block of sessions: one intervention, a weekly schedule, a time of day and a dose."""

    intervention: str = "task-practice"
    start_day: int = Field(ge=0, le=3650)
    weeks: float | None = Field(default=None, gt=0, le=520, description="block length in weeks")
    days: int | None = Field(default=None, ge=1, le=3650, description="or block length in days")
    sessions_per_week: int = Field(ge=1, le=7)
    sessions_per_day: int = Field(default=1, ge=1, le=6, description="sessions on a session day")
    hours_between: float = Field(default=4.0, ge=0.25, le=12, description="hours between a day's sessions")
    repetitions: int | None = Field(
        default=None, ge=1, le=100_000, description="trials a session (or give minutes)"
    )
    minutes: float | None = Field(
        default=None, gt=0, le=600, description="minutes a session, at the model's pace"
    )
    task: str | int = 0
    intensity: float = Field(
        default=1.0, gt=0, le=2, description="1 = usual for practice; fraction of peak work rate for exercise"
    )
    hour: float = Field(default=9.0, ge=0, lt=24, description="clock time of the day's first session")
    adherence: HomeAdherence | None = Field(
        default=None, description="a home programme (default: supervised)"
    )
    progressive: bool = Field(
        default=False, description="the arm's progression rule scales this block's dose"
    )
    params: dict[str, float] = Field(
        default_factory=dict,
        description="the intervention's parameters (e.g. error_gain, mitt_share, priming; see "
        "`neurorehab list interventions`)",
    )

    @model_validator(mode="after")
    def _one_dose(self) -> Block:
        if (self.repetitions is None) == (self.minutes is None):
            raise ValueError("give exactly one of repetitions or minutes for the session dose")
        if (self.weeks is None) == (self.days is None):
            raise ValueError("give exactly one of weeks or days for the block's length")
        return self

    @model_validator(mode="after")
    def _after_the_clock_starts(self) -> Block:
        if self.start_day == 0 and self.hour < 9:
            raise ValueError(f"day 0 starts at 9:00 (the scenario's clock); hour {self.hour:g} is before it")
        return self

    @model_validator(mode="after")
    def _fits_in_day(self) -> Block:
        last = self.hour + (self.sessions_per_day - 1) * self.hours_between
        if last >= 24:
            raise ValueError(
                f"{self.sessions_per_day} sessions {self.hours_between} h apart from {self.hour:g}:00 end at "
                f"{last:g}:00, past midnight; use fewer sessions or fewer hours between them"
            )
        return self

    @property
    def n_days(self) -> int:
        return self.days if self.days is not None else max(1, round((self.weeks or 0) * 7))


MAX_SESSIONS_AN_ARM = 20_000  # five sessions a day for ten years is 18,250


class Arm(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    protocol: list[Block] = Field(
        default_factory=list, max_length=1000, description="blocks; empty: no therapy"
    )
    progression: Progression | None = Field(default=None, description="reassess and adjust the dose")

    @model_validator(mode="after")
    def _bounded(self) -> Arm:
        # Counted before any calendar is built: a few kB of blocks could ask for 10^8 sessions.
        total = sum(b.n_days * b.sessions_per_week / 7 * b.sessions_per_day for b in self.protocol)
        if total > MAX_SESSIONS_AN_ARM:
            raise ValueError(
                f"its blocks hold about {total:,.0f} sessions; an arm may hold at most "
                f"{MAX_SESSIONS_AN_ARM:,}: fewer or shorter blocks"
            )
        return self


class Timed(_Strict):
    """An assessment at a clock time, with optional retests (no practice: assessing changes
    nothing, each retest draws its own measurement noise)."""

    day: int = Field(ge=0, le=3650)
    hour: float = Field(ge=0, lt=24, description="clock time, e.g. 14.5 for 14:30")
    retests: int = Field(default=0, ge=0, le=20, description="further assessments right after")
    retest_minutes: float = Field(default=10.0, ge=1, le=120, description="minutes between retests")

    @model_validator(mode="after")
    def _within_the_day(self) -> Timed:
        last = self.hour + self.retests * self.retest_minutes / 60.0
        if last >= 24:
            raise ValueError(
                f"{self.retests} retests {self.retest_minutes:g} min apart from {self.hour:g} h end at "
                f"{last:g} h, past midnight; use fewer retests or an earlier hour"
            )
        if self.day == 0 and self.hour < 9:
            raise ValueError(f"day 0 starts at 9:00 (the scenario's clock); {self.hour:g} h is before it")
        return self

    def times(self) -> list[tuple[int, float]]:
        return [(self.day, self.hour + k * self.retest_minutes / 60.0) for k in range(self.retests + 1)]


class Assessments(_Strict):
    every_days: int = Field(default=7, ge=1, le=3650, description="assess every N days from day 0")
    days: list[Annotated[int, Field(ge=0, le=3650)]] = Field(
        default_factory=list, max_length=3651, description="extra days"
    )
    at: list[Timed] = Field(
        default_factory=list, max_length=1000, description="assessments at a clock time, with retests"
    )
    measures: list[str] | None = Field(default=None, description="measures to keep (default: all)")


class Allocation(_Strict):
    """How enrolled patients are randomised to arms."""

    scheme: Literal["simple", "block", "stratified"] = "block"
    block_size: int = Field(default=4, ge=2, le=100, description="a multiple of the number of arms")
    strata: list[str] = Field(
        default_factory=list,
        description="for `stratified`: quantities split at their median; blocks run within each stratum",
    )


class Endpoint(_Strict):
    measure: str = Field(description="the primary outcome, a measure of the model")
    baseline_day: int = Field(ge=0, le=3650, description="day of the baseline assessment (enrolment)")
    followup_day: int = Field(ge=1, le=3650, description="day of the primary follow-up assessment")


class Secondary(Endpoint):
    """A secondary outcome, analysed like the primary (ANCOVA of follow-up on arm and baseline)
    over the same allocation and drop-out. `scale: log` analyses log values and reports the
    effect as a percentage ratio (a timed test such as the WMFT, whose trials analyse log time:
    Wolf et al. 2006)."""

    higher_is_better: bool = Field(default=True, description="direction of benefit of the measure")
    scale: Literal["raw", "log"] = Field(default="raw", description="log: effects as % ratios of values")


class Criterion(_Strict):
    """An inclusion criterion on a measure at screening: `at_least` and/or `at_most` (both
    inclusive). A patient is enrolled when every criterion holds."""

    measure: str = Field(description="a measure of the model")
    day: int = Field(ge=0, le=3650, description="day of the screening assessment (at or before baseline)")
    at_least: float | None = Field(default=None, description="lowest value enrolled")
    at_most: float | None = Field(default=None, description="highest value enrolled")


class Power(_Strict):
    """Power by simulation: repeat the trial at candidate sizes, drawing from the simulated cohort."""

    sizes: list[Annotated[int, Field(ge=4, le=100_000)]] = Field(
        min_length=1, description="patients per arm to try"
    )
    repeats: int = Field(default=200, ge=20, le=20_000, description="virtual trials per size")


class Trial(_Strict):
    """A randomised virtual trial over the scenario's arms: allocation, drop-out and analysis."""

    control: str = Field(description="the comparator arm (e.g. usual care)")
    primary: Endpoint
    secondary: list[Secondary] = Field(
        default_factory=list, max_length=20, description="secondary outcomes (e.g. another measure or day)"
    )
    eligibility: list[Criterion] = Field(
        default_factory=list,
        max_length=20,
        description="inclusion criteria on measures at screening; screened patients who fail any are "
        "not enrolled (default: every patient is enrolled)",
    )
    allocation: Allocation = Allocation()
    dropout_per_week: float = Field(
        default=0.0, ge=0, le=0.5, description="probability that a patient leaves in any week after baseline"
    )
    mid: float | None = Field(
        default=None, gt=0, description="minimal important difference of the primary change (responders)"
    )
    higher_is_better: bool = Field(default=True, description="direction of benefit of the primary measure")
    subgroups: list[str] = Field(
        default_factory=list, description="quantities whose low and high halves get their own effect"
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="two-sided significance level")
    power: Power | None = None


class Scenario(_Strict):
    """A whole scenario: model, patients, events, arms, assessments, seed and output."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    model: str
    model_options: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict, description="model structure (sizes), e.g. n_cells"
    )
    seed: int = Field(ge=0, le=2**31 - 1)
    duration_days: int = Field(ge=1, le=3650)
    patients: Patients
    events: list[Event] = Field(
        default_factory=list,
        max_length=256,
        description="injuries and other events; each draws its own random numbers from its place in the list",
    )
    arms: list[Arm] = Field(min_length=1, max_length=64)
    assessments: Assessments = Assessments()
    trial: Trial | None = Field(default=None, description="analyse the arms as a randomised trial")
    output: str | None = Field(default=None, description="output folder (the CLI's --out wins)")
    chunk_size: int | None = Field(
        default=None,
        ge=1,
        le=16_384,
        description="patients per vectorised chunk and per result shard (default: sized to the cache); "
        "a chunk is rounded up to whole lanes of the model (`neurorehab.core.engine.lanes`)",
    )

    @model_validator(mode="after")
    def _model_aware(self) -> Scenario:
        errors = _model_errors(self)
        if errors:
            raise ValueError(" | ".join(errors))
        return self


def _dist_errors(where: str, given: dict[str, Any], specs: dict[str, Any], owner: str) -> list[str]:
    """Unknown names and out-of-range centres of a parameter -> value-or-distribution mapping."""
    errors = []
    for key, dist in given.items():
        spec = specs.get(key)
        if spec is None:
            errors.append(f"{where}.{key}: not a parameter of {owner}; valid: {sorted(specs) or 'none'}")
            continue
        centre = float(dist) if isinstance(dist, float | int) else _centre(dist)
        if (problem := spec.check(centre)) is not None:
            errors.append(f"{where}.{key}: {problem}")
    return errors


def _model_errors(s: Scenario) -> list[str]:
    known = registry.models()
    if s.model not in known:
        return [f"model: unknown model {s.model!r}; valid: {sorted(known)}"]
    info = known[s.model]
    errors = []
    for key, value in s.model_options.items():
        if key not in info.options:
            errors.append(f"model_options.{key}: not an option of {s.model}; valid: {sorted(info.options)}")
        elif not info.options[key][0] <= value <= info.options[key][1]:
            lo, hi = info.options[key]
            errors.append(f"model_options.{key}: {value} is out of range; valid: {lo}..{hi}")
    moved = sorted(set(s.patients.params) & set(condition_.PARAMS))
    for key in moved:
        errors.append(
            f"patients.params.{key}: {key!r} is a parameter of the patient's condition, not of "
            f"{s.model}; move it to patients.condition.{key}"
        )
    errors += _dist_errors(
        "patients.params",
        {k: v for k, v in s.patients.params.items() if k not in moved},
        info.params,
        s.model,
    )
    errors += _dist_errors("patients.condition", s.patients.condition, condition_.PARAMS, "the condition")
    labels = [e.label for e in s.events]
    for i, e in enumerate(s.events):
        where = f"events[{i}]"
        if e.kind not in info.events:
            errors.append(
                f"{where}.kind: {e.kind!r} is not an event of {s.model}; "
                f"valid: {sorted(info.events) or 'none (omit events)'}"
            )
        else:
            errors += _dist_errors(f"{where}.params", e.params, info.events[e.kind].params, e.kind)
        if e.day > s.duration_days:
            errors.append(f"{where}.day: {e.day} is after duration_days ({s.duration_days})")
        if labels.count(e.label) > 1:
            errors.append(f"{where}: two events are called {e.label!r}; give each a distinct `name`")
    available = info.available_interventions()
    names = [a.name for a in s.arms]
    if len(set(names)) != len(names):
        errors.append(f"arms: names must be unique, got {names}")
    for i, arm in enumerate(s.arms):
        for j, b in enumerate(arm.protocol):
            where = f"arms[{i}] ({arm.name}).protocol[{j}]"
            if b.intervention not in available:
                generic = registry.INTERVENTIONS.get(b.intervention)
                needs = (
                    f" (it needs {', '.join(generic.requires)}, which {s.model} does not declare)"
                    if generic
                    else ""
                )
                errors.append(
                    f"{where}.intervention: {b.intervention!r} is not an intervention of "
                    f"{s.model}{needs}; valid: {sorted(available)}"
                )
            else:
                for key, given in b.params.items():
                    spec = available[b.intervention].params.get(key)
                    if spec is None:
                        errors.append(
                            f"{where}.params.{key}: not a parameter of {b.intervention!r}; "
                            f"valid: {sorted(available[b.intervention].params) or 'none'}"
                        )
                    elif (problem := spec.check(given)) is not None:
                        errors.append(f"{where}.params.{key}: {problem}")
            if isinstance(b.task, str) and b.task not in info.tasks:
                errors.append(
                    f"{where}.task: {b.task!r} is not a task of {s.model}; "
                    f"valid: {list(info.tasks)} or 0..{len(info.tasks) - 1}"
                )
            if isinstance(b.task, int) and not 0 <= b.task < len(info.tasks):
                errors.append(f"{where}.task: {b.task} is out of range; valid: 0..{len(info.tasks) - 1}")
            iv = available.get(b.intervention)
            if iv is not None and b.intensity > iv.max_intensity:
                errors.append(
                    f"{where}.intensity: {b.intensity} is above {iv.max_intensity} for {b.intervention!r} "
                    "(exercise intensity is a fraction of peak work rate)"
                )
            if b.progressive and arm.progression is None:
                errors.append(
                    f"{where}.progressive: the arm has no progression rule (add arms[{i}].progression)"
                )
            if b.adherence and b.adherence.per_progress and arm.progression is None:
                errors.append(
                    f"{where}.adherence.per_progress: perceived progress needs arms[{i}].progression "
                    "(its measure is what the patient perceives)"
                )
            end = b.start_day + b.n_days - 1
            if end > s.duration_days:
                errors.append(f"{where}: runs to day {end}, after duration_days ({s.duration_days})")
        if arm.progression is not None and arm.progression.measure not in _measures(info):
            errors.append(
                f"arms[{i}] ({arm.name}).progression.measure: {arm.progression.measure!r} is not a measure "
                f"of {s.model}; valid: {sorted(_measures(info))}"
            )
        if arm.progression is not None and arm.progression.start_day > s.duration_days:
            errors.append(
                f"arms[{i}] ({arm.name}).progression.start_day: after duration_days ({s.duration_days})"
            )
    if not errors:
        errors += _schedule_errors(s)
    errors += _cohort_errors(s, info)
    if s.trial is not None:
        errors += _trial_errors(s, info)
    if s.assessments.measures is not None:
        bad = sorted(set(s.assessments.measures) - set(_measures(info)))
        if bad:
            errors.append(
                f"assessments.measures: {bad} not measures of {s.model}; valid: {sorted(_measures(info))}"
            )
    late = [d for d in s.assessments.days + [t.day for t in s.assessments.at] if d > s.duration_days]
    if late:
        errors.append(f"assessments.days: {late} after duration_days ({s.duration_days})")
    return errors


def varying(s: Scenario) -> dict[str, Any]:
    """Every quantity a patient can differ in, by name: model and condition parameters, traits,
    and event parameters (as NAME.PARAM)."""
    out: dict[str, Any] = dict(s.patients.params)
    out.update(s.patients.condition)
    out.update(s.patients.traits)
    for e in s.events:
        out.update({f"{e.label}.{k}": v for k, v in e.params.items()})
    if s.patients.table is not None:
        with contextlib.suppress(ValueError):  # reported by _cohort_errors
            out.update(dict.fromkeys(inputs.read_table(s.patients.table).columns, "table"))
    return out


def _cohort_errors(s: Scenario, info: Any) -> list[str]:
    errors = []
    clash = sorted(set(s.patients.traits) & (set(info.params) | set(condition_.PARAMS)))
    if clash:
        errors.append(f"patients.traits: {clash} are model or condition parameters; name traits apart")
    if s.patients.table is not None:
        try:
            columns = inputs.read_table(s.patients.table).columns
        except ValueError as err:
            errors.append(f"patients.table: {err}")
        else:
            bad = [c for c in columns if not c.replace("_", "a").replace(".", "a").replace("-", "a").isalnum()
                   or not c[:1].isalpha()]  # fmt: skip
            if bad:
                errors.append(f"patients.table: column names {bad} must be identifiers like `age`")
            specs = {**info.params, **condition_.PARAMS, **_event_specs(s, info)}
            if "severity" in columns and "severity" not in specs:
                names = sorted(k for k in _event_specs(s, info) if k.endswith(".severity"))
                errors.append(
                    "patients.table: a `severity` column no longer names an injury's severity; "
                    f"call it after its event: {names or 'NAME.severity'}"
                )
            for name in sorted(c for c in columns if "." in c and c not in specs):
                errors.append(
                    f"patients.table: column {name!r} names no event parameter; valid: "
                    f"{sorted(_event_specs(s, info)) or 'none (no events)'}"
                )
            for name in sorted(set(columns) & set(specs)):
                spec, col = specs[name], columns[name]
                if col.min() < spec.low or col.max() > spec.high:
                    errors.append(
                        f"patients.table: column {name!r} spans [{col.min():g}, {col.max():g}], outside "
                        f"the valid range [{spec.low}, {spec.high}] {spec.unit}"
                    )
    known = varying(s)
    for i, c in enumerate(s.patients.correlations):
        for side in ("a", "b"):
            name = getattr(c, side)
            if name not in known and name not in info.params:
                errors.append(
                    f"patients.correlations[{i}].{side}: {name!r} is not a parameter, trait or event "
                    f"parameter; valid: {sorted(set(known) | set(info.params))}"
                )
            elif known.get(name) == "table":
                errors.append(
                    f"patients.correlations[{i}].{side}: {name!r} comes from patients.table, whose rows "
                    "already carry their own correlations"
                )
            elif isinstance(known.get(name), float | int | Fixed) or name not in known:
                errors.append(
                    f"patients.correlations[{i}].{side}: {name!r} does not vary between patients; "
                    "give it a distribution first"
                )
        if c.a == c.b:
            errors.append(f"patients.correlations[{i}]: a and b are both {c.a!r}")
    if not errors and s.patients.correlations:
        import numpy as np

        names, r = correlation_matrix(s.patients.correlations)
        if np.linalg.eigvalsh(r).min() <= 1e-9:
            errors.append(
                f"patients.correlations: the matrix over {names} is not positive definite; "
                "these correlations cannot hold together, make them weaker"
            )
    return errors


def _measures(info: Any) -> dict[str, Any]:
    """A model's measures and those the engine adds to every model's."""
    return {**info.measures, **condition_.MEASURES}


def _event_specs(s: Scenario, info: Any) -> dict[str, Any]:
    """NAME.PARAM -> the declared parameter, for every event of the scenario."""
    return {
        f"{e.label}.{k}": spec
        for e in s.events
        if e.kind in info.events
        for k, spec in info.events[e.kind].params.items()
    }


def correlation_matrix(pairs: list[Correlation]) -> tuple[list[str], Any]:
    """The names the correlations mention (sorted) and their correlation matrix."""
    import numpy as np

    names = sorted({c.a for c in pairs} | {c.b for c in pairs})
    r = np.eye(len(names))
    for c in pairs:
        i, j = names.index(c.a), names.index(c.b)
        r[i, j] = r[j, i] = c.r
    return names, r


def _trial_errors(s: Scenario, info: Any) -> list[str]:
    t = s.trial
    assert t is not None
    errors = []
    names = [a.name for a in s.arms]
    if t.control not in names:
        errors.append(f"trial.control: {t.control!r} is not an arm; valid: {names}")
    if len(names) < 2:
        errors.append("arms: a trial needs at least two arms")
    if t.primary.measure not in _measures(info):
        errors.append(
            f"trial.primary.measure: {t.primary.measure!r} is not a measure of {s.model}; "
            f"valid: {sorted(_measures(info))}"
        )
    elif s.assessments.measures is not None and t.primary.measure not in s.assessments.measures:
        errors.append(f"trial.primary.measure: {t.primary.measure!r} is not in assessments.measures")
    assessed = (
        set(range(0, s.duration_days + 1, s.assessments.every_days))
        | set(s.assessments.days)
        | {t.day for t in s.assessments.at}
    )
    ends = [("trial.primary", t.primary)] + [(f"trial.secondary.{i}", e) for i, e in enumerate(t.secondary)]
    for where, end in ends:
        if where != "trial.primary":
            if end.measure not in _measures(info):
                errors.append(f"{where}.measure: {end.measure!r} is not a measure of {s.model}; "
                              f"valid: {sorted(_measures(info))}")  # fmt: skip
            elif s.assessments.measures is not None and end.measure not in s.assessments.measures:
                errors.append(f"{where}.measure: {end.measure!r} is not in assessments.measures")
        for field in ("baseline_day", "followup_day"):
            day = getattr(end, field)
            if day not in assessed:
                errors.append(
                    f"{where}.{field}: day {day} is not an assessment day; add it to assessments.days"
                )
        if end.followup_day <= end.baseline_day:
            errors.append(
                f"{where}.followup_day: {end.followup_day} must come after baseline_day ({end.baseline_day})"
            )
    for i, crit in enumerate(t.eligibility):
        where = f"trial.eligibility.{i}"
        if crit.measure not in _measures(info):
            errors.append(f"{where}.measure: {crit.measure!r} is not a measure of {s.model}; "
                          f"valid: {sorted(_measures(info))}")  # fmt: skip
        elif s.assessments.measures is not None and crit.measure not in s.assessments.measures:
            errors.append(f"{where}.measure: {crit.measure!r} is not in assessments.measures")
        if crit.day not in assessed:
            errors.append(f"{where}.day: day {crit.day} is not an assessment day; add it to assessments.days")
        if crit.day > t.primary.baseline_day:
            errors.append(f"{where}.day: screening on day {crit.day} comes after baseline_day "
                          f"({t.primary.baseline_day}); screen at or before baseline")  # fmt: skip
        if crit.at_least is None and crit.at_most is None:
            errors.append(f"{where}: give at_least, at_most or both")
        elif crit.at_least is not None and crit.at_most is not None and crit.at_least > crit.at_most:
            errors.append(f"{where}: at_least ({crit.at_least:g}) is above at_most ({crit.at_most:g})")
    if t.allocation.block_size % max(len(names), 1):
        errors.append(
            f"trial.allocation.block_size: {t.allocation.block_size} is not a multiple of the "
            f"{len(names)} arms"
        )
    if t.allocation.scheme == "stratified" and not t.allocation.strata:
        errors.append("trial.allocation.strata: `stratified` needs at least one quantity to stratify by")
    known = varying(s)
    for field, listed in (("allocation.strata", t.allocation.strata), ("subgroups", t.subgroups)):
        for name in listed:
            if name not in known or isinstance(known[name], float | int | Fixed):
                valid = sorted(k for k, v in known.items() if not isinstance(v, float | int | Fixed))
                errors.append(
                    f"trial.{field}: {name!r} is not a quantity that varies between patients; "
                    f"valid: {valid or 'none (give parameters or traits a distribution)'}"
                )
    return errors


MAX_THERAPY_MINUTES_A_DAY = 12 * 60  # waking hours left after sleep, meals and rest


def _schedule_errors(s: Scenario) -> list[str]:
    """Sessions that collide or overrun the day are refused, naming the arm and blocks."""
    from neurorehab.models.protocol import Block as CoreBlock
    from neurorehab.models.protocol import sessions

    info = registry.get(s.model)
    errors = []
    for i, arm in enumerate(s.arms):
        where = f"arms[{i}] ({arm.name}).protocol"
        blocks = [core_block(b, info, CoreBlock) for b in arm.protocol]
        try:
            sessions(blocks, len(info.tasks), interventions=info.available_interventions())
        except ValueError as err:
            errors.append(f"{where}: {err}")
            continue
        booked: dict[int, list[tuple[float, float, int]]] = {}
        for j, (b, core) in enumerate(zip(arm.protocol, blocks, strict=True)):
            minutes = b.minutes if b.minutes is not None else (b.repetitions or 0) / info.reps_per_minute
            for day, hour in core.session_times():
                booked.setdefault(day, []).append((hour, hour + minutes / 60.0, j))
        for day, items in sorted(booked.items()):
            items.sort()
            total = sum(60 * (end - start) for start, end, _ in items)
            if total > MAX_THERAPY_MINUTES_A_DAY:
                blocks_named = sorted({j for *_, j in items})
                errors.append(
                    f"{where}: day {day} books {total:.0f} minutes of sessions (blocks {blocks_named}), "
                    f"more than {MAX_THERAPY_MINUTES_A_DAY} a day; lower the dose or spread the blocks"
                )
                break
            clash = next(((a, b) for a, b in itertools.pairwise(items) if b[0] < a[1] - 1e-9), None)
            if clash:
                (s0, e0, j0), (s1, _, j1) = clash
                errors.append(
                    f"{where}[{j1}]: its session on day {day} at {s1:g} h starts before the session of "
                    f"block {j0} ({s0:g} h, {60 * (e0 - s0):.0f} min) ends; move its hour"
                )
                break
    return errors


def core_block(b: Block, info: Any, core: Any) -> Any:
    """The core protocol block of a scenario block (dose in repetitions at the model's pace)."""
    from neurorehab.models.protocol import Adherence

    adherence = Adherence(**b.adherence.model_dump()) if b.adherence else Adherence()
    return core(
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
        hour=b.hour,
        adherence=adherence,
        progressive=b.progressive,
        params=dict(b.params),
    )


def _centre(d: Fixed | Normal | LogNormal | Uniform) -> float:
    match d:
        case Fixed(value=v):
            return v
        case Normal(mean=m):
            return m
        case LogNormal(median=m):
            return m
        case Uniform(low=lo, high=hi):
            return (lo + hi) / 2
    raise TypeError(d)


_UNION_PARTS = {"number", "fixed", "normal", "lognormal", "uniform", "float", "int", "str", "list[Block]"}


def _format(err: ValidationError) -> list[str]:
    """One line per field: "path: message (got value)"; a union's alternatives give one line.
    Echoed values and path parts are shortened (inputs.shorten), so a huge value gives a short line."""
    lines, seen = [], set()
    for e in err.errors():
        parts = [inputs.path_part(p) for p in e["loc"]]
        parts = [
            p for p in parts if p not in _UNION_PARTS and not p.startswith(("function-", "tagged-union"))
        ]
        path = ".".join(parts)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "value_error" and not e["loc"]:
            lines.extend(msg.split(" | "))
            continue
        if path in seen:  # the other alternatives of a union failed too; the first says enough
            continue
        seen.add(path)
        given = e.get("input")
        shown = "" if e["type"] == "missing" or isinstance(given, dict) else f" (got {shorten(given)})"
        if e["type"] == QUANTITY_ERROR and isinstance(given, dict):
            shown = f" (got dist: {shorten(given['dist'])})" if "dist" in given else " (no `dist` given)"
        if e["type"] == "extra_forbidden":
            msg = "unknown key; check its spelling against `neurorehab schema`"
        lines.append(f"{path or '(top level)'}: {msg}{shown}")
    return lines


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Older scenario files still load: the single `injury: {kind, day, severity}` becomes one
    event named `injury`, and the quantity `severity` that strata, subgroups and correlations
    name becomes `injury.severity`. Anything else an older file holds is reported by
    validation with how to rewrite it."""
    if "injury" not in data or "events" in data:
        return data
    data = dict(data)
    old = data.pop("injury")
    if old is None:
        return data
    if not isinstance(old, dict):
        return {**data, "events": old}  # validation reports the shape
    event = {k: v for k, v in old.items() if k in ("kind", "day")}
    event["name"] = "injury"
    event["params"] = {"severity": old.get("severity", 1.0)}  # the old default
    event.update({k: v for k, v in old.items() if k not in ("kind", "day", "severity")})
    data["events"] = [event]

    def rename(x: Any) -> Any:
        return "injury.severity" if x == "severity" else x

    trial = data.get("trial")
    if isinstance(trial, dict):
        trial = dict(trial)
        if isinstance(trial.get("subgroups"), list):
            trial["subgroups"] = [rename(x) for x in trial["subgroups"]]
        alloc = trial.get("allocation")
        if isinstance(alloc, dict) and isinstance(alloc.get("strata"), list):
            trial["allocation"] = {**alloc, "strata": [rename(x) for x in alloc["strata"]]}
        data["trial"] = trial
    patients = data.get("patients")
    if isinstance(patients, dict) and isinstance(patients.get("correlations"), list):
        data["patients"] = {
            **patients,
            "correlations": [
                {**c, "a": rename(c.get("a")), "b": rename(c.get("b"))} if isinstance(c, dict) else c
                for c in patients["correlations"]
            ],
        }
    return data


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate already-loaded YAML data; raises ScenarioError with plain lines."""
    if not isinstance(data, dict):
        raise ScenarioError([f"(top level): expected a mapping of keys, got {type(data).__name__}"], source)
    data = upgrade(data)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_format(err), source) from None


def _resolve_table(data: Any, folder: Path) -> None:
    """A relative `patients.table` is read from the scenario's folder."""
    patients: Any = data.get("patients") if isinstance(data, dict) else None
    table = patients.get("table") if isinstance(patients, dict) else None
    if isinstance(table, str) and not Path(table).is_absolute() and (folder / table).exists():
        patients["table"] = str((folder / table).resolve())


def _yaml(text: str, source: str) -> Any:
    """YAML text to data within the input limits; every failure becomes a ScenarioError."""
    try:
        return inputs.parse_yaml(text)
    except InputError as err:
        raise ScenarioError(err.lines, source) from None
    except yaml.YAMLError as err:
        raise ScenarioError([inputs.yaml_error(err)], source) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file within the input limits (`neurorehab.config.inputs`);
    every failure becomes a ScenarioError."""
    p = Path(path)
    try:
        text = inputs.read_bytes(p, inputs.MAX_SCENARIO_BYTES, "scenario file").decode("utf-8")
    except InputError as err:
        raise ScenarioError([f"(file): {line}" for line in err.lines], str(p)) from None
    except UnicodeDecodeError as err:
        raise ScenarioError(
            [f"(file): not UTF-8 text (byte {err.start}); save it as UTF-8"], str(p)
        ) from None
    data = _yaml(text, str(p))
    _resolve_table(data, p.parent)
    return parse_scenario(data, str(p))


def parse_scenario_text(text: str, source: str = "scenario") -> Scenario:
    """Validate YAML text (within the input limits); raises ScenarioError with plain lines."""
    return parse_scenario(_yaml(text, source), source)
