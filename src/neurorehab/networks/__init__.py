"""Published reference networks at 0.1 ms, for validation against peer simulators and benchmarks.

- `GrowingNetwork`: NEST's structural plasticity example (Butz & van Ooyen 2013, PLoS Comput
  Biol 9:e1003259, as set up in NEST's `structural_plasticity.py`): 800 excitatory and 200
  inhibitory iaf_psc_alpha neurons start with no synapses and grow them toward calcium set points.
- `Cuba`: the current-based benchmark network (Vogels & Abbott 2005, J Neurosci 25:10786; Brette
  et al. 2007, J Comput Neurosci 23:349, benchmark 2; Brian2's CUBA example).
- `SongSTDP`: additive STDP competition (Song, Miller & Abbott 2000, Nat Neurosci 3:919; Brian2's
  STDP example): 1,000 Poisson inputs onto one conductance-based neuron.

Each is a frozen dataclass of parameters (units in the comments; hashable, so one compilation
serves a configuration) with pure init and run functions. `growing_run` and `song_run` simulate
one network and batch under `jax.vmap` over keys; `cuba_init` and `cuba_run` take a batch
directly (one key per network), so that the batch shares one spike delivery. Every network of a
batch (a virtual patient) draws its own connectivity and input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from neurorehab.core import spiking, threefry
from neurorehab.core import structural as sp
from neurorehab.core.compiling import LIGHT_LLVM, JitOnCpu
from neurorehab.core.plasticity import stdp_traces

# ---------------------------------------------------------------------------------------------
# NEST's structural plasticity example


@dataclass(frozen=True)
class GrowingNetwork:
    """Parameters of NEST's structural plasticity example, as it runs (NEST 3.10).

    The script defines `model_params` (tau_syn 0.5 ms, E_L -65 mV, V_th -50 mV) but never passes
    them to `nest.Create`, so its neurons run with iaf_psc_alpha's defaults, used here: with
    the script's own values the background drive leaves V 11.6 mV below threshold and nothing
    ever fires or grows. Growth curves are (nu [elements/ms], eta, eps) for each neuron's
    (Den_ex, Den_in, axon) elements; an excitatory neuron's axon is Axon_ex, an inhibitory
    one's Axon_in.
    """

    n_e: int = 800
    n_i: int = 200
    dt: float = 0.1  # ms, NEST resolution
    tau_m: float = 10.0  # ms
    tau_syn: float = 2.0  # ms, excitatory and inhibitory alike
    c_m: float = 250.0  # pF
    t_ref: float = 2.0  # ms
    e_l: float = -70.0  # mV (V starts at E_L)
    v_th: float = -55.0  # mV
    v_reset: float = -70.0  # mV
    w_e: float = 585.0  # pA, PSC peak of an excitatory synapse
    w_i: float = -585.0  # pA
    w_ext: float = 6.2  # pA, each background Poisson spike
    rate_ext: float = 10_000.0  # Hz, independent Poisson drive of every neuron
    delay: float = 1.0  # ms, every synapse
    tau_ca: float = 10_000.0  # ms, NEST default tau_Ca
    beta_ca: float = 0.001  # Ca jump per spike, NEST default beta_Ca
    growth_e: tuple[tuple[float, float, float], ...] = ((1e-4, 0.0, 0.05),) * 3
    growth_i: tuple[tuple[float, float, float], ...] = ((4e-4, 0.0, 0.2), (1e-4, 0.0, 0.2), (1e-4, 0.0, 0.2))
    tau_vacant: float = 0.1  # fraction of vacant elements lost at each update, NEST default
    update_ms: float = 10_000.0  # structural_plasticity_update_interval
    rounds: int = 8  # deletion rounds per update (core.structural.delete_excess)
    max_vacant: int = 16_384  # vacant elements of one kind paired per update (core.structural.pair_all)
    per_pass: int = 16  # spikes delivered per pass (core.spiking.deliver), per window
    block: int = 500  # steps per block of Poisson counts (even: a hash serves steps t and t + block/2)

    @property
    def n(self) -> int:
        return self.n_e + self.n_i


class GrowingState(NamedTuple):
    neurons: spiking.AlphaState
    arriving: Array  # [delay steps, n] pA arriving at each step of the current window
    ca: Array  # [n]
    z: Array  # [n, 3] elements: Den_ex, Den_in, axon
    conn: Array  # [n pre, n post] synapse counts (floats holding exact integers)


def _growth_table(net: GrowingNetwork) -> np.ndarray:
    rows = [net.growth_e] * net.n_e + [net.growth_i] * net.n_i
    return np.asarray(rows, np.float32)  # [n, 3, (nu, eta, eps)]


def growing_init(net: GrowingNetwork) -> GrowingState:
    n, d = net.n, round(net.delay / net.dt)
    zeros = jnp.zeros(n)
    neurons = spiking.AlphaState(zeros, zeros, zeros, jnp.zeros(n, jnp.int32))
    return GrowingState(neurons, jnp.zeros((d, n)), zeros, jnp.zeros((n, 3)), jnp.zeros((n, n)))


def _structural_update(net: GrowingNetwork, s: GrowingState, key: Array) -> GrowingState:
    """NEST's update: per synapse type delete from pre, from post, then pair all; then vacant decay."""
    c, z, ne = s.conn, s.z, net.n_e
    keys = threefry.split(key, 4)
    blocks = []
    for rows, den, k_del, k_pair in (
        (slice(0, ne), 0, keys[0], keys[1]),
        (slice(ne, None), 1, keys[2], keys[3]),
    ):
        cb = sp.delete_excess(c[rows], z[rows, 2], z[:, den], k_del, rounds=net.rounds)
        cb = sp.pair_all(cb, z[rows, 2], z[:, den], k_pair, net.max_vacant)
        blocks.append(cb)
    c = jnp.concatenate(blocks)
    connected = jnp.stack([c[:ne].sum(0), c[ne:].sum(0), c.sum(1)], axis=1)
    return s._replace(conn=c, z=sp.decay_vacant(z, connected, net.tau_vacant))


