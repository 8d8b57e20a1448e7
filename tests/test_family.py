"""The GAN family's training mechanisms (WGAN clipping, gradient penalty, unrolling, instance noise,
generator EMA, AC-GAN), their 1- vs 2-replica equivalence, and every variant training under two
replicas and exporting."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import mirrored_strategy

import tfgan_orig
from tfgan_orig import export, networks, regularizers


def tiny_nets(latent_dim=4, dim=3, width=8, seed=0, num_classes=None, aux=False):
    init = lambda i: keras.initializers.GlorotUniform(seed + i)  # noqa: E731
    z = keras.Input((latent_dim,))
    g_in, h = z, z
    if num_classes is not None:
        label = keras.Input((), dtype="int32")
        g_in = [z, label]
        h = keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, 2)(label)])
    h = keras.layers.Dense(width, activation="relu", kernel_initializer=init(1))(h)
    g = keras.Model(g_in, keras.layers.Dense(dim, kernel_initializer=init(2))(h), name="g")
    x = keras.Input((dim,))
    h = keras.layers.Dense(width, activation="relu", kernel_initializer=init(3))(x)
    logit = keras.layers.Dense(1, kernel_initializer=init(4))(h)
    if aux:
        cls = keras.layers.Dense(num_classes, kernel_initializer=init(5), name="class_head")(h)
        return g, keras.Model(x, [logit, cls], name="d")
    return g, keras.Model(x, logit, name="d")


def points(n=32, dim=3, seed=2):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def weights(model):
    return [w.numpy().copy() for w in model.weights]


# ------------------------------------------------------------------------------ WGAN / WGAN-GP
def test_wgan_clipping_keeps_every_critic_weight_in_range():
    c = 0.01
    with mirrored_strategy().scope():
        g, d = tiny_nets()
        gan = tfgan_orig.GAN(g, d, 4, d_steps=2, seed=1)
        gan.compile("rmsprop", "rmsprop", loss="wasserstein", clip_value=c)
    assert max(np.abs(w).max() for w in weights(d)) > c  # the initial weights are outside
    gan.fit(tf.data.Dataset.from_tensor_slices(points()).batch(16, drop_remainder=True), verbose=0)
    trained = [v.numpy() for v in d.trainable_variables]
    assert all(np.abs(w).max() <= c for w in trained)
    assert any(np.isclose(np.abs(w).max(), c) for w in trained)  # the clip was active


def linear_critic(w, b=0.3):
    d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="linear_critic")
    d.layers[0].set_weights([np.asarray(w, np.float32).reshape(3, 1), np.array([b], np.float32)])
    return d


def test_gradient_penalty_equals_hand_computation_on_a_linear_critic():
    w = np.array([0.5, -2.0, 1.0], np.float32)
    g, _ = tiny_nets()
    gan = tfgan_orig.GAN(g, linear_critic(w), 4, seed=0)
    gan.compile(loss="wasserstein", gradient_penalty_weight=10.0)
    real, fake = points(5), points(5, seed=3)
    # For D(x) = w.x + b the input gradient is w at every x_hat, whatever alpha is.
    expected = (np.sqrt(np.sum(w**2) + 1e-10) - 1.0) ** 2
    (gp,) = [r for r in gan.regularizers if isinstance(r, regularizers.GradientPenalty)]
    penalty = gp.penalty(gan.step_context(0), tf.constant(real), tf.constant(fake), None).numpy()
    np.testing.assert_allclose(penalty, np.full(5, expected), rtol=1e-6)


def test_gradient_penalty_is_added_to_the_per_example_critic_loss():
    w = np.array([0.5, -2.0, 1.0], np.float32)
    expected = (np.sqrt(np.sum(w**2) + 1e-10) - 1.0) ** 2

    def first_d_loss(weight):
        g, _ = tiny_nets()
        gan = tfgan_orig.GAN(g, linear_critic(w), 4, seed=0)
        gan.compile(loss="wasserstein", gradient_penalty_weight=weight)
        ds = tf.data.Dataset.from_tensor_slices(points(8)).batch(8, drop_remainder=True)
        return gan.fit(ds, verbose=0).history["d_loss"][0]

    np.testing.assert_allclose(first_d_loss(10.0) - first_d_loss(0.0), 10.0 * expected, rtol=1e-4)


# The penalty's alpha (uniform, one per example) and interpolation are checked through
# `GradientPenalty.penalty` on a nonlinear critic in tests/test_correctness.py (a linear critic's
# gradient is the same at every x_hat, so the tests above cannot see alpha).


# ------------------------------------------------------------------------------ unrolled GAN
def scalar_gan(unrolled_steps, a=0.7, w=1.3, b=-0.2, lr=0.5):
    g = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False)], name="scalar_g"
    )
    g.set_weights([np.array([[a]], np.float32)])
    d = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name="scalar_d")
    d.set_weights([np.array([[w]], np.float32), np.array([b], np.float32)])
    gan = tfgan_orig.GAN(g, d, 1, seed=11)
    gan.compile(
        keras.optimizers.SGD(0.1),
        keras.optimizers.SGD(1.0),
        loss="non_saturating",
        unrolled_steps=unrolled_steps,
        unrolled_learning_rate=lr,
    )
    return gan


def g_gradient(gan, real):
    """The gradient of G's one weight that `generator_step` applied (SGD with lr 1)."""
    before = gan.generator.get_weights()[0].copy()
    d_before = weights(gan.discriminator)
    gan.generator_step(len(real), tf.constant(float(len(real))), tf.constant(real), None)
    for x, y in zip(d_before, weights(gan.discriminator)):
        np.testing.assert_array_equal(x, y)  # G's step never changes D
    return (before - gan.generator.get_weights()[0]).item()


