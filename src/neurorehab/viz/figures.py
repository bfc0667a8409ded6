"""Report figures from tidy results (pandas-free: numpy arrays out of DuckDB), and the view of
a run that a model's own figures read (`models.views.RunView`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from neurorehab.io.results import query

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def summary(run: Path, measure: str) -> dict[str, dict[str, np.ndarray]]:
    """Per arm: days, mean, 95 % t-interval half-width and n over patients that did not fail."""
    rows = query(
        run,
        f"""
        select arm, day, avg(value) as mean, stddev_samp(value) as sd, count(value) as n
        from daily where measure = '{measure}' and failure = 0 and isfinite(value)
        group by arm, day order by arm, day""",
    ).fetchall()
    out: dict[str, dict[str, list[float]]] = {}
    for arm, day, mean, sd, n in rows:
        d = out.setdefault(arm, {"day": [], "mean": [], "half": [], "n": []})
        half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) if n > 1 and sd is not None else 0.0
        for k, v in (("day", day), ("mean", mean), ("half", half), ("n", n)):
            d[k].append(v)
    return {a: {k: np.asarray(v, float) for k, v in d.items()} for a, d in out.items()}


def recovery_curves(run: Path, measures: list[str], units: dict[str, str], arms: list[str]) -> bytes:
    """One panel per measure: each arm's mean with its 95 % confidence band over days."""
    cols = min(3, len(measures))
    rows = int(np.ceil(len(measures) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, m in zip(axes.flat, measures, strict=False):
        s = summary(run, m)
        for i, arm in enumerate(arms):
            if arm not in s:
                continue
            d, c = s[arm], COLORS[i % len(COLORS)]
            ax.plot(d["day"], d["mean"], color=c, label=arm, lw=1.8)
            ax.fill_between(d["day"], d["mean"] - d["half"], d["mean"] + d["half"], color=c, alpha=0.2)
        ax.set_title(m, fontsize=10)
        ax.set_xlabel("day")
        ax.set_ylabel(units.get(m, ""))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(measures) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Mean per arm with 95 % confidence interval", fontsize=11)
    fig.tight_layout()
    return png(fig)


def load_snapshots(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """A run's snapshot file as {label: {name: array}} in the order the run took them."""
    data = dict(np.load(path))
    labels = [str(x) for x in data.pop("labels")]
    return {
        label: {k.split("__", 1)[1]: v for k, v in data.items() if k.startswith(f"{label}__")}
        for label in labels
    }


def _arm_doses(run: Path) -> tuple[dict[str, int], int | None]:
    """Total repetitions per arm when the arms form a dose sweep (every arm with a protocol uses
    the same single intervention), and the day the last therapy block ends; empty otherwise,
    e.g. one technique against another."""
    from neurorehab.config import compile_scenario, parse_scenario

    scenario = parse_scenario(json.loads((run / "manifest.json").read_text())["scenario"])
    kinds = {b.intervention for arm in scenario.arms for b in arm.protocol}
    if len(kinds) != 1:
        return {}, None
    end = max(b.start_day + b.n_days for arm in scenario.arms for b in arm.protocol)
    doses = {a.name: int(np.asarray(a.calendar.n_trials).sum()) for a in compile_scenario(scenario).arms}
    return doses, end


def per_patient(run: Path, measure: str, arm: str, day: int) -> dict[int, float]:
    """One measure of every non-failed patient of an arm on the first assessment on or after
    `day`: patient id -> value (empty when no assessment falls that late)."""
    rows = query(
        run,
        f"""
        with first as (select min(day) as d from daily
                       where arm = '{arm}' and measure = '{measure}' and day >= {int(day)})
        select patient, value from daily, first
        where arm = '{arm}' and measure = '{measure}' and day = first.d and failure = 0
        order by patient""",
    ).fetchall()
    return {int(p): float(v) for p, v in rows}


class RunData:
    """A finished run folder as a model's figures see it (`models.views.RunView`)."""

    def __init__(self, run: Path, manifest: dict[str, Any]):
        self.run = run
        self.arms: list[str] = list(manifest["arms"])
        self.scenario: dict[str, Any] = manifest["scenario"]
        self.snapshots = {p.stem: load_snapshots(p) for p in sorted((run / "snapshots").glob("*.npz"))}
        self.doses, self.therapy_end = _arm_doses(run)

    def summary(self, measure: str) -> dict[str, dict[str, np.ndarray]]:
        return summary(self.run, measure)

    def per_patient(self, measure: str, arm: str, day: int) -> dict[int, float]:
        return per_patient(self.run, measure, arm, day)


def model_figures(run: Path, manifest: dict[str, Any], info: Any) -> list[tuple[str, bytes]]:
    """The model's own report figures (its `figures` declaration), as PNG bytes."""
    make = info.figure_function()
    if make is None:
        return []
    return [(title, png(fig)) for title, fig in make(RunData(run, manifest))]
