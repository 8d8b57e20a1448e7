"""Tests of tfgan_orig.divergence: non-finite updates stop the run (keeping the last good
checkpoint) or are skipped on every replica at once; a resume takes the config's learning rates.
The command-line run that diverges is in test_reliability_e2e.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_orig
from tfgan_orig import divergence, networks, train_lib

from conftest import indexed_checkpoints, mirrored_strategy, tiny_ring8_config

tiny_config = tiny_ring8_config


def test_resume_uses_the_config_learning_rate_not_the_checkpointed_one(tmp_path):
    """Lowering the learning rate after a divergence must take effect on resume (Keras stores a
    constant learning rate in an optimizer variable, which the checkpoint restores)."""
    workdir = str(tmp_path)
    config = tiny_config(epochs=1)
    train_lib.train_and_evaluate(config, workdir)
    config.train.epochs = 2
    config.optimizer.d_learning_rate = 3e-5
    train_lib.train_and_evaluate(config, workdir)
    gan = train_lib.load_gan_from_workdir(workdir, with_optimizers=True)
    np.testing.assert_allclose(float(gan.d_optimizer.learning_rate.numpy()), 3e-5, rtol=1e-6)


def test_skip_mode_stops_after_too_many_skipped_updates(tmp_path):
    """on_nonfinite="skip" resumes a stop-mode checkpoint (same variables) and, when every step is
    non-finite, still stops after max_consecutive_skips updates in a row, keeping the checkpoint."""
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(tiny_config(epochs=1), workdir)
    config = tiny_config(epochs=3, on_nonfinite="skip", max_consecutive_skips=3)
    config.optimizer.d_learning_rate = 1e30
    with pytest.raises(divergence.TrainingDiverged, match=r"last 3 [DG] updates all had non-fin"):
        train_lib.train_and_evaluate(config, workdir)
    assert indexed_checkpoints(workdir) == [1]
    gan = train_lib.load_gan_from_workdir(workdir)
    assert all(np.isfinite(v.numpy()).all() for v in gan.variables)


def _points_gan(strategy, optimizer):
    with strategy.scope():
        g = networks.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(8,),
                                   batch_norm=False, seed=0)
        d = networks.maxout_discriminator(2, units=4, pieces=2, num_layers=1, seed=0)
        gan = tfgan_orig.GAN(g, d, latent_dim=2, seed=0)
        gan.compile(d_optimizer=optimizer(keras.optimizers.SGD(0.1, name="d")),
                    g_optimizer=optimizer(keras.optimizers.SGD(0.1, name="g")))
    return gan


def _fit_with_nan_in_second_replica(gan):
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    x[6] = np.nan  # replica 1's half of the global batch of 8 (replica 0's is rows 0-3)
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    gan.fit(tf.data.Dataset.from_tensors(x), epochs=1, verbose=0)
    d_after = [v.numpy() for v in gan.discriminator.trainable_variables]
    g_after = [v.numpy() for v in gan.generator.trainable_variables]
    return d_before, d_after, g_before, g_after


def test_skip_nonfinite_skips_on_every_replica_under_mirrored_strategy():
    """One replica's NaN gradient makes *all* replicas skip the D update (and only it: G, whose
    gradients are finite, is updated). Keras' own LossScaleOptimizer takes the first replica's
    verdict and applies the NaN sum: shown too, so this test's NaN really is on one replica only."""
    strategy = mirrored_strategy()
    gan = _points_gan(strategy, divergence.SkipNonFinite)
    d_before, d_after, g_before, g_after = _fit_with_nan_in_second_replica(gan)
    for before, after in zip(d_before, d_after):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, g_after))
    assert all(np.isfinite(v).all() for v in g_after)
    assert int(gan.d_optimizer.skipped_updates.numpy()) == 1
    assert int(gan.g_optimizer.skipped_updates.numpy()) == 0
    # The wrapper adds no checkpointed variables: checkpoints with and without it match.
    assert len(gan.d_optimizer.variables) == len(gan.d_optimizer.inner_optimizer.variables)

    plain = _points_gan(strategy, lambda opt: keras.optimizers.LossScaleOptimizer(opt, 1.0))
    _, d_after_plain, _, _ = _fit_with_nan_in_second_replica(plain)
    assert not all(np.isfinite(v).all() for v in d_after_plain)
