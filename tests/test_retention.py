"""The two-state model against Smith, Ghazizadeh & Shadmehr 2006 (SCIENCE.md section 1 and 6).

Paradigm: adaptation to a perturbation (+1) for 384 trials, de-adaptation (-1) until the net
output returns to zero, then an error clamp. Published: 17 de-adaptation trials and a
spontaneous rebound peaking near 0.24 around clamp trial 38 (tolerances: 0.24 +- 0.02, trial
38 +- 3).
"""

import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core.retention import TwoStateParams, two_state_run, two_state_step


def test_spontaneous_recovery_in_an_error_clamp():
    p = TwoStateParams()
    x = two_state_run(jnp.ones(384), jnp.zeros(384, bool), p)[-1]
    deadapt = 0
    while float(x.sum()) > 0:
        x = two_state_step(x, jnp.float32(-1.0), jnp.bool_(False), p)
        deadapt += 1
    assert deadapt == 17
    clamp = np.asarray(two_state_run(jnp.zeros(150), jnp.ones(150, bool), p, x0=x)).sum(axis=1)
    assert clamp.max() == pytest.approx(0.24, abs=0.02)
    assert abs(int(clamp.argmax()) + 1 - 38) <= 3
    assert clamp[-1] < clamp.max()  # then both states decay


def test_fast_decay_then_plateau_after_practice():
    # Retention after practice: quick early loss (fast state), then a slow plateau.
    p = TwoStateParams()
    x = two_state_run(jnp.ones(200), jnp.zeros(200, bool), p)[-1]
    after = np.asarray(two_state_run(jnp.zeros(200), jnp.ones(200, bool), p, x0=x)).sum(axis=1)
    early_loss = float(x.sum()) - after[19]
    late_loss = after[19] - after[39]
    assert early_loss > 3 * late_loss
    # Closed form in a clamp: x_f A_f^n + x_s A_s^n.
    n = 50
    assert after[n - 1] == pytest.approx(float(x[0]) * 0.92**n + float(x[1]) * 0.996**n, rel=1e-5)
