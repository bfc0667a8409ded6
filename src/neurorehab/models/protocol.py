"""Protocols: blocks of sessions on a calendar, compiled once into the engine's dense `Calendar`.

A protocol is a sequence of blocks; each block is one intervention given on `sessions_per_week`
days a week (spread evenly over the week) for `weeks` weeks from `start_day`, with a dose in
repetitions per session. Compilation happens at the edge, in plain Python, before anything is
traced: the engine sees only arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from neurorehab.core.engine import Calendar
from neurorehab.core.types import Modulation
from neurorehab.models.interventions import INTERVENTIONS


@dataclass(frozen=True)
class Block:
    """One block of a protocol: `days` long from `start_day` (absolute days; day 0 starts the
    scenario), sessions on `sessions_per_week` days of each week, `repetitions` trials each."""

    intervention: str
    start_day: int
    days: int
    sessions_per_week: int
    repetitions: int
    task: int = 0
    intensity: float = 1.0

    def session_days(self) -> list[int]:
        """Days of this block's sessions: `sessions_per_week` days spread over each week."""
        offsets = sorted({(k * 7) // self.sessions_per_week for k in range(self.sessions_per_week)})
        return [self.start_day + d for d in range(self.days) if d % 7 in offsets]


@dataclass(frozen=True)
class Session:
    day: int
    n_trials: int
    task: int
    intensity: float
    modulation: tuple[float, float, float, float]


def sessions(blocks: Sequence[Block], n_tasks: int) -> list[Session]:
    """Every session of a protocol in day order; two on one day is an error (named by day)."""
    out: dict[int, Session] = {}
    for block in blocks:
        intervention = INTERVENTIONS[block.intervention]
        for index, day in enumerate(block.session_days()):
            if day in out:
                raise ValueError(
                    f"two sessions fall on day {day} (block {block.intervention!r} "
                    f"starting day {block.start_day}); one session a day is allowed"
                )
            task, mod = intervention.session(index, block.task, block.intensity, n_tasks)
            out[day] = Session(day, block.repetitions, task, block.intensity, mod)
    return [out[d] for d in sorted(out)]


def compile_calendar(
    blocks: Sequence[Block],
    *,
    duration_days: int,
    assess_days: Sequence[int],
    n_tasks: int,
    injury_day: int | None = None,
) -> Calendar:
    """Dense calendar over the days on which anything happens (session, injury, assessment).

    The first slot's offline gap runs from day 0; every later gap is 24 h per day between slots.
    """
    sess = {s.day: s for s in sessions(blocks, n_tasks)}
    days = sorted(set(sess) | set(assess_days) | ({injury_day} if injury_day is not None else set()))
    late = [d for d in days if d > duration_days or d < 0]
    if late:
        raise ValueError(f"events on days {late[:5]} fall outside 0..{duration_days} (duration_days)")
    prev = [days[0], *days[:-1]]
    neutral = (1.0, 1.0, 1.0, 0.0)
    mods = np.array([sess[d].modulation if d in sess else neutral for d in days], np.float32)
    return Calendar(
        day=jnp.asarray(days, jnp.int32),
        gap_hours=jnp.asarray([24.0 * (d - p) for d, p in zip(days, prev, strict=True)], jnp.float32),
        n_trials=jnp.asarray([sess[d].n_trials if d in sess else 0 for d in days], jnp.int32),
        task=jnp.asarray([sess[d].task if d in sess else 0 for d in days], jnp.int32),
        intensity=jnp.asarray([sess[d].intensity if d in sess else 0.0 for d in days], jnp.float32),
        modulation=Modulation(*(jnp.asarray(mods[:, i]) for i in range(4))),
        injure=jnp.asarray([d == injury_day for d in days]),
    )
