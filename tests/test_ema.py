"""ema.standing_statistics: an averaged generator's batch-norm statistics are its own."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tensorflow as tf  # noqa: E402

import tfgan_orig  # noqa: E402
from conftest import mirrored_strategy  # noqa: E402
from tfgan_orig import ema, export, networks  # noqa: E402


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


def _bn_layers(model):
    return [x for x in model.layers if isinstance(x, keras.layers.BatchNormalization)]


def test_batched_standing_statistics_average_the_batches():
    # The first batch-norm layer's input is linear in z, so the average of per-batch means is the
    # mean over all rows: 4 batches of 250 must store what one pass of 1,000 stores.
    z = np.random.default_rng(1).standard_normal((1000, 2)).astype("float32")
    one, batched = _generator(seed=0), _generator(seed=0)
    ema.standing_statistics(one, z)
    ema.standing_statistics(batched, z, batch_size=250)
    first_one, first_batched = _bn_layers(one)[0], _bn_layers(batched)[0]
    np.testing.assert_allclose(
        np.asarray(first_batched.moving_mean), np.asarray(first_one.moving_mean), rtol=1e-4, atol=1e-5
    )
    # Batch variances average to the pooled variance minus the spread of the batch means (small).
    np.testing.assert_allclose(
        np.asarray(first_batched.moving_variance), np.asarray(first_one.moving_variance), rtol=2e-2
    )
    assert all(x.momentum == 0.99 for x in _bn_layers(batched))
    # A short last batch counts for its rows: 1,001 rows in batches of 500, 500 and 1.
    uneven = np.concatenate([z, z[:1]])
    one_pass, short_last = _generator(seed=0), _generator(seed=0)
    ema.standing_statistics(one_pass, uneven)
    ema.standing_statistics(short_last, uneven, batch_size=500)
    np.testing.assert_allclose(
        np.asarray(_bn_layers(short_last)[0].moving_mean),
        np.asarray(_bn_layers(one_pass)[0].moving_mean), rtol=1e-4, atol=1e-5,
    )


def test_gan_ema_samples_use_their_own_statistics_and_refresh_after_training():
    g = _generator(seed=0)
    d = networks.maxout_discriminator(input_dim=2, units=8, pieces=2, num_layers=2, seed=0)
    gan = tfgan_orig.GAN(g, d, latent_dim=2, seed=0, ema_decay=0.5)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)

    def own_statistics_reference():
        # The EMA generator's first batch-norm input on the standing draws (seed 0, 10,000 rows).
        stream = tf.constant([0, tfgan_orig.gan.STANDING_STREAM], tf.int64)
        z = gan.sample_latent(tfgan_orig.gan.STANDING_DRAWS, stream)
        h = gan.ema_generator.get_layer("hidden_0")(z)
        return np.asarray(h).mean(axis=0)

    gan.fit(ds, epochs=1, verbose=0)
    live_bn, ema_bn = _bn_layers(gan.generator)[0], _bn_layers(gan.ema_generator)[0]
    # ema.update copied the live statistics ...
    np.testing.assert_array_equal(np.asarray(ema_bn.moving_mean), np.asarray(live_bn.moving_mean))
    samples = gan.generate(100, seed=3, use_ema=True)
    # ... generate(use_ema=True) replaced them with the EMA generator's own.
    np.testing.assert_allclose(np.asarray(ema_bn.moving_mean), own_statistics_reference(), atol=1e-4)
    assert not np.allclose(np.asarray(ema_bn.moving_mean), np.asarray(live_bn.moving_mean), atol=1e-3)
    np.testing.assert_array_equal(gan.generate(100, seed=3, use_ema=True), samples)  # no re-draw
    assert gan.refresh_ema_statistics() == 0  # up to date: nothing recomputed

    gan.fit(ds, epochs=1, verbose=0)  # the EMA moved and its statistics were copied again
    np.testing.assert_array_equal(np.asarray(ema_bn.moving_mean), np.asarray(live_bn.moving_mean))
    gan.generate(10, seed=3, use_ema=True)
    np.testing.assert_allclose(np.asarray(ema_bn.moving_mean), own_statistics_reference(), atol=1e-4)

    # Averaged weights changed by hand (as a restore at the same step does): recomputed too.
    kernel = gan.ema_generator.get_layer("hidden_0").kernel
    kernel.assign(2.0 * kernel)
    assert gan.refresh_ema_statistics() == 2
    np.testing.assert_allclose(np.asarray(ema_bn.moving_mean), own_statistics_reference(), atol=1e-4)
    # Other draws are another key: recomputed, not silently kept.
    assert gan.refresh_ema_statistics(seed=5) == 2 and gan.refresh_ema_statistics(seed=5) == 0


def test_gan_ema_statistics_under_two_replicas_match_one_device(tmp_path):
    # The EMA generator's own statistics do not depend on the strategy it was built under, and the
    # export (which refreshes them too) serves what generate(use_ema=True) returns.
    def trained(strategy):
        with strategy.scope():
            gan = tfgan_orig.GAN(
                _generator(seed=0),
                networks.maxout_discriminator(input_dim=2, units=8, pieces=2, num_layers=2, seed=0),
                latent_dim=2, seed=0, ema_decay=0.5,
            )
            gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05))
        x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
        gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True), verbose=0)
        return gan

    one, two = trained(tf.distribute.get_strategy()), trained(mirrored_strategy())
    live_mean = np.asarray(_bn_layers(two.generator)[0].moving_mean)
    samples = two.generate(50, seed=2, use_ema=True)
    # Recomputed under the strategy (not the copied live statistics) ...
    assert not np.allclose(np.asarray(_bn_layers(two.ema_generator)[0].moving_mean), live_mean, atol=1e-3)
    # ... and equal to one device's.
    np.testing.assert_allclose(samples, one.generate(50, seed=2, use_ema=True), rtol=1e-4, atol=1e-5)
    served = tf.saved_model.load(export.export_generator(two, str(tmp_path), warmup=False, use_ema=True))
    out = served.signatures["generate"](seed=tf.constant(2, tf.int64), num=tf.constant(50, tf.int32))
    np.testing.assert_allclose(out[export.IMAGES_KEY].numpy(), samples, rtol=1e-5, atol=1e-6)
