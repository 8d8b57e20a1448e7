"""The regularizer seam (`tfgan_orig.regularizers`): user objects plug in through `compile` without
touching `train_step`, and their configs round-trip through `.keras` files."""

import keras
import numpy as np
import pytest
import conftest
import tensorflow as tf

import tfgan_orig
from tfgan_orig import regularizers


def tiny_nets(latent_dim=4, dim=3, width=8, seed=0):
    """conftest's tiny nets with a tanh D: nonlinear, so gradient penalties vary with x."""
    return conftest.tiny_nets(latent_dim, dim, width, seed, d_activation="tanh")


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


def weights(model):
    return [w.numpy().copy() for w in model.weights]


def assert_same_training(one, two):
    (w1, h1), (w2, h2) = one, two
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(h1[name], h2[name], rtol=1e-4, atol=1e-6, err_msg=name)


def two_strategies(run):
    from conftest import mirrored_strategy

    return run(tf.distribute.get_strategy()), run(mirrored_strategy())


# ------------------------------------------------------------------------------ packing (PacGAN)
def test_pack_rows_concatenates_consecutive_samples_along_the_last_axis():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(
        regularizers.pack_rows(tf.constant(x), 3), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    )
    images = np.random.default_rng(0).normal(size=(4, 2, 3, 2)).astype(np.float32)
    packed = regularizers.pack_rows(tf.constant(images), 2).numpy()
    assert packed.shape == (2, 2, 3, 4)
    np.testing.assert_array_equal(packed[1, ..., :2], images[2])  # channels of sample 2, then 3
    np.testing.assert_array_equal(packed[1, ..., 2:], images[3])
    with pytest.raises(ValueError, match="divisible by pack=4"):
        regularizers.pack_rows(tf.constant(x), 4)


def packed_gan(pack=2, seed=0, **gan_kwargs):
    g, _ = tiny_nets(seed=seed)
    _, d = tiny_nets(dim=3 * pack, seed=seed)  # D takes m samples of 3 coordinates
    return tfgan_orig.GAN(g, d, 4, pack=pack, seed=7, **gan_kwargs)


def test_packed_discriminator_judges_groups_of_samples():
    gan = packed_gan(pack=2)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    real = points(8)
    z, _ = gan._training_noise(8, 0)  # the noise the first D update draws
    d = gan.discriminator
    fake = gan.generator(z)
    r = d(real.reshape(4, 6)).numpy()[:, 0]  # rows (0,1), (2,3), ... concatenated
    f = d(tf.reshape(fake, (4, 6))).numpy()[:, 0]
    expected = np.mean(0.5 * (np.logaddexp(0, -r) + np.logaddexp(0, f)))  # J(D) with its 1/2
    history = gan.fit(tf.data.Dataset.from_tensors(real), verbose=0).history
    np.testing.assert_allclose(history["d_loss"][0], expected, rtol=1e-5)
    np.testing.assert_allclose(history["d_real"][0], np.mean(1 / (1 + np.exp(-r))), rtol=1e-5)
    assert gan.generate(5, seed=0).shape == (5, 3)  # generation is per sample
    with pytest.raises(ValueError, match="pack"):
        tfgan_orig.GAN(*tiny_nets(), 4, pack=2, num_classes=3)


@pytest.mark.parametrize("loss", ["non_saturating", "wasserstein", "rpgan"])
def test_packing_gives_the_single_device_update_on_two_replicas(loss):
    def run(strategy):
        with strategy.scope():
            gan = packed_gan(pack=2, seed=20, d_steps=2)
            gan.compile(
                keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), loss=loss,
                instance_noise_std=0.1,
            )
        ds = tf.data.Dataset.from_tensor_slices(points(48)).batch(16, drop_remainder=True)
        history = gan.fit(ds, verbose=0).history
        return weights(gan.generator) + weights(gan.discriminator), history

    assert_same_training(*two_strategies(run))


# ------------------------------------------------------------------------------ R1 / R2
def tanh_critic():
    """D(x) = v . tanh(W^T x + b) + c: input gradient W (v * (1 - tanh^2)), different per x."""
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(3, 2)).astype(np.float32), np.array([0.1, -0.3], np.float32)
    v, c = np.array([[1.5], [-0.7]], np.float32), np.array([0.2], np.float32)
    d = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="tanh"), keras.layers.Dense(1)]
    )
    d.set_weights([w, b, v, c])

    def hand_r(x, gamma):
        h = np.tanh(x @ w + b)
        grad = ((1 - h**2) * v[:, 0]) @ w.T  # [rows, 3]
        return 0.5 * gamma * np.sum(grad**2, axis=1)

    return d, hand_r


