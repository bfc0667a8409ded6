"""Peer benchmarks in Brian2 (Cython runtime or C++ standalone), for comparison with neurorehab.

Benches (``python bench/peer_brian2.py BENCH [options]``; the last stdout line is one JSON object):

* ``cuba``: the CUBA benchmark (Vogels & Abbott 2005, J Neurosci 25:10786; Brette et al. 2007,
  J Comput Neurosci 23:349) as in Brian2's ``examples/CUBA.py``: 4000 LIF neurons (3200 E), exponential
  current synapses, p = 0.02.
* ``stdp``: Song, Miller & Abbott 2000 (Nat Neurosci 3:919) after Brian2's ``examples/synapses/STDP.py``:
  1000 Poisson inputs at 15 Hz with additive STDP onto one neuron. By default the input is conductance
  based, ge*(Ee - v) with Euler steps (like the NEST port to ``iaf_cond_exp``); ``--linear-drive`` uses
  the example's own ge*(Ee - vr) with exact integration. v starts at El (the example leaves it at 0 mV).

Timing: ``build_s`` is everything before ``run()`` (in Cython mode this includes compiling the code for
``connect`` and string initialisation); ``loop_s`` is Brian2's own measure of the simulation loop
(``device._last_run_time``; for C++ standalone the time the binary reports for the network run);
``compile_s`` is code generation and compilation (Cython: the rest of the first ``run()`` call;
C++: ``run()`` plus ``device.build``).
"""

import argparse
import json
import shutil
import statistics
import tempfile
import time

DEFAULT_T_SIM = {"cuba": 1000.0, "stdp": 100000.0}


