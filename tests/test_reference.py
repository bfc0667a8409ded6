"""The reference fit (NUTS on the reduced likelihood) against analytic answers, and against the
shipped estimators on held-out synthetic patients.

- The reduced likelihood by hand: Normal(m, s^2 + e^2) per seen grid value, the probability
  mass beyond the range for a value recorded at a bound (a censored normal), nothing for a
  missing one.
- The whole path on the conjugate problem of tests/test_fitting.py: theta ~ U(0, 1), readings
  10 theta + N(0, 1); noise-free scores are deterministic, so the emulator's likelihood is the
  exact one and NUTS must find the exact posterior (a normal truncated to [0, 1], BDA3 2.5):
  means within 0.1 posterior SD, SDs within 10 % (4,000 draws: Monte Carlo error ~2 %).
- For every model with a fit: the emulator's spread holds noise-free scores of held-out prior
  patients as a Gaussian would (its 90 % band 85-95 % of them); on 6 held-out patients (seed
  2026, clinic records) NUTS converges (split R-hat < 1.01, bulk ESS >= 400: Vehtari et al.
  2021) and agrees with the estimator: medians within a quarter of the estimator's 90 %
  interval, interval widths within a factor 2. The two approximate one posterior in different
  ways (a flow trained on simulations; a Gaussian likelihood with days independent, which
  makes the reference narrower where a record holds several scores of one course), so they
  are expected to agree to within a fraction of the posterior's width, not exactly
  (bench/reference.py over 40 patients a model: shifts up to 0.22, widths 0.64-1.13).
- `neurorehab fit --check` on the example history, and its plain error without an emulator.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from neurorehab.fitting import Grid
from neurorehab.fitting import reference as R
from neurorehab.models import registry
from neurorehab.runners.estimator import estimator_folder, fingerprint, load_emulator, load_estimator
from neurorehab.runners.fit_sims import fit_spec, grid_of, simulate_prior
from neurorehab.runners.validation import records

GRID = Grid(("reading",), (0, 1, 2), (-5.0,), (15.0,), (1.0,))
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stroke-patient.csv"
FITTED = sorted(n for n, i in registry.models().items() if i.fit is not None)


class _Const:
    """A stand-in network returning fixed moments: m = 0.5, s = softplus(0) + 1e-3 (scaled)."""

    def __call__(self, z):
        return jnp.zeros(6)


def test_reduced_likelihood_by_hand():
    emu = R.Emulator(
        ("theta",),
        np.array([0.0]),
        np.array([1.0]),
        GRID,
        R.EmulatorShape(),
        _Const(),
        np.zeros(1),
        np.ones(1),
    )
    values = np.array([[5.0, np.nan, 15.0]])  # a mid reading, a missing one, one at the top
    got = float(R.log_likelihood(emu, jnp.array([0.5]), jnp.asarray(values)))
    span = 20.0
    s = np.log(2.0) + 1e-3  # softplus(0) + 1e-3, in scaled units
    scale = np.sqrt(s**2 + (1.0 / span) ** 2)
    mid = stats.norm.logpdf((5.0 + 5.0) / span, 0.0, scale)  # m is 0 before the scaling's offset
    top = stats.norm.logsf(1.0, 0.0, scale)
    np.testing.assert_allclose(got, mid + top, rtol=1e-5)


def _exact(readings):
    k = np.isfinite(readings).sum()
    mu, sd = np.nansum(readings) / (10.0 * k), 1.0 / (10.0 * np.sqrt(k))
    a, b = (0 - mu) / sd, (1 - mu) / sd
    return float(stats.truncnorm.mean(a, b, mu, sd)), float(stats.truncnorm.std(a, b, mu, sd))


@pytest.fixture(scope="module")
def conjugate():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 1, (6000, 1)).astype(np.float32)
    clean = np.repeat(10 * theta[:, :, None], 3, axis=2)
    z = np.log(theta) - np.log1p(-theta)
    return R.train_emulator(
        jax.random.key(1),
        theta,
        clean,
        GRID,
        ("theta",),
        np.array([0.0]),
        np.array([1.0]),
        np.array([z.mean()]),
        np.array([z.std()]),
        epochs=60,
    )


def _quadrature(emulator, readings):
    """Mean and SD of the emulator's own posterior under the uniform prior, by quadrature on
    1,000 points of (0, 1): what NUTS on that emulator should find."""
    grid = np.linspace(0.0005, 0.9995, 1000)
    values = jnp.asarray(readings[None], jnp.float32)
    ll = jax.vmap(lambda t: R.log_likelihood(emulator, t[None], values))(jnp.asarray(grid, jnp.float32))
    w = np.exp(np.asarray(ll, float) - float(jnp.max(ll)))
    w /= w.sum()
    mean = float((w * grid).sum())
    return mean, float(np.sqrt((w * (grid - mean) ** 2).sum()))


def test_nuts_finds_the_emulators_posterior_and_that_the_exact_one(conjugate):
    """Two errors, each against its own reference. NUTS against the emulator's posterior by
    quadrature (the sampler's error: mean within 0.1 SD, SD within 10 %; 4,000 draws of ESS
    640-1,100 carry about 0.03 SD of Monte Carlo error). The emulator's posterior against the
    exact conjugate one, a normal truncated to [0, 1] (the emulator's error, a network trained
    60 epochs on 6,000 draws: mean within 0.5 SD, SD within 25 %; measured 0.05-0.34 SD and
    2-17 %, the numbers depending on the machine's rounding in training)."""
    rng = np.random.default_rng(5)
    prior = {"theta": {"dist": "uniform", "low": 0.0, "high": 1.0}}
    for i, truth in enumerate((0.2, 0.5, 0.9)):
        readings = 10 * truth + rng.normal(0, 1, 3)
        readings[1] = np.nan
        ref = R.sample(conjugate, prior, readings[None], key=jax.random.key(i))
        d = ref.flat[:, 0]
        assert ref.converged, (ref.rhat, ref.ess, ref.divergences)
        q_mean, q_sd = _quadrature(conjugate, readings)
        assert abs(d.mean() - q_mean) < 0.1 * q_sd, (d.mean(), q_mean, q_sd)
        assert abs(d.std() / q_sd - 1) < 0.1, (d.std(), q_sd)
        mean, sd = _exact(readings)
        assert abs(q_mean - mean) < 0.5 * sd, (q_mean, mean, sd)
        assert abs(q_sd / sd - 1) < 0.25, (q_sd, sd)


def test_a_saved_emulator_loads_back_exactly(conjugate, tmp_path):
    from neurorehab.io.atomic import write_bytes_atomic

    conjugate.save(tmp_path, write_bytes_atomic)
    back = R.Emulator.load(tmp_path)
    theta = jnp.array([0.3])
    for a, b in zip(conjugate.moments(theta), back.moments(theta), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", FITTED)
def test_shipped_emulator_is_current(name):
    info = registry.get(name)
    emu, est = load_emulator(info), load_estimator(info)
    assert emu.meta["fingerprint"] == fingerprint(info), (
        f"models/{name}/estimator/emulator was trained on another version of the model: "
        f"`neurorehab train-estimator {name} --emulator-only`"
    )
    assert emu.names == est.names and emu.grid == est.grid


@pytest.fixture(scope="module", params=FITTED)
def held_out(request):
    info = registry.get(request.param)
    fit = fit_spec(info)
    grid = grid_of(fit)
    cohort = simulate_prior(info, 400, seed=2026, plan=None, until=fit.window_days, days=list(grid.days))
    return info, cohort


def test_emulator_spread_holds_held_out_scores(held_out):
    info, cohort = held_out
    emu = load_emulator(info)
    ok = np.isfinite(cohort.clean).all(axis=(1, 2))
    m, s = jax.vmap(emu.moments)(jnp.asarray(cohort.theta[ok]))
    g = emu.grid
    lo = np.asarray(g.low)[:, None]
    y = (cohort.clean[ok] - lo) / (np.asarray(g.high)[:, None] - lo)
    inside = np.abs(y.reshape(len(y), -1) - np.asarray(m)) <= 1.645 * np.asarray(s)
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()


def test_reference_agrees_with_the_estimator(held_out):
    info, cohort = held_out
    emu, est = load_emulator(info), load_estimator(info)
    fit = fit_spec(info)
    recs = records(info, jax.random.key(7), cohort.clean[:6], cohort.days, "clinic")
    post = np.asarray(est.sample(jax.random.key(1), recs, 4000))
    for i in range(6):
        ref = R.sample(emu, fit.prior, recs[i], key=jax.random.key(i))
        assert (ref.rhat < 1.01).all() and (ref.ess >= 400).all(), (i, ref.rhat, ref.ess)
        agree = R.agreement(est.names, post[i], ref.flat)
        assert (agree.shift < 0.25).all(), (i, dict(zip(est.names, agree.shift, strict=True)))
        assert ((agree.width > 0.5) & (agree.width < 2.0)).all(), (
            i,
            dict(zip(est.names, agree.width, strict=True)),
        )


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "neurorehab.cli", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_cli_fit_check(tmp_path):
    r = _cli("fit", str(EXAMPLE), "--check", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "R-hat" in r.stdout and "divergent transitions" in r.stderr
    doc = json.loads((tmp_path / "fit.json").read_text())["reference"]
    assert [row["parameter"] for row in doc["summary"]] == list(registry.get("motor").fit.prior)
    assert all(row["rhat"] < 1.05 and row["shift"] < 0.5 for row in doc["summary"]), doc["summary"]


def test_cli_check_without_an_emulator_is_a_plain_error(tmp_path):
    src = estimator_folder(registry.get("motor"))
    for name in ("estimator.json", "flow.eqx"):
        shutil.copy(src / name, tmp_path / name)
    r = _cli("fit", str(EXAMPLE), "--check", "--estimator", str(tmp_path))
    assert r.returncode == 2, r.stderr
    assert "--emulator-only" in r.stderr and "Traceback" not in r.stderr, r.stderr
