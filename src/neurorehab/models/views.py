"""What a model's report figures may read of a finished run, and small helpers for them.

The viz layer builds a `RunView` from a run folder and hands it to the model's figure
function; the model's `figures.py` (matplotlib, imported only when a report is built) reads
summaries and snapshots through it and never touches files, SQL or the config layer.
"""

from __future__ import annotations

from typing import Any, Protocol

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


class RunView(Protocol):
    """A finished run, as figures see it."""

    arms: list[str]
    scenario: dict[str, Any]
    snapshots: dict[str, dict[str, dict[str, Any]]]  # arm -> label -> name -> array
    doses: dict[str, int]  # total repetitions offered per arm, when the arms form a dose sweep
    therapy_end: int | None  # day after the last therapy block of a dose sweep

    def summary(self, measure: str) -> dict[str, dict[str, Any]]:
        """Per arm: day, mean, 95 % half-width and n arrays over non-failed patients."""
        ...

    def per_patient(self, measure: str, arm: str, day: int) -> dict[int, float]:
        """Patient id -> value on the first assessment on or after `day` (non-failed only)."""
        ...


def pick(snaps: dict[str, dict[str, Any]], *labels: str) -> tuple[str, dict[str, Any]]:
    """The first of `labels` that an arm's snapshots have, else the last snapshot."""
    for label in labels:
        if label in snaps:
            return label, snaps[label]
    last = list(snaps)[-1]
    return last, snaps[last]
