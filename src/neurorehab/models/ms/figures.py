"""Report figures of `ms` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.models.ms.conduction import reduced
from neurorehab.models.views import COLORS

COURSE = {
    "edss_like": "EDSS-like",
    "relapses": "relapses so far",
    "t25fw_like": "timed 25-foot walk-like (s)",
    "six_mw_like": "six-minute walk-like (m)",
    "sdmt_like": "SDMT-like",
    "new_lesions": "new lesions so far",
}


def _patient_course(run: Any, arm: str) -> tuple[np.ndarray, dict[str, np.ndarray], int] | None:
    days = np.asarray(run.summary("edss_like").get(arm, {}).get("day", []), int)
    if not len(days):
        return None
    first = run.per_patient("edss_like", arm, int(days[0]))
    if not first:
        return None
    pid = min(first)
    values = {m: np.array([run.per_patient(m, arm, int(d)).get(pid, np.nan) for d in days])
              for m in ("edss_like", "relapses", "new_lesions")}  # fmt: skip
    return days, values, pid


def figures(run: Any) -> list[tuple[str, Any]]:
    """One patient's course (EDSS-like steps, relapses, new lesions), the cohort's course by
    arm, and conduction against myelin and temperature (the reduced model)."""
    out = []
    arms = run.arms[:6]
    course = _patient_course(run, arms[0])
    if course is not None:
        days, v, pid = course
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        ax.step(days / 365.0, v["edss_like"], where="post", color=COLORS[0], lw=1.8, label="EDSS-like")
        ax.set_ylabel("EDSS-like (0-10)")
        ax.set_ylim(0, max(6.0, float(np.nanmax(v["edss_like"])) + 1.0))
        ax.set_xlabel("years")
        ax2 = ax.twinx()
        new_rel = np.diff(v["relapses"], prepend=v["relapses"][0])
        new_les = np.diff(v["new_lesions"], prepend=v["new_lesions"][0])
        width = np.diff(days, append=days[-1] + 1) / 365.0
        ax2.bar(days / 365.0 - width, new_les, width=width, align="edge", color="#bbbbbb", alpha=0.6,
                label="new lesions in the interval")  # fmt: skip
        hit = new_rel > 0
        ax2.scatter(days[hit] / 365.0, new_les[hit] + 0.3, marker="v", color=COLORS[1], zorder=3,
                    label="relapse(s) in the interval")  # fmt: skip
        ax2.set_ylabel("new lesions")
        ax2.set_ylim(0, max(4.0, float(np.nanmax(new_les)) * 2.5))
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="upper left")
        ax.set_title(f"{arms[0]}: patient {pid}", fontsize=10)
        fig.tight_layout()
        out.append((f"A patient's course ({arms[0]}, patient {pid})", fig))

    measures = [m for m in COURSE if run.summary(m)]
    if measures:
        fig, axes = plt.subplots(1, len(measures), figsize=(3.3 * len(measures), 3.0), squeeze=False)
        for ax, m in zip(axes[0], measures, strict=True):
            for arm, color in zip(arms, COLORS, strict=False):
                s = run.summary(m).get(arm)
                if s is None or not len(s["day"]):
                    continue
                x = np.asarray(s["day"]) / (365.0 if s["day"][-1] > 400 else 1.0)
                ax.plot(x, s["mean"], color=color, label=arm, lw=1.5)
                ax.fill_between(x, s["mean"] - s["half"], s["mean"] + s["half"], color=color, alpha=0.15)
            ax.set_title(COURSE[m], fontsize=9)
            ax.set_xlabel("years" if run.scenario.get("duration_days", 0) > 400 else "day")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle("The cohort by arm (mean and 95 % interval)", fontsize=10)
        fig.tight_layout()
        out.append(("The cohort by arm", fig))

    myelin = np.geomspace(0.005, 1.0, 200)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for temp, color in zip((35.0, 37.0, 39.0, 41.0), COLORS, strict=False):
        r = {
            k: np.asarray(v)
            for k, v in reduced(myelin, np.full_like(myelin, temp), np.full_like(myelin, 2.0)).items()
        }
        label = f"{temp:g} degrees C"
        axes[0].plot(myelin, np.where(r["conducts"], r["velocity"], np.nan), color=color, label=label)
        axes[1].plot(myelin, r["safety"], color=color, label=label)
        axes[2].plot(myelin, r["max_rate"], color=color, label=label)
    axes[1].axhline(1.0, color="k", lw=0.8, ls="--")
    for ax, title in zip(axes, ("velocity in the lesion (m/s)", "safety factor (block below 1)",
                                "highest rate followed (Hz)"), strict=True):  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("myelin left (share of normal)")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Conduction through a lesion, axon diameter 2 um (reduced model fitted to the cable)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    out.append(("Conduction against myelin and temperature", fig))
    return out