def test_unrolled_generator_gradient_matches_a_direct_computation_for_k1():
    real = np.array([[1.0], [2.0], [0.5], [-1.0]], np.float32)
    a0, w0, b0, lr = 0.7, 1.3, -0.2, 0.5
    gan = scalar_gan(1, a0, w0, b0, lr)
    z, _ = gan._training_noise(4, gan.d_steps)  # the noise generator_step draws at this step
    unrolled = g_gradient(gan, real)

    # Direct: theta_1 = theta_0 - lr grad_theta L_D(theta_0, a); G's loss at theta_1; d/da.
    a = tf.Variable(a0)
    w, b = tf.constant(w0), tf.constant(b0)
    with tf.GradientTape() as outer:
        fake = a * z[:, 0]
        with tf.GradientTape() as inner:
            inner.watch([w, b])
            l_d = tf.reduce_mean(  # the cross-entropy J(D) with its 1/2 (losses.py)
                0.5 * (tf.nn.softplus(-(w * real[:, 0] + b)) + tf.nn.softplus(w * fake + b))
            )
        gw, gb = inner.gradient(l_d, [w, b])
        w1, b1 = w - lr * gw, b - lr * gb
        l_g = tf.reduce_mean(tf.nn.softplus(-(w1 * fake + b1)))
    direct = outer.gradient(l_g, a).numpy()
    np.testing.assert_allclose(unrolled, direct, rtol=1e-5)

    plain = g_gradient(scalar_gan(0, a0, w0, b0, lr), real)
    with tf.GradientTape() as tape:
        l_plain = tf.reduce_mean(tf.nn.softplus(-(w * (a * z[:, 0]) + b)))
    np.testing.assert_allclose(plain, tape.gradient(l_plain, a).numpy(), rtol=1e-5)
    assert abs(unrolled - plain) > 1e-3 * abs(plain)


