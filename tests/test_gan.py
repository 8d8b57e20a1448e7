"""GAN model invariants: Algorithm 1's update counts, learning a 1-D Gaussian, user models,
save/load, determinism and the 2-replica equivalence."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TWO_CPUS, mirrored_strategy, tiny_nets

import tfgan_orig
from tfgan_orig import networks


def weights(model):
    return [w.numpy().copy() for w in model.weights]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


class Snapshots(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.model.snaps.append((weights(self.model.discriminator), weights(self.model.generator)))


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_updates_per_generator_update(k):
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, latent_dim=4, d_steps=k, seed=1)
    gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    gan.snaps = [(weights(d), weights(g))]
    x = np.random.default_rng(0).normal(size=(8 * k * 4, 3)).astype(np.float32)
    steps = 4
    ds = tf.data.Dataset.from_tensor_slices(x).batch(8 * k, drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0, callbacks=[Snapshots()])
    assert int(gan.d_optimizer.iterations) == k * steps
    assert int(gan.g_optimizer.iterations) == steps
    assert int(gan.step_counter) == steps
    for (d0, g0), (d1, g1) in zip(gan.snaps, gan.snaps[1:]):
        assert changed(d0, d1) and changed(g0, g1)


def test_d_steps_split_the_batch_into_k_minibatches():
    """k=2 on a batch of 2m equals two D updates on examples 0::2 and 1::2 (then one G update)."""
    x = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    g, d = tiny_nets(seed=10)
    gan = tfgan_orig.GAN(g, d, 4, d_steps=2, seed=5)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    g2, d2 = tiny_nets(seed=10)
    ref = tfgan_orig.GAN(g2, d2, 4, d_steps=2, seed=5)
    ref.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))

    gan.fit(tf.data.Dataset.from_tensors(x), verbose=0)
    m = tf.constant(4.0)
    ref.discriminator_step(tf.constant(x[0::2]), None, 0, m)
    ref.discriminator_step(tf.constant(x[1::2]), None, 1, m)
    ref.generator_step(4, m)
    for a, b in zip(weights(gan.discriminator) + weights(gan.generator), weights(d2) + weights(g2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_short_fit_learns_a_1d_gaussian():
    """The paper's Figure 1 setting: G's samples move to the data's mean and std."""
    tf.keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(1)])
    d = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)]
    )
    gan = tfgan_orig.GAN(g, d, latent_dim=1, noise="uniform", seed=2, d_steps=2)
    gan.compile(keras.optimizers.Adam(2e-3, beta_1=0.5), keras.optimizers.Adam(2e-3, beta_1=0.5))
    before = gan.generate(2000, seed=0)
    x, _ = tfgan_orig.data.gauss1d(num=25600, seed=0, mean=3.0, std=0.5)
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(25600, seed=0).batch(128, drop_remainder=True)
    gan.fit(ds, epochs=8, verbose=0)
    after = gan.generate(5000, seed=0)
    assert abs(before.mean() - 3.0) > 2.0  # starts far away
    assert abs(after.mean() - 3.0) < 0.25, after.mean()
    # GAN dynamics oscillate around the target; measured here 0.44-0.53 over epochs 5-8.
    assert abs(after.std() - 0.5) < 0.15, after.std()


