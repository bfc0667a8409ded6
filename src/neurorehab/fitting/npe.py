"""Amortised neural posterior estimation: a conditional normalising flow q(theta | record).

Trained once per model on simulations drawn from the prior (Papamakarios & Murray 2016;
Greenberg et al. 2019; the flow is flowjax's masked autoregressive flow with rational-quadratic
spline transformers, Durkan et al. 2019), it turns one patient's assessment record into
posterior draws in milliseconds. Parameters are learnt on an unconstrained scale (logit of a
bounded range, log of a half-bounded one), standardised, and mapped back, so every draw lies in
the parameter's valid range.

The training loop is ours, not flowjax's `fit_to_data`, for one reason: each epoch draws a new
measurement error and a new pattern of missing assessments for every simulated patient
(`observe.observe`), so the estimator never learns one fixed mask. The algorithm knows nothing
of models or of how the simulations were run: it takes arrays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import paramax
from flowjax.bijections import RationalQuadraticSpline
from flowjax.distributions import Normal
from flowjax.flows import masked_autoregressive_flow
from jax import Array
from jax.typing import ArrayLike

from neurorehab.fitting.observe import Grid, encode, observe


@dataclass(frozen=True)
class Architecture:
    """The flow's shape: `layers` autoregressive layers of `knots`-knot splines on
    [-`interval`, `interval`], conditioners of `depth` hidden layers of `width` units."""

    layers: int = 6
    knots: int = 8
    interval: float = 5.0
    width: int = 128
    depth: int = 2


@dataclass(frozen=True)
class Training:
    """Adam at `learning_rate` (cosine decay over `epochs`) on minibatches of `batch`, a share
    `validation` held out, stopping after `patience` epochs without a better validation loss."""

    epochs: int = 200
    batch: int = 256
    learning_rate: float = 1e-3
    validation: float = 0.1
    patience: int = 50


def _forward(x: Array, low: Array, high: Array) -> Array:
    """Natural -> unconstrained: logit on [low, high], log above a finite low, else identity."""
    both = jnp.isfinite(low) & jnp.isfinite(high)
    lower = jnp.isfinite(low) & ~jnp.isfinite(high)
    lo, hi = jnp.where(jnp.isfinite(low), low, 0.0), jnp.where(jnp.isfinite(high), high, 1.0)
    u = jnp.clip((x - lo) / (hi - lo), 1e-6, 1 - 1e-6)
    return jnp.where(
        both, jnp.log(u) - jnp.log1p(-u), jnp.where(lower, jnp.log(jnp.maximum(x - lo, 1e-12)), x)
    )


def _inverse(z: Array, low: Array, high: Array) -> Array:
    both = jnp.isfinite(low) & jnp.isfinite(high)
    lower = jnp.isfinite(low) & ~jnp.isfinite(high)
    lo, hi = jnp.where(jnp.isfinite(low), low, 0.0), jnp.where(jnp.isfinite(high), high, 1.0)
    return jnp.where(both, lo + (hi - lo) * jax.nn.sigmoid(z), jnp.where(lower, lo + jnp.exp(z), z))


def _flow(key: Array, dim: int, cond: int, arch: Architecture) -> Any:
    return masked_autoregressive_flow(
        key,
        base_dist=Normal(jnp.zeros(dim)),
        transformer=RationalQuadraticSpline(knots=arch.knots, interval=arch.interval),
        cond_dim=cond,
        flow_layers=arch.layers,
        nn_width=arch.width,
        nn_depth=arch.depth,
    )


def _skeleton(dim: int, cond: int, arch: Architecture) -> Any:
    """The flow's structure to load saved weights into, without initialising it: a real
    initialisation compiles a random draw for every layer shape (3-5 s of a cold command),
    where tracing the shapes takes a tenth of a second. flowjax's autoregressive layers keep
    one closure over their transformer's initial parameters (`get_ravelled_pytree_constructor`),
    which shape-tracing leaves holding tracers, so it is rebuilt for real (it draws nothing);
    should a flowjax release change that, the flow is initialised as before
    (`tests/test_fitting.py` checks both load alike)."""
    from flowjax.utils import get_ravelled_pytree_constructor

    shapes = eqx.filter_eval_shape(_flow, jax.random.key(0), dim, cond, arch)
    fresh, _ = get_ravelled_pytree_constructor(
        RationalQuadraticSpline(knots=arch.knots, interval=arch.interval),
        filter_spec=eqx.is_inexact_array,
        is_leaf=lambda leaf: isinstance(leaf, paramax.NonTrainable),
    )
    name = get_ravelled_pytree_constructor.__qualname__ + ".<locals>.constructor"
    rebuilt = 0

    def swap(leaf: Any) -> Any:
        nonlocal rebuilt
        if callable(leaf) and getattr(leaf, "__qualname__", "") == name:
            rebuilt += 1
            return fresh
        return leaf

    shapes = jax.tree.map(swap, shapes)
    return shapes if rebuilt else _flow(jax.random.key(0), dim, cond, arch)


@dataclass
class Estimator:
    """A trained posterior estimator for the parameters `names` (valid ranges `low`, `high`)
    given records on `grid`. `meta`: what it was trained on and how long it took."""

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    grid: Grid
    arch: Architecture
    flow: Any
    mean: np.ndarray  # of the unconstrained training parameters
    sd: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def sample(self, key: Array, records: ArrayLike, n: int) -> Array:
        """[patients, instruments, days] records (NaN: missing) -> [patients, n, parameters]."""
        return _sample(
            self.flow,
            key,
            encode(self.grid, jnp.asarray(records, jnp.float32)),
            n,
            jnp.asarray(self.mean),
            jnp.asarray(self.sd),
            jnp.asarray(self.low),
            jnp.asarray(self.high),
        )

    def save(self, folder: Path, write: Callable[[Path, bytes], None]) -> None:
        """The flow's weights (`flow.eqx`) and everything to rebuild it (`estimator.json`),
        each through `write` (an atomic writer: the caller's I/O layer)."""
        import io

        buf = io.BytesIO()
        eqx.tree_serialise_leaves(buf, self.flow)
        write(folder / "flow.eqx", buf.getvalue())
        doc = {
            "names": list(self.names),
            "low": [float(v) for v in self.low],
            "high": [float(v) for v in self.high],
            "grid": self.grid.as_dict(),
            "arch": self.arch.__dict__,
            "mean": [float(v) for v in self.mean],
            "sd": [float(v) for v in self.sd],
            "meta": self.meta,
        }
        write(folder / "estimator.json", json.dumps(doc, indent=1, allow_nan=True).encode())

    @classmethod
    def load(cls, folder: Path) -> Estimator:
        doc = json.loads((folder / "estimator.json").read_text())
        grid = Grid.from_dict(doc["grid"])
        arch = Architecture(**doc["arch"])
        skeleton = _skeleton(len(doc["names"]), grid.width, arch)
        with open(folder / "flow.eqx", "rb") as f:
            flow = eqx.tree_deserialise_leaves(f, skeleton)
        return cls(
            tuple(doc["names"]),
            np.asarray(doc["low"], float),
            np.asarray(doc["high"], float),
            grid,
            arch,
            flow,
            np.asarray(doc["mean"]),
            np.asarray(doc["sd"]),
            doc["meta"],
        )


@eqx.filter_jit
def _sample(
    flow: Any, key: Array, x: Array, n: int, mean: Array, sd: Array, low: Array, high: Array
) -> Array:
    keys = jax.random.split(key, x.shape[0])
    z = jax.vmap(lambda k, xi: flow.sample(k, (n,), condition=xi))(keys, x)
    return _inverse(z * sd + mean, low, high)


def train(
    key: Array,
    theta: np.ndarray,
    clean: np.ndarray,
    grid: Grid,
    names: tuple[str, ...],
    low: np.ndarray,
    high: np.ndarray,
    *,
    arch: Architecture | None = None,
    training: Training | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> Estimator:
    """Train on [n, parameters] prior draws `theta` and their noise-free scores `clean`
    [n, instruments, days] (NaN where a simulation failed: those patients are dropped).
    `progress(epoch, epochs, train_loss, validation_loss)` is called after each epoch."""
    arch, training = arch or Architecture(), training or Training()
    ok = np.isfinite(clean).all(axis=(1, 2)) & np.isfinite(theta).all(axis=1)
    theta, clean = np.asarray(theta, np.float32)[ok], np.asarray(clean, np.float32)[ok]
    low_j, high_j = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
    u = np.asarray(_forward(jnp.asarray(theta), low_j, high_j))
    mean, sd = u.mean(axis=0), u.std(axis=0) + 1e-6
    z = jnp.asarray((u - mean) / sd, jnp.float32)
    k_init, k_split, k_val, k_loop = jax.random.split(key, 4)
    n = z.shape[0]
    order = np.asarray(jax.random.permutation(k_split, n))
    n_val = max(1, round(training.validation * n))
    val, fit = order[:n_val], order[n_val:]
    x_val = encode(grid, observe(grid, k_val, jnp.asarray(clean[val])))
    z_val, z_fit, c_fit = z[val], z[fit], jnp.asarray(clean[fit])
    flow = _flow(k_init, len(names), grid.width, arch)
    params, static = eqx.partition(
        flow, eqx.is_inexact_array, is_leaf=lambda x: isinstance(x, paramax.NonTrainable)
    )
    batches = max(1, len(fit) // training.batch)
    schedule = optax.cosine_decay_schedule(training.learning_rate, training.epochs * batches)
    opt = optax.adam(schedule)
    state = opt.init(params)

    def loss(p: Any, zb: Array, xb: Array) -> Array:
        dist = paramax.unwrap(eqx.combine(p, static))
        return -jnp.mean(dist.log_prob(zb, condition=xb))

    @eqx.filter_jit
    def epoch(p: Any, s: Any, k: Array, z_fit: Array, c_fit: Array) -> tuple[Any, Any, Array]:
        k_perm, k_obs = jax.random.split(k)
        perm = jax.random.permutation(k_perm, z_fit.shape[0])[: batches * training.batch]
        x_all = encode(grid, observe(grid, k_obs, c_fit[perm]))
        zb_all = z_fit[perm].reshape(batches, training.batch, -1)
        xb_all = x_all.reshape(batches, training.batch, -1)

        def step(carry: Any, b: tuple[Array, Array]) -> tuple[Any, Array]:
            p, s = carry
            value, grads = eqx.filter_value_and_grad(loss)(p, *b)
            updates, s = opt.update(grads, s, p)
            return (eqx.apply_updates(p, updates), s), value

        (p, s), values = jax.lax.scan(step, (p, s), (zb_all, xb_all))
        return p, s, values.mean()

    val_loss = eqx.filter_jit(loss)
    best, best_loss, stale, history = params, math.inf, 0, []
    for e in range(training.epochs):
        params, state, train_loss = epoch(params, state, jax.random.fold_in(k_loop, e), z_fit, c_fit)
        v = float(val_loss(params, z_val, x_val))
        history.append((float(train_loss), v))
        if progress:
            progress(e + 1, training.epochs, float(train_loss), v)
        if v < best_loss - 1e-4:
            best, best_loss, stale = params, v, 0
        else:
            stale += 1
            if stale >= training.patience:
                break
    flow = eqx.combine(best, static)
    meta = {
        "simulations": int(n),
        "dropped": int((~ok).sum()),
        "epochs": len(history),
        "best_validation_loss": best_loss,
        "losses": history,
        "training": training.__dict__,
    }
    return Estimator(names, np.asarray(low, float), np.asarray(high, float), grid, arch, flow, mean, sd, meta)
