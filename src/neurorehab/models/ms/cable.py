"""The reference cable model: one myelinated axon, its nodes active, its internodes passive.

Written from the equations of the papers, not from any published code.

- **Nodes of Ranvier**: the mammalian (rabbit) node of Chiu, Ritchie, Rogart & Stagg 1979
  as used by Sweeney, Mortimer & Durand 1987: a sodium current g_Na m^2 h (V - E_Na) and a
  leak, no delayed-rectifier potassium current (mammalian nodes have few fast K channels),
  potentials relative to rest (mV), rates in 1/ms at 37 degrees C.
- **Temperature** acts on the gating rates through Q10 factors, h faster than m (Schwarz &
  Eikhof 1987, rat nodes: Q10 about 2.2 for activation, 2.9 for inactivation; recalled): in
  the heat the action potential is briefer and brings less charge to the next node, so the
  safety factor falls (Uhthoff's phenomenon; Rasminsky 1973).
- **Internodes**: `segments` passive compartments each, the axolemma (1 uF/cm^2) in series
  with the myelin sheath, whose lamellae each add 0.5 uF/cm^2 and 0.5 mS/cm^2 in series (two
  membranes a wrap). A fibre of outer diameter D = d / g (g-ratio 0.7) carries
  (D - d) / 2 / 16 nm lamellae; `myelin` is the share of them left in the lesion's internodes,
  so demyelination multiplies the internodal capacitance and leak (Koles & Rasminsky 1972;
  Waxman 1977). Internodes are 100 D long (Rushton's proportionality); nodes 1 um.
- **A lesion**: internodes `lesion` (a range of internode indices) carry `myelin`; the rest
  are normal. An action potential is started at node 0; it has crossed the lesion when the
  node after the lesion depolarises past 50 mV.

Integration: linearly implicit Euler for the cable (the sodium conductance of the step on
the diagonal, so the node's large conductance is stable), exponential (Rush-Larsen) steps for
the gates, 2 us steps; one tridiagonal solve a step. What it measures (`measure`): the
conduction velocity inside the lesion, whether the lesion is crossed, the safety factor
(1 / the smallest multiple of g_Na that still crosses, by bisection: 1 at block), the
refractory period of transmission (the shortest interval between two impulses that both
cross) and so the highest frequency followed (its inverse).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

CRRSS = "Chiu, Ritchie, Rogart & Stagg 1979; Sweeney, Mortimer & Durand 1987"
G_NA, G_L = 1445.0, 128.0  # mS/cm^2 (CRRSS)
E_NA, E_L = 115.0, -0.01  # mV relative to rest (CRRSS)
C_NODE = 2.5  # uF/cm^2 (CRRSS)
RHO_I = 54.7  # ohm cm, axoplasm (CRRSS)
Q10_M, Q10_H = 2.2, 2.9  # Schwarz & Eikhof 1987 (recalled)
C_AXOLEMMA, G_AXOLEMMA = 1.0, 1.0  # uF/cm^2, mS/cm^2: bare internodal axolemma (modelled)
C_WRAP, G_WRAP = (
    0.05,
    0.5,
)  # a myelin wrap: two lamella membranes in series (McIntyre et al. 2002: 0.1 uF/cm^2, 1 mS/cm^2 each)
LAMELLA_UM = 0.016  # myelin period (um)
G_RATIO = 0.7  # axon / fibre diameter, normal myelin
NODE_UM = 1.0
INTERNODE_PER_D = 100.0
THRESHOLD_MV = 50.0
DT_MS = 0.002
STIM_UA = 0.005  # 5 nA for 50 us at node 0: several times threshold


class Axon(NamedTuple):
    """Static geometry: `nodes` nodes, `segments` compartments an internode, the lesion's
    internodes [first, last)."""

    nodes: int = 21
    segments: int = 8
    first: int = 8
    last: int = 13


def _rates(v: Array, temp: Array) -> tuple[Array, Array, Array, Array]:
    qm = Q10_M ** ((temp - 37.0) / 10.0)
    qh = Q10_H ** ((temp - 37.0) / 10.0)
    am = (97.0 + 0.363 * v) / (1.0 + jnp.exp((31.0 - v) / 5.3))
    bm = am / jnp.exp((v - 23.8) / 4.17)
    bh = 15.6 / (1.0 + jnp.exp((24.0 - v) / 10.0))
    ah = bh / jnp.exp((v - 5.5) / 5.0)
    return qm * am, qm * bm, qh * ah, qh * bh


def _geometry(axon: Axon, myelin: Array, diameter_um: Array) -> dict[str, Array]:
    """Per-compartment capacitance (uF), leak (mS) and axial conductances (mS) of the fibre."""
    n, s = axon.nodes, axon.segments
    d = diameter_um * 1e-4  # cm
    fibre = diameter_um / G_RATIO
    length = INTERNODE_PER_D * fibre * 1e-4  # cm
    wraps0 = (fibre - diameter_um) / 2.0 / LAMELLA_UM
    internode = jnp.arange(n - 1)
    in_lesion = (internode >= axon.first) & (internode < axon.last)
    wraps = jnp.where(in_lesion, myelin * wraps0, wraps0)
    c_area = 1.0 / (1.0 / C_AXOLEMMA + wraps / C_WRAP)
    g_area = 1.0 / (1.0 / G_AXOLEMMA + wraps / G_WRAP)
    seg_area = jnp.pi * d * length / s
    node_area = jnp.pi * d * NODE_UM * 1e-4
    # Layout: node 0, its internode's s segments, node 1, ..., node n-1.
    is_node = jnp.zeros(n + (n - 1) * s, bool).at[jnp.arange(n) * (s + 1)].set(True)
    seg_c = jnp.repeat(c_area * seg_area, s)
    seg_g = jnp.repeat(g_area * seg_area, s)
    comp = jnp.arange(n + (n - 1) * s)
    which = jnp.clip(comp - comp // (s + 1) - 1, 0, (n - 1) * s - 1)
    cap = jnp.where(is_node, C_NODE * node_area, seg_c[which])
    leak = jnp.where(is_node, G_L * node_area, seg_g[which])
    half_seg = length / s / 2.0
    half_node = NODE_UM * 1e-4 / 2.0
    half = jnp.where(is_node, half_node, half_seg)
    area_x = jnp.pi * d * d / 4.0
    axial = 1e3 * area_x / (RHO_I * (half[:-1] + half[1:]))  # mS between neighbours
    return {"cap": cap, "leak": leak, "axial": axial, "is_node": is_node,
            "node_area": node_area}  # fmt: skip


def run(
    axon: Axon,
    myelin: Array,
    temp: Array,
    diameter_um: Array,
    *,
    gna_scale: Array | float = 1.0,
    second_ms: Array | float = 1e9,
    t_ms: float = 6.0,
) -> dict[str, Array]:
    """Simulate `t_ms`: an impulse at node 0 at t = 0 (and a second at `second_ms`).

    Returns, for every node, the time of its first crossing of 50 mV (inf if never) and the
    number of upward crossings."""
    geo = _geometry(axon, jnp.asarray(myelin), jnp.asarray(diameter_um))
    cap, leak, axial, is_node = geo["cap"], geo["leak"], geo["axial"], geo["is_node"]
    gna = G_NA * geo["node_area"] * gna_scale
    nodes = jnp.nonzero(is_node, size=axon.nodes)[0]
    m_c = cap.shape[0]
    dt = DT_MS
    lower = jnp.concatenate([jnp.zeros(1), -axial])
    upper = jnp.concatenate([-axial, jnp.zeros(1)])
    coupling = jnp.concatenate([axial, jnp.zeros(1)]) + jnp.concatenate([jnp.zeros(1), axial])
    am, bm, ah, bh = _rates(jnp.zeros(()), temp)
    m0, h0 = am / (am + bm), ah / (ah + bh)
    stim = STIM_UA
    steps = round(t_ms / dt)

    def step(carry, i):
        v, m, h, first, count, above = carry
        t = i * dt
        vn = v[nodes]
        a_m, b_m, a_h, b_h = _rates(vn, temp)
        m = m * jnp.exp(-(a_m + b_m) * dt) + a_m / (a_m + b_m) * (1 - jnp.exp(-(a_m + b_m) * dt))
        h = h * jnp.exp(-(a_h + b_h) * dt) + a_h / (a_h + b_h) * (1 - jnp.exp(-(a_h + b_h) * dt))
        g = jnp.zeros(m_c).at[nodes].set(gna * m * m * h)
        pulse = ((t < 0.05) | ((t >= second_ms) & (t < second_ms + 0.05))).astype(v.dtype)
        inj = jnp.zeros(m_c).at[nodes[0]].set(stim * pulse)
        e_leak = jnp.where(is_node, E_L, 0.0)
        diag = cap / dt + coupling + leak + g
        rhs = cap / dt * v + g * E_NA + leak * e_leak + inj
        v = jax.lax.linalg.tridiagonal_solve(lower, diag, upper, rhs[:, None])[:, 0]
        up = v[nodes] > THRESHOLD_MV
        rising = up & ~above
        first = jnp.where(rising & jnp.isinf(first), t + dt, first)
        return (v, m, h, first, count + rising, up), None

    init = (
        jnp.zeros(m_c),
        jnp.full(axon.nodes, m0),
        jnp.full(axon.nodes, h0),
        jnp.full(axon.nodes, jnp.inf),
        jnp.zeros(axon.nodes, jnp.int32),
        jnp.zeros(axon.nodes, bool),
    )
    (_, _, _, first, count, _), _ = jax.lax.scan(step, init, jnp.arange(steps))
    return {"first": first, "count": count}


def lesion_crossing(axon: Axon, out: dict[str, Array]) -> tuple[Array, Array]:
    """(whether the impulse crossed the lesion, its time inside the lesion in ms)."""
    t_in, t_out = out["first"][axon.first], out["first"][axon.last]
    return jnp.isfinite(t_out), t_out - t_in


def velocity(axon: Axon, myelin: Array, temp: Array, diameter_um: Array) -> tuple[Array, Array]:
    """(crossed, conduction velocity inside the lesion in m/s; nan when blocked)."""
    out = run(axon, myelin, temp, diameter_um, t_ms=8.0)
    crossed, dt = lesion_crossing(axon, out)
    length_m = (axon.last - axon.first) * INTERNODE_PER_D * diameter_um / G_RATIO * 1e-6
    return crossed, jnp.where(crossed, length_m / (dt * 1e-3), jnp.nan)


def safety_factor(axon: Axon, myelin: Array, temp: Array, diameter_um: Array, iters: int = 9) -> Array:
    """1 / (the smallest multiple of g_Na with which the impulse still crosses the lesion):
    above 1 the lesion conducts with that margin, below 1 it blocks. Bisection in log scale
    over [1/40, 40]."""
    lo, hi = jnp.log(1.0 / 40.0), jnp.log(40.0)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        ok, _ = lesion_crossing(axon, run(axon, myelin, temp, diameter_um, gna_scale=jnp.exp(mid),
                                          t_ms=8.0))  # fmt: skip
        return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi)

    lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return jnp.exp(-0.5 * (lo + hi))


def refractory_period(axon: Axon, myelin: Array, temp: Array, diameter_um: Array, iters: int = 9) -> Array:
    """The shortest interval (ms) between two impulses at node 0 that both cross the lesion
    (the refractory period of transmission), by bisection over [0.2, 10] ms."""

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        out = run(axon, myelin, temp, diameter_um, second_ms=mid, t_ms=18.0)
        both = out["count"][axon.last] >= 2
        return jnp.where(both, lo, mid), jnp.where(both, mid, hi)

    lo, hi = jax.lax.fori_loop(0, iters, body, (jnp.asarray(0.2), jnp.asarray(10.0)))
    return 0.5 * (lo + hi)
