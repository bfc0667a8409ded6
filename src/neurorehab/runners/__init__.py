"""Runners: how a compiled scenario is executed (in process, in shards, resumable)."""

from neurorehab.runners.local import RunError, run_scenario, scenario_hash

__all__ = ["RunError", "run_scenario", "scenario_hash"]
