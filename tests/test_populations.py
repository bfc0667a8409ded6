"""Populations and projections against analytic results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core.populations import (
    LIFParams,
    dense_input,
    lif_rate_theory,
    lif_step,
    rate_relax,
    sparse_input,
)


@pytest.mark.parametrize("current", [0.5, 1.0, 2.0])
def test_lif_rate_matches_theory(current):
    # Gerstner & Kistler 2002 eq. 4.11; a 0.1 ms grid delays each spike by < dt (tolerance 2 %).
    p, dt, steps = LIFParams(), 0.1, 20_000  # 2 s

    def body(carry, _):
        v, refr = carry
        v, refr, s = lif_step(v, refr, jnp.float32(current), dt, p)
        return (v, refr), s

    _, spikes = jax.lax.scan(body, (jnp.float32(p.v_rest), jnp.float32(0.0)), None, length=steps)
    rate = float(spikes.sum()) / (steps * dt / 1000.0)
    assert rate == pytest.approx(float(lif_rate_theory(jnp.float32(current), p)), rel=0.02)


def test_lif_subthreshold_is_silent():
    p = LIFParams()
    current = 0.9 * (p.v_th - p.v_rest) / p.r_m
    assert float(lif_rate_theory(jnp.float32(current), p)) == 0.0


def test_sparse_projection_equals_dense():
    k1, k2 = jax.random.split(jax.random.key(0))
    w = jax.random.uniform(k1, (50, 30)) * jax.random.bernoulli(k2, 0.1, (50, 30))
    pre = jax.random.bernoulli(jax.random.key(3), 0.3, (50,)).astype(jnp.float32)
    pre_idx, post_idx = np.nonzero(np.asarray(w))
    sparse = sparse_input(pre, jnp.asarray(pre_idx), jnp.asarray(post_idx), w[pre_idx, post_idx], 30)
    np.testing.assert_allclose(np.asarray(sparse), np.asarray(dense_input(w, pre)), rtol=1e-5, atol=1e-6)


def test_rate_relaxation_reaches_linear_fixed_point():
    # Linear regime: r* = (I - W^T)^-1 h.
    w = jnp.array([[0.0, 0.2], [0.3, 0.0]])
    h = jnp.array([1.0, 0.5])
    r = rate_relax(jnp.zeros(2), w, h, steps=400)
    np.testing.assert_allclose(np.asarray(r), np.linalg.solve(np.eye(2) - np.asarray(w).T, h), rtol=1e-4)
