"""Two-state (fast and slow) retention of what is learned (Smith, Ghazizadeh & Shadmehr 2006).

e = f - (x_f + x_s); x_f <- A_f x_f + B_f e; x_s <- A_s x_s + B_s e; in error-clamp trials the
error is held at 0, so both states only decay. The fast state learns and forgets quickly, the
slow one learns and forgets slowly: gains decay fast after practice, then plateau (Wang et al.
2020), and after de-adaptation an error clamp shows spontaneous recovery. Available to every
model as a pure function of (state, perturbation, clamp); trial counts are the model's.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


class TwoStateParams(NamedTuple):
    """Retention factors A (per trial) and learning rates B (per trial), dimensionless.

    Defaults: Smith et al. 2006 (PLoS Biol 4:e179), A_f 0.92, A_s 0.996, B_f 0.03, B_s 0.004.
    """

    a_fast: float = 0.92
    a_slow: float = 0.996
    b_fast: float = 0.03
    b_slow: float = 0.004


def two_state_step(x: Array, perturbation: Array, clamp: Array, p: TwoStateParams) -> Array:
    """One trial; x = [x_fast, x_slow]. With clamp, the error is 0 (error-clamp trial)."""
    error = jnp.where(clamp, 0.0, perturbation - x.sum())
    return jnp.stack([p.a_fast * x[0] + p.b_fast * error, p.a_slow * x[1] + p.b_slow * error])


def two_state_run(
    perturbation: Array, clamp: Array, p: TwoStateParams = TwoStateParams(), x0: Array | None = None
) -> Array:
    """States after each trial of a schedule: [trials, 2] (fast, slow); net output is the sum."""

    def body(x: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
        x = two_state_step(x, inputs[0], inputs[1], p)
        return x, x

    start = jnp.zeros(2) if x0 is None else x0
    _, xs = jax.lax.scan(body, start, (jnp.asarray(perturbation, jnp.float32), jnp.asarray(clamp)))
    return xs
