"""Peer benchmarks in NEST 3 (one thread), for comparison with neurorehab.

Benches (``python bench/peer_nest.py BENCH [options]``; the last stdout line is one JSON object):

* ``msp``: the structural plasticity network of NEST's example
  ``doc/examples/pynest/structural_plasticity.py`` (Butz & van Ooyen 2013, PLoS Comput Biol 9:e1003259):
  800 E + 200 I ``iaf_psc_alpha`` neurons, no initial synapses, gaussian growth curves, 10 kHz Poisson
  drive, connectivity updated every 10 s. Mean Ca and total connections are recorded every ``--record`` ms.
  The example defines ``model_params`` but never applies them (its neurons keep the ``iaf_psc_alpha``
  defaults); we do the same unless ``--model-params`` is given.
* ``cuba``: the CUBA benchmark (Vogels & Abbott 2005, J Neurosci 25:10786; Brette et al. 2007,
  J Comput Neurosci 23:349; Brian2's ``examples/CUBA.py``) ported to ``iaf_psc_exp``.
* ``stdp``: Song, Miller & Abbott 2000 (Nat Neurosci 3:919; Brian2's ``examples/synapses/STDP.py``):
  1000 Poisson inputs with ``stdp_synapse`` onto one ``iaf_cond_exp`` neuron.
"""

import argparse
import json
import os
import statistics
import time

DEFAULT_T_SIM = {"msp": 200000.0, "cuba": 1000.0, "stdp": 100000.0}


def timed_simulate(nest, t):
    t0 = time.perf_counter()
    nest.Simulate(t)
    return time.perf_counter() - t0


def reset(nest, seed):
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = 0.1
    nest.rng_seed = seed


def bench_msp(nest, args):
    t0 = time.perf_counter()
    reset(nest, args.seed)
    nest.structural_plasticity_update_interval = 10000.0
    nest.CopyModel("static_synapse", "synapse_ex", {"weight": 585.0, "delay": 1.0})
    nest.CopyModel("static_synapse", "synapse_in", {"weight": -585.0, "delay": 1.0})
    nest.structural_plasticity_synapses = {
        "synapse_ex": {
            "synapse_model": "synapse_ex",
            "post_synaptic_element": "Den_ex",
            "pre_synaptic_element": "Axon_ex",
        },
        "synapse_in": {
            "synapse_model": "synapse_in",
            "post_synaptic_element": "Den_in",
            "pre_synaptic_element": "Axon_in",
        },
    }

    def gaussian(rate, eps):
        return {"growth_curve": "gaussian", "growth_rate": rate, "continuous": False, "eta": 0.0, "eps": eps}

    ee, ei = gaussian(0.0001, 0.05), gaussian(0.0001, 0.05)  # elements/ms, Ca
    ie, ii = gaussian(0.0004, 0.2), gaussian(0.0001, 0.2)
    elements_e = {"Den_ex": ee, "Den_in": ei, "Axon_ex": ee}
    elements_i = {"Den_ex": ie, "Den_in": ii, "Axon_in": ii}
    nodes_e = nest.Create("iaf_psc_alpha", 800, {"synaptic_elements": elements_e})
    nodes_i = nest.Create("iaf_psc_alpha", 200, {"synaptic_elements": elements_i})
    if args.model_params:  # defined, but not applied, in the NEST example
        params = {
            "tau_m": 10.0,
            "tau_syn_ex": 0.5,
            "tau_syn_in": 0.5,
            "t_ref": 2.0,
            "E_L": -65.0,
            "V_th": -50.0,
            "C_m": 250.0,
            "V_reset": -65.0,
        }
        nodes_e.set(params)
        nodes_i.set(params)
    noise = nest.Create("poisson_generator", params={"rate": 10000.0})
    nest.Connect(noise, nodes_e + nodes_i, "all_to_all", {"weight": 6.2, "delay": 1.0})
    if args.rates:
        rec = nest.Create("spike_recorder")
        nest.Connect(nodes_e + nodes_i, rec)
    nest.EnableStructuralPlasticity()
    build_s = time.perf_counter() - t0

    out = {"t_s": [], "ca_e": [], "ca_i": [], "conn_e": [], "conn_i": []}
    loop_s = 0.0
    for k in range(round(args.t_sim / args.record)):
        loop_s += timed_simulate(nest, args.record)
        out["t_s"].append(round((k + 1) * args.record / 1000.0, 6))
        out["ca_e"].append(statistics.fmean(nodes_e.Ca))
        out["ca_i"].append(statistics.fmean(nodes_i.Ca))
        out["conn_e"].append(sum(el["Axon_ex"]["z_connected"] for el in nodes_e.synaptic_elements))
        out["conn_i"].append(sum(el["Axon_in"]["z_connected"] for el in nodes_i.synaptic_elements))
    res = {"build_s": build_s, "loop_s": loop_s, "model_params_applied": args.model_params, **out}
    if args.rates:
        senders = rec.events["senders"]
        n_e = int((senders <= nodes_e[-1].global_id).sum())
        res["rate_e_hz"] = n_e / 800 / (args.t_sim / 1000.0)
        res["rate_i_hz"] = (len(senders) - n_e) / 200 / (args.t_sim / 1000.0)
    return res


