"""Synaptic plasticity rules as small pure functions (weights in, weights out).

Conventions: a weight matrix `w` is indexed [pre, post]; rates are dimensionless activities
(0-1) unless stated; `rate` arguments are learning rates per presentation. Every rule is
differentiable and free of Python branching on traced values, so it can sit inside `lax.scan`,
`vmap` and forward-mode differentiation.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def hebbian_bounded(w: Array, pre: Array, post: Array, rate: Array, w_max: Array) -> Array:
    """Hebbian growth with a soft upper bound: dw = rate * pre * post * (w_max - w).

    The multiplicative bound keeps 0 <= w <= w_max without clipping (soft-bound rules:
    van Rossum, Bi & Turrigiano 2000, J Neurosci 20:8812; Gerstner & Kistler 2002, ch. 10).
    Under constant pre and post activity w relaxes to w_max exponentially with rate
    `rate * pre * post`.
    """
    return w + rate * jnp.outer(pre, post) * (w_max - w)


def oja(w: Array, pre: Array, post: Array, rate: Array) -> Array:
    """Oja's normalised Hebbian rule, one output per column: dw_ij = rate * y_j (x_i - y_j w_ij).

    Oja 1982 (J Math Biol 15:267): for a linear unit y = w.x the weight vector converges to the
    unit-norm principal eigenvector of the input correlation matrix.
    """
    return w + rate * (jnp.outer(pre, post) - w * post**2)


def bcm(
    w: Array, theta: Array, pre: Array, post: Array, rate: Array, tau_theta: Array
) -> tuple[Array, Array]:
    """BCM rule with a sliding threshold (Bienenstock, Cooper & Munro 1982, J Neurosci 2:32).

    dw = rate * x * y * (y - theta); theta relaxes to <y^2> with time constant `tau_theta`
    (in presentations; Intrator & Cooper 1992 form). Returns (w, theta).
    """
    w = w + rate * jnp.outer(pre, post * (post - theta))
    theta = theta + (post**2 - theta) / tau_theta
    return w, theta


def use_decay(
    w: Array, use: Array, hours: Array, tau_hours: Array, floor: Array, use_half: Array, use_tau_hours: Array
) -> tuple[Array, Array]:
    """ "Use it or lose it": weights relax toward `floor` unless recently used.

    dw/dt = -(w - floor) (1 - p(t)) / tau with protection p = u/(u + use_half), where the
    co-activity trace u decays as u0 exp(-t/use_tau). Both are integrated exactly over `hours`
    (the integral of p is use_tau ln((u0 + c)/(u0 e^(-H/use_tau) + c)), c = use_half), so one
    call for a long gap equals many short ones. A synapse in use is protected; an unused one
    fades with time constant `tau_hours` (disuse-driven weakening: seed 000; Han, Arbib &
    Schweighofer 2008, PLoS Comput Biol 4:e1000133). Returns (w, use).
    """
    u_end = use * jnp.exp(-hours / use_tau_hours)
    protected = use_tau_hours * jnp.log((use + use_half) / (u_end + use_half))
    w = floor + (w - floor) * jnp.exp(-(hours - protected) / tau_hours)
    return w, u_end


def stdp_traces(
    w: Array,
    x_pre: Array,
    y_post: Array,
    pre_spikes: Array,
    post_spikes: Array,
    dt: ArrayLike,
    tau_plus: ArrayLike,
    tau_minus: ArrayLike,
    a_plus: ArrayLike,
    a_minus: ArrayLike,
    w_max: ArrayLike,
) -> tuple[Array, Array, Array]:
    """Pair-based additive STDP with all-to-all traces (Song, Miller & Abbott 2000, Nat Neurosci 3:919).

    Traces decay with tau_plus (pre) and tau_minus (post) and jump by 1 at a spike. A pre
    spike depresses by a_minus * w_max * y_post; a post spike potentiates by
    a_plus * w_max * x_pre; weights are clipped to [0, w_max]. Spikes are 0/1 floats; the
    window for one pair at lag s = t_post - t_pre is a_plus e^(-s/tau_plus) for s > 0 and
    -a_minus e^(s/tau_minus) for s < 0 (times w_max). Returns (w, x_pre, y_post).
    """
    x_pre = x_pre * jnp.exp(-jnp.divide(dt, tau_plus))
    y_post = y_post * jnp.exp(-jnp.divide(dt, tau_minus))
    w = w - a_minus * w_max * jnp.outer(pre_spikes, y_post)
    w = w + a_plus * w_max * jnp.outer(x_pre, post_spikes)
    x_pre = x_pre + pre_spikes
    y_post = y_post + post_spikes
    return jnp.clip(w, 0.0, w_max), x_pre, y_post


def homeostatic_scaling(w: Array, post_rate: Array, target: Array, dt: Array, tau: Array) -> Array:
    """Multiplicative synaptic scaling (Turrigiano et al. 1998, Nature 391:892).

    Every input weight of a postsynaptic cell is scaled by 1 + dt/tau (target - r)/target, so a
    cell firing below its target strengthens all its inputs in proportion and keeps their
    ratios (van Rossum, Bi & Turrigiano 2000).
    """
    return w * (1.0 + dt / tau * (target - post_rate) / target)[None, :]
