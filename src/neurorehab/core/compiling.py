"""XLA's compile options for a program, on the CPU only.

XLA compiles each fused loop of a program through LLVM at optimisation level 2 by default. For
the long chains of small fused loops that the engine and some spiking loops are made of, XLA
vectorises the loops itself and LLVM's heavier passes cost compile time without making them
faster, and sometimes make them slower: level 1 is then the better choice (bench/README.md,
"LLVM at level 1"). The choice is made per program, by measurement, and only on the CPU (an
accelerator's compiler is left at its defaults). Options can change the rounding of a result
(LLVM contracts some products and sums differently), never its meaning; a program is always
compiled with the same options, so its numbers are the same in every run of it. Inside a
user's own jit or vmap the user's program decides (`JitOnCpu`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

LIGHT_LLVM: dict[str, Any] = {"xla_backend_optimization_level": 1}


def accelerated() -> bool:
    """Whether JAX's default backend is an accelerator (GPU, TPU) rather than the host's CPU."""
    return jax.default_backend() != "cpu"


def on_cpu(options: dict[str, Any]) -> dict[str, Any] | None:
    """`options` when JAX's default backend is the host's CPU, else None (XLA's defaults)."""
    return None if accelerated() else dict(options)


class JitOnCpu:
    """`jax.jit(fn, **jit_kw)` compiled with `options` on the CPU: the backend is looked up at
    the first call (not at import, so a user may still choose JAX's platform after importing
    neurorehab); `lower` is there for ahead-of-time compilation, as on a jitted function.

    Called inside another transformation (a user's `jax.jit` or `jax.vmap` around it), it is a
    plain `jax.jit`: options belong to a whole program, so the outer program's apply (JAX
    refuses options on a nested jit). Its numbers there may then differ from a call alone by
    rounding, as any two programs' may."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any], **jit_kw: Any) -> None:
        self.fn, self.options, self.jit_kw = fn, options, jit_kw
        self.__doc__, self.__wrapped__ = fn.__doc__, fn
        self._jitted: Any = None
        self._nested = jax.jit(fn, **jit_kw)

    def _get(self) -> Any:
        if self._jitted is None:
            self._jitted = jax.jit(self.fn, compiler_options=on_cpu(self.options), **self.jit_kw)
        return self._jitted

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves((args, kwargs))):
            return self._nested(*args, **kwargs)
        try:
            return self._get()(*args, **kwargs)
        except ValueError as e:  # inside a user's jit, called on constants only
            if "compiler_options" not in str(e):
                raise
            return self._nested(*args, **kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        return self._get().lower(*args, **kwargs)
