"""Events of `pathway`: the loss of relay B (seed 000, Figure 2)."""

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
class LoseB(Event):
    """A fraction `severity` of the B cells dies (chosen at random per patient).

    Dead cells stop firing and their synapses onto D are gone (weight 0).
    """

    summary = "remove a fraction (severity) of the B relay cells, D's main route"
    params = {  # noqa: RUF012
        "severity": Param(
            1.0,
            "fraction of B cells",
            "seed 000 Fig. 2 (the whole relay is lost)",
            "share of B cells lost",
            0.0,
            1.0,
        )
    }

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        n = model.n_cells
        severity = values["severity"]
        # Rank-based choice: exactly round-half-up(severity * n) cells die, which ones varies by key.
        order = jnp.argsort(jax.random.uniform(key, (n,)))
        dead_b = jnp.zeros(n).at[order].set((jnp.arange(n) < jnp.floor(severity * n + 0.5)) * 1.0)
        alive = state.structural["alive"] * jnp.concatenate([jnp.ones(n), 1.0 - dead_b, jnp.ones(n)])
        plastic = {**state.plastic, "w": state.plastic["w"] * alive}
        return state._replace(structural={"alive": alive}, plastic=plastic)