def test_r1_r2_equal_hand_computation_on_a_nonlinear_critic():
    d, hand_r = tanh_critic()
    gan = tfgan_orig.GAN(tiny_nets()[0], d, 4, seed=0)
    real, fake = 0.3 * points(5), 0.3 * points(5, seed=9)  # away from tanh's flat tails
    r1 = regularizers.R1(4.0).d_terms(
        gan.step_context(0), regularizers.Judged(real, None, None), regularizers.Judged(fake, None, None)
    )
    r2 = regularizers.R2(4.0).d_terms(
        gan.step_context(0), regularizers.Judged(real, None, None), regularizers.Judged(fake, None, None)
    )
    np.testing.assert_allclose(r1, hand_r(real, 4.0), rtol=1e-5)
    np.testing.assert_allclose(r2, hand_r(fake, 4.0), rtol=1e-5)
    assert np.ptp(hand_r(real, 4.0)) > 1.0  # the gradient differs between rows


def test_lazy_r1_applies_every_nth_d_update_times_n():
    d, hand_r = tanh_critic()
    gan = tfgan_orig.GAN(tiny_nets()[0], d, 4, seed=0, d_steps=2)
    real = 0.3 * points(4)
    side = regularizers.Judged(real, None, None)
    lazy = regularizers.R1(2.0, every=3)
    got = []
    for step in range(4):
        gan.step_counter.assign(step)
        for draw in range(2):
            got.append(lazy.d_terms(gan.step_context(draw), side, side).numpy())
    for update, value in enumerate(got):  # D update index = step * d_steps + draw
        expected = 3 * hand_r(real, 2.0) if update % 3 == 0 else np.zeros(4)
        np.testing.assert_allclose(value, expected, rtol=1e-5, err_msg=f"D update {update}")


def test_r1_is_added_to_the_first_d_loss():
    _, hand_r = tanh_critic()
    real = 0.3 * points(8)

    def first_d_loss(**kwargs):
        d, _ = tanh_critic()
        gan = tfgan_orig.GAN(tiny_nets()[0], d, 4, seed=0)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), **kwargs)
        return gan.fit(tf.data.Dataset.from_tensors(real), verbose=0).history["d_loss"][0]

    diff = first_d_loss(r1_gamma=10.0, penalty_every=2) - first_d_loss()
    np.testing.assert_allclose(diff, 2 * np.mean(hand_r(real, 10.0)), rtol=1e-4)


@pytest.mark.parametrize("loss", ["non_saturating", "rpgan"])
def test_r1_r2_give_the_single_device_update_on_two_replicas(loss):
    def run(strategy):
        with strategy.scope():
            g, d = tiny_nets(seed=20)
            gan = tfgan_orig.GAN(g, d, 4, seed=7, d_steps=2)
            gan.compile(
                keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), loss=loss,
                r1_gamma=1.0, r2_gamma=0.5, penalty_every=3,
            )
        ds = tf.data.Dataset.from_tensor_slices(points(48)).batch(16, drop_remainder=True)
        history = gan.fit(ds, verbose=0).history
        return weights(gan.generator) + weights(gan.discriminator), history

    assert_same_training(*two_strategies(run))


# ------------------------------------------------------------------------------ top-k training
def judged(logits):
    return regularizers.Judged(None, None, tf.constant(np.reshape(logits, [-1, 1]), tf.float32))


def test_top_k_keeps_the_rows_d_rates_most_real_and_averages_over_them():
    gan = tfgan_orig.GAN(*tiny_nets(), 4, seed=0)
    gan.compile(loss="non_saturating")
    logits = np.array([0.3, -2.0, 1.5, 0.9, -0.4, 2.2, -1.1, 0.0], np.float32)
    top = regularizers.TopK(keep_min=0.25, decay=0.5, decay_steps=10)
    for step, keep in [(0, 8), (9, 8), (10, 4), (19, 4), (25, 2), (1000, 2)]:  # v = max(.25, .5^e)
        gan.step_counter.assign(step)
        w = top.g_weights(gan.step_context(1, "g"), judged(logits), None).numpy()
        best = np.argsort(-logits)[:keep]
        expected = np.zeros(8, np.float32)
        expected[best] = 8 / keep  # sum(w * l) / 8 = mean of l over the kept rows
        np.testing.assert_allclose(w, expected, err_msg=f"step {step}")
    # k = ceil(v n): 3 of 10 rows at v = 0.25.
    gan.step_counter.assign(100)
    w = top.g_weights(gan.step_context(1, "g"), judged(np.arange(10.0)), None).numpy()
    np.testing.assert_allclose(w, [0] * 7 + [10 / 3] * 3, rtol=1e-6)


