"""Plasticity rules against their analytic solutions (sources in each rule's docstring)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core import plasticity as pl


def test_hebbian_soft_bound_matches_closed_form():
    # Constant pre and post: w_n = w_max - (w_max - w0) (1 - rate pre post)^n exactly.
    w0, w_max, rate, pre, post = 0.2, 1.0, 0.01, 0.8, 0.5
    w = jnp.array([[w0]])
    for _ in range(300):
        w = pl.hebbian_bounded(w, jnp.array([pre]), jnp.array([post]), rate, w_max)
    expected = w_max - (w_max - w0) * (1 - rate * pre * post) ** 300
    assert float(w[0, 0]) == pytest.approx(expected, rel=1e-5)
    assert float(w[0, 0]) < w_max


def test_oja_converges_to_unit_principal_eigenvector():
    # Oja 1982: a linear unit's weights converge to the unit-norm first eigenvector of C.
    cov = np.array([[3.0, 1.2], [1.2, 1.0]])
    xs = jax.random.multivariate_normal(jax.random.key(0), jnp.zeros(2), cov, (20000,))

    def body(w, x):
        y = x @ w
        return pl.oja(w[:, None], x, y[None], 0.002)[:, 0], None

    w, _ = jax.lax.scan(body, jnp.array([0.3, -0.2]), xs)
    _vals, vecs = np.linalg.eigh(cov)
    top = vecs[:, -1]
    cos = abs(float(np.dot(w, top))) / float(np.linalg.norm(w))
    assert np.degrees(np.arccos(min(cos, 1.0))) < 2.0
    assert float(np.linalg.norm(w)) == pytest.approx(1.0, abs=0.03)


def test_bcm_threshold_tracks_mean_square_activity():
    # Intrator & Cooper 1992: theta relaxes to <y^2>; with weights frozen (rate 0), exactly.
    ys = jax.random.uniform(jax.random.key(1), (20000,), minval=0.0, maxval=2.0)

    def body(theta, y):
        _, theta = pl.bcm(jnp.zeros((1, 1)), theta, jnp.ones(1), y[None], 0.0, 200.0)
        return theta, None

    theta, _ = jax.lax.scan(body, jnp.zeros(1), ys)
    assert float(theta[0]) == pytest.approx(4.0 / 3.0, rel=0.08)  # E[y^2] of U(0, 2)


def test_use_decay_is_exact_and_composes():
    args = dict(tau_hours=100.0, floor=0.05, use_half=5.0, use_tau_hours=24.0)
    w0, u0 = jnp.array(0.9), jnp.array(20.0)
    w72, u72 = pl.use_decay(w0, u0, 72.0, **args)
    w, u = w0, u0
    for _ in range(3):
        w, u = pl.use_decay(w, u, 24.0, **args)
    assert float(w) == pytest.approx(float(w72), rel=1e-5)
    assert float(u) == pytest.approx(float(u72), rel=1e-5)
    # Against fine Euler integration of dw/dt = -(w - f)(1 - u/(u + c))/tau, du/dt = -u/tau_u.
    we, ue, h = 0.9, 20.0, 0.001
    for _ in range(72000):
        we += -h * (we - 0.05) * (1 - ue / (ue + 5.0)) / 100.0
        ue += -h * ue / 24.0
    assert float(w72) == pytest.approx(we, rel=1e-3)
    # Unused (u = 0): plain exponential decay to the floor.
    w_unused, _ = pl.use_decay(w0, jnp.array(0.0), 100.0, **args)
    assert float(w_unused) == pytest.approx(0.05 + 0.85 * np.exp(-1.0), rel=1e-5)


@pytest.mark.parametrize("lag", [5.0, 10.0, 20.0, -5.0, -10.0, -20.0])
def test_stdp_pair_window(lag):
    # Song, Miller & Abbott 2000: dw = A+ e^(-s/tau+) for s = t_post - t_pre > 0, -A- e^(s/tau-) else.
    p = dict(dt=0.1, tau_plus=20.0, tau_minus=20.0, a_plus=0.005, a_minus=0.00525, w_max=1.0)
    n = 400
    t_pre, t_post = (100, 100 + int(lag / 0.1)) if lag > 0 else (100 - int(lag / 0.1), 100)
    w, x, y = jnp.array([[0.5]]), jnp.zeros(1), jnp.zeros(1)
    for t in range(n):
        w, x, y = pl.stdp_traces(
            w, x, y, jnp.array([float(t == t_pre)]), jnp.array([float(t == t_post)]), **p
        )
    expected = 0.005 * np.exp(-lag / 20) if lag > 0 else -0.00525 * np.exp(lag / 20)
    assert float(w[0, 0]) - 0.5 == pytest.approx(expected, rel=1e-4)


def test_homeostatic_scaling_reaches_target_and_keeps_ratios():
    # Turrigiano 1998: a linear unit r = w.x scaled multiplicatively settles at the target rate.
    x = jnp.array([1.0, 2.0, 0.5])
    w = jnp.array([[0.1], [0.3], [0.2]])
    for _ in range(2000):
        rate = x @ w
        w = pl.homeostatic_scaling(w, rate, jnp.array([5.0]), 1.0, 50.0)
    assert float((x @ w)[0]) == pytest.approx(5.0, rel=1e-3)
    assert float(w[1, 0] / w[0, 0]) == pytest.approx(3.0, rel=1e-5)
