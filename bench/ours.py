"""neurorehab's side of the peer benchmarks (bench/peers.py runs it in a fresh process).

``python bench/ours.py BENCH [options]`` prints one JSON object on its last line, with the keys
of bench/peer_nest.py and bench/peer_brian2.py where they apply: import_s (import jax and
neurorehab), compile_s (ahead-of-time compilation), loop_s (the compiled simulation; median
over --repeats), first_result_s (process start to the first result) and the bench's results.
CUBA's first run is one compiled function from keys to spikes, as a user would write it.

* ``msp``: NEST's structural plasticity example (neurorehab.networks.GrowingNetwork); ``--batch N``
  runs N networks (virtual patients, one key each) in one compiled vmap.
* ``cuba``: the CUBA network (neurorehab.networks.Cuba); ``--batch N`` likewise.
* ``stdp``: Song, Miller & Abbott 2000 (models.networks.SongSTDP).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

t_start = time.perf_counter()
DEFAULT_T_SIM = {"msp": 200_000.0, "cuba": 1000.0, "stdp": 100_000.0}


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    import jax

    jax.block_until_ready(out)
    return out, time.perf_counter() - t


def _loops(compiled, args, repeats):
    out, times = None, []
    for _ in range(repeats):
        out, dt = _timed(compiled, *args)
        times.append(dt)
    return out, times


def _split(jax, fn):
    """fn over the batch axis, split across the host's devices (one per core with --devices).

    shard_map runs each device's share as an independent program (its own while loops), so
    the devices never wait on one another inside the scan.
    """
    devices = jax.devices()
    if len(devices) == 1:
        return fn
    mesh = jax.sharding.Mesh(devices, ("d",))
    spec = jax.sharding.PartitionSpec("d")
    return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)


def bench_msp(args, jax, jnp, np, nw):
    net = nw.GrowingNetwork()
    keys = jax.random.split(jax.random.key(args.seed), args.batch)
    run = jax.jit(_split(jax, jax.vmap(lambda k: nw.growing_run(net, k, args.t_sim)[0])))
    compiled, compile_s = _timed(lambda: run.lower(keys).compile())
    recs, times = _loops(compiled, (keys,), args.repeats)
    recs = {k: np.asarray(v) for k, v in recs.items()}
    out = {}
    for k in ("ca_e", "ca_i", "conn_e", "conn_i"):
        out[k] = recs[k][0].round(5).tolist()  # network 0, as the peers report one network
        out[f"mean_{k}"] = recs[k].mean(0).round(5).tolist()
        out[f"final_{k}"] = recs[k][:, -1].round(5).tolist()  # every network
    return {"build_s": 0.0, "compile_s": compile_s, "loop_all_s": times, **out}


def bench_cuba(args, jax, jnp, np, nw):
    net = nw.Cuba()
    keys = jax.random.split(jax.random.key(args.seed), args.batch)
    steps = round(args.t_sim / net.dt)

    def simulate(k):  # as a user writes it: one compiled function from keys to spikes
        state, targets, truncated = nw.cuba_init(net, k)
        spikes = nw.cuba_run(net, state, targets, steps)[1]
        return spikes.T, (targets < net.n).sum((1, 2)), jnp.broadcast_to(truncated, k.shape)

    (spikes, n_syn, truncated), first_s = _timed(jax.jit(_split(jax, simulate)), keys)
    spikes = np.asarray(spikes).T  # [steps, batch]
    times = [first_s]
    if args.repeats > 1:  # the steady loop alone: compile cuba_run ahead of time, then time it
        state, targets, _ = jax.jit(lambda k: nw.cuba_init(net, k))(keys)
        run = jax.jit(_split(jax, lambda s, t: nw.cuba_run(net, s, t, steps)[1].T))
        compiled = run.lower(state, targets).compile()
        _, times = _loops(compiled, (state, targets), args.repeats)
    n_spikes = int(spikes[:, 0].sum())
    return {
        "first_run_s": first_s,
        "loop_all_s": times,
        "n_spikes": n_spikes,
        "rate_hz": n_spikes / net.n / (args.t_sim / 1000.0),
        "rate_hz_all": (spikes.sum(0) / net.n / (args.t_sim / 1000.0)).round(3).tolist(),
        "max_spikes_per_step": int(spikes.max()),
        "n_synapses": int(np.asarray(n_syn)[0]),
        "rows_truncated": int(np.asarray(truncated).sum()),
    }


def bench_stdp(args, jax, jnp, np, nw):
    net = nw.SongSTDP()
    blocks = round(args.t_sim / net.dt / net.block)
    init_keys = jax.random.split(jax.random.key(args.seed), args.batch)
    run_keys = jax.random.split(jax.random.key(args.seed + 1), args.batch)
    start = jnp.asarray(0)
    if args.batch == 1:  # one network, as a user runs it
        state, build_s = _timed(jax.jit(lambda k: nw.song_init(net, k)), init_keys[0])
        key = run_keys[0]
        compiled, compile_s = _timed(lambda: nw.song_run.lower(net, state, key, blocks, start).compile())
        final, times = _loops(compiled, (state, key, start), args.repeats)
        w, spikes = np.asarray(final.w)[None], np.asarray(final.post_spikes)[None]
    else:  # a batch under vmap, one key each, split over the host's devices
        state, build_s = _timed(jax.jit(jax.vmap(lambda k: nw.song_init(net, k))), init_keys)
        run = jax.jit(_split(jax, jax.vmap(lambda s, k: nw.song_run(net, s, k, blocks, start))))
        compiled, compile_s = _timed(lambda: run.lower(state, run_keys).compile())
        final, times = _loops(compiled, (state, run_keys), args.repeats)
        w, spikes = np.asarray(final.w), np.asarray(final.post_spikes)
    w = w / net.g_max
    return {
        "build_s": build_s,
        "compile_s": compile_s,
        "loop_all_s": times,
        "w_over_wmax": w[0].round(4).tolist(),  # network 0, as the peers report one network
        "frac_below_0_1": float((w[0] < 0.1).mean()),
        "frac_above_0_9": float((w[0] > 0.9).mean()),
        "rate_hz": int(spikes[0]) / (args.t_sim / 1000.0),
        "rate_hz_all": (spikes / (args.t_sim / 1000.0)).round(3).tolist(),
    }


BENCHES = {"msp": bench_msp, "cuba": bench_cuba, "stdp": bench_stdp}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", choices=sorted(BENCHES))
    p.add_argument("--t-sim", type=float, default=None, help="simulated time (ms); default per bench")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=1, help="networks run at once (msp, cuba, stdp)")
    p.add_argument("--repeats", type=int, default=1, help="runs of the compiled simulation")
    p.add_argument("--devices", type=int, default=1, help="host devices to split a batch over")
    args = p.parse_args()
    args.t_sim = DEFAULT_T_SIM[args.bench] if args.t_sim is None else args.t_sim
    if args.devices > 1:  # must precede importing jax
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"

    t = time.perf_counter()
    import jax
    import jax.numpy as jnp
    import numpy as np

    from neurorehab import networks as nw

    import_s = time.perf_counter() - t
    res = BENCHES[args.bench](args, jax, jnp, np, nw)
    head = {"bench": args.bench, "sim": "neurorehab", "import_s": import_s, "batch": args.batch}
    res["loop_s"] = statistics.median(res["loop_all_s"])
    res["first_result_s"] = time.perf_counter() - t_start - sum(res["loop_all_s"][1:])
    res["versions"] = {"jax": jax.__version__, "python": sys.version.split()[0]}
    print(json.dumps({**head, "t_sim_ms": args.t_sim, "seed": args.seed, **res}))


if __name__ == "__main__":
    main()
