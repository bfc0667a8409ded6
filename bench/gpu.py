"""Benchmark: the suite's batch figures on a GPU (issue 21), in one short run.

    python bench/gpu.py                 # about 20 minutes on one H100
    python bench/gpu.py --only agree,motor
    python bench/gpu.py agree           # one step alone, in this process

Every step but `agree` is one of the other bench scripts run in a fresh process (end to end as a
user lives it: start, import, compile, run), each under its own time limit so that one slow step
cannot take the others' time; a step that fails or runs out of time is recorded as such and the
next one runs. The steps, most telling first:

- `agree`: the numbers. `motor` (128 patients x 12 weeks) and `pathway` (256 x 70 days) run on
  the GPU and on the host's CPU in one process, in the same lanes; the largest difference of any
  measure, at JAX's default matrix precision on the GPU (which may use TF32) and at "highest".
- `tests`: the test modules of the numerics (`GPU_TESTS`: spiking, structural plasticity,
  plasticity rules, `pathway`, `motor`) run on the accelerator, as they are.
- `limit`: `bench/cohort.py limit` (float32 matmul throughput, copy bandwidth, the hot loop's
  arithmetic rate) on the GPU.
- `motor`: `bench/cohort.py run motor N` for 1,000, 10,000 and 100,000 patients x 12 weeks.
- `trial`: bench/scale.py's 100,000-patient randomised trial (`pathway`, 2 arms x 70 days,
  results streamed by shard to Parquet), in shards of one GPU lane (16,384 patients).
- `msp`: NEST's structural plasticity example, one network and a batch of 1,000, 20 s simulated
  (`bench/ours.py msp`; the 2-core and NEST figures are for 200 s: per simulated second).
- `cuba`: the CUBA network, one and a batch of 1,000 (`bench/ours.py cuba`), steady loop.
- `lanes`: `motor`, 32,768 patients x 12 weeks, in lanes of 4,096, 16,384 and 32,768 (the choice
  behind `engine.ACCELERATOR_MAX_LANE`).
- `stdp`: Song, Miller & Abbott, 10 s simulated (one neuron: a GPU's worst case).

Writes gpu.json (one record a step: its command, wall time, exit status and JSON result) to
--out (default bench/results).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Test modules that need nothing beyond the numerics, run on the accelerator (tests/conftest.py
# pins JAX to the CPU unless JAX_PLATFORMS is set; the step sets it empty: JAX's own choice).
GPU_TESTS = [f"tests/test_{m}.py" for m in ("spiking", "structural", "plasticity", "pathway", "motor")]

STEPS: dict[str, list[tuple[list[str], int]]] = {  # step -> [(argv after python, time limit s)]
    "agree": [(["gpu.py", "agree"], 120)],
    "tests": [(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *GPU_TESTS], 420)],
    "motor": [
        (["cohort.py", "run", "motor", "1000", "--steady-max", "1000"], 150),
        (["cohort.py", "run", "motor", "10000", "--steady-max", "0"], 120),
        (["cohort.py", "run", "motor", "100000", "--steady-max", "0"], 120),
    ],
    "msp": [
        (["ours.py", "msp", "--t-sim", "20000"], 45),
        (["ours.py", "msp", "--t-sim", "20000", "--batch", "1000"], 90),
    ],
    "trial": [(["gpu.py", "trial"], 150)],
    "limit": [(["cohort.py", "limit"], 60)],
    "cuba": [
        (["ours.py", "cuba", "--repeats", "3"], 40),
        (["ours.py", "cuba", "--repeats", "3", "--batch", "1000"], 60),
    ],
    "lanes": [(["gpu.py", "lanes"], 150)],
    "stdp": [(["ours.py", "stdp", "--t-sim", "10000"], 45)],
}


def step(argv: list[str], limit: int) -> dict:
    """One bench script in a fresh process, killed after `limit` seconds."""
    module = argv[0] == "-m"  # `python -m ...` from the repository's root, JAX on its own choice
    cmd = [sys.executable, *argv] if module else [sys.executable, str(HERE / argv[0]), *argv[1:]]
    env = {**os.environ, "JAX_PLATFORMS": ""} if module else None
    print(f"  {' '.join(argv)} (at most {limit} s)", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=limit, cwd=HERE.parent if module else HERE, env=env
        )
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - t
        print(f"    ran out of its {limit} s", file=sys.stderr, flush=True)
        return {"argv": argv, "wall_s": wall, "status": "timeout"}
    wall = time.perf_counter() - t
    status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
    rec: dict = {"argv": argv, "wall_s": wall, "status": status}
    try:
        rec["result"] = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        rec["stdout"] = p.stdout[-2000:]
    if p.returncode:
        rec["stderr"] = p.stderr[-3000:]
    shown = json.dumps(rec.get("result", ""))[:400]
    print(f"    {status}, {wall:.1f} s: {shown}", file=sys.stderr, flush=True)
    return rec


def agree() -> dict:
    """The same patients on the GPU and on the CPU, in the same lanes (engine.simulate)."""
    import jax
    import numpy as np
    from cohort import setup

    from neurorehab.core.engine import simulate

    cpu = jax.devices("cpu")[0]
    out: dict = {"devices": [str(d) for d in jax.devices()]}
    for name, n in (("motor", 128), ("pathway", 256)):
        model, injury, cal, params, keys = setup(name, n)

        def run(model=model, injury=injury, cal=cal, params=params, keys=keys, n=n):
            t = time.perf_counter()
            m, codes = simulate(model, params, cal, keys, events=injury, lane_width=n, chunk_size=n)
            return m, codes, time.perf_counter() - t

        with jax.default_device(cpu):
            ref, ref_codes, cpu_s = run()
        rows = {"cpu_s": cpu_s, "failures_cpu": int((ref_codes != 0).sum())}
        for precision in ("default", "highest"):
            if precision == "default":
                how: contextlib.AbstractContextManager = contextlib.nullcontext()
            else:
                how = jax.default_matmul_precision(precision)
            with how:
                got, codes, gpu_s = run()
            rows[precision] = {
                "gpu_s": gpu_s,
                "failures": int((codes != 0).sum()),
                "max_abs_diff": {k: float(np.nanmax(np.abs(got[k] - ref[k]))) for k in ref},
                "range": {k: float(np.nanmax(ref[k]) - np.nanmin(ref[k])) for k in ref},
            }
        out[name] = rows
    return out


def lanes() -> dict:
    """`motor`, 32,768 patients x 12 weeks, in lanes of three widths (a compiled call each)."""
    from cohort import setup

    from neurorehab.core.engine import simulate

    n = 32_768
    model, injury, cal, params, keys = setup("motor", n)
    out: dict = {"patients": n}
    for width in (4096, 16_384, 32_768):
        times = []
        for _ in range(2):  # the first compiles
            t = time.perf_counter()
            simulate(model, params, cal, keys, events=injury, lane_width=width, chunk_size=width)
            times.append(time.perf_counter() - t)
        out[str(width)] = {"first_s": times[0], "steady_s": times[1]}
        print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def trial() -> dict:
    """bench/scale.py's 100,000-patient trial, in shards of one GPU lane."""
    from executors import run
    from scale import trial as scenario

    sc = scenario(100_000)
    sc["chunk_size"] = 16_384
    return run(sc, "local")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("one", nargs="?", choices=["agree", "lanes", "trial"], help="one step, in this process")
    ap.add_argument("--only", default=",".join(STEPS), help=f"steps to run, of {','.join(STEPS)}")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args()
    if a.one:
        print(json.dumps({"agree": agree, "lanes": lanes, "trial": trial}[a.one]()))
        return
    chosen = a.only.split(",")
    unknown = sorted(set(chosen) - set(STEPS))
    if unknown:
        ap.error(f"--only: unknown step(s) {unknown}; valid: {','.join(STEPS)}")
    a.out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        meta["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        meta["gpu"] = None
    records: dict = {"meta": meta}
    for name in chosen:
        records[name] = [step(argv, limit) for argv, limit in STEPS[name]]
        tmp = a.out / "gpu.json.part"  # written whole after every step: a cut run keeps the rest
        tmp.write_text(json.dumps(records, indent=1))
        tmp.replace(a.out / "gpu.json")


if __name__ == "__main__":
    main()
