"""A reference posterior by MCMC, to check the amortised one: NUTS on a reduced likelihood.

The flow (`npe`) learns the posterior from simulations without ever writing the likelihood
down; nothing inside it says whether a given patient's posterior is right. This path gets the
posterior another way, from the same prior and the same record: NUTS (Hoffman & Gelman 2014,
NumPyro's implementation) on a differentiable likelihood at the grid days, with R-hat and
effective sample sizes (Vehtari et al. 2021, NumPyro's split R-hat) to say when it can be
trusted. Slow (seconds to a minute a patient), independent, and exact up to its one reduction:

**The reduced likelihood** is a synthetic likelihood (Wood 2010) made differentiable by an
emulator: a small network learns, from the same prior simulations the flow is trained on, the
mean m(theta) and the intrinsic spread s(theta) of each noise-free score on the grid (Gaussian
likelihood, heteroscedastic). A recorded score y is then Normal(m, s^2 + e^2), e the
instrument's measurement error, censored at the instrument's range (a recorded 0 or maximum
contributes the probability mass beyond it, as `observe` clips). Grid days are independent
given theta: correlation of one patient's course across days is ignored, so records with many
assessments make the reference too confident; with the few assessments of a clinic record it
is small against the measurement error. Where the model is bistable (fear), a Gaussian is a
poor summary of a score that can go either way, and the reference is a coarse check there.

Like `npe`, it knows nothing of models: it takes arrays and plain prior specifications
(`{"dist": "uniform" | "lognormal" | "normal", ...}`, the scenario's vocabulary).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from neurorehab.fitting.npe import _forward
from neurorehab.fitting.observe import Grid, censored_normal_logpdf


@dataclass(frozen=True)
class EmulatorShape:
    """A multilayer perceptron of `depth` hidden layers of `width` units (tanh)."""

    width: int = 128
    depth: int = 3


def _net(key: Array, dim: int, out: int, shape: EmulatorShape) -> eqx.nn.MLP:
    return eqx.nn.MLP(dim, 2 * out, shape.width, shape.depth, activation=jnp.tanh, key=key)


@dataclass
class Emulator:
    """m(theta) and s(theta) of every grid score, scaled to [0, 1] by each instrument's range.

    `mean`, `sd`: the standardisation of the unconstrained parameters (the flow's, so both
    read parameters alike); `meta`: what it was trained on."""

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    grid: Grid
    shape: EmulatorShape
    net: Any
    mean: np.ndarray
    sd: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    # Compiled samplers by (priors, chains, warm-up, samples): a record is the sampler's
    # argument, so every patient after the first reuses one compilation.
    _samplers: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def moments(self, theta: Array) -> tuple[Array, Array]:
        """[parameters] in natural units -> (m, s), each [instruments, days]."""
        return _moments(self.net, theta, *self._scales())

    def _scales(self) -> tuple[Array, Array, Array, Array]:
        return (
            jnp.asarray(self.low, jnp.float32),
            jnp.asarray(self.high, jnp.float32),
            jnp.asarray(self.mean, jnp.float32),
            jnp.asarray(self.sd, jnp.float32),
        )

    def save(self, folder: Path, write: Callable[[Path, bytes], None]) -> None:
        """`emulator.eqx` (weights) and `emulator.json` (the rest), each through `write`."""
        import io

        buf = io.BytesIO()
        eqx.tree_serialise_leaves(buf, self.net)
        write(folder / "emulator.eqx", buf.getvalue())
        doc = {
            "names": list(self.names),
            "low": [float(v) for v in self.low],
            "high": [float(v) for v in self.high],
            "grid": self.grid.as_dict(),
            "shape": self.shape.__dict__,
            "mean": [float(v) for v in self.mean],
            "sd": [float(v) for v in self.sd],
            "meta": self.meta,
        }
        write(folder / "emulator.json", json.dumps(doc, indent=1).encode())

    @classmethod
    def load(cls, folder: Path) -> Emulator:
        doc = json.loads((folder / "emulator.json").read_text())
        grid = Grid.from_dict(doc["grid"])
        shape = EmulatorShape(**doc["shape"])
        # shapes only: initialising would compile a random draw per layer for nothing
        skeleton = eqx.filter_eval_shape(
            _net, jax.random.key(0), len(doc["names"]), grid.shape[0] * grid.shape[1], shape
        )
        with open(folder / "emulator.eqx", "rb") as f:
            net = eqx.tree_deserialise_leaves(f, skeleton)
        return cls(
            tuple(doc["names"]),
            np.asarray(doc["low"], float),
            np.asarray(doc["high"], float),
            grid,
            shape,
            net,
            np.asarray(doc["mean"], float),
            np.asarray(doc["sd"], float),
            doc["meta"],
        )


# The emulator's inputs are squashed smoothly into +-REACH standardised units, in training and
# in use alike: it has seen no simulation beyond the prior's few-SD range, and a network
# extrapolated there can invent a likelihood far higher than anywhere it was trained (a chain
# of NUTS then sticks in a prior tail 9 SD out). Squashed, the likelihood levels off at the
# edge of what was simulated and the prior decides beyond it.
REACH = 4.0


def _moments(net: Any, theta: Array, low: Array, high: Array, mean: Array, sd: Array) -> tuple[Array, Array]:
    z = (_forward(theta, low, high) - mean) / sd
    out = net(REACH * jnp.tanh(z / REACH))
    half = out.shape[0] // 2
    return out[:half], jax.nn.softplus(out[half:]) + 1e-3


def train_emulator(
    key: Array,
    theta: np.ndarray,
    clean: np.ndarray,
    grid: Grid,
    names: tuple[str, ...],
    low: np.ndarray,
    high: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    *,
    shape: EmulatorShape | None = None,
    epochs: int = 400,
    batch: int = 256,
    learning_rate: float = 2e-3,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> Emulator:
    """Fit m and s to [n, parameters] prior draws `theta` and their noise-free scores `clean`
    [n, instruments, days] (NaN rows dropped) by the Gaussian negative log-likelihood, Adam
    with cosine decay, a tenth held out; the weights of the best held-out epoch are kept."""
    shape = shape or EmulatorShape()
    ok = np.isfinite(clean).all(axis=(1, 2)) & np.isfinite(theta).all(axis=1)
    lo_i = np.asarray(grid.low, np.float32)[:, None]
    hi_i = np.asarray(grid.high, np.float32)[:, None]
    y = ((np.asarray(clean, np.float32)[ok] - lo_i) / (hi_i - lo_i)).reshape(int(ok.sum()), -1)
    th = jnp.asarray(np.asarray(theta, np.float32)[ok])
    scales = tuple(jnp.asarray(v, jnp.float32) for v in (low, high, mean, sd))
    k_init, k_split, k_loop = jax.random.split(key, 3)
    n = th.shape[0]
    order = np.asarray(jax.random.permutation(k_split, n))
    n_val = max(1, n // 10)
    val, fit = order[:n_val], order[n_val:]
    params, static = eqx.partition(_net(k_init, len(names), y.shape[1], shape), eqx.is_inexact_array)
    batches = max(1, len(fit) // batch)
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, epochs * batches))
    state = opt.init(params)

    def loss(p: Any, tb: Array, yb: Array) -> Array:
        net = eqx.combine(p, static)
        m, s = jax.vmap(lambda t: _moments(net, t, *scales))(tb)
        return jnp.mean(0.5 * ((yb - m) / s) ** 2 + jnp.log(s))

    @eqx.filter_jit
    def epoch(p: Any, state: Any, k: Array, th: Array, y: Array) -> tuple[Any, Any, Array]:
        perm = jax.random.permutation(k, th.shape[0])[: batches * batch]
        tb_all = th[perm].reshape(batches, batch, -1)
        yb_all = y[perm].reshape(batches, batch, -1)

        def step(carry: Any, b: tuple[Array, Array]) -> tuple[Any, Array]:
            p, state = carry
            value, grads = eqx.filter_value_and_grad(loss)(p, *b)
            updates, state = opt.update(grads, state, p)
            return (eqx.apply_updates(p, updates), state), value

        (p, state), values = jax.lax.scan(step, (p, state), (tb_all, yb_all))
        return p, state, values.mean()

    y_j = jnp.asarray(y)
    th_fit, y_fit, th_val, y_val = th[fit], y_j[fit], th[val], y_j[val]
    val_loss = eqx.filter_jit(loss)
    best, best_loss = params, math.inf
    for e in range(epochs):
        params, state, train_loss = epoch(params, state, jax.random.fold_in(k_loop, e), th_fit, y_fit)
        v = float(val_loss(params, th_val, y_val))
        if progress:
            progress(e + 1, epochs, float(train_loss), v)
        if v < best_loss:
            best, best_loss = params, v
    meta = {"simulations": int(n), "epochs": epochs, "best_validation_loss": best_loss}
    return Emulator(
        names,
        np.asarray(low, float),
        np.asarray(high, float),
        grid,
        shape,
        eqx.combine(best, static),
        np.asarray(mean, float),
        np.asarray(sd, float),
        meta,
    )


def prior_distribution(spec: dict[str, Any], low: float, high: float) -> Any:
    """A scenario's distribution (`uniform`, `lognormal`, `normal` clipped to the valid range,
    here truncated to it) as a NumPyro distribution."""
    import numpyro.distributions as dist

    kind = spec.get("dist")
    if kind == "uniform":
        return dist.Uniform(float(spec["low"]), float(spec["high"]))
    if kind == "lognormal":
        return dist.LogNormal(math.log(float(spec["median"])), float(spec["sd_log"]))
    if kind == "normal":
        lo = float(low) if math.isfinite(low) else None
        hi = float(high) if math.isfinite(high) else None
        return dist.TruncatedNormal(float(spec["mean"]), float(spec["sd"]), low=lo, high=hi)
    raise ValueError(f"a reference fit takes uniform, lognormal or normal priors, not {spec!r}")


@dataclass
class Reference:
    """NUTS draws [chains, samples, parameters] of `names`, with split R-hat and bulk
    effective sample size per parameter, the count of divergent transitions, and seconds."""

    names: tuple[str, ...]
    draws: np.ndarray
    rhat: np.ndarray
    ess: np.ndarray
    divergences: int
    seconds: float

    @property
    def flat(self) -> np.ndarray:
        """All chains' draws, [chains x samples, parameters]."""
        return self.draws.reshape(-1, self.draws.shape[-1])

    @property
    def converged(self) -> bool:
        """R-hat under 1.01 and at least 400 effective draws for every parameter, no divergence
        (Vehtari et al. 2021's recommendations)."""
        return bool((self.rhat < 1.01).all() and (self.ess >= 400).all() and self.divergences == 0)