def test_top_k_ranks_ebgan_energies_low_first_and_keeps_ties():
    gan = tfgan_orig.GAN(*tiny_nets(), 4, seed=0)
    gan.compile(loss="ebgan")
    energies = np.array([3.0, 0.5, 2.0, 0.1], np.float32)  # low energy = real
    half = regularizers.TopK(keep_min=0.5, decay=0.5)
    gan.step_counter.assign(5)
    w = half.g_weights(gan.step_context(1, "g"), judged(energies), None).numpy()
    np.testing.assert_allclose(w, [0, 2, 0, 2])
    gan.compile(loss="non_saturating")
    tied = half.g_weights(gan.step_context(1, "g"), judged([1.0, 5.0, 5.0, 5.0]), None).numpy()
    np.testing.assert_allclose(tied, [0, 4 / 3, 4 / 3, 4 / 3])  # every row at the threshold kept


def test_top_k_generator_update_is_the_gradient_of_the_mean_over_the_kept_rows():
    def gan_at(step, regs):
        g, d = tiny_nets(seed=4)
        gan = tfgan_orig.GAN(g, d, 4, seed=3)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.5), regularizers=regs)
        gan.build()
        gan.step_counter.assign(step)
        return gan

    def top():
        return [regularizers.TopK(keep_min=0.5, decay=0.1, decay_steps=1)]

    # Step 0: v_0 = 1 keeps every row, the plain update.
    first, plain = gan_at(0, top()), gan_at(0, [])
    first.generator_step(8, 8)
    plain.generator_step(8, 8)
    for a, b in zip(weights(first.generator), weights(plain.generator)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # Step 3: v = max(0.5, 0.1^3) = 0.5: G descends the mean loss over its 4 best rows only.
    gan = gan_at(3, top())
    before = weights(gan.generator)
    z, _ = gan._training_noise(8, gan.d_steps)
    with tf.GradientTape() as tape:
        f = tf.reshape(gan.discriminator(gan.generator(z, training=True), training=True), [-1])
        kept = tf.gather(f, tf.argsort(-f)[:4])
        loss = tf.reduce_mean(tf.nn.softplus(-kept))
    grads = tape.gradient(loss, gan.generator.trainable_variables)
    assert np.ptp(f.numpy()) > 0.01  # distinct ranks
    gan.generator_step(8, 8)
    for w0, grad, w1 in zip(before, grads, weights(gan.generator)):
        np.testing.assert_allclose(w1, w0 - 0.5 * grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gan.g_loss_tracker.result(), loss, rtol=1e-5)


@pytest.mark.parametrize("batch", [16, 15])  # 15: uneven shares (8 + 7 rows)
def test_top_k_gives_the_single_device_update_on_two_replicas(batch):
    def run(strategy):
        with strategy.scope():
            g, d = tiny_nets(seed=21)
            gan = tfgan_orig.GAN(g, d, 4, seed=5)
            gan.compile(
                keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2),
                regularizers=[regularizers.TopK(keep_min=0.3, decay=0.5, decay_steps=1)],
            )
        ds = tf.data.Dataset.from_tensor_slices(points(45)).batch(batch)
        history = gan.fit(ds, epochs=2, verbose=0).history
        return weights(gan.generator) + weights(gan.discriminator), history

    one, two = two_strategies(run)
    assert_same_training(one, two)
    # And top-k changed training (the test is not blind): the plain run differs.
    g, d = tiny_nets(seed=21)
    plain = tfgan_orig.GAN(g, d, 4, seed=5)
    plain.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    plain.fit(tf.data.Dataset.from_tensor_slices(points(45)).batch(batch), epochs=2, verbose=0)
    assert not np.allclose(weights(plain.generator)[0], one[0][0], atol=1e-6)


def test_top_k_arguments_are_validated_and_round_trip(tmp_path):
    for kwargs, match in [
        ({"keep_min": 0.0}, "keep_min"),
        ({"keep_min": 1.5}, "keep_min"),
        ({"keep_min": 0.5, "decay": 0.0}, "decay"),
        ({"keep_min": 0.5, "decay_steps": 0}, "decay_steps"),
    ]:
        with pytest.raises(ValueError, match=match):
            regularizers.TopK(**kwargs)
    gan = tfgan_orig.GAN(*tiny_nets(), 4, seed=0)
    gan.compile(regularizers=[regularizers.TopK(0.5, 0.9, 7)])
    gan.fit(points(), batch_size=8, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert [repr(r) for r in loaded.regularizers] == ["TopK(keep_min=0.5, decay=0.9, decay_steps=7)"]
