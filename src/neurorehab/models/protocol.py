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
from neurorehab.core.types import NEUTRAL, Modulation
from neurorehab.models.interventions import INTERVENTIONS

FIRST_SESSION_HOUR = 9.0


@dataclass(frozen=True)
class Block:
    """One block of a protocol: `days` long from `start_day` (absolute days; day 0 starts the
    scenario), sessions on `sessions_per_week` days of each week, `sessions_per_day` sessions on
    each of those days (`hours_between` apart from 09:00), `repetitions` trials each."""

    intervention: str
    start_day: int
    days: int
    sessions_per_week: int
    repetitions: int
    task: int = 0
    intensity: float = 1.0
    sessions_per_day: int = 1
    hours_between: float = 4.0

    def session_days(self) -> list[int]:
        """Days of this block's sessions: `sessions_per_week` days spread over each week."""
        offsets = sorted({(k * 7) // self.sessions_per_week for k in range(self.sessions_per_week)})
        return [self.start_day + d for d in range(self.days) if d % 7 in offsets]

    def session_times(self) -> list[tuple[int, float]]:
        """(day, hour) of every session of the block."""
        return [
            (d, FIRST_SESSION_HOUR + k * self.hours_between)
            for d in self.session_days()
            for k in range(self.sessions_per_day)
        ]


@dataclass(frozen=True)
class Session:
    day: int
    hour: float
    n_trials: int
    task: int
    intensity: float
    modulation: Modulation


def sessions(blocks: Sequence[Block], n_tasks: int) -> list[Session]:
    """Every session of a protocol in time order; two at the same time is an error."""
    out: dict[tuple[int, float], Session] = {}
    for block in blocks:
        intervention = INTERVENTIONS[block.intervention]
        for index, (day, hour) in enumerate(block.session_times()):
            if hour >= 24.0:
                raise ValueError(
                    f"block {block.intervention!r} starting day {block.start_day}: "
                    f"{block.sessions_per_day} sessions {block.hours_between} h apart from "
                    f"{FIRST_SESSION_HOUR:g}:00 run past midnight"
                )
            if (day, hour) in out:
                raise ValueError(
                    f"two sessions fall on day {day} at {hour:g}:00 (block {block.intervention!r} "
                    f"starting day {block.start_day} overlaps another block)"
                )
            task, mod = intervention.session(index, block.task, n_tasks)
            out[(day, hour)] = Session(day, hour, block.repetitions, task, block.intensity, mod)
    return [out[t] for t in sorted(out)]


def compile_calendar(
    blocks: Sequence[Block],
    *,
    duration_days: int,
    assess_days: Sequence[int],
    n_tasks: int,
    injury_day: int | None = None,
) -> Calendar:
    """Dense calendar: one slot per session, plus one for each other event day (injury or
    assessment alone) at 09:00.

    Gaps are the hours between consecutive slots; the first slot's gap runs from day 0, 09:00.
    The injury falls in the first slot of its day, before any session; a day's assessment is
    kept from its last slot, after the day's sessions (`Calendar.assess`).
    """
    by_time = {(s.day, s.hour): s for s in sessions(blocks, n_tasks)}
    event_days = set(assess_days) | ({injury_day} if injury_day is not None else set())
    late = sorted(d for d in event_days | {d for d, _ in by_time} if d > duration_days or d < 0)
    if late:
        raise ValueError(f"events on days {late[:5]} fall outside 0..{duration_days} (duration_days)")
    times = sorted(
        set(by_time) | {(d, FIRST_SESSION_HOUR) for d in event_days if not any(t[0] == d for t in by_time)}
    )
    hours = np.array([24.0 * d + h for d, h in times])
    days = [d for d, _ in times]
    last_of_day = [i == len(times) - 1 or times[i + 1][0] != d for i, (d, _) in enumerate(times)]
    first_of_day = [i == 0 or times[i - 1][0] != d for i, (d, _) in enumerate(times)]
    slots = [by_time.get(t) for t in times]
    mods = np.array([s.modulation if s else NEUTRAL for s in slots], np.float32).reshape(-1, len(NEUTRAL))
    assess_set = set(assess_days)
    return Calendar(
        day=jnp.asarray(days, jnp.int32),
        minute=jnp.asarray([round(60 * h) for _, h in times], jnp.int32),
        gap_hours=jnp.asarray(np.diff(hours, prepend=FIRST_SESSION_HOUR), jnp.float32),
        n_trials=jnp.asarray([s.n_trials if s else 0 for s in slots], jnp.int32),
        task=jnp.asarray([s.task if s else 0 for s in slots], jnp.int32),
        intensity=jnp.asarray([s.intensity if s else 0.0 for s in slots], jnp.float32),
        modulation=Modulation(*(jnp.asarray(mods[:, i]) for i in range(len(NEUTRAL)))),
        injure=jnp.asarray([d == injury_day and f for d, f in zip(days, first_of_day, strict=True)]),
        assess=np.asarray([d in assess_set and last for d, last in zip(days, last_of_day, strict=True)]),
    )