def _arrivals_by_pair(net: GrowingNetwork, conn: Array, fired: Array) -> Array:
    """[d, n] pA arriving over the next window from a window's spikes `fired` [d, n] (event-driven),
    picked among the d x n (step, neuron) pairs: for a refractory time shorter than the window,
    where a neuron may fire twice in one (else `_arrivals_by_neuron`). Both add whole multiples
    of the weights, so they agree exactly (tested)."""
    d, n = fired.shape
    w_row = jnp.where(jnp.arange(n) < net.n_e, net.w_e, net.w_i)

    def add_pairs(x: Array, idx: Array) -> Array:  # idx: step * n + neuron; d * n for none
        offset, pre = idx // n, idx % n
        w = jnp.where(idx < d * n, w_row[pre], 0.0)
        return x + jnp.einsum("kd,k,kn->dn", jax.nn.one_hot(offset, d), w, conn[pre])

    return spiking.deliver(jnp.zeros((d, n)), fired.reshape(-1), add_pairs, net.per_pass)


def _arrivals_by_neuron(net: GrowingNetwork, conn: Array, at: Array, d: int) -> Array:
    """[d, n] pA arriving over the next window from each neuron's spike step `at` [n] (d: none):
    the neurons that fired are picked and each one's row is added at its step."""
    n = at.shape[0]
    w_row = jnp.where(jnp.arange(n) < net.n_e, net.w_e, net.w_i)

    def add(x: Array, idx: Array) -> Array:  # idx: neurons that fired; n for none
        w = w_row.at[idx].get(mode="fill", fill_value=0.0)
        rows = conn.at[idx].get(mode="fill", fill_value=0.0)
        return x.at[at.at[idx].get(mode="fill", fill_value=0)].add(w[:, None] * rows)

    return spiking.deliver(jnp.zeros((d, n)), at < d, add, net.per_pass)


# A window's steps, five a turn of its loop: fewer loop kernels a step, the same numbers (two a
# turn gained nothing, all ten no more than five; measured in bench/README.md, 2026-12-06).
STEPS_A_TURN = 5


