"""Cohort-level analyses of simulated patients (numbers in, numbers out; no I/O)."""

from neurorehab.cohort.recovery import (
    DoseThreshold,
    ProportionalRecovery,
    dose_threshold,
    proportional_recovery,
)

__all__ = ["DoseThreshold", "ProportionalRecovery", "dose_threshold", "proportional_recovery"]
