"""The Model of Structural Plasticity (Butz & van Ooyen 2013) against SCIENCE.md section 1."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from neurorehab.core import structural as sp


def test_gaussian_growth_curve_values():
    # SCIENCE.md 1: eta 0.4, eps 0.7, nu 1 gives 0 at 0.4 and 0.7, +1 at 0.55, about -0.88 at 0.25
    # and -0.87 at 0.85; both are exactly 2 exp(-4 ln 2) - 1 = -0.875 (0.3 from the centre).
    ca = jnp.array([0.4, 0.7, 0.55, 0.25, 0.85], jnp.float64 if jax.config.x64_enabled else jnp.float32)
    got = np.asarray(sp.growth_gaussian(ca, 1.0, 0.4, 0.7), np.float64)
    np.testing.assert_allclose(got, [0.0, 0.0, 1.0, -0.875, -0.875], atol=1e-6)
    far = float(sp.growth_gaussian(jnp.array(5.0), 1.0, 0.4, 0.7))
    assert far == pytest.approx(-1.0, abs=1e-6)


def test_linear_and_sigmoid_growth_curves():
    # NEST growth_curve_linear nu (1 - Ca/eps) and growth_curve_sigmoid nu (2/(1+e^((Ca-eps)/psi)) - 1).
    assert float(sp.growth_linear(jnp.array(0.7), 1e-4, 0.7)) == pytest.approx(0.0, abs=1e-12)
    assert float(sp.growth_linear(jnp.array(0.0), 1e-4, 0.7)) == pytest.approx(1e-4, rel=1e-6)
    assert float(sp.growth_linear(jnp.array(1.4), 1e-4, 0.7)) == pytest.approx(-1e-4, rel=1e-6)
    assert float(sp.growth_sigmoid(jnp.array(0.7), 1.0, 0.7, 0.1)) == pytest.approx(0.0, abs=1e-6)
    lo = float(sp.growth_sigmoid(jnp.array(0.6), 1.0, 0.7, 0.1))
    hi = float(sp.growth_sigmoid(jnp.array(0.8), 1.0, 0.7, 0.1))
    assert lo == pytest.approx(-hi, abs=1e-6)
    assert lo == pytest.approx(2 / (1 + np.exp(-1)) - 1, abs=1e-6)


def test_calcium_trace_settles_at_beta_tau_rate():
    # SCIENCE.md 1: tau 10 s, beta 0.001, 5 Hz -> mean Ca = beta tau rate = 0.05, within 2 %.
    dt, tau, beta = 1.0, 10_000.0, 0.001

    def mean_after_transient(spikes):
        def body(ca, s):
            ca = sp.calcium_spikes(ca, s, dt, tau, beta)
            return ca, ca

        _, trace = jax.lax.scan(body, jnp.float32(0.0), spikes)
        return float(jnp.mean(trace[100_000:]))  # after 10 time constants

    regular = (jnp.arange(300_000) % 200 == 0).astype(jnp.float32)  # 5 Hz, every 200 ms
    assert mean_after_transient(regular) == pytest.approx(0.05, rel=0.02)
    # A Poisson train: the trace settles at beta tau times the train's realised rate.
    poisson = jax.random.bernoulli(jax.random.key(0), 0.005, (300_000,)).astype(jnp.float32)
    realised = float(poisson[100_000:].sum()) / 200_000.0
    assert mean_after_transient(poisson) == pytest.approx(beta * tau * realised, rel=0.02)
    # Rate-driven trace: the same fixed point, reached exactly.
    ca = sp.calcium_rate(jnp.float32(0.0), 0.005, 1e6, tau, beta)
    assert float(ca) == pytest.approx(0.05, rel=1e-6)


def _random_case(seed, n=30):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    c = jax.random.poisson(k1, 0.3, (n, n)).astype(jnp.int32)
    z_ax = c.sum(1) + jax.random.uniform(k2, (n,), minval=-3.0, maxval=3.0)
    z_den = c.sum(0) + jax.random.uniform(k3, (n,), minval=-3.0, maxval=3.0)
    return c, jnp.maximum(z_ax, 0.0), jnp.maximum(z_den, 0.0)


@pytest.mark.parametrize("seed", range(5))
def test_bookkeeping_never_exceeds_elements(seed):
    # Butz & van Ooyen 2013: connected elements never exceed floor(z); deletion only removes,
    # pairing only adds, and pairing uses up vacancies on one side when the other has enough.
    c, z_ax, z_den = _random_case(seed)
    kept = sp.delete_excess(c, z_ax, z_den, jax.random.key(100 + seed))
    assert bool(jnp.all(kept <= c)) and bool(jnp.all(kept >= 0))
    assert bool(jnp.all(kept.sum(1) <= jnp.floor(z_ax)))
    assert bool(jnp.all(kept.sum(0) <= jnp.floor(z_den)))
    paired = sp.pair_vacant(kept, z_ax, z_den, jax.random.key(200 + seed), rounds=8)
    assert bool(jnp.all(paired >= kept))
    assert bool(jnp.all(paired.sum(1) <= jnp.floor(z_ax)))
    assert bool(jnp.all(paired.sum(0) <= jnp.floor(z_den)))
    vac_ax = jnp.floor(z_ax) - paired.sum(1)
    vac_den = jnp.floor(z_den) - paired.sum(0)
    assert int(vac_ax.sum()) == 0 or int(vac_den.sum()) <= int(jnp.max(vac_den))  # one side used up


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.float32])
def test_deletion_removes_a_synapse_in_proportion_to_counts(dtype):
    # NEST deletes a synapse chosen at random among a neuron's synapses: each unit of a row
    # equally likely, so a pair counted c_ij times goes in proportion to c_ij. Counts spread over
    # several of the blocks the draw walks through (columns 0-99, blocks of 32); chi-square at
    # 0.999 over 20,000 draws. A row without deficit, and an empty row, keep everything.
    cols, counts = [0, 31, 32, 63, 64, 99], [1, 2, 3, 1, 5, 4]
    c = np.zeros((4, 100))
    c[0, cols] = counts
    c[1, 40] = 2
    c[2, 7] = 3
    c = jnp.asarray(c, dtype)
    deficit = jnp.array([1, 1, 0, 2])
    keys = jax.random.split(jax.random.key(0), 20_000)
    after, left = jax.jit(jax.vmap(lambda k: sp._remove_one(c, deficit, k)))(keys)
    removed = np.asarray(c[None] - after)
    assert removed.min() == 0 and (removed.sum(2) == [1, 1, 0, 0]).all()
    np.testing.assert_array_equal(np.asarray(left[0]), [0, 0, 0, 2])
    observed = removed[:, 0].sum(0)[cols]
    expected = np.array(counts) / sum(counts) * len(keys)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_deletion_never_removes_a_missing_synapse(monkeypatch):
    # Beyond 2^24 units a row's float32 running sums round: with the largest uniform draw the
    # unit found can fall before its block's first synapse. A unit must exist to be removed.
    monkeypatch.setattr(sp.threefry, "uniform", lambda key, shape: jnp.full(shape, np.float32(1 - 2**-23)))
    c = jnp.zeros((1, 64), jnp.int32).at[0, 0].set(2**24 + 2).at[0, 33].set(1)
    after, left = sp._remove_one(c, jnp.ones(1, jnp.int32), jax.random.key(0))
    assert int(after.min()) >= 0
    assert int(c.sum() - after.sum()) == 1 - int(left[0])  # the deficit counts what was removed


def test_distance_kernel_pairs_only_neighbours():
    n = 40
    pos = jnp.arange(n, dtype=jnp.float32)
    kernel = (jnp.abs(pos[:, None] - pos[None, :]) <= 2.0) * (1.0 - jnp.eye(n))
    c = sp.pair_vacant(
        jnp.zeros((n, n), jnp.int32),
        jnp.full(n, 3.0),
        jnp.full(n, 3.0),
        jax.random.key(0),
        kernel=kernel,
        rounds=6,
    )
    assert int(c.sum()) > 0
    assert int(jnp.sum(c * (kernel == 0))) == 0


def test_network_grows_to_its_calcium_set_point():
    # Homeostatic MSP: a rate network with no synapses, driven below its set point, grows
    # connections until mean Ca reaches eps (Butz & van Ooyen 2013, Fig. 2: within 2 %).
    n, eps, nu, tau, beta, dt = 60, 0.05, 2e-4, 10_000.0, 0.001, 100.0

    def step(carry, k):
        c, z_ax, z_den, ca = carry
        rate = jnp.clip(0.002 + 0.0002 * c.sum(0), 0.0, 0.02)  # per ms: 2 Hz + 0.2 Hz per input
        ca = sp.calcium_rate(ca, rate, dt, tau, beta)
        z_ax = sp.grow(z_ax, sp.growth_linear(ca, nu, eps), dt)
        z_den = sp.grow(z_den, sp.growth_linear(ca, nu, eps), dt)
        k1, k2 = jax.random.split(k)
        c = sp.delete_excess(c, z_ax, z_den, k1)
        c = sp.pair_vacant(c, z_ax, z_den, k2, 1.0 - jnp.eye(n))
        return (c, z_ax, z_den, ca), None

    init = (jnp.zeros((n, n), jnp.int32), jnp.zeros(n), jnp.zeros(n), jnp.zeros(n))
    (c, z_ax, _z_den, ca), _ = jax.lax.scan(step, init, jax.random.split(jax.random.key(0), 10_000))
    assert float(ca.mean()) == pytest.approx(eps, rel=0.02)
    assert int(jnp.trace(c)) == 0
    assert bool(jnp.all(c.sum(1) <= jnp.floor(z_ax)))


def test_pair_all_is_nest_s_uniform_matching():
    # NEST's SPManager::create_synapses: every vacancy of the scarcer kind is used, and a post
    # neuron receives in proportion to its vacancies: u_j V_pre / V_post on average (here 30 boutons
    # onto spines 20 + 10 x 4 = 60: post 0 expects 10, each other 2), within 4 SE over 400 draws.
    z_ax = jnp.full(10, 3.5)  # 3 vacant boutons each
    z_den = jnp.array([20.2] + [4.9] * 10)
    c0 = jnp.zeros((10, 11), jnp.int32)
    got = jax.vmap(lambda k: sp.pair_all(c0, z_ax, z_den, k, 128))(jax.random.split(jax.random.key(3), 400))
    got = np.asarray(got)
    assert (got.sum((1, 2)) == 30).all()
    assert (got.sum(2) <= 3).all() and (got.sum(1) <= np.floor(np.asarray(z_den))).all()
    to_post0 = got[:, :, 0].sum(1)
    # Hypergeometric: 30 draws from 60 spines, 20 of them post 0's.
    sd = np.sqrt(30 * (20 / 60) * (40 / 60) * (60 - 30) / (60 - 1))
    assert to_post0.mean() == pytest.approx(10.0, abs=4 * sd / np.sqrt(400))
    assert to_post0.std() == pytest.approx(sd, rel=0.2)