def _growing_block(net: GrowingNetwork, s: GrowingState, key: Array) -> GrowingState:
    """Advance by `net.block` steps (the Poisson drive from `key`), one delay-long window at a
    time (NEST's min-delay cycle).

    Every synapse has the same delay, d steps: spikes fired in one window all arrive in the
    next, at the same offset, so a window's neurons run d steps on arrivals already known, and
    its spikes are delivered once, event-driven, at its end. The background drive depends on
    no state, so the block's Poisson counts are drawn at once, outside the step loop: one
    Threefry hash gives the counts of steps t and t + block/2, packed into a byte
    (`spiking.poisson_pairs`). A neuron refractory for at least d steps fires at most once a
    window, so delivery picks neurons (n candidates) and scatters each one's row at its step,
    rather than picking among d x n (neuron, step) pairs: the same sums, exactly (whole
    multiples of the weights); and the window's spikes are read off the refractory counters
    at its end (a neuron that fired at step k has ref_steps - (d - 1 - k) left), so the step
    loop writes nothing but the neurons. Its state rides as one [4, n] array (V, dI, I and the
    refractory steps as a float): one update and one copy a step where four arrays took four
    of each. Calcium and the elements' growth follow once a window (`window`). Timings
    in bench/README.md.
    """
    prop = spiking.alpha_propagator(net.dt, net.tau_m, net.tau_syn, net.c_m)
    thresholds = spiking.poisson_thresholds(net.rate_ext * net.dt / 1000.0)
    table = _growth_table(net).transpose(1, 0, 2)  # [3, n, (nu, eta, eps)]
    # The elements ride as [3, n], neurons along the vector lanes ([n, 3] put three on a
    # lane's row); where a neuron's three elements share eta and eps (NEST's example: only nu
    # differs), the Gaussian's exponential is one a neuron, not three.
    shared = bool(np.all(table[:, :, 1:] == table[:1, :, 1:]))
    curve = table[:1, :, 1:] if shared else table[:, :, 1:]
    nu = jnp.asarray(table[..., 0])
    eta, eps = jnp.asarray(curve[..., 0]), jnp.asarray(curve[..., 1])
    d, n = s.arriving.shape
    ref_steps = round(net.t_ref / net.dt)

    half = net.block // 2
    pairs = spiking.poisson_pairs(key, (half, n), thresholds)  # steps t and t + half, packed

    def step(x: Array, xs: tuple[Array, Array]) -> tuple:
        arriving, t = xs
        drive = arriving + net.w_ext * spiking.unpack_pair(pairs[t % half], t >= half, thresholds)
        neurons, fired = spiking.alpha_step(
            spiking.AlphaState(*x), drive, prop, net.v_th - net.e_l, net.v_reset - net.e_l, ref_steps
        )
        return jnp.stack(neurons), fired

    def growth(c: Array) -> Array:  # the growth curve less its nu, [1 or 3, n]
        return sp.growth_gaussian(c[None, :], jnp.ones(()), eta, eps)

    def window(carry: tuple[Array, Array, Array, Array], steps: Array) -> tuple:
        """A window's d steps, then its calcium and the elements' growth summed over them.

        NEST integrates the elements lazily too (at a neuron's spike or a structural update it
        sums the growth curve over the steps since, then clips at zero). Where a neuron fires
        at most once a window, its spike is read off the refractory counter (a neuron that
        fired at step k has ref_steps - (d - 1 - k) left), so the step loop writes nothing but
        the neurons, and the growth curve's sum is taken by the midpoint rule on each side of
        the spike (`calcium_window_midpoints`: two exponentials a neuron a window instead of
        d, within float32's rounding of the step-by-step sum).
        """
        neurons, arriving, ca, z = carry
        if ref_steps >= d:
            neurons, _ = jax.lax.scan(
                lambda c, x: (step(c, x)[0], None), neurons, (arriving, steps), unroll=STEPS_A_TURN
            )
            when = neurons[3].astype(jnp.int32) - (ref_steps - d + 1)
            at = jnp.where(when >= 0, when, d)  # d: no spike this window
            ca, c1, l1, c2, l2 = sp.calcium_window_midpoints(ca, at, d, net.dt, net.tau_ca, net.beta_ca)
            total = l1 * growth(c1) + l2 * growth(c2)
            arriving = _arrivals_by_neuron(net, s.conn, at, d)
        else:
            fired: Array  # [d, n]
            neurons, fired = jax.lax.scan(step, neurons, (arriving, steps), unroll=STEPS_A_TURN)
            total = jnp.zeros_like(eta)
            for k in range(d):  # unrolled: one fused loop over the neurons
                ca = sp.calcium_spikes(ca, fired[k], net.dt, net.tau_ca, net.beta_ca)
                total = total + growth(ca)
            arriving = _arrivals_by_pair(net, s.conn, fired)
        z = sp.grow(z, nu * total, net.dt)  # [3, n]
        return (neurons, arriving, ca, z), None

    x = jnp.stack([*s.neurons[:3], s.neurons.refr.astype(s.neurons.v.dtype)])
    steps = jnp.arange(net.block).reshape(-1, d)
    (x, arriving, ca, z), _ = jax.lax.scan(window, (x, s.arriving, s.ca, s.z.T), steps)
    neurons = spiking.AlphaState(x[0], x[1], x[2], x[3].astype(s.neurons.refr.dtype))
    return s._replace(neurons=neurons, arriving=arriving, ca=ca, z=z.T)


