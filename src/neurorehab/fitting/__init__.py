"""Fitting one patient: observation grids, amortised posterior estimation, calibration checks
and published baseline forecasts. Pure algorithms over arrays: they know nothing of models or
of how the simulations were run (the runners' `patient` module wires them to a model)."""

from neurorehab.fitting.baselines import RecoveryMixture, fit_mixture, proportional_rule
from neurorehab.fitting.calibration import coverage, interval, rank_uniformity, ranks
from neurorehab.fitting.npe import Architecture, Estimator, Training, train
from neurorehab.fitting.observe import Grid, add_noise, encode, observe

__all__ = [
    "Architecture",
    "Estimator",
    "Grid",
    "RecoveryMixture",
    "Training",
    "add_noise",
    "coverage",
    "encode",
    "fit_mixture",
    "interval",
    "observe",
    "proportional_rule",
    "rank_uniformity",
    "ranks",
    "train",
]
