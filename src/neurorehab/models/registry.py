"""A model declares itself once, and that declaration is its registration.

`ModelInfo` holds everything the generic layers need to know about a model: its class, its
parameters (units, ranges, provenance), measures, tasks, options, events and their parameters,
its own interventions and session gains, report figures, a small example instance for tests,
and which parameters are differentiable. `register(info)` adds it; a second model of the same
name is refused.

Bundled models are the sub-packages of `neurorehab.models`, each registering itself when
imported; models from other packages register through the entry-point group
`neurorehab.models` (an entry point names a module that calls `register`, or a `ModelInfo`).
Nothing else is edited to add a model.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Event, Model
from neurorehab.core.spec import FitSpec, Measure, Param
from neurorehab.models.interventions import INTERVENTIONS, Intervention
from neurorehab.models.views import RunView

ENTRY_POINT_GROUP = "neurorehab.models"


Figures = Callable[[RunView], list[tuple[str, Any]]]  # -> [(title, matplotlib Figure)]


@dataclass(frozen=True)
class ModelInfo:
    """The declaration of a model (see the module docstring).

    model: the `core.model.Model` subclass; params: its parameters; measures: what `assess`
    returns; tasks: names of task codes 0..; reps_per_minute: the pace that turns minutes of a
    session into repetitions; options: structural sizes (constructor keywords) with their
    inclusive ranges; events: event kinds by name; interventions: the model's own
    interventions (beside the generic library of `models.interventions`); gains: session gains
    the model reads beyond the generic ones (`Modulation.extra`), with their neutral values;
    capabilities: what generic interventions may require beyond gains; figures: a function
    (or "module:function", imported when a report is built) returning report figures;
    example: a small instance for tests; differentiable: parameter -> the measure whose
    gradient with respect to it is checked (conformance table); doc: one line of where the
    model's page is; stochastic: False when the model draws no random numbers (its measures
    do not depend on the key); techniques: rehabilitation techniques the model's own
    interventions express (technique -> how), added to `neurorehab list techniques`; fit: how
    one patient is fitted and forecast (`core.spec.FitSpec`; None: the model cannot be fitted).
    """

    name: str
    summary: str
    source: str
    model: type[Model]
    params: dict[str, Param]
    measures: dict[str, Measure]
    tasks: tuple[str, ...]
    reps_per_minute: float
    options: dict[str, tuple[int, int]] = field(default_factory=dict)
    events: dict[str, type[Event]] = field(default_factory=dict)
    interventions: dict[str, Intervention] = field(default_factory=dict)
    gains: dict[str, Param] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    figures: Figures | str | None = None
    example: Callable[[], Model] | None = None
    differentiable: dict[str, str] = field(default_factory=dict)
    stochastic: bool = True
    techniques: dict[str, str] = field(default_factory=dict)
    doc: str = ""
    fit: FitSpec | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.name.replace("-", "").replace("_", "").isalnum() or not self.name[:1].isalpha():
            problems.append(f"name {self.name!r} must be a word like `motor`")
        clash = sorted(set(self.interventions) & set(INTERVENTIONS))
        if clash:
            problems.append(f"interventions {clash} shadow generic interventions of the same name")
        for p, m in self.differentiable.items():
            if p not in self.params or m not in self.measures:
                problems.append(f"differentiable {p!r} -> {m!r}: not a declared parameter and measure")
        if not self.tasks:
            problems.append("declares no task")
        from neurorehab.core import condition
        from neurorehab.core.types import GENERIC_GAINS

        for kind, names, taken in (
            ("parameters", self.params, condition.PARAMS),
            ("measures", self.measures, condition.MEASURES),
            ("gains", self.gains, GENERIC_GAINS),
        ):
            if clash := sorted(set(names) & set(taken)):
                problems.append(
                    f"{kind} {clash} are the engine's own (the patient's condition or generic gains)"
                )
        if self.fit is not None:
            problems += self._fit_problems(self.fit)
        if problems:
            raise ValueError(f"model {self.name!r}: " + "; ".join(problems))

    def _fit_problems(self, fit: FitSpec) -> list[str]:
        """A fit declaration that names what the model lacks."""
        problems = []
        for name, ins in fit.instruments.items():
            if ins.measure not in self.measures:
                problems.append(f"fit instrument {name!r} reads {ins.measure!r}, not a declared measure")
        if fit.primary not in fit.instruments:
            problems.append(
                f"fit primary {fit.primary!r} is not one of its instruments {sorted(fit.instruments)}"
            )
        events = fit.history.get("events", [])
        labels = {
            f"{e['name']}.{k}": spec
            for e in events if isinstance(e, dict) and e.get("kind") in self.events
            for k, spec in self.events[e["kind"]].params.items()
        }  # fmt: skip
        for name in fit.prior:
            if name not in self.params and name not in labels:
                problems.append(
                    f"fit prior {name!r} is neither a parameter nor EVENT.param of a history event"
                )
        if not 0 < fit.window_days < fit.horizon_days:
            problems.append(f"fit window {fit.window_days} d must lie in (0, horizon {fit.horizon_days} d)")
        return problems

    def available_interventions(self) -> dict[str, Intervention]:
        """Every intervention a scenario of this model may use: the model's own, and the
        generic ones whose requirements (gains or capabilities) it declares."""
        have = set(self.gains) | set(self.capabilities)
        generic = {k: v for k, v in INTERVENTIONS.items() if set(v.requires) <= have}
        return {**generic, **self.interventions}

    def build(self, **options: int) -> Model:
        return self.model(**options)

    def figure_function(self) -> Figures | None:
        if isinstance(self.figures, str):
            module, _, name = self.figures.partition(":")
            made: Figures = getattr(importlib.import_module(module), name)
            return made
        return self.figures


_REGISTRY: dict[str, ModelInfo] = {}
_loaded = False
_loading = threading.RLock()  # a server's threads ask at once: one loads, the others wait for it


def register(info: ModelInfo) -> ModelInfo:
    """Add a model; the same declaration twice is a no-op, another of the same name an error."""
    if not isinstance(info, ModelInfo):
        raise TypeError(f"register() takes a ModelInfo, got {type(info).__name__}")
    old = _REGISTRY.get(info.name)
    if old is not None and old is not info:
        raise ValueError(
            f"a model named {info.name!r} is already registered (from {old.model.__module__}); "
            f"{info.model.__module__} cannot register a second one: rename it"
        )
    _REGISTRY[info.name] = info
    return info


_in_progress = False


def _load() -> None:
    global _loaded, _in_progress
    if _loaded:
        return
    with _loading:
        if _loaded or _in_progress:  # loaded meanwhile, or asked again by a model being imported
            return
        _in_progress = True
        try:
            _import_all()
            _loaded = True
        finally:
            _in_progress = False


def _import_all() -> None:
    import neurorehab.models as package

    for found in pkgutil.iter_modules(package.__path__):
        if found.ispkg:
            importlib.import_module(f"{package.__name__}.{found.name}")
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            if isinstance(loaded, ModelInfo):
                register(loaded)
        except Exception as err:  # a broken plug-in must not take the bundled models down
            warnings.warn(
                f"model entry point {ep.name!r} ({ep.value}) could not be loaded: "
                f"{type(err).__name__}: {err}",
                stacklevel=2,
            )


def models() -> dict[str, ModelInfo]:
    """Every registered model by name (bundled ones and entry points), loading them once."""
    _load()
    return dict(_REGISTRY)


def get(name: str) -> ModelInfo:
    """A registered model's declaration; KeyError naming the valid ones otherwise."""
    known = models()
    if name not in known:
        raise KeyError(f"unknown model {name!r}; valid: {sorted(known)}")
    return known[name]


def default_params(
    info: ModelInfo, n: int | None = None, overrides: dict[str, object] | None = None
) -> dict[str, Array]:
    """A model's parameters as float32 arrays: scalars, or [n] rows when `n` is given.

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