def log_likelihood(emulator: Emulator, theta: Array, values: Array) -> Array:
    """log p(record | theta) under the reduced likelihood: `values` [instruments, days] in
    the instruments' units, NaN where not assessed."""
    low, high, mean, sd = emulator._scales()
    m, s = _moments(emulator.net, theta, low, high, mean, sd)
    g = emulator.grid
    lo_i = jnp.asarray(g.low, jnp.float32)[:, None]
    span = jnp.asarray(g.high, jnp.float32)[:, None] - lo_i
    e = jnp.asarray(g.noise_sd, jnp.float32)[:, None] / span
    m, s = m.reshape(g.shape), s.reshape(g.shape)
    seen = ~jnp.isnan(values)
    y = (jnp.nan_to_num(values) - lo_i) / span
    ll = censored_normal_logpdf(y, m, jnp.sqrt(s * s + e * e), 0.0, 1.0, tol=1e-6)
    return jnp.sum(jnp.where(seen, ll, 0.0))


def _sampler(
    emulator: Emulator, priors: dict[str, dict[str, Any]], chains: int, warmup: int, samples: int
) -> Callable[[Array, Array], tuple[Array, Array]]:
    """A compiled NUTS run: (key, record) -> (draws [chains, samples, parameters] in natural
    units, divergent [chains, samples]). Written on NumPyro's functional kernel (`hmc`) over
    our own potential, so that one compilation serves every record of the same grid: NumPyro's
    `MCMC` recompiles its sampling loop on each run, and some dozens of runs in one process
    exhaust XLA's code memory."""
    from numpyro.distributions.transforms import biject_to
    from numpyro.infer.hmc import hmc

    names = emulator.names
    dists = [prior_distribution(priors[n], emulator.low[i], emulator.high[i]) for i, n in enumerate(names)]
    to_natural = [biject_to(d.support) for d in dists]

    def natural(z: Array) -> Array:
        return jnp.stack([t(z[i]) for i, t in enumerate(to_natural)])

    def potential(values: Array) -> Callable[[Array], Array]:
        def u(z: Array) -> Array:
            theta = natural(z)
            lp = sum(
                d.log_prob(theta[i]) + t.log_abs_det_jacobian(z[i], theta[i])
                for i, (d, t) in enumerate(zip(dists, to_natural, strict=True))
            )
            return -(lp + log_likelihood(emulator, theta, values))

        return u

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential, algo="NUTS")

    def start(key: Array) -> Array:
        """The median of 15 prior draws, on the unconstrained scale."""
        ks = jax.random.split(key, len(dists))
        med = [jnp.median(d.sample(k, (15,))) for d, k in zip(dists, ks, strict=True)]
        return jnp.stack([t.inv(m) for t, m in zip(to_natural, med, strict=True)])

    def chain(key: Array, values: Array) -> tuple[Array, Array]:
        k_start, k_init = jax.random.split(key)
        state = init_kernel(
            start(k_start), warmup, target_accept_prob=0.95, model_args=(values,), rng_key=k_init
        )

        def step(state: Any, _: None) -> tuple[Any, tuple[Array, Array]]:
            state = sample_kernel(state, model_args=(values,))
            return state, (state.z, state.diverging)

        _, (zs, div) = jax.lax.scan(step, state, None, length=warmup + samples)
        return jax.vmap(natural)(zs[warmup:]), div[warmup:]

    @jax.jit
    def run(key: Array, values: Array) -> tuple[Array, Array]:
        return jax.vmap(chain, in_axes=(0, None))(jax.random.split(key, chains), values)

    return run


