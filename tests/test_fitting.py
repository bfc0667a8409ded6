"""The fitting layer's algorithms against analytic answers (no model involved).

- The estimator on a conjugate problem: theta ~ U(0, 1), three noisy readings 10 theta + N(0, 1)
  on a grid; the exact posterior is a normal truncated to [0, 1] (Gelman et al., BDA3 2.5), so
  the estimator's mean and SD must match it, and its ranks must be uniform (Talts et al. 2018).
- Calibration checks on exact posteriors (normal-normal): ranks uniform and 90 % intervals
  holding 90 % of truths within binomial error; a posterior half as wide fails both.
- A record's likelihood given a path's scores by hand (with the mass that clipping puts at a
  range's end), and resampling paths by it on the normal-normal problem: the kept paths follow
  the exact conditional (normal, mean y tau^2 / (tau^2 + sigma^2)).
- The proportional recovery rule by hand; the mixture of recovery curves recovers the
  subgroups it generated, and forecasts the noise-free curve of a patient of a known subgroup.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from neurorehab.fitting import (
    Grid,
    Training,
    coverage,
    encode,
    fit_mixture,
    observe,
    proportional_rule,
    rank_uniformity,
    ranks,
    train,
)
from neurorehab.fitting.baselines import RecoveryMixture
from neurorehab.fitting.observe import record_log_likelihood, resample_paths

GRID = Grid(("reading",), (0, 1, 2), (-5.0,), (15.0,), (1.0,))


def test_encode_scales_and_masks():
    x = jnp.asarray([[[0.0, np.nan, 10.0]]])
    e = np.asarray(encode(GRID, x))[0]
    assert e.shape == (GRID.width,)
    np.testing.assert_allclose(e[:3], [0.25, 0.0, 0.75])
    np.testing.assert_array_equal(e[3:], [1.0, 0.0, 1.0])


def test_observe_keeps_a_random_share_and_stays_in_range():
    clean = jnp.full((4000, 1, 3), 14.5)
    rec = np.asarray(observe(GRID, jax.random.key(0), clean))
    kept = np.isfinite(rec)
    # q ~ U(0, 1) per patient: half the entries kept on average (SE ~0.005)
    assert abs(kept.mean() - 0.5) < 0.03
    assert np.nanmax(rec) <= 15.0  # clipped to the instrument's range
    # N(14.5, 1) clipped at 15: mean 14.5 - E[max(Z - 0.5, 0)] = 14.5 - (phi(0.5) - 0.5 (1 - Phi(0.5)))
    want = 14.5 - (stats.norm.pdf(0.5) - 0.5 * stats.norm.sf(0.5))
    assert abs(np.nanmean(rec) - want) < 0.05  # ~6,000 values of SD ~0.8: SE ~0.01


def _exact(readings: np.ndarray) -> tuple[float, float]:
    """Mean and SD of the posterior of theta ~ U(0,1) given readings 10 theta + N(0, 1)."""
    k = np.isfinite(readings).sum()
    mu = np.nansum(readings) / (10.0 * k)
    sd = 1.0 / (10.0 * np.sqrt(k))
    a, b = (0 - mu) / sd, (1 - mu) / sd
    return float(stats.truncnorm.mean(a, b, mu, sd)), float(stats.truncnorm.std(a, b, mu, sd))


@pytest.fixture(scope="module")
def conjugate():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 1, (6000, 1)).astype(np.float32)
    clean = np.repeat(10 * theta[:, :, None], 3, axis=2)
    est = train(
        jax.random.key(1),
        theta,
        clean,
        GRID,
        ("theta",),
        np.array([0.0]),
        np.array([1.0]),
        training=Training(epochs=60, batch=256, patience=15),
    )
    return est


def test_estimator_matches_the_exact_posterior(conjugate):
    rng = np.random.default_rng(5)
    cases = []
    for truth in (0.2, 0.5, 0.9):
        readings = 10 * truth + rng.normal(0, 1, 3)
        readings[1] = np.nan  # one reading missing
        cases.append(readings)
    draws = np.asarray(conjugate.sample(jax.random.key(2), np.asarray(cases)[:, None, :], 4000))[:, :, 0]
    for readings, d in zip(cases, draws, strict=True):
        mean, sd = _exact(readings)
        # posterior SD ~0.07: means within 0.25 SD, SDs within 25 %
        assert abs(d.mean() - mean) < 0.25 * sd, (d.mean(), mean, sd)
        assert abs(d.std() / sd - 1) < 0.25, (d.std(), sd)


def test_a_saved_estimator_loads_back_exactly(conjugate, tmp_path):
    """save/load round trip: the loaded estimator draws exactly what the trained one draws."""
    from neurorehab.fitting.npe import Estimator
    from neurorehab.io.atomic import write_bytes_atomic

    conjugate.save(tmp_path, write_bytes_atomic)
    back = Estimator.load(tmp_path)
    x = np.array([[[2.0, np.nan, 3.0]]])
    a = np.asarray(conjugate.sample(jax.random.key(3), x, 500))
    b = np.asarray(back.sample(jax.random.key(3), x, 500))
    np.testing.assert_array_equal(a, b)
    assert back.names == conjugate.names and back.grid == conjugate.grid
    # loading traced the flow's shapes instead of initialising it (a cold command's seconds)
    from neurorehab.fitting.npe import _skeleton

    leaves = jax.tree.leaves(_skeleton(1, conjugate.grid.width, conjugate.arch))
    assert any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in leaves)


def test_estimator_ranks_are_uniform(conjugate):
    rng = np.random.default_rng(7)
    truth = rng.uniform(0, 1, (300, 1))
    readings = 10 * truth[:, :, None] + rng.normal(0, 1, (300, 1, 3))
    draws = np.asarray(conjugate.sample(jax.random.key(3), readings, 99))
    uni = rank_uniformity(ranks(draws, truth), 99, bins=10)
    assert uni.p[0] > 0.001, uni.counts.T


def test_calibration_checks_pass_exact_and_fail_overconfident_posteriors():
    rng = np.random.default_rng(11)
    n, L = 400, 199
    truth = rng.normal(0, 1, (n, 1))
    y = truth + rng.normal(0, 1, (n, 1))  # prior N(0,1), noise 1: posterior N(y/2, 1/2)
    exact = y[:, None, :] / 2 + np.sqrt(0.5) * rng.normal(0, 1, (n, L, 1))
    narrow = y[:, None, :] / 2 + 0.5 * np.sqrt(0.5) * rng.normal(0, 1, (n, L, 1))
    assert rank_uniformity(ranks(exact, truth), L, bins=10).p[0] > 0.001
    assert rank_uniformity(ranks(narrow, truth), L, bins=10).p[0] < 1e-6
    se = np.sqrt(0.9 * 0.1 / n)
    assert abs(coverage(exact, truth, 0.9)[0] - 0.9) < 3 * se
    assert coverage(narrow, truth, 0.9)[0] < 0.9 - 5 * se


def test_record_likelihood_by_hand():
    grid = Grid(("a", "b"), (0, 7), (0.0, 0.0), (10.0, 80.0), (1.0, 0.0))
    record = jnp.asarray([[0.0, 4.0], [np.nan, 80.0]])  # a floor, an inner value, a ceiling
    scores = jnp.asarray([[0.5, 5.0], [30.0, 78.0]])
    extra = jnp.asarray([0.0, 3.0])  # b carries its own retest error only
    got = float(record_log_likelihood(grid, record, scores, extra))
    want = stats.norm.logcdf((0.0 - 0.5) / 1.0) + stats.norm.logpdf(4.0, 5.0, 1.0)
    want += stats.norm.logcdf((78.0 - 80.0) / 3.0)
    assert got == pytest.approx(want, rel=1e-5)
    assert float(record_log_likelihood(grid, jnp.full((2, 2), np.nan), scores)) == 0.0


def test_resampled_paths_follow_the_exact_conditional():
    # Paths x ~ N(0, tau^2), a record y = x_true + N(0, sigma^2): keeping one of k paths by the
    # record's likelihood draws x from N(y tau^2 / (tau^2 + sigma^2), tau^2 sigma^2 / (tau^2 +
    # sigma^2)) as k grows (importance resampling); with k = 64 the bias is well inside the
    # tolerances (mean 0.06, SD 8 %; the Monte Carlo error of 4,000 draws is 0.014 and 1.1 %).
    grid = Grid(("a",), (0,), (-100.0,), (100.0,), (1.0,))
    tau, sigma, y, m, k = 2.0, 1.0, 1.5, 4000, 64
    paths = tau * jax.random.normal(jax.random.key(0), (m, k, 1, 1))
    ok = np.ones((m, k), bool)
    ok[:, ::2] = False  # failed paths are never kept
    kept = np.asarray(resample_paths(grid, jax.random.key(1), jnp.full((1, 1), y), paths, ok))
    assert (kept % 2 == 1).all()
    x = np.asarray(paths)[np.arange(m), kept, 0, 0]
    post_mean, post_sd = y * tau**2 / (tau**2 + sigma**2), np.sqrt(tau**2 * sigma**2 / (tau**2 + sigma**2))
    assert x.mean() == pytest.approx(post_mean, abs=0.06)
    assert x.std() == pytest.approx(post_sd, rel=0.08)


def test_proportional_rule_by_hand():
    np.testing.assert_allclose(proportional_rule(np.array([16.0, 66.0]), 66.0), [51.0, 66.0])
    # lower is better: a PCL-like 60 from healthy 0 keeps 30 % of its impairment
    np.testing.assert_allclose(proportional_rule(np.array([60.0]), 0.0, higher_is_better=False), [18.0])


def test_mixture_recovers_its_subgroups():
    rng = np.random.default_rng(3)
    true = RecoveryMixture(np.array([0.5, 0.5]), np.array([0.85, 0.15]), np.array([20.0, 40.0]), 1.5, 66.0)
    days = np.array([2, 5, 9, 14, 28, 56, 90, 180], float)
    group = rng.integers(0, 2, 600)
    i0 = rng.uniform(20, 60, 600)
    g = true.r[group, None] * (1 - np.exp(-days[None] / true.tau[group, None]))
    scores = 66 - i0[:, None] * (1 - g) + rng.normal(0, 1.5, (600, len(days)))
    fitted = fit_mixture(days, scores, 66.0, k=2)
    order = np.argsort(-fitted.r)
    np.testing.assert_allclose(fitted.r[order], true.r, atol=0.05)
    np.testing.assert_allclose(fitted.tau[order], true.tau, rtol=0.2)
    assert abs(fitted.sd - 1.5) < 0.2
    # a fast recoverer seen early: its forecast at 180 days is its own curve's (within 3 points)
    early = 66 - 40 * (1 - 0.85 * (1 - np.exp(-days[:4] / 20)))
    want = 66 - 40 * (1 - 0.85 * (1 - np.exp(-180 / 20)))
    got = fitted.predict(days[:4], early[None], np.array([180.0]))[0, 0]
    assert abs(got - want) < 3.0, (got, want)
