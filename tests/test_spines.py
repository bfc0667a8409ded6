"""`spines` reproduces Fu, Yu, Lu & Zuo 2012 (Nature 483:92), as SCIENCE.md section 1 states it.

Published: 32.5 +- 2.2 % (mean +- SEM) of new spines formed on training days 1-4 are clustered,
against 6.8 +- 4.6 % in controls and 7.4 +- 4.3 % late in training (days 13-16); clustering
needs repetition of the same task; clustered new spines persist longer. Tolerances: the early
fraction within 3 SEM of the published mean; the others under 13 % ("under about 10 %" in the
issue, and inside two SEM of the published control value).
"""

import jax
import numpy as np
import pytest

from neurorehab.core.engine import simulate
from neurorehab.models import default_params
from neurorehab.models.protocol import Block, compile_calendar
from neurorehab.models.spines import INFO, Spines

N = 24  # animals
DAYS = list(range(41))


def _arm(blocks):
    cal = compile_calendar(blocks, duration_days=40, assess_days=DAYS, info=INFO)
    measures, codes = simulate(
        Spines(), default_params(INFO, N), cal, jax.random.split(jax.random.key(11), N)
    )
    assert np.all(codes == 0)
    return measures


@pytest.fixture(scope="module")
def arms():
    return {
        "trained": _arm([Block("task-practice", 1, 16, 7, 50)]),
        "continued": _arm([Block("task-practice", 1, 40, 7, 50)]),
        "control": _arm([]),
        "varied": _arm([Block("varied-practice", 1, 16, 7, 50)]),
    }


def test_early_training_forms_clustered_spines(arms):
    # Day 5's census counts spines formed after the sessions of days 1-4.
    early = np.mean(arms["trained"]["cluster_fraction"][:, 5])
    assert 32.5 - 3 * 2.2 <= early <= 32.5 + 3 * 2.2


def test_clustering_falls_late_in_training_and_is_low_in_controls(arms):
    late = np.mean(arms["trained"]["cluster_fraction"][:, 17])  # sessions of days 13-16
    control = np.mean(arms["control"]["cluster_fraction"][:, [5, 17]])
    varied = np.mean(arms["varied"]["cluster_fraction"][:, 5])
    assert late < 13.0
    assert control < 13.0
    assert varied < 13.0
    assert np.mean(arms["trained"]["cluster_fraction"][:, 5]) > 2 * max(late, control, varied)


def test_training_adds_new_spines(arms):
    # Training raises formation above the controls' turnover (Fu 2012; Xu et al. 2009).
    assert np.mean(arms["trained"]["new_spines"][:, 5]) > 1.5 * np.mean(arms["control"]["new_spines"][:, 5])


def test_clustered_new_spines_survive_longer(arms):
    m = arms["trained"]
    clustered = np.nanmean(m["survival_clustered"][:, 17])
    isolated = np.nanmean(m["survival_isolated"][:, 17])
    assert clustered > isolated + 5.0


def test_spines_of_a_task_no_longer_practised_are_pruned(arms):
    # Use it or lose it: 24 days after training stops, task spines are mostly gone; with
    # continued practice they persist.
    stopped = np.mean(arms["trained"]["task_spines"][:, 40])
    peak = np.mean(arms["trained"]["task_spines"][:, 17])
    continued = np.mean(arms["continued"]["task_spines"][:, 40])
    assert stopped < 0.2 * peak
    assert continued > 3 * stopped
    assert np.nanmean(arms["continued"]["survival_clustered"][:, 40]) > np.nanmean(
        arms["trained"]["survival_clustered"][:, 40]
    )
