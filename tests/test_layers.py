"""Tests of tfgan_orig.layers: Maxout and ReplicaDropout (shapes, values, serialization, replica
behaviour), and the family's stabilizing layers: VBN's per-example independence, minibatch
discrimination's dependence on the batch (the global one under replicas), the reference-batch
layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TWO_CPUS, mirrored_strategy

from tfgan_orig import layers
from tfgan_orig.layers import Maxout, ReplicaDropout


def test_maxout_shape_and_values():
    layer = Maxout(3, 2, name="mx")
    x = np.array([[1.0, -2.0], [0.5, 4.0]], np.float32)
    y = layer(x).numpy()
    assert y.shape == (2, 3)
    kernel, bias = layer.dense.get_weights()
    z = (x @ kernel + bias).reshape(2, 3, 2)
    np.testing.assert_allclose(y, z.max(axis=-1), rtol=1e-6)
    assert layer.compute_output_shape((None, 2)) == (None, 3)


def test_maxout_with_hand_set_weights():
    layer = Maxout(1, 3)
    layer.build((None, 1))
    layer.dense.set_weights([np.array([[1.0, -1.0, 0.0]], np.float32), np.array([0.0, 0.0, 0.5], np.float32)])
    # max(x, -x, 0.5) = max(|x|, 0.5)
    y = layer(np.array([[-2.0], [0.1], [3.0]], np.float32)).numpy()[:, 0]
    np.testing.assert_allclose(y, [2.0, 0.5, 3.0])


def test_maxout_config_round_trip_and_keras_file(tmp_path):
    layer = Maxout(4, 5, kernel_initializer=keras.initializers.RandomUniform(-0.1, 0.1), name="m")
    clone = Maxout.from_config(layer.get_config())
    assert (clone.units, clone.pieces, clone.name) == (4, 5, "m")
    model = keras.Sequential([keras.Input((6,)), layer])
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path)(x), model(x), rtol=1e-6)


def test_maxout_rejects_bad_sizes():
    with pytest.raises(ValueError, match="Received: units=0"):
        Maxout(0, 5)


def test_dropout_keeps_expected_fraction_and_scales():
    layer = ReplicaDropout(0.5, seed=1)
    x = tf.ones((200, 100))
    y = layer(x, training=True).numpy()
    kept = (y != 0).mean()
    assert 0.45 < kept < 0.55
    np.testing.assert_allclose(y[y != 0], 2.0)
    np.testing.assert_array_equal(layer(x, training=False), x)
    with pytest.raises(ValueError, match="rate=1.0"):
        ReplicaDropout(1.0)


def test_dropout_masks_differ_between_replicas():
    strategy = mirrored_strategy()
    with strategy.scope():
        layer = ReplicaDropout(0.5, seed=3)

    @tf.function
    def masks():
        return strategy.run(lambda: layer(tf.ones((1, 256)), training=True))

    a, b = strategy.experimental_local_results(masks())
    assert not np.array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------- the family's stabilizing layers
RNG = np.random.default_rng(0)


def test_vbn_output_for_an_example_ignores_the_other_examples():
    ref = RNG.normal(size=(5, 3, 3, 2)).astype(np.float32)
    a, b, c = (RNG.normal(size=(1, 3, 3, 2)).astype(np.float32) for _ in range(3))
    vbn = layers.VirtualBatchNormalization(reference_size=5)
    out_ab = vbn(np.concatenate([ref, a, b])).numpy()
    out_ac = vbn(np.concatenate([ref, a, c * 10.0])).numpy()
    out_a = vbn(np.concatenate([ref, a])).numpy()
    np.testing.assert_allclose(out_ab[5], out_ac[5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_ab[5], out_a[5], rtol=1e-5, atol=1e-6)
    # ...but it does depend on the reference batch.
    out_ref2 = vbn(np.concatenate([ref + 1.0, a])).numpy()
    assert not np.allclose(out_a[5], out_ref2[5])


def test_vbn_matches_the_formula():
    ref = RNG.normal(size=(4, 3)).astype(np.float32)
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    out = layers.VirtualBatchNormalization(4, epsilon=1e-5)(np.concatenate([ref, x])).numpy()
    c = 1.0 / 5.0
    mean = (1 - c) * ref.mean(0) + c * x
    sq = (1 - c) * (ref**2).mean(0) + c * x**2
    expected = (x - mean) / np.sqrt(sq - mean**2 + 1e-5)
    np.testing.assert_allclose(out[4:], expected, rtol=1e-4, atol=1e-5)
    # The reference rows are normalized with the reference statistics alone.
    expected_ref = (ref - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5)
    np.testing.assert_allclose(out[:4], expected_ref, rtol=1e-4, atol=1e-5)
    plain = layers.VirtualBatchNormalization(4, combine_with_example=False)
    out_plain = plain(np.concatenate([ref, x])).numpy()
    np.testing.assert_allclose(
        out_plain[4:], (x - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5), rtol=1e-4, atol=1e-5
    )


def test_minibatch_discrimination_output_depends_on_the_other_examples():
    mbd = layers.MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    y = x.copy()
    y[2] += 1.0
    out_x, out_y = mbd(x).numpy(), mbd(y).numpy()
    assert out_x.shape == (3, 4 + 3)
    np.testing.assert_array_equal(out_x[:, :4], x)  # the features pass through
    assert not np.allclose(out_x[0, 4:], out_y[0, 4:])  # example 0 sees example 2 change
    # Hand computation: o(x_i)_b = sum_{j != i} exp(-||M_ib - M_jb||_1), M = x T.
    m = (x @ mbd.kernel.numpy()).reshape(3, 3, 2)
    l1 = np.abs(m[:, None] - m[None, :]).sum(-1)
    np.testing.assert_allclose(out_x[:, 4:], np.exp(-l1).sum(1) - 1.0, rtol=1e-5, atol=1e-6)
    # Alone in its batch an example has no one to be compared with.
    np.testing.assert_allclose(mbd(x[:1]).numpy()[0, 4:], 0.0, atol=1e-6)


def test_reference_batch_layers_and_reconstruction_energy():
    ref_layer = layers.ReferenceBatch(3, seed=1)
    x = np.ones((2, 4), np.float32)
    out = ref_layer(x).numpy()
    assert out.shape == (5, 4)
    np.testing.assert_array_equal(out[3:], x)
    np.testing.assert_array_equal(layers.StripReferenceBatch(3)(out).numpy(), x)
    recon = np.zeros((2, 2, 2, 1), np.float32)
    img = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    energy = layers.ReconstructionEnergy()([img, recon]).numpy()
    np.testing.assert_allclose(energy, [[np.mean(np.arange(4.0) ** 2)], [np.mean(np.arange(4.0, 8) ** 2)]])


@pytest.mark.parametrize(
    "layer",
    [
        layers.VirtualBatchNormalization(4, combine_with_example=False, epsilon=1e-3, name="v"),
        layers.MinibatchDiscrimination(7, 3, name="m"),
        layers.ReferenceBatch(5, seed=3, name="r"),
        layers.StripReferenceBatch(5, name="s"),
        layers.ReconstructionEnergy(name="e"),
    ],
)
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (layers.VirtualBatchNormalization, dict(reference_size=0), "reference_size"),
        (layers.MinibatchDiscrimination, dict(num_kernels=0), "num_kernels"),
        (layers.ReferenceBatch, dict(size=0), "size"),
    ],
)
def test_bad_layer_arguments_are_named(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_minibatch_discrimination_compares_with_every_replicas_examples():
    """Under 2 replicas each example's o(x_i) sums over the global minibatch, as on one device,
    and the gradient reaching T is the one device's."""
    from conftest import mirrored_strategy

    strategy = mirrored_strategy()
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    with strategy.scope():
        layer = layers.MinibatchDiscrimination(3, 2, kernel_initializer=keras.initializers.GlorotUniform(1))
        layer.build((None, 4))
    weights = np.random.default_rng(1).normal(size=(6, 7)).astype(np.float32)

    def step(rows, w_rows):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(rows) * w_rows)
        return layer(rows), tape.gradient(loss, layer.kernel.value)

    one_out, one_grad = step(tf.constant(x), tf.constant(weights))
    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: (x[3 * ctx.replica_id_in_sync_group:][:3],
                     weights[3 * ctx.replica_id_in_sync_group:][:3]))
    out, grads = strategy.run(step, args=dist)
    np.testing.assert_allclose(np.concatenate([v.numpy() for v in out.values]), one_out.numpy(), rtol=1e-5)
    grad_sum = strategy.reduce(tf.distribute.ReduceOp.SUM, grads, axis=None)
    np.testing.assert_allclose(grad_sum.numpy(), one_grad.numpy(), rtol=1e-4, atol=1e-6)
    assert layers.MinibatchDiscrimination.from_config(layer.get_config()).synchronized
