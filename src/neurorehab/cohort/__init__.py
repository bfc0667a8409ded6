"""Cohort-level analyses of simulated patients (numbers in, numbers out; no I/O)."""

from neurorehab.cohort.recovery import ProportionalRecovery, proportional_recovery

__all__ = ["ProportionalRecovery", "proportional_recovery"]
