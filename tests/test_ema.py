"""ema.standing_statistics: an averaged generator's batch-norm statistics are its own."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tfgan_orig import ema, networks  # noqa: E402


def _generator(seed):
    return networks.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(8, 8), seed=seed)


def test_standing_statistics_match_the_models_own_batch_statistics():
    live = _generator(seed=0)
    averaged = ema.clone(live)
    z = np.random.default_rng(0).standard_normal((512, 2)).astype("float32")
    # The live generator's moving statistics after it has seen z (what ema.update copies).
    for _ in range(200):
        live(z, training=True)
    for w, e in zip(live.weights, averaged.weights):
        if not w.trainable:
            e.assign(w)
    # The averaged weights differ from the live ones (here: a rescaled first layer).
    kernel = averaged.get_layer("hidden_0").kernel
    kernel.assign(3.0 * kernel)

    # Reference: the averaged generator normalizing with the statistics of its own activations.
    for layer in averaged.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = True
    own = np.asarray(averaged(z, training=True))
    for layer in averaged.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    copied = np.asarray(averaged(z, training=False))
    assert np.abs(copied - own).max() > 0.1  # copied live statistics are wrong for these weights

    assert ema.standing_statistics(averaged, z) == 2
    standing = np.asarray(averaged(z, training=False))
    np.testing.assert_allclose(standing, own, atol=2e-2)
    # Flags restored: still non-trainable, momentum as built.
    bns = [x for x in averaged.layers if isinstance(x, keras.layers.BatchNormalization)]
    assert not any(x.trainable for x in bns)
    assert all(x.momentum == 0.99 for x in bns)


def test_standing_statistics_without_batch_norm_is_a_no_op():
    model = networks.mlp_generator(latent_dim=2, hidden_units=(4,), batch_norm=False, seed=0)
    before = [w.copy() for w in model.get_weights()]
    z = np.ones((4, 2), "float32")
    assert ema.standing_statistics(model, z) == 0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
