"""Interventions: how a session's specification becomes its trials' stimulus and modulation.

Each intervention is a small part with one method, `session(index, task, intensity, n_tasks)`
-> (task code, (plasticity, error, drive, forced_use) gains). Later interventions (constraint,
imagery, mirror, stimulation, exercise) add gains without changing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskPractice:
    """Repeated practice of one task: the same stimulus every session, neutral gains."""

    summary: str = "repeated practice of one task (the trained task every session)"

    def session(
        self, index: int, task: int, intensity: float, n_tasks: int
    ) -> tuple[int, tuple[float, float, float, float]]:
        return task, (1.0, 1.0, 1.0, 0.0)


@dataclass(frozen=True)
class VariedPractice:
    """Varied practice: the task rotates through the model's tasks session by session
    (Fu et al. 2012's control for repetition: clustering needs the same task repeated)."""

    summary: str = "varied practice: the task changes every session, cycling through all tasks"

    def session(
        self, index: int, task: int, intensity: float, n_tasks: int
    ) -> tuple[int, tuple[float, float, float, float]]:
        return (task + index) % n_tasks, (1.0, 1.0, 1.0, 0.0)


INTERVENTIONS: dict[str, TaskPractice | VariedPractice] = {
    "task-practice": TaskPractice(),
    "varied-practice": VariedPractice(),
}