# ------------------------------------------------------------------------------ instance noise
def test_instance_noise_magnitude_follows_its_schedule():
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, 4, seed=0)
    gan.compile(instance_noise_std=0.5, instance_noise_decay_steps=10)
    (noise,) = gan.regularizers
    assert isinstance(noise, regularizers.InstanceNoise)
    np.testing.assert_allclose(
        [noise.stddev_at(t).numpy() for t in (0, 5, 10, 20)], [0.5, 0.25, 0.0, 0.0]
    )
    x = tf.zeros((4000, 3))
    for step, std in [(0, 0.5), (5, 0.25), (8, 0.1), (10, 0.0)]:
        gan.step_counter.assign(step)
        real = noise.d_inputs(gan.step_context(0), x, None, "real")[0].numpy()
        fake = noise.d_inputs(gan.step_context(0), x, None, "fake")[0].numpy()
        np.testing.assert_allclose(real.std(), std, rtol=0.03, atol=1e-7)
        np.testing.assert_allclose(fake.std(), std, rtol=0.03, atol=1e-7)
        if std:
            assert not np.allclose(real, fake)  # real and fake get independent noise
    gan.compile(instance_noise_std=0.3)  # constant without decay steps
    gan.step_counter.assign(10**6)
    (noise,) = gan.regularizers
    np.testing.assert_allclose(noise.stddev_at(gan.step_counter).numpy(), 0.3)
    gan.compile()  # off: inputs pass unchanged
    assert gan.regularizers == []
    assert regularizers.InstanceNoise(0.0).d_inputs(gan.step_context(0), x, None, "real")[0] is x


def test_family_options_are_validated():
    g, d = tiny_nets()
    gan = tfgan_orig.GAN(g, d, 4)
    for kwargs, match in [
        (dict(loss="wasserstein", label_smoothing=0.1), "label_smoothing"),
        (dict(gradient_penalty_weight=-1.0), "gradient_penalty_weight"),
        (dict(clip_value=0.0), "clip_value"),
        (dict(instance_noise_std=-0.1), "instance_noise_std"),
        (dict(instance_noise_decay_steps=0), "instance_noise_decay_steps"),
        (dict(unrolled_steps=-1), "unrolled_steps"),
        (dict(loss="ebgan", ebgan_margin=0.0), "ebgan_margin"),
    ]:
        with pytest.raises(ValueError, match=match):
            gan.compile(**kwargs)
    with pytest.raises(ValueError, match="ema_decay"):
        tfgan_orig.GAN(g, d, 4, ema_decay=1.0)
    with pytest.raises(ValueError, match="num_classes"):
        tfgan_orig.GAN(g, d, 4, aux_classifier=True)
    with pytest.raises(ValueError, match="ema_decay"):
        gan.generate(2, seed=0, use_ema=True)


# ------------------------------------------------------------------------------ EMA, AC-GAN
def test_generator_ema_is_the_moving_average_under_two_replicas():
    with mirrored_strategy().scope():
        g, d = tiny_nets()
        gan = tfgan_orig.GAN(g, d, 4, seed=0, ema_decay=0.75)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    before = [v.numpy().copy() for v in g.trainable_variables]
    gan.fit(tf.data.Dataset.from_tensor_slices(points(8)).batch(8, drop_remainder=True), verbose=0)
    after = [v.numpy() for v in g.trainable_variables]
    ema = [v.numpy() for v in gan.ema_generator.weights]
    assert len(ema) == len(after) and not gan.ema_generator.trainable_weights
    for w0, w1, e in zip(before, after, ema):
        assert not np.allclose(w0, w1)
        np.testing.assert_allclose(e, 0.75 * w0 + 0.25 * w1, rtol=1e-5, atol=1e-7)
    assert not np.allclose(gan.generate(4, seed=1, use_ema=True), gan.generate(4, seed=1))


