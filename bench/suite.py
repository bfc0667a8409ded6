"""The benchmark suite: neurorehab against Brian2 and NEST, cohorts, and the machine's limit.

    .peers/bin/python bench/suite.py            # everything, about 30 minutes on 2 cores
    .peers/bin/python bench/suite.py --quick    # short runs that check the set-up, about 4 minutes
    .peers/bin/python bench/suite.py --only cuba,stdp

Every simulation runs in a fresh process started from here, one after another on the same
machine: `ours.py` (neurorehab), `peer_nest.py`, `peer_brian2.py`, `cohort.py`. Each figure
is given two ways: end to end, the wall time of that process as a user lives it (start,
import, build, compile, run); and the steady simulation loop (median of repeats, compiled).
Ratios are peer / neurorehab (above 1: neurorehab is faster). Writes bench/results/suite.json
and bench/results/suite.md (the tables of bench/README.md) and prints the bars.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
QUANTITIES = ("ca_e", "ca_i", "conn_e", "conn_i")


def call(script: str, *args: object) -> tuple[dict, float]:
    """Run a bench script in a fresh process; (its JSON, its wall time in s)."""
    cmd = [sys.executable, str(HERE / script), *map(str, args)]
    print(f"  {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYNEST_QUIET": "1"})
    wall = time.perf_counter() - t
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    print(f"    {wall:.1f} s", file=sys.stderr, flush=True)
    return json.loads(p.stdout.strip().splitlines()[-1]), wall


def bar(name: str, measured: float, target: float, higher_is_better: bool = True, unit: str = "x") -> dict:
    met = measured >= target if higher_is_better else measured <= target
    return {
        "bar": name,
        "measured": measured,
        "target": target,
        "unit": unit,
        "met": bool(met),
        "sense": ">=" if higher_is_better else "<=",
    }


def cuba(cfg: argparse.Namespace) -> dict:
    r = cfg.repeats
    rows: dict[str, dict] = {}
    ours, wall = call("ours.py", "cuba")
    steady, _ = call("ours.py", "cuba", "--repeats", r)
    rows["neurorehab"] = {"end_to_end_s": wall, "loop_s": steady["loop_s"], "rate_hz": ours["rate_hz"]}
    for devices in (1, 2):
        b, bwall = call("ours.py", "cuba", "--batch", 16, "--repeats", r, "--devices", devices)
        rows[f"neurorehab, batch of 16, {devices} device(s)"] = {
            "end_to_end_s": (bwall - sum(b["loop_all_s"][1:])) / 16,  # less the repeats
            "loop_s": b["loop_s"] / 16,
            "rate_hz": statistics.mean(b["rate_hz_all"]),
        }
    nest, wall = call("peer_nest.py", "cuba")
    steady, _ = call("peer_nest.py", "cuba", "--repeats", r)
    rows["NEST 3.10, 1 thread"] = {
        "end_to_end_s": wall,
        "loop_s": steady["loop_s"],
        "rate_hz": nest["rate_hz"],
    }
    for target in ("cpp", "cython"):
        with tempfile.TemporaryDirectory() as d:
            cold, wall = call("peer_brian2.py", "cuba", "--target", target, "--cache-dir", d)
            warm, wwall = call("peer_brian2.py", "cuba", "--target", target, "--cache-dir", d, "--repeats", r)
        rows[f"Brian2 2.9 {target}"] = {
            "end_to_end_s": wall,
            "end_to_end_warm_s": wwall,
            "loop_s": warm["loop_s"],
            "rate_hz": cold["rate_hz"],
        }
    us, cpp = rows["neurorehab"], rows["Brian2 2.9 cpp"]
    b16 = rows["neurorehab, batch of 16, 2 device(s)"]
    bars = [
        bar(
            "CUBA end to end: NEST / neurorehab",
            rows["NEST 3.10, 1 thread"]["end_to_end_s"] / us["end_to_end_s"],
            1,
        ),
        bar("CUBA end to end: Brian2 cpp (cold) / neurorehab", cpp["end_to_end_s"] / us["end_to_end_s"], 1),
        bar(
            "CUBA steady, batch of 16, per network: neurorehab / Brian2 cpp",
            b16["loop_s"] / cpp["loop_s"],
            1,
            False,
        ),
        bar("CUBA steady, one network: neurorehab / Brian2 cpp", us["loop_s"] / cpp["loop_s"], 1.2, False),
    ]
    return {"t_sim_ms": 1000.0, "rows": rows, "bars": bars}


def stdp(cfg: argparse.Namespace) -> dict:
    t = 10_000.0 if cfg.quick else 100_000.0
    r = cfg.repeats
    rows: dict[str, dict] = {}
    weights = {}
    ours, wall = call("ours.py", "stdp", "--t-sim", t)
    steady, _ = call("ours.py", "stdp", "--t-sim", t, "--repeats", r)
    weights["neurorehab"] = np.asarray(ours["w_over_wmax"])
    rows["neurorehab"] = {
        "end_to_end_s": wall,
        "loop_s": steady["loop_s"],
        "rate_hz": ours["rate_hz"],
        "frac_below_0_1": ours["frac_below_0_1"],
        "frac_above_0_9": ours["frac_above_0_9"],
    }
    for devices in (1, 2):
        b, bwall = call("ours.py", "stdp", "--t-sim", t, "--batch", 16, "--repeats", r, "--devices", devices)
        rows[f"neurorehab, batch of 16, {devices} device(s)"] = {
            "end_to_end_s": (bwall - sum(b["loop_all_s"][1:])) / 16,  # less the repeats
            "loop_s": b["loop_s"] / 16,
            "rate_hz": statistics.mean(b["rate_hz_all"]),
        }
    nest, wall = call("peer_nest.py", "stdp", "--t-sim", t)
    weights["NEST 3.10, 1 thread"] = np.asarray(nest["w_over_wmax"])
    rows["NEST 3.10, 1 thread"] = {
        "end_to_end_s": wall,
        "loop_s": nest["loop_s"],
        **{k: nest[k] for k in ("rate_hz", "frac_below_0_1", "frac_above_0_9")},
    }
    for target in ("cpp",) if cfg.quick else ("cpp", "cython"):
        with tempfile.TemporaryDirectory() as d:
            extra = ("--target", target, "--cache-dir", d)
            cold, wall = call("peer_brian2.py", "stdp", "--t-sim", t, *extra)
            warm, wwall = call("peer_brian2.py", "stdp", "--t-sim", t, *extra, "--repeats", r)
        rows[f"Brian2 2.9 {target}"] = {
            "end_to_end_s": wall,
            "end_to_end_warm_s": wwall,
            "loop_s": warm["loop_s"],
            **{k: cold[k] for k in ("rate_hz", "frac_below_0_1", "frac_above_0_9")},
        }
    us, nest_row, cpp = rows["neurorehab"], rows["NEST 3.10, 1 thread"], rows["Brian2 2.9 cpp"]
    b16 = rows["neurorehab, batch of 16, 2 device(s)"]
    ks = stats.ks_2samp(weights["neurorehab"], weights["NEST 3.10, 1 thread"])
    bars = [
        bar("STDP end to end: NEST / neurorehab", nest_row["end_to_end_s"] / us["end_to_end_s"], 1),
        bar("STDP end to end: Brian2 cpp (cold) / neurorehab", cpp["end_to_end_s"] / us["end_to_end_s"], 1),
        bar("STDP steady, one network: neurorehab / Brian2 cpp", us["loop_s"] / cpp["loop_s"], 1.2, False),
        bar(
            "STDP steady, batch of 16, per network: neurorehab / Brian2 cpp",
            b16["loop_s"] / cpp["loop_s"],
            1,
            False,
        ),
        bar(
            "STDP weights below 0.1: difference to NEST",
            abs(us["frac_below_0_1"] - nest_row["frac_below_0_1"]),
            0.05,
            False,
            "",
        ),
        bar(
            "STDP weights above 0.9: difference to NEST",
            abs(us["frac_above_0_9"] - nest_row["frac_above_0_9"]),
            0.05,
            False,
            "",
        ),
    ]
    return {"t_sim_ms": t, "rows": rows, "ks_vs_nest": {"D": ks.statistic, "p": ks.pvalue}, "bars": bars}


def msp(cfg: argparse.Namespace) -> dict:
    t = 20_000.0 if cfg.quick else 200_000.0
    seeds = (1,) if cfg.quick else (1, 2)
    batch = 4 if cfg.quick else 32
    ours, wall = call("ours.py", "msp", "--t-sim", t)
    nest = [call("peer_nest.py", "msp", "--t-sim", t, "--seed", s) for s in seeds]
    many, bwall = call("ours.py", "msp", "--t-sim", t, "--batch", batch, "--devices", 2)
    nest_wall = statistics.median(w for _, w in nest)
    nest_loop = statistics.median(r["loop_s"] for r, _ in nest)
    rows = {
        "neurorehab": {"end_to_end_s": wall, "loop_s": ours["loop_s"]},
        f"neurorehab, batch of {batch}, per network": {
            "end_to_end_s": bwall / batch,
            "loop_s": many["loop_s"] / batch,
        },
        "NEST 3.10, 1 thread (median of runs)": {"end_to_end_s": nest_wall, "loop_s": nest_loop},
    }
    # Agreement: NEST's runs against the spread of the batch (each network its own seed).
    agreement = {}
    for q in QUANTITIES:
        ours_final = np.asarray(many[f"final_{q}"])
        nest_final = np.asarray([r[q][-1] for r, _ in nest])
        sd = float(ours_final.std(ddof=1)) if batch > 1 else float("nan")
        ours_mean = np.asarray(many[f"mean_{q}"])
        nest_mean = np.mean([r[q] for r, _ in nest], axis=0)
        agreement[q] = {
            "neurorehab_mean": float(ours_final.mean()),
            "neurorehab_sd": sd,
            "nest": nest_final.tolist(),
            "z": float((nest_final.mean() - ours_final.mean()) / sd) if sd > 0 else 0.0,
            "trajectory_error": float(np.mean(np.abs(ours_mean - nest_mean)) / max(np.max(nest_mean), 1e-12)),
        }
    bars = [
        bar("NEST structural plasticity, one network, end to end: NEST / neurorehab", nest_wall / wall, 3),
        bar(
            "NEST structural plasticity, one network, steady: NEST / neurorehab",
            nest_loop / ours["loop_s"],
            3,
        ),
        bar(
            f"NEST structural plasticity, batch of {batch}, per network, end to end: NEST / neurorehab",
            nest_wall / (bwall / batch),
            5,
        ),
        bar(
            f"NEST structural plasticity, batch of {batch}, per network, steady: NEST / neurorehab",
            nest_loop / (many["loop_s"] / batch),
            5,
        ),
    ]
    for q, a in agreement.items():
        bars.append(bar(f"final {q}: NEST from neurorehab's mean, in its SDs", abs(a["z"]), 2, False, " SD"))
        bars.append(
            bar(f"{q} trajectory: mean abs. difference / NEST's peak", a["trajectory_error"], 0.1, False, "")
        )
    traj = {
        "t_s": [(i + 1) for i in range(len(ours["ca_e"]))],
        "neurorehab_mean": {q: many[f"mean_{q}"] for q in QUANTITIES},
        "nest": {q: [r[q] for r, _ in nest] for q in QUANTITIES},
    }
    return {
        "t_sim_ms": t,
        "batch": batch,
        "nest_seeds": list(seeds),
        "rows": rows,
        "agreement": agreement,
        "trajectories": traj,
        "bars": bars,
    }


def cohort(cfg: argparse.Namespace) -> dict:
    sizes = {
        "pathway": [1, 100, 1000] + ([] if cfg.quick else [10_000]),
        "motor": [1, 100] + ([] if cfg.quick else [1000, 10_000]),
    }
    rows = []
    for model, ns in sizes.items():
        base = None
        for n in ns:
            res, wall = call("cohort.py", "run", model, n)
            res["end_to_end_s"] = wall - (res["steady_s"] or 0.0)  # the second call is not end to end
            base = res["peak_rss_mib"] if n == 1 else base
            res["mib_per_patient"] = (res["peak_rss_mib"] - base) / (n - 1) if n > 1 else None
            rows.append(res)
    motor_10k = [r for r in rows if r["model"] == "motor" and r["patients"] == 10_000]
    motor_1k = [r for r in rows if r["model"] == "motor" and r["patients"] == 1000]
    bars = [
        bar("motor, 1,000 patients x 12 weeks, end to end (issue 3)", r["end_to_end_s"], 60, False, " s")
        for r in motor_1k
    ] + [
        bar("motor, 10,000 patients, peak memory", r["peak_rss_mib"] / 1024, 4, False, " GiB")
        for r in motor_10k
    ]
    return {"rows": rows, "bars": bars}


def limit(cfg: argparse.Namespace) -> dict:
    res, _ = call("cohort.py", "limit")
    return {
        **res,
        "bars": [bar("cohort hot loop / matrix throughput", res["hot_loop_fraction_of_matmul"], 0.5)],
    }


PARTS = {"cuba": cuba, "stdp": stdp, "msp": msp, "cohort": cohort, "limit": limit}


def markdown(results: dict) -> str:
    out = ["| bar | measured | target | met |", "|---|---:|---:|:---:|"]
    for part in results["parts"].values():
        for b in part["bars"]:
            out.append(
                f"| {b['bar']} | {b['measured']:.3g}{b['unit']} | {b['sense']} {b['target']:g}{b['unit']} | "
                f"{'yes' if b['met'] else '**no**'} |"
            )
    for name in ("cuba", "stdp", "msp"):
        part = results["parts"].get(name)
        if not part:
            continue
        out += [
            "",
            f"**{name}** ({part['t_sim_ms'] / 1000:g} s simulated)",
            "",
            "| simulator | end to end (s) | steady loop (s) | end to end vs neurorehab "
            "| steady vs neurorehab |",
            "|---|---:|---:|---:|---:|",
        ]
        us = part["rows"]["neurorehab"]
        for sim, r in part["rows"].items():
            extra = "".join(f", {k} {v:.3g}" for k, v in r.items() if k.startswith(("rate", "frac")))
            out.append(
                f"| {sim}{extra} | {r['end_to_end_s']:.3g} | {r['loop_s']:.3g} | "
                f"{r['end_to_end_s'] / us['end_to_end_s']:.2f}x | {r['loop_s'] / us['loop_s']:.2f}x |"
            )
    if "cohort" in results["parts"]:
        out += [
            "",
            "**cohort**",
            "",
            "| model | patients | end to end (s) | steady (s) | patients/s steady | "
            "peak RSS (MiB) | MiB per extra patient | state bytes/patient |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results["parts"]["cohort"]["rows"]:
            st, per, n = r["steady_s"], r["mib_per_patient"], r["patients"]
            steady = "| | |" if st is None else f"| {st:.2f} | {n / st:,.0f} |"
            out.append(
                f"| {r['model']} | {n:,} | {r['end_to_end_s']:.1f} {steady} {r['peak_rss_mib']:.0f} | "
                f"{'' if per is None else f'{per:.3f}'} | {r['state_bytes_per_patient']:,} |"
            )
    if "limit" in results["parts"]:
        lim = results["parts"]["limit"]
        out += [
            "",
            f"**limit**: float32 matmul {lim['matmul_gflops']:.0f} GFLOP/s, "
            f"copy {lim['bandwidth_gbs']:.1f} GB/s; "
            f"hot loop ({lim['hot_loop']}) {lim['hot_loop_gflops']:.2f} GFLOP/s "
            f"({lim['hot_loop_flops_per_reach']:.0f} FLOPs a reach by XLA's count, an upper bound)",
        ]
    m = results["meta"]
    out += [
        "",
        f"{m['date']}, {m['cpus']} cores, {m['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs that check the set-up")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {sorted(PARTS)}")
    p.add_argument("--repeats", type=int, default=5, help="repeats of the steady loops")
    cfg = p.parse_args()
    names = [n.strip() for n in cfg.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PARTS))
    if unknown:
        p.error(f"--only: unknown part(s) {unknown}; valid: {sorted(PARTS)}")
    versions = {}
    for pkg in ("jax", "numpy", "brian2", "nest-simulator"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            if pkg in ("brian2", "nest-simulator") and {"cuba", "stdp", "msp"} & set(names):
                p.error(f"{pkg} is not installed in this Python ({sys.executable}); see bench/README.md")
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "versions": versions,
        "quick": cfg.quick,
    }
    results: dict = {"meta": meta, "parts": {}}
    started = time.perf_counter()
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}", file=sys.stderr, flush=True)
        results["parts"][name] = PARTS[name](cfg)
    meta["wall_s"] = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    suffix = "-quick" if cfg.quick else ""
    for path, text in (
        (OUT / f"suite{suffix}.json", json.dumps(results, indent=1)),
        (OUT / f"suite{suffix}.md", markdown(results)),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    print(markdown(results))


if __name__ == "__main__":
    main()
