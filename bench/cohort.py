"""Cohort throughput, memory and the machine's limit (bench/suite.py runs each in a fresh process).

``python bench/cohort.py run MODEL N`` simulates N patients of `motor` (12 weeks: lesion on day
1, two weeks of task practice, 200 daily-life reaches every day) or `pathway` (70 days, 30
sessions) through ``neurorehab.core.simulate`` and prints one JSON line: end to end (process
start to results), steady (a second call, compiled; for N <= --steady-max), peak resident
memory, and the state bytes of one patient.

``python bench/cohort.py limit`` measures the machine's float32 matrix throughput (a 2,048^3
matmul, all cores) and memory bandwidth (a 256 MiB copy), and the arithmetic rate of the cohort
hot loop: `motor`'s daily-life reach (the scan body that the 12 weeks repeat 16,800 times per
patient), its FLOPs per reach from XLA's cost analysis, timed over 1,024 patients as the
engine runs them (lanes, one chunk a core at once).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

t_start = time.perf_counter()


def setup(model_name: str, n: int):
    import jax

    from neurorehab.models import default_params
    from neurorehab.models.protocol import Block, compile_calendar

    if model_name == "motor":
        from neurorehab.models.motor import INFO, FocalLesion, Motor

        model, injury = Motor(), (FocalLesion(),)
        cal = compile_calendar(
            [Block("task-practice", 14, 14, 5, 100)],
            duration_days=84,
            assess_days=list(range(0, 85, 7)),
            info=INFO,
            event_days=[1],
        )
    else:
        from neurorehab.models.pathway import INFO, LoseB, Pathway

        model, injury = Pathway(), (LoseB(),)
        cal = compile_calendar(
            [Block("task-practice", 7, 42, 5, 100)],
            duration_days=70,
            assess_days=list(range(0, 71, 7)),
            n_tasks=2,
            event_days=[1],
        )
    return model, injury, cal, default_params(INFO, n), jax.random.split(jax.random.key(0), n)


def run(model_name: str, n: int, steady_max: int) -> dict:

    from neurorehab.core.engine import auto_chunk, simulate, state_bytes
    from neurorehab.runners.hosts import cores

    model, injury, cal, params, keys = setup(model_name, n)
    threads = cores()  # as a runner calls it
    simulate(model, params, cal, keys, events=injury, threads=threads)
    first = time.perf_counter() - t_start
    steady = None
    if n <= steady_max:
        t = time.perf_counter()
        simulate(model, params, cal, keys, events=injury, threads=threads)
        steady = time.perf_counter() - t
    return {
        "model": model_name,
        "patients": n,
        "chunk": min(auto_chunk(model, params), n),
        "end_to_end_s": first,
        "steady_s": steady,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "state_bytes_per_patient": state_bytes(model, params),
    }


def best(fn, *args, repeats=5):
    """The fastest of `repeats` calls of `fn(*args)` in seconds, after one call to compile
    (other benches import it: `from cohort import best`)."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_gflops(m: int = 2048) -> float:
    """This machine's float32 matrix throughput: the best m x m x m product, in GFLOP/s."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (m, m), jnp.float32)
    return 2 * m**3 / best(jax.jit(lambda x: x @ x), a) / 1e9


def limit() -> dict:
    import jax
    import jax.numpy as jnp

    from neurorehab.models.motor import Motor

    matmul_flops = matmul_gflops() * 1e9
    big = jnp.ones(64 * 2**20, jnp.float32)  # 256 MiB
    copy = jax.jit(lambda x: x * 1.0001)
    bandwidth = 2 * big.nbytes / best(copy, big)  # read + write

    # The hot loop: one day of daily-life reaches for 1,024 patients (whole lanes), as
    # simulate runs it: lanes of the model's width under vmap, a chunk's lanes one after the
    # other under lax.map, one chunk a core at once (simulate(threads=cores())).
    import numpy as np

    from neurorehab.core.engine import _each, lanes
    from neurorehab.runners.hosts import cores

    model, _, _, params, keys = setup("motor", 1024)
    n, width = 1024, lanes(model, params)
    threads = min(cores(), n // width)
    state = jax.vmap(model.init)(params, keys)
    lane = jax.vmap(lambda p, s, k: model._daily_life(p, s, 0.0, k)[0].plastic["pd"])
    by_lane = jax.tree_util.tree_map(lambda x: x.reshape(-1, width, *x.shape[1:]), (params, state, keys))
    chunk = jax.jit(lambda a: jax.lax.map(lambda b: lane(*b), a))
    groups = np.array_split(np.arange(n // width), threads)  # a chunk of lanes a core
    parts = [jax.tree_util.tree_map(lambda x, g=g: x[g[0] : g[-1] + 1], by_lane) for g in groups]
    seconds = best(lambda: _each(chunk, parts, threads), repeats=3)  # the engine's own pool
    # XLA's cost analysis counts a loop body once, so the FLOPs of a one-reach day bound one
    # reach from above (the day's set-up included); times reaches and patients: the day's work.
    cost = (
        jax.jit(jax.vmap(lambda p, s, k: Motor(daily_reaches=1)._daily_life(p, s, 0.0, k)[0].plastic["pd"]))
        .lower(params, state, keys)
        .compile()
        .cost_analysis()
    )
    cost = cost[0] if isinstance(cost, list) else cost
    flops_day = cost["flops"] * model.daily_reaches
    return {
        "matmul_gflops": matmul_flops / 1e9,
        "bandwidth_gbs": bandwidth / 1e9,
        "hot_loop": f"motor daily-life reaches, 1,024 patients x {model.daily_reaches} reaches, "
        f"lanes of {width}, {threads} chunk(s) at once",
        "hot_loop_flops_per_reach": cost["flops"] / n,
        "hot_loop_flops_per_day": flops_day,
        "hot_loop_s_per_day": seconds,
        "hot_loop_gflops": flops_day / seconds / 1e9,
        "hot_loop_fraction_of_matmul": flops_day / seconds / matmul_flops,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run")
    r.add_argument("model", choices=["motor", "pathway"])
    r.add_argument("patients", type=int)
    r.add_argument("--steady-max", type=int, default=1000, help="time a second, compiled call up to N")
    sub.add_parser("limit")
    args = p.parse_args()
    out = run(args.model, args.patients, args.steady_max) if args.what == "run" else limit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