def bench_cuba(nest, args):
    t0 = time.perf_counter()
    reset(nest, args.seed)
    c_m, tau_m = 250.0, 20.0
    we, wi = 60 * 0.27 / 10, -20 * 4.5 / 10  # mV jumps of Brian2's ge / gi
    params = {
        "C_m": c_m,
        "tau_m": tau_m,
        "tau_syn_ex": 5.0,
        "tau_syn_in": 10.0,
        "t_ref": 5.0,
        "E_L": -49.0,
        "V_th": -50.0,
        "V_reset": -60.0,
        "I_e": 0.0,
        "V_m": nest.random.uniform(-60.0, -50.0),
    }
    pop = nest.Create("iaf_psc_exp", 4000, params)
    conn = {"rule": "pairwise_bernoulli", "p": 0.02}
    # a current jump w (pA) decaying with tau_syn moves V like a jump of w * tau_m / C_m (mV) in Brian2's ge
    nest.Connect(pop[:3200], pop, conn, {"weight": c_m * we / tau_m, "delay": 0.1})
    nest.Connect(pop[3200:], pop, conn, {"weight": c_m * wi / tau_m, "delay": 0.1})
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    n_syn = len(nest.GetConnections(source=pop, target=pop))
    build_s = time.perf_counter() - t0

    loops = []
    for r in range(args.repeats):
        loops.append(timed_simulate(nest, args.t_sim))
        if r == 0:
            n_spikes = rec.n_events
    return {
        "build_s": build_s,
        "loop_s": statistics.median(loops),
        "loop_all_s": loops,
        "rate_hz": n_spikes / 4000 / (args.t_sim / 1000.0),
        "n_spikes": n_spikes,
        "n_synapses": n_syn,
        "note": "n_spikes/rate_hz from the first repeat; later repeats continue the same network",
    }


def bench_stdp(nest, args):
    t0 = time.perf_counter()
    reset(nest, args.seed)
    # Brian2's neuron: dv/dt = (ge*(Ee-v) + El - v)/taum with dimensionless ge. Multiplying by C_m gives
    # iaf_cond_exp with g_L = C_m/taum and g_ex = ge*g_L: Brian2's ge equals g_ex/g_L, so gmax = 0.01
    # becomes Wmax = 0.01*g_L nS. Brian2 has no refractory period: t_ref = 0 (the smallest allowed).
    # V_m starts at E_L (-74 mV; Brian2's example leaves v at 0 mV, which fires once at t=0).
    c_m, tau_m = 250.0, 10.0
    g_l = c_m / tau_m
    w_max = 0.01 * g_l
    post = nest.Create(
        "iaf_cond_exp",
        params={
            "C_m": c_m,
            "g_L": g_l,
            "E_L": -74.0,
            "V_th": -54.0,
            "V_reset": -60.0,
            "E_ex": 0.0,
            "tau_syn_ex": 5.0,
            "t_ref": 0.0,
            "V_m": -74.0,
            "I_e": 0.0,
            "tau_minus": 20.0,
        },
    )
    gen = nest.Create("poisson_generator", params={"rate": 15.0})
    parrots = nest.Create("parrot_neuron", 1000)
    nest.Connect(gen, parrots, "all_to_all")  # each parrot repeats its own independent train
    # Additive STDP: dw = lambda*Wmax*K+ on post spikes, -alpha*lambda*Wmax*K- on pre spikes, as Brian2's
    # dApre = 0.01*gmax and dApost = -1.05*dApre. NEST applies the potentiation from post spikes when
    # the next pre spike arrives, so the final weights miss the potentiation after each input's last spike.
    syn = {
        "synapse_model": "stdp_synapse",
        "weight": nest.random.uniform(0.0, w_max),
        "delay": 0.1,
        "tau_plus": 20.0,
        "lambda": 0.01,
        "alpha": 1.05,
        "mu_plus": 0.0,
        "mu_minus": 0.0,
        "Wmax": w_max,
    }
    nest.Connect(parrots, post, "all_to_all", syn)
    rec = nest.Create("spike_recorder")
    nest.Connect(post, rec)
    build_s = time.perf_counter() - t0

    loop_s = timed_simulate(nest, args.t_sim)
    w = [x / w_max for x in nest.GetConnections(source=parrots, target=post).get("weight")]
    return {
        "build_s": build_s,
        "loop_s": loop_s,
        "w_over_wmax": [round(x, 4) for x in w],
        "frac_below_0_1": sum(x < 0.1 for x in w) / len(w),
        "frac_above_0_9": sum(x > 0.9 for x in w) / len(w),
        "rate_hz": rec.n_events / (args.t_sim / 1000.0),
    }


BENCHES = {"msp": bench_msp, "cuba": bench_cuba, "stdp": bench_stdp}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=sorted(BENCHES))
    p.add_argument("--t-sim", type=float, default=None, help="simulated time (ms); default per bench")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--record", type=float, default=1000.0, help="msp: recording interval (ms)")
    p.add_argument(
        "--rates",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="msp: record spikes for rate_e_hz/rate_i_hz (no measurable cost)",
    )
    p.add_argument("--model-params", action="store_true", help="msp: apply the example's model_params")
    p.add_argument("--repeats", type=int, default=1, help="cuba: simulate the built network N times")
    args = p.parse_args()
    if args.t_sim is None:
        args.t_sim = DEFAULT_T_SIM[args.bench]

    os.environ.setdefault("PYNEST_QUIET", "1")
    t0 = time.perf_counter()
    import nest

    import_s = time.perf_counter() - t0
    nest.verbosity = nest.VerbosityLevel.ERROR
    res = BENCHES[args.bench](nest, args)
    print(
        json.dumps(
            {
                "bench": args.bench,
                "sim": "nest",
                "import_s": import_s,
                "t_sim_ms": args.t_sim,
                "seed": args.seed,
                "threads": nest.local_num_threads,
                **res,
            }
        )
    )


if __name__ == "__main__":
    main()
