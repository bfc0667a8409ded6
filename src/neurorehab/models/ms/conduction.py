"""The reduced conduction model: closed forms fitted to the cable model (`cable.py`).

The cohort simulations need, for every axon every day, whether it conducts through its
lesion, how fast, and how high a rate it follows. Running the cable model for that would cost
tens of milliseconds an axon; these closed forms cost nanoseconds (bench/ms_conduction.py).

With u = ln(myelin) (myelin clipped to [0.005, 1]: below, the fibre is bare), tau = (T - 37) / 4
(T in degrees C) and delta = ln(d / 2 um) (d: axon diameter), each quantity is a cubic
polynomial in (u, tau, delta), fitted by least squares to the cable model over its grid
(myelin 0.005-1, 33-41 degrees C, diameter 1-8 um: `bench/ms_conduction.py --fit`):

- ln(safety factor); the axon blocks where the safety factor is below 1;
- ln(velocity inside the lesion / (m/s)), where it conducts;
- ln(refractory period of transmission / ms), where it conducts, with one more feature,
  ln(1 - 1/SF) of the fitted safety factor: the refractory period grows without bound as the
  margin closes (Rasminsky & Sears 1972).

The highest frequency an axon follows through its lesion is 1 / refractory period. The errors
against the cable over the grid are stated in README.md and re-measured by the bench.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

MIN_MYELIN = 0.005
EXPONENTS = [e for e in itertools.product(range(4), repeat=3) if sum(e) <= 3]

# Fitted by `python bench/ms_conduction.py --fit` (the cable model of this version).
COEF: dict[str, list[float]] = {
    "safety": [
        0.786016,
        -0.039577,
        -0.00617,
        0.003297,
        -0.169935,
        -0.001224,
        0.000428,
        -0.013851,
        -0.000255,
        -0.001715,
        -0.036824,
        -0.08844,
        -0.007181,
        -0.004609,
        -0.001314,
        0.002231,
        -0.07636,
        -0.036569,
        -0.008463,
        0.001227,
    ],
    "velocity": [
        2.924787,
        1.003114,
        8.2e-05,
        -0.008836,
        0.093955,
        -0.004469,
        0.002109,
        -0.004882,
        -0.00094,
        -0.010959,
        0.139413,
        -0.032675,
        -0.011787,
        -0.043461,
        -0.003523,
        0.012946,
        -0.008413,
        -0.022397,
        -0.032908,
        0.025947,
    ],
    "refractory": [
        -0.9659,
        0.00039,
        0.0047,
        0.004454,
        -0.293879,
        -0.007392,
        0.006641,
        0.012992,
        0.002114,
        0.002754,
        -0.043891,
        0.065476,
        0.008617,
        0.0171,
        -0.00579,
        -0.012344,
        -0.049392,
        0.029771,
        0.032008,
        -0.034204,
        -0.059607,
    ],
}


def _features(myelin: ArrayLike, temp: ArrayLike, diameter: ArrayLike) -> Array:
    u = jnp.log(jnp.clip(myelin, MIN_MYELIN, 1.0))
    tau = (temp - 37.0) / 4.0
    delta = jnp.log(diameter / 2.0)
    return jnp.stack([u**a * tau**b * delta**c for a, b, c in EXPONENTS], axis=-1)


def reduced(
    myelin: ArrayLike, temp: ArrayLike, diameter: ArrayLike, coef: dict | None = None
) -> dict[str, Array]:
    """Safety factor, whether it conducts, velocity (m/s; 0 if blocked), refractory period of
    transmission (ms; inf if blocked) and the highest frequency followed (Hz; 0 if blocked)."""
    c = {k: jnp.asarray(v) for k, v in (coef or COEF).items()}
    x = _features(jnp.asarray(myelin), jnp.asarray(temp), jnp.asarray(diameter))
    sf = jnp.exp(x @ c["safety"])
    ok = sf >= 1.0
    margin = jnp.log(jnp.clip(1.0 - 1.0 / sf, 1e-3, 1.0))
    rp = jnp.exp(x @ c["refractory"][:-1] + c["refractory"][-1] * margin)
    return {
        "safety": sf,
        "conducts": ok,
        "velocity": jnp.where(ok, jnp.exp(x @ c["velocity"]), 0.0),
        "refractory": jnp.where(ok, rp, jnp.inf),
        "max_rate": jnp.where(ok, 1e3 / rp, 0.0),
    }


def fit(grid: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Least-squares coefficients from a cable grid (`bench/ms_conduction.py`)."""
    x = np.asarray(_features(grid["myelin"], grid["temp"], grid["diameter"]), np.float64)
    out = {"safety": np.linalg.lstsq(x, np.log(grid["safety"]), rcond=None)[0]}
    ok = _conducting(grid)
    out["velocity"] = np.linalg.lstsq(x[ok], np.log(grid["velocity"][ok]), rcond=None)[0]
    sf = np.exp(x @ out["safety"])
    margin = np.log(np.clip(1.0 - 1.0 / np.maximum(sf, 1.0 + 1e-3), 1e-3, 1.0))
    xr = np.concatenate([x, margin[:, None]], axis=1)
    out["refractory"] = np.linalg.lstsq(xr[ok], np.log(grid["refractory"][ok]), rcond=None)[0]
    return {k: [round(float(v), 6) for v in vals] for k, vals in out.items()}


def errors(grid: dict[str, np.ndarray], coef: dict | None = None) -> dict[str, float]:
    """The reduced model against the cable grid: block agreement and relative errors (median
    and largest; velocity and refractory period where both conduct)."""
    r = {k: np.asarray(v) for k, v in reduced(grid["myelin"], grid["temp"], grid["diameter"], coef).items()}
    crossed = _conducting(grid)
    both = crossed & r["conducts"]
    agree = float(np.mean(crossed == r["conducts"]))
    out: dict[str, float] = {"points": len(crossed), "block_agreement": agree}
    for name, where in (("safety", np.ones_like(both)), ("velocity", both), ("refractory", both)):
        err = np.abs(r[name][where] / grid[name][where] - 1.0)
        out[f"{name}_max_rel"], out[f"{name}_median_rel"] = float(err.max()), float(np.median(err))
    return out


def _conducting(grid: dict[str, np.ndarray]) -> np.ndarray:
    """Grid points where the cable conducts: a velocity, and a refractory period under the
    bisection's 10 ms ceiling (`cable.refractory_period`)."""
    return np.isfinite(grid["velocity"]) & (grid["refractory"] < 9.9)
