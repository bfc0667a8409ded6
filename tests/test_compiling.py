"""core/compiling.py: XLA options chosen per program, on the CPU only."""

import jax
import jax.numpy as jnp
import numpy as np

from neurorehab.core.compiling import LIGHT_LLVM, JitOnCpu, on_cpu


def _decay(x, steps):
    return jax.lax.fori_loop(0, steps, lambda i, v: v * 0.99 + jnp.sin(v) * 1e-3, x)


def test_options_apply_on_the_cpu_only():
    expected = LIGHT_LLVM if jax.default_backend() == "cpu" else None
    assert on_cpu(LIGHT_LLVM) == expected


def test_a_program_with_options_computes_what_xla_defaults_do():
    # The options change how LLVM compiles, not what is computed: equal to float32 rounding
    # (a relative 1e-6 after 500 steps of a contracting map), with static arguments and
    # ahead-of-time lowering as on jax.jit.
    x = jnp.linspace(-3.0, 3.0, 1000)
    light = JitOnCpu(_decay, LIGHT_LLVM, static_argnames=("steps",))
    plain = jax.jit(_decay, static_argnames=("steps",))
    np.testing.assert_allclose(light(x, steps=500), plain(x, steps=500), rtol=1e-6, atol=1e-7)
    compiled = light.lower(x, steps=500).compile()
    np.testing.assert_array_equal(compiled(x), light(x, steps=500))
    assert light.__doc__ == _decay.__doc__


def test_a_program_with_options_nests_in_a_users_jit_and_vmap():
    # JAX refuses compile options on a jit inside another: within a user's jit or vmap the
    # program is a plain jit, and computes what it does alone (to float32 rounding, as above).
    x = jnp.linspace(-3.0, 3.0, 1000)
    light = JitOnCpu(_decay, LIGHT_LLVM, static_argnames=("steps",))
    alone = light(x, steps=200)
    np.testing.assert_allclose(jax.jit(lambda v: light(v, steps=200))(x), alone, rtol=1e-6, atol=1e-7)
    on_constants = jax.jit(lambda y: light(x, steps=200) + y)(0.0)  # no traced argument
    np.testing.assert_allclose(on_constants, alone, rtol=1e-6, atol=1e-7)
    batched = jax.vmap(lambda v: light(v, steps=200))(jnp.stack([x, -x]))
    np.testing.assert_allclose(batched, jnp.stack([alone, light(-x, steps=200)]), rtol=1e-6, atol=1e-7)
