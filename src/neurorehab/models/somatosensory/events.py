"""Injuries of `somatosensory`: amputation of a digit, a nerve block, a crush, a cut repaired
on a given day, a gap bridged by a graft."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Event
from neurorehab.core.spec import Param
from neurorehab.core.types import State
from neurorehab.models.somatosensory.skin import N_SITES, SKIN

_NERVE = Param(0.0, "0/1/2", "by choice", "0 median, 1 ulnar, 2 radial", 0.0, 2.0)
_LEVEL = Param(
    20.0, "mm", "by choice: a wrist-level injury", "distance of the injury above the wrist", 0.0, 800.0
)


def _rate(default: float, source: str) -> Param:
    return Param(default, "mm/day", source, "regrowth rate of axons", 0.1, 10.0)


def _start(state: State) -> Array:
    return jnp.maximum(state.slow["day"], 0.0)


def _redraw(model: Any, params: dict[str, Array], state: State) -> State:
    """The map's picture redrawn at the injury (it is otherwise redrawn weekly), so a snapshot
    taken right after shows what the injury did at once."""
    st, sl = state.structural, state.slow
    f = model.fields(params, state.plastic["w"], model.gain(params, st, sl["ca_set"]), st, sl["day"])
    return state._replace(slow={**sl, "map": model.map_code(f)})


def _injure(state: State, st: dict[str, Array]) -> State:
    slow = {**state.slow, "injured": _start(state), "first": jnp.full((), -1.0)}
    return state._replace(structural=st, slow=slow)


def _regrow(
    state: State,
    values: dict[str, Array],
    key: Array,
    *,
    start: Array,
    own_only: bool,
    share: Array,
    misdirection: Array,
    cross: Array,
    delay: Array,
    stagger: Array,
    rate: Array,
    extra_mm: Array,
) -> State:
    """The nerve's afferents lose their skin now and regrow from `start`: a `share` of them
    regenerate; each crosses the lesion after `delay` + uniform(0, `stagger`) days, then grows
    `rate` mm a day over the distance to its new site (its own, or by `misdirection` another
    of its territory or, for the share `cross` of those, anywhere on the hand)."""
    st = dict(state.structural)
    nerve = jnp.asarray(SKIN.nerve)
    mine = nerve == jnp.round(values["nerve"])
    k_share, k_mis, k_cross, k_site, k_any, k_cross_delay = jax.random.split(key, 6)
    regrows = jax.random.uniform(k_share, (N_SITES,)) < share
    own = jnp.arange(N_SITES)
    if own_only:
        site = own
    else:
        w_mine = mine / mine.sum()
        same = jax.random.choice(k_site, N_SITES, (N_SITES,), p=w_mine)
        anywhere = jax.random.randint(k_any, (N_SITES,), 0, N_SITES)
        mis = jax.random.uniform(k_mis, (N_SITES,)) < misdirection
        far = jax.random.uniform(k_cross, (N_SITES,)) < cross
        site = jnp.where(mis, jnp.where(far, anywhere, same), own)
    pending = jnp.where(regrows, site, -1)
    distance = values["level_mm"] + extra_mm + jnp.asarray(SKIN.to_wrist)[jnp.maximum(site, 0)]
    crossing = delay + stagger * jax.random.uniform(k_cross_delay, (N_SITES,))
    st["pending"] = jnp.where(mine, pending, st["pending"])
    st["start"] = jnp.where(mine, start, st["start"])
    st["crossing"] = jnp.where(mine, crossing, st["crossing"])
    st["growth"] = jnp.where(mine, distance / rate, st["growth"])
    st["target"] = jnp.where(mine, -1, st["target"])
    st["maturity"] = jnp.where(mine, 0.0, st["maturity"])
    return _injure(state, st)


@dataclass(frozen=True)
class Amputation(Event):
    """A digit lost: its skin (glabrous and dorsal) is gone for good."""

    summary = "amputation of a digit (Merzenich et al. 1984)"
    params = {"digit": Param(3.0, "1-5", "by choice", "1 thumb ... 5 little finger", 1.0, 5.0)}  # noqa: RUF012

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        st = dict(state.structural)
        st["alive"] = jnp.where(jnp.asarray(SKIN.digit) == jnp.round(values["digit"]), 0.0, st["alive"])
        return _redraw(model, params, _injure(state, st))


@dataclass(frozen=True)
class NerveBlock(Event):
    """A reversible block (local anaesthetic, compression): the nerve's afferents are silent
    for `days`."""

    summary = "a reversible nerve block"
    params = {"nerve": _NERVE, "days": Param(1.0, "days", "by choice", "how long it lasts", 0.01, 3650.0)}  # noqa: RUF012

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        st = dict(state.structural)
        mine = jnp.asarray(SKIN.nerve) == jnp.round(values["nerve"])
        st["block_until"] = jnp.where(mine, _start(state) + values["days"], st["block_until"])
        return _redraw(model, params, state._replace(structural=st))


@dataclass(frozen=True)
class NerveCrush(Event):
    """A crush: the axons degenerate but their tubes survive, so they regrow to their own skin
    (Wall et al. 1983)."""

    summary = "a nerve crush: axons regrow along their own tubes to their own skin"
    params = {  # noqa: RUF012
        "nerve": _NERVE,
        "level_mm": _LEVEL,
        "delay_days": Param(
            5.0,
            "days",
            "modelled: a few days before axons sprout (Sunderland 1978)",
            "delay before regrowth",
            0.0,
            100.0,
        ),
        "rate_mm_day": _rate(3.0, "SCIENCE.md section 3: 3-4 mm/day after crush"),
    }

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        return _redraw(
            model,
            params,
            _regrow(
                state,
                values,
                key,
                start=_start(state),
                own_only=True,
                share=jnp.ones(()),
                misdirection=jnp.zeros(()),
                cross=jnp.zeros(()),
                delay=values["delay_days"],
                stagger=0.2 * values["delay_days"],
                rate=values["rate_mm_day"],
                extra_mm=jnp.zeros(()),
            ),
        )


_CUT = {
    "nerve": _NERVE,
    "level_mm": _LEVEL,
    "repair_after_days": Param(
        0.0, "days", "by choice: primary repair", "days from the cut to the repair", 0.0, 3650.0
    ),
    "delay_days": Param(
        7.0,
        "days",
        "modelled: axons reach the suture line within about a week",
        "delay after the repair before the first axons cross",
        0.0,
        200.0,
    ),
    "stagger_days": Param(
        40.0,
        "days",
        "Brushart et al. 2002: axons cross a suture line over 8-10 weeks (staggered regeneration)",
        "spread of the crossing times",
        0.0,
        400.0,
    ),
    "rate_mm_day": _rate(1.0, "SCIENCE.md section 3: about 1 mm/day (1-3) after injury"),
    "misdirection": Param(
        0.6,
        "share",
        "modelled: most regenerating axons enter foreign tubes after "
        "a cut (Brushart 1988; Lundborg & Rosen 2007)",
        "share of axons reaching another site than their own",
        0.0,
        1.0,
    ),
    "cross_territory": Param(
        0.0,
        "share",
        "by choice (0: the other nerves are intact)",
        "share of misdirected axons reaching any site of the hand",
        0.0,
        1.0,
    ),
    "regenerating": Param(
        0.8,
        "share",
        "modelled: not every axon regrows (Sunderland 1978)",
        "share of the nerve's axons that regrow",
        0.0,
        1.0,
    ),
}


def _cut(
    state: State, values: dict[str, Array], key: Array, *, share: Array, delay: Array, extra: Array
) -> State:
    return _regrow(
        state,
        values,
        key,
        start=_start(state) + values["repair_after_days"],
        own_only=False,
        share=share,
        misdirection=values["misdirection"],
        cross=values["cross_territory"],
        delay=delay,
        stagger=values["stagger_days"],
        rate=values["rate_mm_day"],
        extra_mm=extra,
    )


@dataclass(frozen=True)
class NerveCut(Event):
    """Transection with surgical repair `repair_after_days` later: the axons cross the suture
    staggered, grow at `rate_mm_day` to the skin, and many reach another site than their own."""

    summary = "a nerve cut, repaired on a given day: staggered, misdirected regrowth"
    params = _CUT

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        return _redraw(
            model,
            params,
            _cut(
                state,
                values,
                key,
                share=values["regenerating"],
                delay=values["delay_days"],
                extra=jnp.zeros(()),
            ),
        )


@dataclass(frozen=True)
class NerveGraft(Event):
    """A nerve gap bridged by a graft: as a cut, with two suture lines and the graft's length
    to cross (a longer delay) and fewer axons through."""

    summary = "a nerve gap bridged by a graft: a longer delay, fewer axons"
    params = {  # noqa: RUF012
        **_CUT,
        "gap_mm": Param(30.0, "mm", "by choice", "length of the graft", 1.0, 300.0),
        "graft_share": Param(
            0.6,
            "1",
            "modelled: fewer axons traverse a graft (Millesi 1981; recalled)",
            "share of regrowing axons that get through the graft",
            0.0,
            1.0,
        ),
    }

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        share = values["regenerating"] * values["graft_share"]
        delay = 2.0 * values["delay_days"]  # two suture lines
        return _redraw(
            model, params, _cut(state, values, key, share=share, delay=delay, extra=values["gap_mm"])
        )
