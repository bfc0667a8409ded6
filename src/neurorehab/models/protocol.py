"""Protocols: blocks of sessions on a calendar, compiled once into the engine's dense `Calendar`.

A protocol is a sequence of blocks; each block is one intervention given on `sessions_per_week`
days a week (spread evenly over the week) for `days` days from `start_day`, at a time of day,
with a dose in repetitions per session and an intensity. A home programme is a block with an
adherence model (`Adherence`); a progressive block has its dose scaled by the arm's progression
rule, which decides on reassessment days. Blocks compose: exercise after practice, stimulation
before it, imagery while pain limits movement are just blocks at their times. Compilation
happens at the edge, in plain Python, before anything is traced: the engine sees only arrays.
A session sits on the clock at its start time (trials take no clock time in the engine).
Events (a lesion, a cut, its repair) fall on their day, before its sessions; assessments are
kept at the end of their day, or at a clock time (several on one day are retests: a retest
draws its own measurement noise and, since assessing changes nothing, adds no practice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from neurorehab.core.engine import Calendar
from neurorehab.core.types import GENERIC_GAINS, Modulation
from neurorehab.models.interventions import INTERVENTIONS, Intervention
from neurorehab.models.registry import ModelInfo

FIRST_SESSION_HOUR = 9.0


@dataclass(frozen=True)
class Adherence:
    """Probability that the patient does a session of the block: `initial`, changing by
    `per_week` each week of the block and by `per_progress` per unit of perceived progress
    (the progression rule's measure since the last reassessment, in the good direction)."""

    initial: float = 1.0
    per_week: float = 0.0
    per_progress: float = 0.0


SUPERVISED = Adherence()


@dataclass(frozen=True)
class Block:
    """One block of a protocol: `days` long from `start_day` (absolute days; day 0 starts the
    scenario), sessions on `sessions_per_week` days of each week, `sessions_per_day` sessions on
    each of those days (`hours_between` apart from `hour`), `repetitions` trials each."""

    intervention: str
    start_day: int
    days: int
    sessions_per_week: int
    repetitions: int
    task: int = 0
    intensity: float = 1.0
    sessions_per_day: int = 1
    hours_between: float = 4.0
    hour: float = FIRST_SESSION_HOUR
    adherence: Adherence = SUPERVISED
    progressive: bool = False
    params: Mapping[str, float] = field(default_factory=dict)  # the intervention's parameters

    def __hash__(self) -> int:
        return hash((self.intervention, self.start_day, self.days, tuple(sorted(self.params.items()))))

    def session_days(self) -> list[int]:
        """Days of this block's sessions: `sessions_per_week` days spread over each week."""
        offsets = sorted({(k * 7) // self.sessions_per_week for k in range(self.sessions_per_week)})
        return [self.start_day + d for d in range(self.days) if d % 7 in offsets]

    def session_times(self) -> list[tuple[int, float]]:
        """(day, hour) of every session of the block."""
        return [
            (d, self.hour + k * self.hours_between)
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
    adherence: Adherence
    weeks: float
    progressive: bool


def sessions(
    blocks: Sequence[Block],
    n_tasks: int,
    *,
    interventions: Mapping[str, Intervention] = INTERVENTIONS,
    gains: Mapping[str, float] | None = None,
) -> list[Session]:
    """Every session of a protocol in time order; two at the same time is an error.

    `interventions`: the names a block may use (a model's available ones); `gains`: the
    model's own session gains at their neutral values.
    """
    out: dict[tuple[int, float], Session] = {}
    for block in blocks:
        if block.intervention not in interventions:
            raise ValueError(f"unknown intervention {block.intervention!r}; valid: {sorted(interventions)}")
        intervention = interventions[block.intervention]
        mod = intervention.modulation(block.params, gains or {})
        for index, (day, hour) in enumerate(block.session_times()):
            if hour >= 24.0:
                raise ValueError(
                    f"block {block.intervention!r} starting day {block.start_day}: "
                    f"{block.sessions_per_day} sessions {block.hours_between} h apart from "
                    f"{block.hour:g}:00 run past midnight"
                )
            if (day, hour) in out:
                raise ValueError(
                    f"two sessions fall on day {day} at {hour:g}:00 (block {block.intervention!r} "
                    f"starting day {block.start_day} overlaps another block)"
                )
            task = intervention.session(index, block.task, n_tasks)
            out[(day, hour)] = Session(
                day,
                hour,
                block.repetitions if intervention.practice else 0,
                task,
                block.intensity,
                mod,
                block.adherence,
                (day - block.start_day) / 7.0,
                block.progressive,
            )
    return [out[t] for t in sorted(out)]


def compile_calendar(
    blocks: Sequence[Block],
    *,
    duration_days: int,
    assess_days: Sequence[int],
    n_tasks: int | None = None,
    event_days: Sequence[int] = (),
    reassess_days: Sequence[int] = (),
    assess_times: Sequence[tuple[int, float]] = (),
    info: ModelInfo | None = None,
    interventions: Mapping[str, Intervention] | None = None,
    gains: Mapping[str, float] | None = None,
) -> Calendar:
    """Dense calendar: one slot per session, plus one for each other moment that needs one
    (an event or an assessment alone on its day, at 09:00; an assessment at a clock time).

    Gaps are the hours between consecutive slots; the first slot's gap runs from day 0, 09:00.
    Event k (of `event_days`) falls in the first slot of its day, before any session; a day's
    assessment is kept from its last slot, after the day's sessions; an assessment of
    `assess_times` (day, hour) is kept at that time (after a session starting then); a
    reassessment (progression decision) happens in the first slot of its day, before its
    sessions. `info`: the model's declaration, which gives the defaults of `n_tasks`,
    `interventions` (the ones it may use) and `gains` (its own session gains at their neutral
    values); without it, the generic interventions and no model gains.
    """
    if info is not None:
        n_tasks = len(info.tasks) if n_tasks is None else n_tasks
        interventions = info.available_interventions() if interventions is None else interventions
        gains = {k: v.default for k, v in info.gains.items()} if gains is None else gains
    if n_tasks is None:
        raise ValueError("compile_calendar needs n_tasks (or info, the model's declaration)")
    interventions = INTERVENTIONS if interventions is None else interventions
    gains = dict(gains or {})
    by_time = {
        (s.day, s.hour): s for s in sessions(blocks, n_tasks, interventions=interventions, gains=gains)
    }
    event_days = list(event_days)
    timed = {(int(d), float(h)) for d, h in assess_times}
    event_set = set(assess_days) | set(reassess_days) | set(event_days)
    late = sorted(
        d for d in event_set | {d for d, _ in by_time} | {d for d, _ in timed} if d > duration_days or d < 0
    )
    if late:
        raise ValueError(f"events on days {late[:5]} fall outside 0..{duration_days} (duration_days)")
    bad_hours = sorted(h for _, h in timed if not 0 <= h < 24)
    if bad_hours:
        raise ValueError(f"assessment hours {bad_hours[:5]} fall outside 0..24")
    times = sorted(
        set(by_time)
        | timed
        | {(d, FIRST_SESSION_HOUR) for d in event_set if not any(t[0] == d for t in set(by_time) | timed)}
    )
    hours = np.array([24.0 * d + h for d, h in times])
    days = [d for d, _ in times]
    last_of_day = [i == len(times) - 1 or times[i + 1][0] != d for i, (d, _) in enumerate(times)]
    first_of_day = [i == 0 or times[i - 1][0] != d for i, (d, _) in enumerate(times)]
    slots = [by_time.get(t) for t in times]
    neutral = Modulation(1.0, 1.0, 0.0, 0.0, extra=gains)
    mods = [s.modulation if s else neutral for s in slots]
    assess_set = set(assess_days)
    assess = np.asarray(
        [
            (d in assess_set and last) or t in timed
            for t, d, last in zip(times, days, last_of_day, strict=True)
        ]
    )
    reassess = np.asarray([d in set(reassess_days) and f for d, f in zip(days, first_of_day, strict=True)])
    # The progression rule reads the latest measure at every slot (adherence follows perceived
    # progress), so an arm with reassessments measures every slot.
    measure = assess | reassess.any()
    previous = np.concatenate([[0], np.asarray(days[:-1], int)]) if days else np.zeros(0, int)
    return Calendar(
        day=jnp.asarray(days, jnp.int32),
        minute=jnp.asarray([round(60 * h) for _, h in times], jnp.int32),
        gap_hours=jnp.asarray(np.diff(hours, prepend=FIRST_SESSION_HOUR), jnp.float32),
        days=jnp.asarray(np.asarray(days, int) - previous, jnp.int32),
        n_trials=jnp.asarray([s.n_trials if s else 0 for s in slots], jnp.int32),
        task=jnp.asarray([s.task if s else 0 for s in slots], jnp.int32),
        intensity=jnp.asarray([s.intensity if s else 0.0 for s in slots], jnp.float32),
        modulation=Modulation(
            **{g: jnp.asarray([getattr(m, g) for m in mods], jnp.float32) for g in GENERIC_GAINS},
            extra={g: jnp.asarray([m.extra[g] for m in mods], jnp.float32) for g in gains},
        ),
        events=jnp.asarray(
            np.array(
                [[d == e and f for e in event_days] for d, f in zip(days, first_of_day, strict=True)], bool
            ).reshape(len(days), len(event_days))
        ),
        adherence=jnp.asarray([s.adherence.initial if s else 1.0 for s in slots], jnp.float32),
        adherence_drift=jnp.asarray([s.adherence.per_week if s else 0.0 for s in slots], jnp.float32),
        adherence_progress=jnp.asarray([s.adherence.per_progress if s else 0.0 for s in slots], jnp.float32),
        weeks=jnp.asarray([s.weeks if s else 0.0 for s in slots], jnp.float32),
        progressive=jnp.asarray([bool(s and s.progressive) for s in slots]),
        reassess=jnp.asarray(reassess),
        assess=jnp.asarray(assess),
        measure=jnp.asarray(measure),
    )
