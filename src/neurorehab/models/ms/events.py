"""`ms`'s event: a lesion given on a day (beside those the disease course draws)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Event
from neurorehab.core.spec import Param
from neurorehab.core.types import State


@dataclass(frozen=True)
class Lesion(Event):
    """A new lesion in one pathway: `share` of its axons demyelinated to `myelin` (then
    remyelinating as any lesion), `inflammation` times that share blocked by inflammation.
    It counts as a new lesion; whether it is a relapse the next day's step judges."""

    summary = "a new demyelinating lesion in one pathway (a relapse when its deficit is noticed)"
    params = {  # noqa: RUF012
        "pathway": Param(0.0, "0/1/2", "by choice", "0 legs, 1 hands, 2 cognition", 0.0, 2.0),
        "share": Param(0.2, "share of axons", "modelled", "share of the pathway's axons demyelinated",
                       0.0, 1.0),
        "myelin": Param(0.0, "fraction", "modelled: an acute plaque", "myelin left in them", 0.0, 1.0),
        "inflammation": Param(1.0, "1", "modelled", "share inflamed per share demyelinated (0: none)",
                              0.0, 5.0),
    }  # fmt: skip

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        day = jnp.maximum(state.slow["day"], 0.0)
        myelin = model.myelin(params, state, day)
        k_axons, k_repair = jax.random.split(key)
        draw = jax.random.uniform(k_axons, myelin.shape)
        in_path = (jnp.arange(myelin.shape[0]) == jnp.round(values["pathway"]))[:, None]
        hit = in_path & (draw < values["share"])
        inflamed = in_path & (draw < jnp.minimum(values["inflammation"] * values["share"], 1.0))
        st = model.demyelinate(params, dict(state.structural), myelin, hit, inflamed, values["myelin"], day,
                               state.slow["phase"] > 0, jax.random.uniform(k_repair))  # fmt: skip
        slow = {**state.slow, "lesions": state.slow["lesions"] + 1.0}
        return state._replace(structural=st, slow=slow)
