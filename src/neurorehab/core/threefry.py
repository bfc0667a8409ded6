"""JAX's Threefry key operations written as elementwise operations, the same numbers bit for bit.

JAX lowers its Threefry-2x32 hash on the CPU as a rolled loop (five passes of four rounds) that
writes both words to memory after each pass, and every `jax.random` call of a program is its
own such loop: a handful of kernels that XLA compiles and launches separately and that nothing
can fuse with. A program that draws in many places (the structural plasticity network's
update: splits, fold-ins, uniforms and categorical draws for each synapse type) spends much of
its compilation on them. Written out as additions, rotations and xors, the hash is one
elementwise expression that XLA fuses into whatever consumes it.

Each function here gives what its `jax.random` namesake gives for a Threefry key (JAX's
default, with `jax_threefry_partitionable`, its default since JAX 0.5), bit for bit:
tests/test_threefry.py checks each one against JAX, alone and under vmap, and the hash against
Random123's known answers. A key of another implementation is passed to `jax.random` itself.
Source of the hash: Salmon, Moraes, Dror & Shaw 2011 (SC'11), "Parallel random numbers: as
easy as 1, 2, 3"; of the draws built on it: JAX's documented `jax.random` semantics.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)  # Salmon et al. 2011, Table 4 (2x32)


@jax.jit
def words(key: Array, x0: Array, x1: Array) -> tuple[Array, Array]:
    """The Threefry-2x32-20 hash of counter pairs (x0, x1), uint32, under a threefry key: both
    32-bit output words (`jax.extend.random.threefry_2x32` of the same pairs). Jitted so that
    a program traces it once per shape, not once per call."""
    k = jax.random.key_data(key)
    k0, k1 = k[..., 0], k[..., 1]
    schedule = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    x0, x1 = x0 + schedule[0], x1 + schedule[1]
    for s in range(5):
        for j in range(4):
            r = _ROTATIONS[4 * (s % 2) + j]
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + schedule[(s + 1) % 3]
        x1 = x1 + schedule[(s + 2) % 3] + np.uint32(s + 1)
    return x0, x1


def _flag(name: str) -> bool:
    """A JAX configuration flag, read when a program is traced (not at import)."""
    return bool(getattr(jax.config, name))


def _fused(key: Array) -> bool:
    """Whether `key` is a typed Threefry key drawn the partitionable way (JAX's default)."""
    if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape != ():
        return False
    impl = jax.random.key_impl(key)
    return getattr(impl, "name", str(impl)) == "threefry2x32" and _flag("jax_threefry_partitionable")


def _counters(shape: Sequence[int]) -> tuple[Array, Array]:
    """(high, low) words of each element's flat index, as JAX numbers a draw's elements."""
    size = int(np.prod(shape, dtype=np.int64))
    if size >= 2**32:
        raise ValueError(f"a draw of shape {tuple(shape)} has {size} elements; at most 2**32 - 1 here")
    low = jax.lax.iota(jnp.uint32, size).reshape(shape) if size else jnp.zeros(shape, jnp.uint32)
    return jnp.zeros(shape, jnp.uint32), low


def _wrap(data0: Array, data1: Array) -> Array:
    return jax.random.wrap_key_data(jnp.stack([data0, data1], axis=-1), impl="threefry2x32")


def split(key: Array, num: int | tuple[int, ...] = 2) -> Array:
    """`jax.random.split(key, num)`: num keys, the hash of the counters (0, i)."""
    if not _fused(key) or not isinstance(num, int):
        return jax.random.split(key, num)
    return _wrap(*words(key, *_counters((num,))))


def fold_in(key: Array, data: int | Array) -> Array:
    """`jax.random.fold_in(key, data)` for an integer `data` below 2**32: the hash of (0, data)."""
    if not _fused(key) or jnp.ndim(data) != 0:  # JAX's own refuses an array of data
        return jax.random.fold_in(key, data)
    low = jnp.asarray(data, dtype=jnp.uint32)
    return _wrap(*words(key, jnp.zeros((), jnp.uint32), low))


def bits(key: Array, shape: Sequence[int]) -> Array:
    """`jax.random.bits(key, shape)` (uint32): the two words of each element's hash, xored."""
    if not _fused(key):
        return jax.random.bits(key, tuple(shape))
    w0, w1 = words(key, *_counters(shape))
    return w0 ^ w1


def uniform(key: Array, shape: Sequence[int]) -> Array:
    """`jax.random.uniform(key, shape)` (float32 on [0, 1)): 23 random mantissa bits under the
    exponent of 1, less 1."""
    if not _fused(key):
        return jax.random.uniform(key, tuple(shape), jnp.float32)
    mantissa = (bits(key, shape) >> np.uint32(9)) | np.uint32(0x3F800000)
    return jnp.maximum(0.0, jax.lax.bitcast_convert_type(mantissa, jnp.float32) - np.float32(1.0))


def categorical(key: Array, logits: Array, axis: int = -1) -> Array:
    """`jax.random.categorical(key, logits, axis)` (float32 logits, JAX's default "low" mode):
    the Gumbel-max trick, argmax(logits - log(-log(u))), u uniform on [tiny, 1)."""
    logits = jnp.asarray(logits)
    if not _fused(key) or logits.dtype != jnp.float32 or _flag("jax_high_dynamic_range_gumbel"):
        return jax.random.categorical(key, logits, axis=axis)
    tiny = np.finfo(np.float32).tiny  # u = uniform * (1 - tiny) + tiny, and 1 - tiny is 1 in float32
    u = jnp.maximum(tiny, uniform(key, logits.shape) + tiny)
    return jnp.argmax(-jnp.log(-jnp.log(u)) + logits, axis=axis)
