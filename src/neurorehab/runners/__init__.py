"""Runners: how a compiled scenario is executed (in process, in shards, resumable)."""

from neurorehab.runners.local import RunError, run_scenario, scenario_hash
from neurorehab.runners.shards import EXECUTORS, Execution

__all__ = ["EXECUTORS", "Execution", "RunError", "run_scenario", "scenario_hash"]
