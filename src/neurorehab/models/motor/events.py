"""Events of `motor`: a focal stroke lesion and diffuse (traumatic) injury.

A second lesion months after the first is a second event of the same kind (`events:` in a
scenario); each draws its own cells from its own key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Event
from neurorehab.core.spec import Param
from neurorehab.core.types import State

TWO_PI = 2.0 * math.pi
_SEVERITY = Param(
    1.0, "fraction of the target's cells", "Han et al. 2008 (their lesion removes the whole sector)",
    "share of the target cells lost", 0.0, 1.0,
)  # fmt: skip


@dataclass(frozen=True)
class FocalLesion(Event):
    """Stroke: the affected cortex loses `severity` of its cells tuned to [sector_start, +width).

    A share `penumbra` of the lost cells is silenced but viable (recovers); the rest die. CST
    output falls by cst_per_severity x severity, of which the same share recovers unless the
    loss passes cst_threshold.
    """

    summary = (
        "stroke: cells of the affected cortex tuned to a sector (default 0-90 deg) lost (severity = "
        "share of them), plus CST output loss = cst_per_severity x severity"
    )
    params = {  # noqa: RUF012
        "severity": _SEVERITY,
        "sector_start_deg": Param(
            0.0, "deg", "Han et al. 2008: quadrant 1", "start of the lesioned sector", 0.0, 360.0
        ),
        "sector_width_deg": Param(
            90.0, "deg", "Han et al. 2008: a quadrant", "width of the lesioned sector", 1.0, 360.0
        ),
    }

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        pd0 = state.plastic["pd"][0]
        start = jnp.radians(values["sector_start_deg"])
        in_sector = jnp.mod(pd0 - start, TWO_PI) < jnp.radians(values["sector_width_deg"])
        severity = values["severity"]
        return _lose(params, state, key, in_sector, severity, params["cst_per_severity"] * severity)


@dataclass(frozen=True)
class Diffuse(Event):
    """Traumatic brain or spinal injury: `severity` of the affected cortex's cells (any tuning)
    and the same share of CST output are lost; recovery as for a focal lesion."""

    summary = (
        "traumatic brain or spinal injury: a share (severity) of cells in every direction and the "
        "same share of CST output lost"
    )
    params = {  # noqa: RUF012
        "severity": Param(
            0.5,
            "fraction of cells",
            "illustrative: a moderate diffuse injury",
            "share of cells and CST output lost",
            0.0,
            1.0,
        )
    }

    def apply(
        self, model: Any, params: dict[str, Array], state: State, values: dict[str, Array], key: Array
    ) -> State:
        everywhere = jnp.ones(state.plastic["pd"].shape[1], bool)
        severity = values["severity"]
        return _lose(params, state, key, everywhere, severity, jnp.asarray(severity, jnp.float32))


def _lose(params, state: State, key: Array, target: Array, severity, cst_loss: Array) -> State:
    k_hit, k_viable = jax.random.split(key)
    hit = target & (jax.random.uniform(k_hit, target.shape) < severity)
    blocked = jax.nn.sigmoid((params["cst_threshold"] - cst_loss) / 0.02)  # ~0 past the threshold
    share = params["penumbra"] * blocked
    viable = jax.random.uniform(k_viable, target.shape) < share
    s = state.structural
    alive0 = s["alive"][0] * (1.0 - (hit & ~viable))
    silenced0 = jnp.maximum(s["silenced"][0], (hit & viable).astype(jnp.float32))
    cst0 = s["cst"][0] * (1.0 - cst_loss)
    target0 = s["cst_target"][0] * (1.0 - cst_loss * (1.0 - share))
    return state._replace(
        structural={
            "alive": s["alive"].at[0].set(alive0),
            "silenced": s["silenced"].at[0].set(silenced0),
            "cst": s["cst"].at[0].set(cst0),
            "cst_target": s["cst_target"].at[0].set(target0),
        }
    )
