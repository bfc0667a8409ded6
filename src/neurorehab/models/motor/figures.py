"""Report figures of `motor` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.models.motor.analyses import dose_threshold
from neurorehab.models.views import COLORS, pick


def _threshold_inputs(run: Any, arms: list[str], end: int, last: int) -> list[list[np.ndarray]] | None:
    """Per arm, use a week after therapy, use on the last day and the error right after
    therapy, of the same patients; None when an arm has none."""
    out: list[list[np.ndarray]] = [[], [], []]
    for arm in arms:
        maps = [
            run.per_patient("use_share", arm, end + 7),
            run.per_patient("use_share", arm, last),
            run.per_patient("error_q1", arm, end),
        ]
        ids = sorted(set(maps[0]) & set(maps[1]) & set(maps[2]))
        if not ids:
            return None
        for column, m in zip(out, maps, strict=True):
            column.append(np.asarray([m[i] for i in ids]))
    return out


def figures(run: Any) -> list[tuple[str, Any]]:
    """Tuning of both cortices before and after (polar histograms) and, for dose sweeps,
    dose-response."""
    out = []
    arms, snapshots = run.arms, run.snapshots
    doses, end = run.doses, run.therapy_end
    if snapshots:
        have = sorted((a for a in arms if a in snapshots), key=lambda a: doses.get(a, 0))
        # at most 4 rows, spread over the arms (a dose sweep: lowest, two between, highest)
        shown = [have[i] for i in sorted({round(k * (len(have) - 1) / 3) for k in range(4)})] if have else []
        panels = [
            ("affected cortex", 0, ("baseline",)),
            ("affected, after injury", 0, ("after injury", "baseline")),
            ("affected, end of therapy", 0, ("end of therapy", "end")),
            ("affected, end", 0, ("end",)),
            ("less affected, end", 1, ("end",)),
        ]
        fig, axes = plt.subplots(
            len(shown),
            len(panels),
            figsize=(2.6 * len(panels), 2.8 * len(shown)),
            squeeze=False,
            subplot_kw={"projection": "polar"},
        )
        bins = np.linspace(0, 2 * np.pi, 37)
        for row, arm in enumerate(shown):
            for col, (title, cortex, labels) in enumerate(panels):
                _, snap = pick(snapshots[arm], *labels)
                ax = axes[row, col]
                pd, alive, silenced = (
                    snap["pd"][cortex],
                    snap["alive"][cortex] > 0,
                    snap["silenced"][cortex] > 0,
                )
                ax.hist(pd[alive & ~silenced], bins=bins, color=COLORS[row % len(COLORS)], alpha=0.8)
                if silenced.any():
                    ax.hist(pd[alive & silenced], bins=bins, color="#999999", alpha=0.6)
                ax.set_title(f"{arm}: {title}", fontsize=7)
                ax.set_yticklabels([])
                ax.tick_params(labelsize=6)
        fig.suptitle(
            "Preferred directions of working cells (grey: silenced, recoverable), patient 0", fontsize=10
        )
        fig.tight_layout()
        out.append(("Tuning of both cortices", fig))
    shown = [a for a in arms if a in doses]
    if end is None or len({doses[a] for a in shown}) < 3:
        return out
    use = run.summary("use_share")
    last = int(max((max(use[a]["day"]) for a in shown if a in use), default=-1))
    # use_share covers the past week: a week after therapy ends, it is the first week's use
    inputs = _threshold_inputs(run, shown, end, last) if last > end + 7 else None
    if inputs is not None:
        th = dose_threshold([doses[a] for a in shown], *inputs)
        x = np.maximum(th.doses, 1.0)
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 3.8))
        ax.plot(x, th.losing, "-o", color=COLORS[1], label="keep losing use")
        ax.plot(x, th.gaining, "-s", color=COLORS[2], label="keep gaining use")
        ax.axhline(0.5, color="#999999", lw=0.8)
        if np.isfinite(th.threshold):
            ax.axvline(max(th.threshold, 1.0), color="k", ls="--", lw=1)
            ax.set_title(
                f"Threshold ~{th.threshold:.0f} repetitions "
                f"(error after therapy {th.error_at_threshold:.0f} deg)",
                fontsize=10,
            )
        else:
            ax.set_title("No threshold within the doses swept", fontsize=10)
        ax.set_xscale("log")
        ax.set_xlabel("total therapy repetitions (0 drawn at 1)")
        ax.set_ylabel(f"share of patients, day {end + 7} to {int(last)}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax2.plot(x, th.error_after, "-s", color=COLORS[0])
        ax2.set_xscale("log")
        ax2.set_xlabel("total therapy repetitions (0 drawn at 1)")
        ax2.set_ylabel("affected-quadrant error after therapy (deg)")
        ax2.grid(alpha=0.3)
        fig.suptitle("Dose-response: does spontaneous use keep growing after therapy ends?", fontsize=11)
        fig.tight_layout()
        out.append(("Dose-response and threshold", fig))
    return out