def sample(
    emulator: Emulator,
    priors: dict[str, dict[str, Any]],
    values: np.ndarray,
    *,
    key: Array,
    chains: int = 4,
    warmup: int = 500,
    samples: int = 1000,
) -> Reference:
    """NUTS on the reduced likelihood of one record `values` [instruments, days] (NaN: not
    assessed): `chains` chains side by side (vectorised), each started at the median of its
    own 15 prior draws, adapting step size and a diagonal mass matrix over `warmup` steps
    (target acceptance 0.95). Not NumPyro's default start (uniform on the unconstrained
    scale, which puts a log-normal parameter up to e^2 times its median away), nor single
    prior draws: from those, about one run in six had a chain stuck in a corner of the prior
    where the emulated likelihood is flat and poor (fear, 2026-12-05), which R-hat flags but a
    user would only rerun."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    t = time.perf_counter()
    names = emulator.names
    which = json.dumps([[priors[n] for n in names], chains, warmup, samples], sort_keys=True)
    if which not in emulator._samplers:
        emulator._samplers[which] = _sampler(emulator, priors, chains, warmup, samples)
    draws_j, div_j = emulator._samplers[which](key, jnp.asarray(values, jnp.float32))
    draws = np.asarray(draws_j, float)  # [chains, samples, P]
    rhat = np.array([float(split_gelman_rubin(draws[..., i])) for i in range(len(names))])
    ess = np.array([float(effective_sample_size(draws[..., i])) for i in range(len(names))])
    return Reference(names, draws, rhat, ess, int(np.asarray(div_j).sum()), time.perf_counter() - t)


@dataclass
class Agreement:
    """How two posteriors of the same parameters differ, per parameter: `shift`, the distance
    between their medians in widths of the first one's 90 % interval; `width`, the second's
    90 % interval width over the first's."""

    names: tuple[str, ...]
    shift: np.ndarray
    width: np.ndarray


def agreement(names: tuple[str, ...], first: np.ndarray, second: np.ndarray) -> Agreement:
    """Compare draws [n, parameters] of one posterior (`first`, e.g. the flow's) with another's."""
    q1 = np.quantile(first, [0.05, 0.5, 0.95], axis=0)
    q2 = np.quantile(second, [0.05, 0.5, 0.95], axis=0)
    w1 = np.maximum(q1[2] - q1[0], 1e-12)
    return Agreement(names, np.abs(q2[1] - q1[1]) / w1, (q2[2] - q2[0]) / w1)
