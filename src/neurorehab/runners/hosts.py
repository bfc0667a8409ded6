"""The host's cores: a runner runs a batch's chunks side by side, one thread a core.

XLA runs a compiled program on the CPU with a pool of threads that it shares out operation by
operation. A lane's scan step is a chain of small operations (in the cohort benchmark, 64
patients x 200 cells), and sharing each of them between threads gains nothing: on 2 cores a
simulated day of such a lane took 13.7-14.1 ms, and 10.5-11 ms in a process kept to one core.
Two executions of the same compiled program at once, each called from its own thread, keep
both cores busy: a lane's day then cost 5.2-5.5 ms (2026-12-05, bench/README.md). So a runner
asks the engine for one chunk at a time per core (`simulate(threads=cores())`); the engine cuts
the batch into a whole number of chunks for every core and runs them on a pool of threads.
Every chunk runs the one compiled program, so a patient's numbers are bit for bit those of the
chunks run one after the other. (The count is the runner's to make: the core reads nothing of
the machine it runs on.)
"""

from __future__ import annotations

import os


def cores() -> int:
    """Cores this process may run on (its affinity mask where the platform has one: a worker
    of the `processes` executor, kept to its own core, counts one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