def test_acgan_class_head_learns_only_from_the_auxiliary_loss():
    def class_head_change(weight):
        g, d = tiny_nets(num_classes=3, aux=True)
        gan = tfgan_orig.GAN(
            g, d, 4, seed=0, num_classes=3, aux_classifier=True, aux_classifier_weight=weight
        )
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        head = d.get_layer("class_head")
        before = head.get_weights()[0].copy()
        ds = tf.data.Dataset.from_tensor_slices((points(8), np.arange(8) % 3)).batch(8)
        gan.fit(ds, verbose=0)
        return np.abs(head.get_weights()[0] - before).max()

    assert class_head_change(0.0) == 0.0
    assert class_head_change(1.0) > 0.0


# ------------------------------------------------------------------------------ 1 vs 2 replicas
@pytest.mark.slow
def test_family_options_give_the_single_device_update_on_two_replicas():
    """GP alphas, instance noise and the unrolled steps' all-reduced gradients are replica-safe."""

    def run(strategy):
        with strategy.scope():
            g, d = tiny_nets(seed=20)
            gan = tfgan_orig.GAN(g, d, 4, d_steps=2, seed=7, ema_decay=0.9)
            gan.compile(
                keras.optimizers.Adam(1e-2),
                keras.optimizers.Adam(1e-2),
                loss="wasserstein",
                gradient_penalty_weight=1.0,
                instance_noise_std=0.2,
                instance_noise_decay_steps=5,
                unrolled_steps=2,
                unrolled_learning_rate=0.1,
            )
        ds = tf.data.Dataset.from_tensor_slices(points(64)).batch(16, drop_remainder=True)
        history = gan.fit(ds, epochs=1, verbose=0).history
        return weights(g) + weights(d) + weights(gan.ema_generator), history

    (w1, h1), (w2, h2) = run(tf.distribute.get_strategy()), run(mirrored_strategy())
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(h1[name], h2[name], rtol=1e-4, err_msg=name)


# ------------------------------------------------------------------------------ every variant
IMAGE = (28, 28, 1)


def mlp_variant(**d_kwargs):
    def build(num_classes=None):
        g = networks.mlp_generator(2, 2, hidden_units=(8, 8), seed=0)
        if d_kwargs.get("ebgan"):
            d = networks.ebgan_discriminator((2,), hidden_units=(8,), code_dim=2, seed=1)
        else:
            d = networks.maxout_discriminator(2, units=8, pieces=2, num_layers=2, seed=1)
        return g, d

    return build


def dcgan_variant(g_kwargs=None, d_kwargs=None):
    def build(num_classes=None):
        g = networks.dcgan_generator(
            8, IMAGE, base_filters=4, num_classes=num_classes, seed=0, **(g_kwargs or {})
        )
        d = networks.dcgan_discriminator(
            IMAGE, base_filters=4, num_classes=num_classes, seed=1, **(d_kwargs or {})
        )
        return g, d

    return build


