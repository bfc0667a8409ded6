"""JSON Schema of scenario files that knows the models: a union discriminated on `model`.

Each registered model gets its own scenario class, built from its declaration: its
parameters (units, ranges, provenance in the description), the condition's parameters, its
events with theirs, its interventions with theirs, its tasks and measures. An editor or a web
form can complete and check a scenario from it; validation itself (`parse_scenario`) checks the
same declarations and says what is wrong in plain words.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, create_model

from neurorehab.config.scenario import Arm, Block, Distribution, Event, Patients, Progression, Scenario
from neurorehab.core import condition
from neurorehab.core.spec import Param
from neurorehab.models import registry
from neurorehab.models.registry import ModelInfo

_create: Any = create_model  # classes built at run time from declarations: untyped by nature


def _title(*parts: str) -> str:
    return "".join(p.replace("-", " ").replace("_", " ").title().replace(" ", "") for p in parts)


def _describe(spec: Param) -> str:
    span = f"[{spec.low:g}, {spec.high:g}]" if math.isfinite(spec.low) or math.isfinite(spec.high) else "any"
    return f"{spec.doc} [{spec.unit}]; valid {span}; default {spec.default:g}; source: {spec.source}"


def _bounded(spec: Param) -> Any:
    limits: dict[str, Any] = {}
    if math.isfinite(spec.low):
        limits["ge"] = spec.low
    if math.isfinite(spec.high):
        limits["le"] = spec.high
    return Annotated[float, Field(**limits)]


def _values(name: str, specs: dict[str, Param], *, distributions: bool = True) -> type[BaseModel]:
    """A class with one optional field per parameter: a number in range (or a distribution)."""
    fields: dict[str, Any] = {}
    for key, spec in specs.items():
        kind = _bounded(spec) | Distribution if distributions else _bounded(spec)
        fields[key] = (
            kind | None,
            Field(default=None, description=_describe(spec), json_schema_extra={"unit": spec.unit}),
        )
    return _create(name, __config__=ConfigDict(extra="forbid"), **fields)


def _one_of(items: list[tuple[str, Any]], key: str, default: str | None = None) -> Any:
    """A union of classes tagged by the value of `key` (missing: `default`)."""

    def tag(v: Any) -> Any:
        if isinstance(v, dict):
            return v.get(key, default)
        return getattr(v, key, default)

    tagged = tuple(Annotated[cls, Tag(name)] for name, cls in items)
    if len(tagged) == 1:
        return tagged[0]
    return Annotated[tagged[0] if len(tagged) == 1 else _union(tagged), Discriminator(tag)]


def _union(types: tuple[Any, ...]) -> Any:
    out = types[0]
    for t in types[1:]:
        out = out | t
    return out


def scenario_class(info: ModelInfo) -> type[BaseModel]:
    """The scenario class of one model, for its JSON Schema."""
    name = _title(info.name)
    params = _values(f"{name}Params", info.params)
    cond = _values("Condition", condition.PARAMS)
    patients = _create(
        f"{name}Patients",
        __base__=Patients,
        params=(params, Field(default_factory=params, description=f"parameters of {info.name}")),
        condition=(cond, Field(default_factory=cond, description="the patient's condition")),
    )
    events = [
        (
            kind,
            _create(
                f"{name}{_title(kind)}Event",
                __base__=Event,
                __doc__=cls.summary,
                kind=(Literal[kind], Field(description=cls.summary)),
                params=(
                    _values(f"{name}{_title(kind)}Params", cls.params),
                    Field(default_factory=dict, description=f"parameters of {kind}"),
                ),
            ),
        )
        for kind, cls in info.events.items()
    ]
    blocks = []
    for iv_name, iv in info.available_interventions().items():
        iv_params = _values(f"{_title(iv_name)}Params", dict(iv.params), distributions=False)
        fields: dict[str, Any] = {
            "intervention": (
                Literal[iv_name],
                Field(default=iv_name, description=iv.summary)
                if iv_name == "task-practice"
                else Field(description=iv.summary),
            ),
            "params": (iv_params, Field(default_factory=dict, description=f"parameters of {iv_name}")),
            "task": (
                Literal[info.tasks] | Annotated[int, Field(ge=0, lt=len(info.tasks))],
                Field(default=0, description=f"a task of {info.name}: its name or index"),
            ),
        }
        blocks.append((iv_name, _create(f"{name}{_title(iv_name)}Block", __base__=Block, **fields)))
    measures = Literal[tuple([*info.measures, *condition.MEASURES])]  # type: ignore[valid-type]
    progression = _create(f"{name}Progression", __base__=Progression, measure=(measures, ...))
    arm = _create(
        f"{name}Arm",
        __base__=Arm,
        protocol=(list[_one_of(blocks, "intervention", "task-practice")], Field(default_factory=list)),  # type: ignore[misc]
        progression=(progression | None, None),
    )
    fields = {
        "model": (Literal[info.name], Field(description=info.summary)),
        "patients": (patients, ...),
        "arms": (list[arm], Field(min_length=1)),  # type: ignore[valid-type]
        "model_options": (
            _create(
                f"{name}Options",
                __config__=ConfigDict(extra="forbid"),
                **{
                    k: (Annotated[int, Field(ge=lo, le=hi)] | None, None)
                    for k, (lo, hi) in info.options.items()
                },
            ),
            Field(default_factory=dict, description="model structure (sizes)"),
        ),
    }
    if events:
        fields["events"] = (list[_one_of(events, "kind")], Field(default_factory=list))  # type: ignore[misc]
    else:
        fields["events"] = (list[None], Field(default_factory=list, max_length=0, description="none"))
    return _create(
        f"{name}Scenario", __base__=Scenario, __doc__=f"A scenario of model {info.name}.", **fields
    )


def json_schema(model: str | None = None) -> dict[str, Any]:
    """The JSON Schema of scenario files: every model (a union on `model`), or one model's."""
    known = registry.models()
    if model is not None:
        schema = scenario_class(registry.get(model)).model_json_schema()
    else:
        classes = [(name, scenario_class(info)) for name, info in sorted(known.items())]
        schema = TypeAdapter(_one_of(classes, "model")).json_schema()
        schema["title"] = "neurorehab scenario"
    schema["$comment"] = (
        "generated from the models' declarations by `neurorehab schema`; units, ranges and sources "
        "are in each parameter's description"
    )
    return schema
