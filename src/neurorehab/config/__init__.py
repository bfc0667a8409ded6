"""Scenario files: pydantic models, validation with plain errors, and compilation to core objects."""

from neurorehab.config.compile import CompiledScenario, compile_scenario
from neurorehab.config.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    parse_scenario_text,
)

__all__ = [
    "CompiledScenario",
    "Scenario",
    "ScenarioError",
    "compile_scenario",
    "load_scenario",
    "parse_scenario",
    "parse_scenario_text",
]