@partial(jax.jit, static_argnames=("net", "t_sim_ms", "record_ms"))
def growing_run(
    net: GrowingNetwork, key: Array, t_sim_ms: float, record_ms: float = 1000.0
) -> tuple[dict[str, Array], GrowingState]:
    """Simulate `t_sim_ms` from no synapses; record every `record_ms` (NEST's example records every 1 s).

    Structural updates happen at 0, update_ms, 2 update_ms, ... as in NEST. Returns (records:
    mean Ca of E and I neurons, excitatory and inhibitory synapses, each [t_sim/record],
    final state). `t_sim_ms` must be a multiple of `update_ms`, which must be one of `record_ms`,
    whose steps must be a multiple of `block`, itself even and a multiple of the delay in steps.
    """
    steps_rec = round(record_ms / net.dt)
    rec_per_update = round(net.update_ms / record_ms)
    n_updates = round(t_sim_ms / net.update_ms)
    delay_steps = round(net.delay / net.dt)
    if (
        steps_rec % net.block
        or rec_per_update * record_ms != net.update_ms
        or n_updates * net.update_ms != t_sim_ms
        or delay_steps < 1
        or net.block % delay_steps
        or net.block % 2
    ):
        raise ValueError(
            f"t_sim_ms={t_sim_ms} must be a multiple of update_ms={net.update_ms}, itself a multiple of "
            f"record_ms={record_ms}, whose {steps_rec} steps a multiple of block={net.block}, itself "
            f"even and a multiple of the delay ({net.delay} ms = {delay_steps} steps of dt={net.dt} ms, "
            "at least 1)"
        )
    blocks = steps_rec // net.block
    k_struct, k_bits = threefry.split(key)
    ne = net.n_e

    def record(s: GrowingState, r: Array) -> tuple[GrowingState, dict[str, Array]]:
        def run_block(s: GrowingState, b: Array) -> tuple[GrowingState, None]:
            index = r * blocks + b
            return _growing_block(net, s, threefry.fold_in(k_bits, index)), None

        s, _ = jax.lax.scan(run_block, s, jnp.arange(blocks))
        out = {
            "ca_e": s.ca[:ne].mean(),
            "ca_i": s.ca[ne:].mean(),
            "conn_e": s.conn[:ne].sum(),
            "conn_i": s.conn[ne:].sum(),
        }
        return s, out

    def update(s: GrowingState, u: Array) -> tuple[GrowingState, dict[str, Array]]:
        s = _structural_update(net, s, threefry.fold_in(k_struct, u))
        return jax.lax.scan(record, s, u * rec_per_update + jnp.arange(rec_per_update))

    s, recs = jax.lax.scan(update, growing_init(net), jnp.arange(n_updates))
    return {k: v.reshape(-1) for k, v in recs.items()}, s


# ---------------------------------------------------------------------------------------------
# CUBA


@dataclass(frozen=True)
class Cuba:
    """The CUBA benchmark network (Brette et al. 2007, benchmark 2; Brian2's example values).

    tau_m dv/dt = ge + gi - (v - E_L) (unless refractory); ge, gi [mV] decay with tau_e, tau_i and
    jump by w_e, w_i at each presynaptic spike (delay one step). Each pair connects with
    probability p, excitatory from the first n_e neurons, inhibitory from the rest.
    """

    n: int = 4000
    n_e: int = 3200
    p: float = 0.02
    dt: float = 0.1  # ms
    tau_m: float = 20.0  # ms
    tau_e: float = 5.0  # ms
    tau_i: float = 10.0  # ms
    v_th: float = -50.0  # mV
    v_reset: float = -60.0  # mV
    e_l: float = -49.0  # mV
    t_ref: float = 5.0  # ms
    w_e: float = 60 * 0.27 / 10  # mV (1.62)
    w_i: float = -20 * 4.5 / 10  # mV (-9)
    per_pass: int = 8  # spikes delivered per pass, per network of the batch

    @property
    def width(self) -> int:
        """Target-list width: the mean out-degree plus 8 SD (Binomial), ample for any draw."""
        mean = self.n * self.p
        return int(np.ceil(mean + 8 * np.sqrt(mean * (1 - self.p))))


