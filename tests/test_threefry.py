"""core.threefry: JAX's Threefry key operations as elementwise operations.

Reference: JAX's own `jax.random` functions and `jax.extend.random.threefry_2x32` (the same
numbers bit for bit, alone, under jit and under vmap), and Random123's known-answer vectors for
Threefry-2x32-20 (Salmon et al. 2011).
"""

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from neurorehab.core import threefry


def test_words_are_jax_s_hash_and_random123_s_known_answers():
    # Random123's known-answer vectors for Threefry-2x32-20 (Salmon et al. 2011; the kat_vectors
    # file, as JAX's own tests use them): (key, counter) -> the two output words.
    kat = [
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for k, x, want in kat:
        key = jax.random.wrap_key_data(np.uint32(k), impl="threefry2x32")
        got = threefry.words(key, jnp.uint32(x[0]), jnp.uint32(x[1]))
        assert tuple(int(w) for w in got) == want
    # And bit for bit JAX's hash on many counters, batched over keys under vmap.
    keys = jax.random.split(jax.random.key(12), 3)
    count = jnp.arange(2 * 5000, dtype=jnp.uint32)
    want = jax.vmap(lambda k: jax.extend.random.threefry_2x32(jax.random.key_data(k), count))(keys)
    got = jax.vmap(lambda k: jnp.concatenate(threefry.words(k, count[:5000], count[5000:])))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def _same_keys(a, b):
    np.testing.assert_array_equal(np.asarray(jax.random.key_data(a)), np.asarray(jax.random.key_data(b)))


@pytest.mark.parametrize("num", [1, 2, 4, 7])
def test_split_is_jax_s(num):
    key = jax.random.key(42)
    _same_keys(threefry.split(key, num), jax.random.split(key, num))


@pytest.mark.parametrize("data", [0, 1, 5, 2**31 + 3, 2**32 - 1])
def test_fold_in_is_jax_s(data):
    key = jax.random.key(42)
    _same_keys(threefry.fold_in(key, data), jax.random.fold_in(key, data))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (0,), (1001,), (7, 3, 2)])
def test_bits_and_uniform_are_jax_s(shape):
    key = jax.random.key(7)
    np.testing.assert_array_equal(
        np.asarray(threefry.bits(key, shape)), np.asarray(jax.random.bits(key, shape))
    )
    np.testing.assert_array_equal(
        np.asarray(threefry.uniform(key, shape)), np.asarray(jax.random.uniform(key, shape))
    )


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_categorical_is_jax_s(axis):
    key = jax.random.key(3)
    logits = jax.random.normal(jax.random.key(4), (50, 30))
    logits = jnp.where(logits > 1.0, -jnp.inf, logits)  # impossible classes, as the structural code has
    np.testing.assert_array_equal(
        np.asarray(threefry.categorical(key, logits, axis=axis)),
        np.asarray(jax.random.categorical(key, logits, axis=axis)),
    )


def test_the_same_under_jit_vmap_and_scan():
    # The structural update's pattern: fold in a step, split for the rounds, draw in a scan.
    def draws(rand, key, i):
        def body(c, k):
            return c + rand.uniform(k, (3,)), rand.categorical(k, jnp.zeros((4, 6)), axis=1)

        return jax.lax.scan(body, jnp.zeros(3), rand.split(rand.fold_in(key, i), 4))

    keys = jax.random.split(jax.random.key(5), 6)
    ours = jax.jit(jax.vmap(lambda k, i: draws(threefry, k, i)))(keys, jnp.arange(6))
    jaxs = jax.jit(jax.vmap(lambda k, i: draws(jax.random, k, i)))(keys, jnp.arange(6))
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(jaxs), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_what_jax_refuses_or_reads_otherwise_goes_to_jax():
    key = jax.random.key(8)
    with pytest.raises(TypeError):  # JAX folds in one number, not an array
        threefry.fold_in(key, jnp.arange(3))
    _same_keys(threefry.split(key, (2, 3)), jax.random.split(key, (2, 3)))  # a shape of keys
    listed = threefry.categorical(key, [0.0, 1.0])  # a list of logits
    assert int(listed) == int(jax.random.categorical(key, jnp.array([0.0, 1.0])))


def test_other_keys_are_drawn_by_jax():
    # A key of another implementation (or a raw uint32 key) is passed to jax.random itself.
    for key in (jax.random.key(9, impl="rbg"), jax.random.PRNGKey(9)):
        np.testing.assert_array_equal(
            np.asarray(threefry.uniform(key, (5,))), np.asarray(jax.random.uniform(key, (5,)))
        )
        np.testing.assert_array_equal(
            np.asarray(jax.random.key_data(threefry.split(key, 3))),
            np.asarray(jax.random.key_data(jax.random.split(key, 3))),
        )