VARIANTS = {
    "wgan_clip": (mlp_variant(), {}, dict(loss="wasserstein", clip_value=0.05, d_optimizer="rmsprop")),
    "wgan_gp": (mlp_variant(), {}, dict(loss="wasserstein", gradient_penalty_weight=10.0)),
    "lsgan_smoothed": (mlp_variant(), {}, dict(loss="least_squares", label_smoothing=0.1)),
    "hinge": (mlp_variant(), {}, dict(loss="hinge")),
    "ebgan": (mlp_variant(ebgan=True), {}, dict(loss="ebgan", ebgan_margin=0.5)),
    "unrolled_noise_ema": (
        mlp_variant(),
        dict(ema_decay=0.99),
        dict(unrolled_steps=2, instance_noise_std=0.1, instance_noise_decay_steps=10),
    ),
    "dcgan_conditional": (dcgan_variant(), dict(num_classes=10), dict(label_smoothing=0.1)),
    "dcgan_acgan_sn": (
        dcgan_variant(d_kwargs=dict(aux_classifier=True, spectral_norm=True, normalization="none")),
        dict(num_classes=10, aux_classifier=True),
        dict(loss="hinge"),
    ),
    "dcgan_vbn_minibatch": (
        dcgan_variant(
            g_kwargs=dict(normalization="virtual_batch", reference_size=4),
            d_kwargs=dict(minibatch_discrimination=True, minibatch_kernels=4),
        ),
        dict(ema_decay=0.9),
        {},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_trains_on_two_replicas_and_exports(name, tmp_path):
    build, gan_kwargs, compile_kwargs = VARIANTS[name]
    num_classes = gan_kwargs.get("num_classes")
    image = build is not None and name.startswith("dcgan")
    with mirrored_strategy().scope():
        g, d = build(num_classes)
        gan = tfgan_orig.GAN(g, d, 8 if image else 2, seed=3, **gan_kwargs)
        gan.compile(**compile_kwargs)
    if image:
        x = np.random.default_rng(0).uniform(-1, 1, size=(16,) + IMAGE).astype(np.float32)
    else:
        x = points(16, dim=2)
    data = (x, np.arange(16, dtype=np.int32) % 10) if num_classes else x
    before = weights(g)
    history = gan.fit(
        tf.data.Dataset.from_tensor_slices(data).batch(8, drop_remainder=True), verbose=0
    ).history
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    assert any(not np.array_equal(a, b) for a, b in zip(before, weights(g)))
    assert int(gan.step_counter.numpy()) == 2

    use_ema = gan.ema_generator is not None
    path = export.export_generator(
        gan,
        str(tmp_path / "export"),
        output_range=(-1.0, 1.0) if image else None,
        warmup=False,
        use_ema=use_ema,
    )
    served = tf.saved_model.load(path).signatures["serving_default"]
    z = gan.sample_latent(3, 0)
    inputs = {"z": z}
    if num_classes:
        inputs["labels"] = tf.constant([0, 1, 2], tf.int32)
    out = served(**inputs)["images"].numpy()
    expected = gan.generate(3, seed=0, labels=[0, 1, 2] if num_classes else None, use_ema=use_ema)
    if image:
        expected = (expected + 1.0) / 2.0  # the export maps [-1, 1] onto [0, 1]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ configs
def _config(name, **overrides):
    import runpy

    config = runpy.run_path(f"configs/{name}.py")["get_config"]()
    for dotted, value in overrides.items():
        node = config
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return config


def test_family_configs_build_the_gan_they_describe():
    from tfgan_orig import train_lib

    for name in ("fashion_mnist_dcgan", "fashion_mnist_cgan", "cifar10_dcgan"):
        config = _config(name, model__base_filters=4)
        train_lib.validate_config(config)
        gan = train_lib.build_gan(config, num_steps_per_epoch=1)
        assert gan.generator.output.shape[1:] == tfgan_orig.data.info(config.data.name).shape
        assert gan.num_classes == (10 if name == "fashion_mnist_cgan" else None)
        assert (gan.ema_generator is not None) == (name == "cifar10_dcgan")
    gan = train_lib.build_gan(_config("grid25_wgan_gp"), num_steps_per_epoch=1)
    assert (gan.loss_name, gan.gradient_penalty_weight, gan.d_steps) == ("wasserstein", 10.0, 5)
    gan = train_lib.build_gan(_config("ring8_unrolled"), num_steps_per_epoch=1)
    assert (gan.unrolled_steps, gan.unrolled_learning_rate) == (5, 1e-3)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(loss__name="ebgan"), "ebgan"),
        (dict(loss__name="hinge", loss__label_smoothing=0.1), "label_smoothing"),
        (dict(model__aux_classifier=True), "aux_classifier"),
        (dict(model__g_normalization="group"), "g_normalization"),
        (dict(loss__gradient_penalty_weight=-1.0), "gradient_penalty_weight"),
    ],
)
def test_family_config_errors_are_named(overrides, match):
    from tfgan_orig import train_lib

    with pytest.raises(ValueError, match=match):
        train_lib.validate_config(_config("fashion_mnist_dcgan", **overrides))