class CubaState(NamedTuple):
    """A batch of CUBA networks: every leaf has a leading network axis."""

    v: Array  # [b, n] mV
    ge: Array  # [b, n] mV
    gi: Array  # [b, n] mV
    refr: Array  # [b, n] refractory steps left


def cuba_init(net: Cuba, keys: Array) -> tuple[CubaState, Array, Array]:
    """Random connectivity and v ~ U(v_reset, v_th) for one network per key.

    Returns (state, targets [b, n, width] padded with n, rows truncated at `width`: 0 unless a
    neuron drew more than mean + 8 SD targets).
    """

    def one(key: Array) -> tuple[Array, Array, Array]:
        k_conn, k_v = jax.random.split(key)
        targets, truncated = spiking.bernoulli_targets(k_conn, net.n, net.n, net.p, net.width)
        return jax.random.uniform(k_v, (net.n,), minval=net.v_reset, maxval=net.v_th), targets, truncated

    v, targets, truncated = jax.vmap(one)(keys)
    zeros = jnp.zeros_like(v)
    return CubaState(v, zeros, zeros, jnp.zeros(v.shape, jnp.int32)), targets, truncated


@partial(jax.jit, static_argnames=("net", "steps"))
def cuba_run(net: Cuba, state: CubaState, targets: Array, steps: int) -> tuple[CubaState, Array]:
    """Advance a batch of networks `steps` steps of dt. Returns (state, spikes [steps, b]).

    The batch shares one event-driven delivery: each pass takes up to `per_pass` spikes of
    every network and scatters them all at once into the batch's flat synaptic state.
    """
    em, ee, ei = (float(np.exp(-net.dt / tau)) for tau in (net.tau_m, net.tau_e, net.tau_i))
    ke, ki = (
        spiking.exp_kernel(net.dt, net.tau_m, net.tau_e),
        spiking.exp_kernel(net.dt, net.tau_m, net.tau_i),
    )
    ref_steps, n, ne = round(net.t_ref / net.dt), net.n, net.n_e
    b = targets.shape[0]
    # Flat index of each target in [b, 2 (ge, gi), n]; out of range (dropped) for padding. A
    # last row of padding stands for "no neuron", so a pass reads its rows with no bounds
    # test (a fill took a kernel of its own).
    chan = (jnp.arange(n) >= ne).astype(jnp.int32)[None, :, None]
    offset = (jnp.arange(b) * 2 * n)[:, None, None] + chan * n
    flat_targets = jnp.where(targets < n, targets + offset, 2 * b * n).reshape(b * n, -1)
    flat_targets = jnp.concatenate([flat_targets, jnp.full_like(flat_targets[:1], 2 * b * n)])

    def add(x: Array, idx: Array) -> Array:
        flat = jnp.where(idx < n, idx + n * jnp.arange(b)[:, None], b * n).reshape(-1)
        post = flat_targets.at[flat].get(mode="promise_in_bounds")
        # A target's channel says the weight (ge: w_e, gi: w_i): no gather of the senders'.
        return x.at[post].add(jnp.where((post // n) % 2 == 0, net.w_e, net.w_i), mode="drop")

    def step(s: CubaState, _: None) -> tuple[CubaState, Array]:
        free = s.refr == 0
        v = jnp.where(free, net.e_l + (s.v - net.e_l) * em + ke * s.ge + ki * s.gi, s.v)
        fired = free & (v > net.v_th)
        v = jnp.where(fired, net.v_reset, v)
        refr = jnp.where(fired, ref_steps, jnp.where(free, 0, s.refr - 1))
        g = jnp.stack([s.ge * ee, s.gi * ei], axis=1).reshape(-1)
        g, spikes = spiking.deliver(g, fired, add, net.per_pass, count=True)
        g = g.reshape(b, 2, n)
        return CubaState(v, g[:, 0], g[:, 1], refr), spikes

    # Two steps a turn of the loop: half the loop's own overhead (1.1x; more is slower on two
    # threads).
    return jax.lax.scan(step, state, None, length=steps, unroll=2)


# ---------------------------------------------------------------------------------------------
# STDP


@dataclass(frozen=True)
class SongSTDP:
    """Song, Miller & Abbott 2000 (Brian2's STDP example values).

    tau_m dv/dt = ge (E_e - v) + E_L - v, ge (relative to the leak) decays with tau_e and jumps
    by w at each input spike; additive all-to-all STDP (core.plasticity.stdp_traces) with
    a_minus tau_minus / (a_plus tau_plus) = 1.05 keeps the weights bimodal.
    """

    n_in: int = 1000
    rate: float = 15.0  # Hz, each input
    dt: float = 0.1  # ms
    tau_m: float = 10.0  # ms
    tau_e: float = 5.0  # ms
    e_e: float = 0.0  # mV
    e_l: float = -74.0  # mV
    v_th: float = -54.0  # mV
    v_reset: float = -60.0  # mV
    g_max: float = 0.01  # maximum weight, relative to the leak conductance
    tau_pre: float = 20.0  # ms
    tau_post: float = 20.0  # ms
    a_plus: float = 0.01  # potentiation per pair, fraction of g_max
    a_minus: float = 0.0105  # depression per pair, fraction of g_max
    block: int = 1000  # steps per block of random numbers

    @property
    def per_block(self) -> int:
        """Spikes an input can hold in a block: more has a chance under 1e-15 (a Poisson tail,
        above the Binomial(block, rate dt) it bounds); 19 at the defaults' 1.5 expected."""
        lam = self.rate * self.dt / 1000.0 * self.block
        return max(1, min(self.block, spiking.poisson_tail_count(lam, 1e-15)))


class SongState(NamedTuple):
    v: Array
    ge: Array
    w: Array  # [n_in]
    x_pre: Array  # [n_in]
    y_post: Array  # scalar
    next_spike: Array  # [n_in] step of each input's next spike
    post_spikes: Array  # count


def song_init(net: SongSTDP, key: Array) -> SongState:
    k_w, k_first = jax.random.split(key)
    p = net.rate * net.dt / 1000.0
    first = spiking.geometric_steps(jax.random.uniform(k_first, (net.n_in,)), p) - 1
    w = jax.random.uniform(k_w, (net.n_in,), maxval=net.g_max)
    z = jnp.zeros(net.n_in)
    return SongState(jnp.asarray(net.e_l), jnp.asarray(0.0), w, z, jnp.asarray(0.0), first, jnp.asarray(0))


def _song_run(net: SongSTDP, state: SongState, key: Array, blocks: int, first_block: Array) -> SongState:
    """Advance blocks `first_block` ... `first_block + blocks - 1` (each `block` steps; resumable).

    Inputs are Bernoulli(rate dt) trains drawn as geometric waits (core.spiking.geometric_steps).
    A block first draws every input's spikes in it (block b from fold_in(key, b): `per_block`
    waits an input, 19 for 1.5 spikes expected, chained from its next spike) and lays
    them out as a raster [block, n_in]; its steps then read a row each. The step is dense and
    branch-free, with no search for which inputs fired: 100 s ran 4-6x faster than finding
    them step by step (`nonzero`, then a scatter of their next waits; bench/README.md,
    2026-12-06). Compiled with LLVM at level 1 on the CPU (core/compiling.py; 1.1x here).
    """
    p = net.rate * net.dt / 1000.0
    eg = float(np.exp(-net.dt / net.tau_e))
    n, k = net.n_in, net.per_block

    def step(s: SongState, fired: Array) -> tuple[SongState, None]:
        ge = s.ge * eg
        g = 1.0 + ge  # ge held over the step: exact relaxation toward v_inf
        v_inf = (net.e_l + ge * net.e_e) / g
        v = v_inf + (s.v - v_inf) * jnp.exp(-net.dt * g / net.tau_m)
        post = v > net.v_th
        v = jnp.where(post, net.v_reset, v)
        pre = fired.astype(v.dtype)
        ge = ge + jnp.dot(pre, s.w)
        w, x_pre, y_post = stdp_traces(
            s.w[:, None], s.x_pre, s.y_post[None], pre, post[None].astype(v.dtype),
            net.dt, net.tau_pre, net.tau_post, net.a_plus, net.a_minus, net.g_max,
        )  # fmt: skip
        spikes = s.post_spikes + post
        return s._replace(v=v, ge=ge, w=w[:, 0], x_pre=x_pre, y_post=y_post[0], post_spikes=spikes), None

    def block(s: SongState, b: Array) -> tuple[SongState, None]:
        waits = spiking.geometric_steps(threefry.uniform(threefry.fold_in(key, b), (n, k)), p)
        raster, nxt = spiking.renewal_raster(s.next_spike, waits, b * net.block, net.block)
        s = s._replace(next_spike=nxt)
        return jax.lax.scan(step, s, raster)

    return jax.lax.scan(block, state, first_block + jnp.arange(blocks))[0]


song_run = JitOnCpu(_song_run, LIGHT_LLVM, static_argnames=("net", "blocks"))