class UserGenerator(keras.Model):
    """A subclassed user model, as a user would write one."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.out = keras.layers.Dense(6 * 6, activation="sigmoid")
        self.reshape = keras.layers.Reshape((6, 6, 1))

    def call(self, z, training=False):
        return self.reshape(self.out(self.hidden(z)))


def test_user_models_fit_and_keras_file_round_trip(tmp_path):
    d = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = tfgan_orig.GAN(UserGenerator(), d, latent_dim=5, seed=3)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), loss="minimax")
    images = np.random.default_rng(0).uniform(size=(32, 6, 6, 1)).astype(np.float32)
    labels = np.zeros(32, np.int32)
    # (image, label) pairs are accepted; labels are ignored by an unconditional GAN.
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8, drop_remainder=True)
    history = gan.fit(ds, epochs=2, verbose=0)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(history.history[name]) == 2 and np.isfinite(history.history[name]).all()
    assert gan(tf.zeros((2, 5))).shape == (2, 6, 6, 1)

    # The paper's nets (custom Maxout / dropout layers) round-trip through a .keras file.
    paper = tfgan_orig.GAN(
        networks.paper_generator(latent_dim=8, hidden_units=(16,), output_shape=(4, 4, 1)),
        networks.paper_discriminator(input_shape=(4, 4, 1), units=8, pieces=2),
        latent_dim=8,
        noise="uniform",
        seed=4,
    )
    paper.compile(tfgan_orig.schedules.paper_sgd(10), tfgan_orig.schedules.paper_sgd(10))
    paper.fit(np.random.default_rng(1).uniform(size=(16, 4, 4, 1)).astype(np.float32), batch_size=8, verbose=0)
    path = str(tmp_path / "paper.keras")
    paper.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, tfgan_orig.GAN)
    assert loaded.noise == "uniform" and loaded.latent_dim == 8
    np.testing.assert_array_equal(loaded.generate(7, seed=11), paper.generate(7, seed=11))
    assert int(loaded.step_counter) == int(paper.step_counter) == 2


def test_generate_is_deterministic_by_seed_and_noise_types():
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, 4, noise="uniform")
    a, b, c = gan.generate(5, seed=1), gan.generate(5, seed=1), gan.generate(5, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    z = gan.sample_latent(20000, 0).numpy()
    assert np.abs(z).max() <= np.sqrt(3.0) and abs(z.var() - 1.0) < 0.03
    assert gan.generate(2500, seed=0, batch_size=1000).shape == (2500, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(noise="gaussian"), "Valid choices: \\['normal', 'uniform'\\]"),
        (dict(d_steps=0), "d_steps=0"),
        (dict(latent_dim=0), "latent_dim=0"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    g, d = tiny_nets()
    args = dict(generator=g, discriminator=d, latent_dim=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        tfgan_orig.GAN(**args)


def _two_runs(loss):
    def run(strategy):
        with strategy.scope():
            g, d = tiny_nets(seed=20)
            gan = tfgan_orig.GAN(g, d, 4, d_steps=2, seed=7)
            gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), loss=loss)
        x = np.random.default_rng(2).normal(size=(64, 3)).astype(np.float32)
        ds = tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)
        history = gan.fit(ds, epochs=2, verbose=0).history
        return weights(gan.generator) + weights(gan.discriminator), history

    return run(tf.distribute.get_strategy()), run(mirrored_strategy())


def test_two_replicas_give_the_single_device_weights_and_logs():
    (w1, h1), (w2, h2) = _two_runs("non_saturating")
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(h1[name], h2[name], rtol=1e-5, err_msg=name)


def test_replicas_draw_different_noise():
    strategy = mirrored_strategy()
    with strategy.scope():
        g, d = tiny_nets()
        gan = tfgan_orig.GAN(g, d, 4, seed=1)

    @tf.function
    def draw():
        return strategy.run(lambda: gan._training_noise(8, 0)[0])

    z0, z1 = strategy.experimental_local_results(draw())
    assert not np.allclose(z0.numpy(), z1.numpy())
    # Together they are the single-device global batch for that (seed, step, draw).
    np.testing.assert_allclose(np.concatenate([z0, z1]), gan._training_noise(16, 0)[0].numpy(), rtol=1e-6)


def test_rpgan_generator_step_pairs_real_and_fake_rows():
    """RpGAN's G loss mean softplus(D(x_r,i) - D(G(z_i))) uses the last real minibatch, row by row."""
    a0, w0, b0 = 0.7, 1.3, -0.2
    g = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    g.set_weights([np.array([[a0]], np.float32)])
    d = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    d.set_weights([np.array([[w0]], np.float32), np.array([b0], np.float32)])
    gan = tfgan_orig.GAN(g, d, 1, seed=11)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(1.0), loss="rpgan")
    real = np.array([[1.0], [2.0], [0.5], [-1.0]], np.float32)
    z, _ = gan._training_noise(4, gan.d_steps)  # the noise generator_step draws at this step
    gan.generator_step(4, tf.constant(4.0), tf.constant(real), None)
    step = a0 - g.get_weights()[0].item()  # SGD(1): the gradient

    a = tf.Variable(a0)
    with tf.GradientTape() as tape:
        paired = tf.reduce_mean(tf.nn.softplus((w0 * real[:, 0] + b0) - (w0 * a * z[:, 0] + b0)))
    np.testing.assert_allclose(step, tape.gradient(paired, a).numpy(), rtol=1e-5)
    with tf.GradientTape() as tape:  # all pairs instead of row-by-row pairs: a different gradient
        d_r, d_f = w0 * real[:, 0] + b0, w0 * a * z[:, 0] + b0
        all_pairs = tf.reduce_mean(tf.nn.softplus(d_r[:, None] - d_f[None, :]))
    assert abs(step - tape.gradient(all_pairs, a).numpy()) > 1e-3
    with pytest.raises(ValueError, match="real"):
        gan.generator_step(4, tf.constant(4.0))
