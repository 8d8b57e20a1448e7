"""Maxout and ReplicaDropout: shapes, values, serialization, replica behaviour."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TWO_CPUS, mirrored_strategy

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
