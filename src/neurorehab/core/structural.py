"""The Model of Structural Plasticity (Butz & van Ooyen 2013, PLoS Comput Biol 9:e1003259).

Each neuron keeps a calcium trace of its activity; its numbers of axonal boutons and dendritic
spines (synaptic elements, real-valued) grow or retract by a growth curve of calcium; whole
elements bind into synapses with vacant partners and synapses break when their elements
retract. Conventions follow NEST's implementation (times in ms, growth rates in elements per
ms). Connectivity is an integer count matrix C[pre, post], so element bookkeeping is exact:
for every neuron, connected elements never exceed floor(z).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from neurorehab.core import threefry


def calcium_spikes(ca: Array, spikes: Array, dt: ArrayLike, tau: ArrayLike, beta: ArrayLike) -> Array:
    """Spike-driven trace: dCa/dt = -Ca/tau + beta * sum of spikes (NEST's Ca).

    Exact decay over dt, then a jump of beta per spike. Its mean settles at beta * tau * rate.
    """
    return ca * jnp.exp(-jnp.divide(dt, tau)) + jnp.multiply(beta, spikes)


def calcium_rate(ca: Array, rate: Array, dt: Array, tau: Array, beta: Array) -> Array:
    """Rate-driven trace, the same equation with the spike train replaced by its rate.

    Integrated exactly for a rate held over dt: Ca -> beta tau r + (Ca - beta tau r) e^(-dt/tau).
    """
    target = beta * tau * rate
    return target + (ca - target) * jnp.exp(-dt / tau)


def growth_gaussian(ca: Array, nu: Array, eta: Array, eps: Array) -> Array:
    """dz/dt = nu (2 exp(-((Ca - xi)/zeta)^2) - 1), xi = (eta+eps)/2, zeta = (eps-eta)/(2 sqrt(ln 2)).

    Zero at eta (minimum activity for growth) and eps (set point), +nu midway, -nu far out
    (Butz & van Ooyen 2013, eq. 2; NEST growth_curve_gaussian).
    """
    xi = (eta + eps) / 2.0
    zeta = (eps - eta) / (2.0 * jnp.sqrt(jnp.log(2.0)))
    return nu * (2.0 * jnp.exp(-(((ca - xi) / zeta) ** 2)) - 1.0)


def calcium_window_midpoints(
    ca: Array, spike_step: Array, steps: int, dt: float, tau: float, beta: float
) -> tuple[Array, Array, Array, Array, Array]:
    """A spike-driven calcium trace over `steps` steps with at most one spike, at `spike_step`
    (`steps` for none), for sums of a smooth function of calcium over the steps.

    The steps before the spike and those from it on each see a smooth exponential decay, so a
    sum of f(Ca) over each run of steps is its length times f at its middle step (the midpoint
    rule), with an error of about L^3/24 f''(Ca) (Ca dt/tau)^2 for a run of L steps, where dt/tau
    is small: for NEST's structural plasticity example (dt/tau 1e-5, L <= 10, the growth curve's
    width 0.03) under 1e-8 of the sum, below float32's rounding (a test checks it against the
    step-by-step sum). Decay over x steps, a^x, is taken from its series in 1 - a (exact to
    (x (1 - a))^3 / 6); the trace's end is the recurrence Ca <- a Ca + beta spike in closed form.
    Returns (Ca at the end, Ca at the middle step of the run before the spike and its length, Ca
    at the middle of the run from the spike on and its length).
    """
    q = -math.expm1(-dt / tau)  # 1 - a

    def decay(x: Array) -> Array:
        return 1.0 - x * q + 0.5 * x * (x - 1.0) * q * q

    k = spike_step.astype(ca.dtype)
    before = ca * decay(0.5 * (k + 1.0))  # step (k - 1)/2: Ca = ca a^(j + 1)
    mid = 0.5 * (k + steps - 1.0)  # from the spike on: Ca = ca a^(j + 1) + beta a^(j - k)
    after = ca * decay(mid + 1.0) + beta * decay(mid - k)
    end = ca * math.exp(-steps * dt / tau) + jnp.where(k < steps, beta * decay(steps - 1.0 - k), 0.0)
    return end, before, k, after, steps - k


def growth_linear(ca: Array, nu: Array, eps: Array) -> Array:
    """dz/dt = nu (1 - Ca/eps) (NEST growth_curve_linear): homeostatic about the set point."""
    return nu * (1.0 - ca / eps)


def growth_sigmoid(ca: Array, nu: Array, eps: Array, psi: Array) -> Array:
    """dz/dt = nu (2 / (1 + exp((Ca - eps)/psi)) - 1) (NEST growth_curve_sigmoid), psi > 0."""
    return nu * (2.0 / (1.0 + jnp.exp((ca - eps) / psi)) - 1.0)


def grow(z: Array, rate: Array, dt: ArrayLike) -> Array:
    """Advance element counts by their growth rate over dt; counts never go below zero."""
    return jnp.maximum(z + rate * dt, 0.0)


def _running_sum(x: Array) -> Array:
    """Running sums along the last axis of whole numbers below 2^24, as one small product with
    a triangle of ones (exact in float32; jnp.cumsum compiles to a chain of a dozen kernels)."""
    n = x.shape[-1]
    triangle = jnp.asarray(np.triu(np.ones((n, n), np.float32)))
    exact = jax.lax.Precision.HIGHEST  # float32 throughout, on an accelerator too
    return jnp.matmul(x.astype(jnp.float32), triangle, precision=exact).astype(x.dtype)


def _remove_one(c: Array, deficit: Array, key: Array, width: int = 32) -> tuple[Array, Array]:
    """For each row with deficit > 0, remove one unit of C chosen in proportion to its counts.

    Every unit of a row (a synapse: a pair counted c_ij times is c_ij units) is equally likely,
    as NEST picks a synapse to delete among a neuron's synapses. The row's units are numbered in
    column order and unit floor(u total) is removed, u uniform: found by the running sums of
    blocks of `width` columns, then within its block. That is one draw and about two passes
    over the row, where a Gumbel-max draw over the columns took a hash and two logarithms per
    entry (NEST's structural plasticity example, 800 x 1,000 counts: 26 -> about 1 ms a round,
    2026-12-06). Counts are whole numbers, so the sums are exact in float32 while a row holds
    fewer than 2^24 units; u has 23 random bits, so each unit's chance is 1/total to within
    about total/2^23 of it (1e-4 for a thousand units). Beyond those sizes the choice skews, and
    a unit is removed only where one exists. The product with the
    triangle costs rows x (cols/width)^2: small next to a pass over the row below 30,000 columns.
    """
    rows, cols = c.shape
    n_blocks = -(-cols // width)
    blocks = jnp.pad(c, ((0, 0), (0, n_blocks * width - cols))).reshape(rows, n_blocks, width)
    block_sum = blocks.sum(axis=2)  # [rows, n_blocks]
    block_end = _running_sum(block_sum)  # units up to the end of each block
    total = block_end[:, -1]
    active = (deficit > 0) & (total > 0)
    u = threefry.uniform(key, (rows,))
    unit = jnp.minimum(jnp.floor(u * total.astype(jnp.float32)).astype(total.dtype), total - 1)
    b = jnp.minimum(jnp.sum(block_end <= unit[:, None], axis=1), n_blocks - 1)  # the unit's block
    before = jnp.take_along_axis(block_end - block_sum, b[:, None], axis=1)[:, 0]
    in_block = jnp.take_along_axis(blocks, b[:, None, None], axis=1)[:, 0]  # [rows, width]
    k = jnp.sum(_running_sum(in_block) <= (unit - before)[:, None], axis=1)
    there = jnp.take_along_axis(in_block, jnp.minimum(k, width - 1)[:, None], axis=1)[:, 0] > 0
    active = active & (k < width) & there  # always so while the sums are exact (see above)
    hit = (jnp.arange(cols)[None, :] == (b * width + k)[:, None]) & active[:, None]
    return c - hit.astype(c.dtype), deficit - active.astype(deficit.dtype)


def delete_excess(c: Array, z_axon: Array, z_dendrite: Array, key: Array, rounds: int = 4) -> Array:
    """Break synapses whose elements retracted: while floor(z) < connected, remove at random.

    Axonal deficits remove outgoing synapses of the pre neuron, dendritic deficits incoming
    ones of the post neuron, each chosen in proportion to existing counts; the partner element
    becomes vacant (Butz & van Ooyen 2013). At most `rounds` synapses per neuron per update,
    ample when growth rates are small (nu dt << 1).
    """
    k_ax, k_den = threefry.split(key)

    def remove(carry: tuple[Array, Array], k: Array) -> tuple[tuple[Array, Array], None]:
        return _remove_one(*carry, k), None

    # The rounds as a loop, not unrolled: a third of the compile time (NEST's structural
    # plasticity example: 1.4 s -> 0.5 s a call, two calls an update).
    deficit_ax = jnp.maximum(c.sum(axis=1) - jnp.floor(z_axon).astype(c.dtype), 0)
    (c, _), _ = jax.lax.scan(remove, (c, deficit_ax), threefry.split(k_ax, rounds))
    deficit_den = jnp.maximum(c.sum(axis=0) - jnp.floor(z_dendrite).astype(c.dtype), 0)
    (ct, _), _ = jax.lax.scan(remove, (c.T, deficit_den), threefry.split(k_den, rounds))
    return ct.T


def pair_vacant(
    c: Array,
    z_axon: Array,
    z_dendrite: Array,
    key: Array,
    kernel: Array | None = None,
    rounds: int = 4,
) -> Array:
    """Bind vacant boutons to vacant spines, at random or by a distance kernel.

    Each round every neuron with a vacant bouton proposes one partner j with probability
    proportional to vacant_spines[j] * kernel[i, j]; proposals to a post neuron are accepted in
    random order up to its number of vacant spines, so bookkeeping stays exact. `kernel`
    (pre x post, >= 0) is all ones for random pairing, a Gaussian of distance for
    distance-dependent pairing; a zero diagonal forbids autapses.
    """
    n_pre, n_post = c.shape
    kern = jnp.ones((n_pre, n_post), jnp.float32) if kernel is None else kernel
    for k in threefry.split(key, rounds):
        k_pick, k_order = threefry.split(k)
        vac_ax = jnp.floor(z_axon).astype(c.dtype) - c.sum(axis=1)
        vac_den = jnp.floor(z_dendrite).astype(c.dtype) - c.sum(axis=0)
        weight = kern * jnp.maximum(vac_den, 0)[None, :].astype(jnp.float32)
        logits = jnp.where(weight > 0, jnp.log(jnp.maximum(weight, 1e-30)), -jnp.inf)
        pick = threefry.categorical(k_pick, logits, axis=1)
        proposes = (vac_ax > 0) & (weight.sum(axis=1) > 0)
        order = threefry.uniform(k_order, (n_pre,))
        same = (pick[:, None] == pick[None, :]) & proposes[None, :]
        rank = jnp.sum(same & (order[None, :] < order[:, None]), axis=1)
        accept = proposes & (rank < vac_den[pick])
        c = c + jax.nn.one_hot(pick, n_post, dtype=c.dtype) * accept[:, None].astype(c.dtype)
    return c


def decay_vacant(z: Array, connected: Array, tau_vacant: ArrayLike) -> Array:
    """Vacant elements retract by a fraction `tau_vacant` at each structural update.

    z -= tau_vacant (floor(z) - connected) where that is positive (NEST's
    SynapticElement::decay_z_vacant, after the pairing): unbound elements do not accumulate.
    """
    vacant = jnp.floor(z) - connected
    return jnp.where(vacant > 0, z - tau_vacant * vacant, z)


def pair_all(c: Array, z_axon: Array, z_dendrite: Array, key: Array, max_elements: int) -> Array:
    """Bind vacant boutons to vacant spines by one uniformly random matching, as NEST does.

    Every vacant element is listed once; the longer list is shuffled and cut to the shorter
    one's length, and the two are paired in order (NEST's SPManager::create_synapses), so every
    vacancy of the scarcer kind is used. `max_elements` bounds each list (static shapes);
    elements beyond it wait for the next update.
    """
    n_pre = c.shape[0]
    vac_ax = jnp.maximum(jnp.floor(z_axon).astype(jnp.int32) - c.sum(axis=1).astype(jnp.int32), 0)
    vac_den = jnp.maximum(jnp.floor(z_dendrite).astype(jnp.int32) - c.sum(axis=0).astype(jnp.int32), 0)

    def shuffled(vacant: Array, k: Array) -> tuple[Array, Array]:
        owner = jnp.repeat(jnp.arange(vacant.shape[0]), vacant, total_repeat_length=max_elements)
        valid = jnp.arange(max_elements) < vacant.sum()
        order = jnp.argsort(jnp.where(valid, threefry.uniform(k, (max_elements,)), 2.0))
        return owner[order], valid.sum()

    k_pre, k_post = threefry.split(key)
    pre, n_ax = shuffled(vac_ax, k_pre)
    post, n_den = shuffled(vac_den, k_post)
    pre = jnp.where(jnp.arange(max_elements) < jnp.minimum(n_ax, n_den), pre, n_pre)  # unpaired: dropped
    return c.at[pre, post].add(jnp.ones((), c.dtype), mode="drop")
