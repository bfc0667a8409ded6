"""Populations and projections: rate units and leaky integrate-and-fire (LIF) units.

Rate units settle to a trial's steady state (feed-forward) or relax for a few steps
(recurrent). LIF units are integrated exactly for input held over a step (Rotter & Diesmann
1999), as NEST's iaf_psc models are. Projections are dense (with an optional mask) or sparse
(index lists, propagated event-driven with a segment sum).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


def relu(x: Array) -> Array:
    return jnp.maximum(x, 0.0)


def dense_input(w: Array, pre: Array, mask: Array | None = None) -> Array:
    """Input to the post population through a dense projection w[pre, post] (masked if given)."""
    return pre @ (w if mask is None else w * mask)


def sparse_input(pre: Array, pre_idx: Array, post_idx: Array, weight: Array, n_post: int) -> Array:
    """Event-driven input through a sparse projection: sum of weight * pre[pre_idx] per post."""
    return jax.ops.segment_sum(weight * pre[pre_idx], post_idx, num_segments=n_post)


def rate_relax(
    r: Array,
    w_rec: Array,
    external: Array,
    steps: int,
    dt_over_tau: float = 0.2,
    f: Callable[[Array], Array] = relu,
) -> Array:
    """Relax a recurrent rate population tau dr/dt = -r + f(W^T r + input) for `steps` Euler steps."""

    def body(_, r):
        return r + dt_over_tau * (-r + f(r @ w_rec + external))

    return jax.lax.fori_loop(0, steps, body, r)


class LIFParams(NamedTuple):
    """LIF parameters (NEST iaf_psc_delta defaults where they exist).

    tau_m [ms] membrane time constant; r_m [MOhm] resistance (so R*I is in mV for I in nA);
    v_rest, v_th, v_reset [mV]; t_ref [ms] absolute refractory period.
    """

    tau_m: float = 10.0
    r_m: float = 40.0
    v_rest: float = -70.0
    v_th: float = -55.0
    v_reset: float = -70.0
    t_ref: float = 2.0


def lif_step(
    v: Array, refr: Array, current: Array, dt: float, p: LIFParams, jump: Array | None = None
) -> tuple[Array, Array, Array]:
    """One exact step of tau_m dv/dt = -(v - v_rest) + R I, then threshold, reset and refractoriness.

    `current` [nA] is held over the step; `jump` [mV] adds delta-synapse input at the step.
    `refr` counts remaining refractory time [ms]; a refractory cell is clamped at v_reset.
    Returns (v, refr, spikes as 0/1 floats).
    """
    v_inf = p.v_rest + p.r_m * current
    v_new = v_inf + (v - v_inf) * jnp.exp(-dt / p.tau_m)
    if jump is not None:
        v_new = v_new + jump
    refractory = refr > 0.5 * dt
    v_new = jnp.where(refractory, p.v_reset, v_new)
    spikes = (v_new >= p.v_th) & ~refractory
    v_new = jnp.where(spikes, p.v_reset, v_new)
    refr = jnp.where(spikes, p.t_ref, jnp.maximum(refr - dt, 0.0))
    return v_new, refr, spikes.astype(v.dtype)


def lif_rate_theory(current: Array, p: LIFParams) -> Array:
    """Analytic firing rate [Hz] of the LIF under constant current [nA].

    r = 1 / (t_ref + tau_m ln((R I) / (R I - (v_th - v_rest)))) for R I above threshold, else 0
    (Gerstner & Kistler 2002, eq. 4.11), for v_reset = v_rest.
    """
    ri = p.r_m * current
    gap = p.v_th - p.v_rest
    above = ri > gap
    period = p.t_ref + p.tau_m * jnp.log(jnp.where(above, ri / (ri - gap), 2.0))
    return jnp.where(above, 1000.0 / period, 0.0)
