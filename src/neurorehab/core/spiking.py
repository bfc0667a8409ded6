"""Spiking networks at 0.1 ms: exact neuron propagators, Poisson sources, event-driven delivery.

Neurons are integrated exactly for input held over a step (Rotter & Diesmann 1999, Biol Cybern
81:381), as NEST's iaf_psc models and Brian2's `method='exact'` are. Spikes are delivered
event-driven: only the rows of the neurons that fired are touched, a bounded number at a time,
so a step costs what its spikes cost rather than a dense matrix product. Poisson sources draw
their counts from blocks of random bits (one generator call for many steps; PEERS.md: small
per-step calls cost as much as the neurons).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, NamedTuple, overload

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from neurorehab.core import threefry


class AlphaPropagator(NamedTuple):
    """Exact one-step propagator of an iaf_psc_alpha neuron (NEST's names P11 ... P33).

    State: dI [pA/ms], I [pA] (alpha-shaped current, peak = weight at t = tau_syn) and V [mV,
    relative to E_L]. dI' = -dI/tau_s; I' = dI - I/tau_s; V' = -V/tau_m + I/C_m.
    """

    p11: float  # dI <- dI           e^(-h/tau_s)
    p21: float  # I  <- dI           h e^(-h/tau_s)
    p22: float  # I  <- I            e^(-h/tau_s)
    p31: float  # V  <- dI
    p32: float  # V  <- I
    p33: float  # V  <- V            e^(-h/tau_m)
    psc_init: float  # dI jump for a weight of 1 pA: e / tau_s, so that the PSC peaks at the weight


def alpha_propagator(dt: float, tau_m: float, tau_syn: float, c_m: float) -> AlphaPropagator:
    """The matrix exponential of the iaf_psc_alpha system over dt [ms] in closed form (tau_m != tau_syn)."""
    es, em = math.exp(-dt / tau_syn), math.exp(-dt / tau_m)
    a = 1.0 / tau_m - 1.0 / tau_syn
    p32 = (es - em) / (c_m * a)
    p31 = (es * (a * dt - 1.0) + em) / (c_m * a * a)
    return AlphaPropagator(es, dt * es, es, p31, p32, em, math.e / tau_syn)


class AlphaState(NamedTuple):
    v: Array  # [mV] relative to E_L
    di: Array  # [pA/ms]
    i: Array  # [pA]
    refr: Array  # refractory steps left (int32, or a float of whole numbers: alpha_step takes either)


def alpha_step(
    s: AlphaState, arriving: Array, prop: AlphaPropagator, theta: float, v_reset: float, ref_steps: int
) -> tuple[AlphaState, Array]:
    """One step of NEST's iaf_psc_alpha update, in its order.

    V is propagated unless refractory (then the counter runs down); the current is propagated;
    `arriving` [pA] (weights of the spikes arriving this step) enters dI; a V at or above
    `theta` [mV above E_L] spikes, resets to `v_reset` and starts `ref_steps` of refractoriness.
    Returns (state, spikes as bool).
    """
    free = s.refr == 0
    v = jnp.where(free, prop.p31 * s.di + prop.p32 * s.i + prop.p33 * s.v, s.v)
    refr = jnp.where(free, s.refr, s.refr - 1)
    i = prop.p21 * s.di + prop.p22 * s.i
    di = prop.p11 * s.di + prop.psc_init * arriving
    spikes = v >= theta
    v = jnp.where(spikes, v_reset, v)
    refr = jnp.where(spikes, ref_steps, refr)
    return AlphaState(v, di, i, refr), spikes


def exp_kernel(dt: float, tau_m: float, tau_syn: float) -> float:
    """V's response over dt to an exponential current in voltage units, tau_m V' = -V + g, g' = -g/tau_syn.

    g0 tau_s/(tau_s - tau_m) (e^(-h/tau_s) - e^(-h/tau_m)): the exact solution Brian2's
    `method='exact'` finds for the CUBA equations.
    """
    return tau_syn / (tau_syn - tau_m) * (math.exp(-dt / tau_syn) - math.exp(-dt / tau_m))


def poisson_thresholds(lam: float, tail: float = 1e-12) -> np.ndarray:
    """uint32 thresholds T_k = CDF(k) 2^32 of a Poisson(lam) count, up to a tail of `tail`.

    The CDF is summed from the pmf e^-lam lam^k / k! in float64 (no scipy.stats: its import
    alone took 0.4 s of a 2 s CUBA run end to end), up to `poisson_tail_count` (a sum run until
    it reached 1 - tail never ended for some lam). lam must be under 700 (e^-lam underflows).
    """
    if not 0.0 <= lam < 700.0:
        raise ValueError(f"lam={lam}: the Poisson mean must be in [0, 700) (e^-lam underflows past it)")
    pmf = total = math.exp(-lam)
    cdf = [total]
    for k in range(1, poisson_tail_count(lam, tail) + 1):
        pmf *= lam / k
        total += pmf
        cdf.append(total)
    return np.minimum(np.floor(np.asarray(cdf) * 2.0**32), 2.0**32 - 1).astype(np.uint32)


def poisson_tail_count(lam: float, tail: float) -> int:
    """The smallest k with P(Poisson(lam) > k) < tail, for any lam >= 0.

    In log space, with the geometric bound P(N > k) <= pmf(k + 1) / (1 - lam / (k + 2)) (valid
    once k + 2 > lam), so it neither underflows for large lam nor waits on a float64 sum that
    cannot reach 1 - tail (as summing the CDF up does for some lam).
    """
    if lam <= 0.0:
        return 0
    k, log_tail = math.floor(lam), math.log(tail)
    while (
        k + 2 <= lam
        or -lam + (k + 1) * math.log(lam) - math.lgamma(k + 2) - math.log1p(-lam / (k + 2)) >= log_tail
    ):
        k += 1
    return k


def poisson_counts(bits: Array, thresholds: np.ndarray) -> Array:
    """Poisson counts by inverse CDF of uniform uint32 bits: the number of thresholds at or below them.

    Exact to 2^-32 per class and to the tail left out by `poisson_thresholds`. The thresholds
    are constants, compared one by one so that the sum fuses without a [..., k] intermediate.
    """
    count = jnp.zeros(bits.shape, jnp.int32)
    for t in thresholds:
        count = count + (bits >= np.uint32(t))
    return count


def poisson_pairs(key: Array, shape: tuple[int, ...], thresholds: np.ndarray) -> Array:
    """Two Poisson counts an element of `shape`, packed: c0 + m c1, m = len(thresholds) + 1.

    c0 and c1 come from the two words of one Threefry hash (`threefry.words`) of the counters
    (i, i + size), i the element's flat index, by inverse CDF (`poisson_counts`): the words
    `jax.extend.random.threefry_2x32(key, iota(2 size))` gives. That is half the hashing of
    one word a count, and the packed counts are the only array written (uint8 when m^2 <= 256:
    NEST's example, lam = 1, has m = 16). `unpack_pair` reads either count back.
    """
    m, size = len(thresholds) + 1, math.prod(shape)
    if 2 * size > 2**32:
        raise ValueError(f"shape={shape}: at most 2^31 elements (two counters each under 2^32)")
    count = jax.lax.iota(jnp.uint32, size).reshape(shape)
    w0, w1 = threefry.words(key, count, count + np.uint32(size))
    packed = poisson_counts(w0, thresholds) + m * poisson_counts(w1, thresholds)
    return packed.astype(jnp.uint8 if m * m <= 256 else jnp.int32)


def unpack_pair(packed: Array, second: Array | bool, thresholds: np.ndarray) -> Array:
    """Count c0 (second false) or c1 (second true) of `poisson_pairs`' packed counts, as int32."""
    m = len(thresholds) + 1
    p = packed.astype(jnp.int32)
    return jnp.where(second, p // m, p % m)


def geometric_steps(u: Array, p: float) -> Array:
    """Steps to the next event of a per-step Bernoulli(p) process, from uniforms in [0, 1).

    ceil(log(1 - u) / log(1 - p)) >= 1: the same spike train as drawing Bernoulli(p) every step
    (Brian2's PoissonGroup), at one draw per spike instead of one per source and step.
    """
    return jnp.maximum(jnp.ceil(jnp.log1p(-u) / math.log1p(-p)), 1.0).astype(jnp.int32)


def renewal_raster(next_step: Array, waits: Array, start: Array, steps: int) -> tuple[Array, Array]:
    """The spikes of independent renewal trains in steps [start, start + steps), as a raster.

    `next_step` [n]: each train's next spike (at or after `start`; spikes before it are left
    out); `waits` [n, k]: the waits after it, in steps (>= 1, e.g. `geometric_steps`). Returns
    (raster [steps, n] bool, each train's next spike at or after the window's end). A train
    with more than k spikes in the window loses the rest and its next spike is put at the
    window's end, so choose k with a negligible chance of that (`poisson_tail_count`). Laying
    the window out at once lets a loop read a row a step, with no search for which trains
    fired. Steps are int32: a run's steps must stay under 2^31.
    """
    n, k = waits.shape
    times = next_step[:, None] + jnp.cumsum(jnp.pad(waits, ((0, 0), (1, 0))), axis=1)  # [n, k + 1]
    before_end = times[:, :k] < start + steps
    rows = jnp.where(before_end & (times[:, :k] >= start), times[:, :k] - start, steps)  # else dropped
    cols = jnp.broadcast_to(jnp.arange(n)[:, None], rows.shape)
    raster = jnp.zeros((steps, n), bool).at[rows, cols].set(True, mode="drop")
    after = jnp.take_along_axis(times, before_end.sum(axis=1)[:, None], axis=1)[:, 0]
    return raster, jnp.maximum(after, start + steps)


def first_fired(fired: Array, k: int, word: int = 32) -> Array:
    """The indices of the first `k` neurons that fired, per row of `fired` [..., n], padded with n.

    The same indices, in the same order, as `top_k` over the row (which on ties takes the lower
    index first), found in two smaller steps: the first k words of `word` neurons holding a
    spike, then the first k spikes among those words' neurons (they hold at least k, or all).
    On the CPU `top_k` costs with the row's length (7.5 us for 4,000 neurons, 1.5 us for 125
    words): CUBA's loop ran 1.1-1.35x faster this way for one network and 1.5x for a batch of
    16, with the same spikes (bench/README.md, 2026-12-06).
    """
    n = fired.shape[-1]
    words = -(-n // word)
    if words <= k:  # a short row: one top_k
        hit, idx = jax.lax.top_k(fired.astype(jnp.float32), k)
        return jnp.where(hit > 0, idx, n)
    padded = jnp.pad(fired, [(0, 0)] * (fired.ndim - 1) + [(0, words * word - n)])
    grid = padded.reshape(*padded.shape[:-1], words, word)
    busy, which = jax.lax.top_k(grid.any(axis=-1).astype(jnp.float32), k)  # [..., k] words
    cand = jnp.take_along_axis(grid, which[..., None], axis=-2) & (busy > 0)[..., None]
    index = (which[..., None] * word + jnp.arange(word)).reshape(*which.shape[:-1], k * word)
    hit, j = jax.lax.top_k(cand.reshape(*cand.shape[:-2], k * word).astype(jnp.float32), k)
    return jnp.where(hit > 0, jnp.take_along_axis(index, j, axis=-1), n)


@overload
def deliver(
    x: Array, fired: Array, add: Callable[[Array, Array], Array], k: int, *, count: Literal[False] = ...
) -> Array: ...


@overload
def deliver(
    x: Array, fired: Array, add: Callable[[Array, Array], Array], k: int, *, count: Literal[True]
) -> tuple[Array, Array]: ...


def deliver(
    x: Array,
    fired: Array,
    add: Callable[[Array, Array], Array],
    k: int,
    *,
    count: bool = False,
) -> Array | tuple[Array, Array]:
    """Event-driven delivery: `add(x, idx)` for the indices of fired neurons, `k` at a time per row.

    `fired` is [..., n] (a row per network of a batch); `idx` is [..., k]: indices of neurons
    that fired, padded with n (a row that `add` must ignore, e.g. with `mode='drop'`). Loops
    until every spike is delivered, so no spike is lost however many neurons fire in a step.
    Indices come from `first_fired` (two small `top_k`s): on the CPU `nonzero`'s cumulative sum
    dominated a CUBA step (26 us for 4,000 neurons), one `top_k` over the row took 5-7.5 us.

    The first pass runs before the loop, and the loop goes on only while a pass came back full
    (its last index a neuron): a step with fewer than `k` spikes a row, nearly every step, costs
    one pass and a test over [..., k], with no search over the whole row for spikes left and no
    clearing of the delivered ones (those cost a CUBA step 3 of its 15 small kernels). The
    passes, and so the sums, are those of a loop that clears and searches from the start, with
    at most one more pass of padding alone (after a full pass), which `add` leaves as it is.

    `count`: also return the spikes of each row ([...], int32), counted over the passes'
    indices (at most `k` a pass): the same number as `fired.sum(-1)`, without a reduction over
    the whole row, which on the CPU took three small kernels of its own.
    """
    n = fired.shape[-1]

    def full(idx: Array) -> Array:
        return jnp.any(idx[..., -1] < n)

    def spikes(idx: Array) -> Array:
        if not count:  # a constant zero: the loop's count is then unused
            return jnp.zeros((), jnp.int32)
        return (idx < n).sum(axis=-1, dtype=jnp.int32)

    def body(carry: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
        x, left, idx, total = carry
        rows = jnp.indices(idx.shape)[:-1]
        left = left.at[(*rows, idx)].set(False, mode="drop")
        idx = first_fired(left, k)
        return add(x, idx), left, idx, total + spikes(idx)

    idx = first_fired(fired, k)
    x, _, _, total = jax.lax.while_loop(lambda c: full(c[2]), body, (add(x, idx), fired, idx, spikes(idx)))
    return (x, total) if count else x


def bernoulli_targets(key: Array, n_pre: int, n_post: int, p: float, width: int) -> tuple[Array, Array]:
    """Target lists of a random projection where each pair connects with probability p.

    Each row walks the post population in geometric jumps (the gaps between successes of
    Bernoulli(p) trials), the same law as a Bernoulli draw per pair at width draws per row
    instead of n_post. Returns (targets [n_pre, width], padded with n_post; rows that would
    have held more than `width` targets, truncated).
    """
    u = jax.random.uniform(key, (n_pre, width))
    pos = jnp.cumsum(geometric_steps(u, p), axis=1) - 1
    truncated = jnp.sum(pos[:, -1] < n_post - 1)
    return jnp.where(pos < n_post, pos, n_post).astype(jnp.int32), truncated
