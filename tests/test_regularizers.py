"""The regularizer seam (`tfgan_orig.regularizers`): user objects plug in through `compile` without
touching `train_step`, and their configs round-trip through `.keras` files."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_orig
from tfgan_orig import regularizers


def tiny_nets(latent_dim=4, dim=3, width=8, seed=0):
    init = lambda i: keras.initializers.GlorotUniform(seed + i)  # noqa: E731
    g = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(width, activation="relu", kernel_initializer=init(1)),
            keras.layers.Dense(dim, kernel_initializer=init(2)),
        ],
        name="g",
    )
    d = keras.Sequential(
        [
            keras.Input((dim,)),
            keras.layers.Dense(width, activation="tanh", kernel_initializer=init(3)),
            keras.layers.Dense(1, kernel_initializer=init(4)),
        ],
        name="d",
    )
    return g, d


def points(n=8, dim=3, seed=2):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


@keras.saving.register_keras_serializable(package="test_regularizers")
class ConstantTerms(regularizers.Regularizer):
    """Adds constants to D's and G's per-row losses and counts D updates."""

    def __init__(self, d_value=0.0, g_value=0.0):
        self.d_value, self.g_value = float(d_value), float(g_value)

    def d_terms(self, ctx, real, fake):
        return tf.fill(tf.shape(real.logits)[:1], self.d_value)

    def g_terms(self, ctx, fake, real):
        return tf.fill(tf.shape(fake.logits)[:1], self.g_value)

    def get_config(self):
        return {"d_value": self.d_value, "g_value": self.g_value}


def first_logs(regs):
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, 4, seed=0)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), regularizers=regs)
    ds = tf.data.Dataset.from_tensor_slices(points()).batch(8)
    return gan.fit(ds, verbose=0).history


def test_a_user_regularizer_adds_its_terms_to_both_losses():
    plain = first_logs([])
    shifted = first_logs([ConstantTerms(0.5, -0.25)])
    np.testing.assert_allclose(shifted["d_loss"][0] - plain["d_loss"][0], 0.5, rtol=1e-5)
    np.testing.assert_allclose(shifted["g_loss"][0] - plain["g_loss"][0], -0.25, rtol=1e-5)
    with pytest.raises(ValueError, match="Regularizer"):
        first_logs(["r1"])


def test_compile_options_build_regularizers_and_round_trip(tmp_path):
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, 4, seed=0)
    gan.compile(
        loss="wasserstein",
        gradient_penalty_weight=10.0,
        clip_value=0.5,
        instance_noise_std=0.1,
        regularizers=[ConstantTerms(1.0)],
    )
    kinds = [type(r).__name__ for r in gan.regularizers]
    assert kinds == ["InstanceNoise", "GradientPenalty", "WeightClipping", "ConstantTerms"]
    gan.fit(points(), batch_size=8, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert [repr(r) for r in loaded.regularizers] == [repr(r) for r in gan.regularizers]
    assert loaded.objective.name == "wasserstein"


def test_regularizer_arguments_are_validated():
    for make, match in [
        (lambda: regularizers.GradientPenalty(0.0), "gradient_penalty_weight"),
        (lambda: regularizers.WeightClipping(-1.0), "clip_value"),
        (lambda: regularizers.InstanceNoise(-0.1), "instance_noise_std"),
        (lambda: regularizers.InstanceNoise(0.1, decay_steps=0), "instance_noise_decay_steps"),
        (lambda: regularizers.AuxiliaryClassifier(-1.0), "aux_classifier_weight"),
    ]:
        with pytest.raises(ValueError, match=match):
            make()