def build_cuba(b2, args):
    ms, mV = b2.ms, b2.mV
    ns = {
        "taum": 20 * ms,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "Vt": -50 * mV,
        "Vr": -60 * mV,
        "El": -49 * mV,
        "we": 60 * 0.27 / 10 * mV,
        "wi": -20 * 4.5 / 10 * mV,
    }
    eqs = """
    dv/dt = (ge + gi - (v - El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    pop = b2.NeuronGroup(
        4000, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=ns
    )
    pop.v = "Vr + rand()*(Vt - Vr)"
    pop.ge = pop.gi = 0 * mV
    ce = b2.Synapses(pop, pop, on_pre="ge += we", namespace=ns)
    ci = b2.Synapses(pop, pop, on_pre="gi += wi", namespace=ns)
    ce.connect("i < 3200", p=0.02)
    ci.connect("i >= 3200", p=0.02)
    mon = b2.SpikeMonitor(pop)

    def results():
        n = int(mon.num_spikes)
        return {"rate_hz": n / 4000 / (args.t_sim / 1000.0), "n_spikes": n, "n_synapses": len(ce) + len(ci)}

    return b2.Network(pop, ce, ci, mon), results


def build_stdp(b2, args):
    ms, mV = b2.ms, b2.mV
    gmax, d_apre, taupre, taupost = 0.01, 0.01, 20 * ms, 20 * ms
    ns = {
        "taum": 10 * ms,
        "taupre": taupre,
        "taupost": taupost,
        "Ee": 0 * mV,
        "vt": -54 * mV,
        "vr": -60 * mV,
        "El": -74 * mV,
        "taue": 5 * ms,
        "gmax": gmax,
        "dApre": d_apre * gmax,
        "dApost": -d_apre * taupre / taupost * 1.05 * gmax,
    }
    drive, method = ("vr", "exact") if args.linear_drive else ("v", "euler")
    eqs = f"""
    dv/dt = (ge*(Ee - {drive}) + El - v)/taum : volt
    dge/dt = -ge/taue : 1
    """
    inputs = b2.PoissonGroup(1000, rates=15 * b2.Hz)
    neuron = b2.NeuronGroup(1, eqs, threshold="v > vt", reset="v = vr", method=method, namespace=ns)
    neuron.v = ns["El"]
    syn = b2.Synapses(
        inputs,
        neuron,
        """w : 1
                      dApre/dt = -Apre/taupre : 1 (event-driven)
                      dApost/dt = -Apost/taupost : 1 (event-driven)""",
        on_pre="ge += w; Apre += dApre; w = clip(w + Apost, 0, gmax)",
        on_post="Apost += dApost; w = clip(w + Apre, 0, gmax)",
        namespace=ns,
    )
    syn.connect()
    syn.w = "rand()*gmax"
    mon = b2.SpikeMonitor(neuron)

    def results():
        w = [float(x) / gmax for x in syn.w[:]]
        return {
            "w_over_wmax": [round(x, 4) for x in w],
            "frac_below_0_1": sum(x < 0.1 for x in w) / len(w),
            "frac_above_0_9": sum(x > 0.9 for x in w) / len(w),
            "rate_hz": int(mon.num_spikes) / (args.t_sim / 1000.0),
            "linear_drive": args.linear_drive,
        }

    return b2.Network(inputs, neuron, syn, mon), results


BUILDERS = {"cuba": build_cuba, "stdp": build_stdp}


def run_cython(b2, args):
    b2.prefs.codegen.target = "cython"
    if args.cache_dir:
        b2.prefs.codegen.runtime.cython.cache_dir = args.cache_dir
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.seed(args.seed)
    t0 = time.perf_counter()
    net, results = BUILDERS[args.bench](b2, args)
    build_s = time.perf_counter() - t0
    loops, calls = [], []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        net.run(args.t_sim * b2.ms)
        calls.append(time.perf_counter() - t0)
        loops.append(b2.device._last_run_time)
        if r == 0:
            res = results()
    note = f"cython cache_dir={args.cache_dir or 'default'}; results from the first of the repeats"
    return {
        "sim": "brian2-cython",
        "build_s": build_s,
        "compile_s": calls[0] - loops[0],
        "run_call_s": calls,
        "loop_s": statistics.median(loops),
        "loop_all_s": loops,
        **res,
        "note": note,
    }


def run_cpp(b2, args):
    directory = args.cache_dir or tempfile.mkdtemp(prefix="peer_brian2_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.seed(args.seed)
    t0 = time.perf_counter()
    net, results = BUILDERS[args.bench](b2, args)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run(args.t_sim * b2.ms)  # only records the run and generates its code objects
    b2.device.build(directory=directory, compile=True, run=False, with_output=False)
    compile_s = time.perf_counter() - t0
    loops, binaries = [], []
    for _ in range(args.repeats):  # each repeat runs the binary afresh: same seed, same result
        b2.device.run(with_output=False)
        loops.append(b2.device._last_run_time)
        binaries.append(b2.device.timers["run_binary"])
    res = results()
    note = (
        f"cpp_standalone in {'given' if args.cache_dir else 'fresh temporary'} dir {directory} (make "
        "recompiles only changed sources, so an existing dir gives a warm build); loop_s is the C++ "
        "network run time, binary_s the whole binary (start, init, I/O); repeats rerun the binary"
    )
    out = {
        "sim": "brian2-cpp",
        "build_s": build_s,
        "compile_s": compile_s,
        "make_s": b2.device.timers["compile"]["make"],
        "loop_s": statistics.median(loops),
        "loop_all_s": loops,
        "binary_s": binaries,
        **res,
        "note": note,
    }
    if not args.cache_dir:
        shutil.rmtree(directory, ignore_errors=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=sorted(BUILDERS))
    p.add_argument("--t-sim", type=float, default=None, help="simulated time (ms); default per bench")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--target", choices=["cython", "cpp"], default="cython")
    p.add_argument("--cache-dir", default=None, help="Cython cache dir, or C++ standalone project dir")
    p.add_argument("--repeats", type=int, default=1, help="run the built network N times")
    p.add_argument("--linear-drive", action="store_true", help="stdp: Brian2 example's ge*(Ee - vr), exact")
    args = p.parse_args()
    if args.t_sim is None:
        args.t_sim = DEFAULT_T_SIM[args.bench]

    t0 = time.perf_counter()
    import brian2 as b2

    import_s = time.perf_counter() - t0
    res = (run_cython if args.target == "cython" else run_cpp)(b2, args)
    head = {"bench": args.bench, "sim": res.pop("sim"), "import_s": import_s}
    print(json.dumps({**head, "t_sim_ms": args.t_sim, "seed": args.seed, **res}))


if __name__ == "__main__":
    main()
