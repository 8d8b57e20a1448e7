"""The package's networks: constructors, their contracts (the DCGAN/EBGAN/conditional nets, spectral
normalization, VBN generators), and their behaviour under a strategy."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import mirrored_strategy

import tfgan_orig
from tfgan_orig import networks

# ----------------------------------------------------------------------------- batch norm, replicas
IMAGE = (16, 16, 1)  # DCGAN plan 4 * 2**2: G has two batch norms, D one


def _dcgan_nets():
    g = networks.dcgan_generator(latent_dim=8, output_shape=IMAGE, base_filters=4, seed=1)
    d = networks.dcgan_discriminator(input_shape=IMAGE, base_filters=4, seed=2)
    return g, d, 8, np.random.default_rng(3).uniform(-1, 1, size=(32,) + IMAGE)


def _mixture_nets():
    g = networks.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(16, 16), seed=1)
    d = networks.maxout_discriminator(input_dim=2, units=8, pieces=2, num_layers=1, seed=2)
    return g, d, 2, np.random.default_rng(3).normal(size=(32, 2))


def _dcgan_minibatch_nets():
    """DCGAN D with minibatch discrimination: each example's features depend on the others."""
    g, _, latent_dim, x = _dcgan_nets()
    d = networks.dcgan_discriminator(
        input_shape=IMAGE, base_filters=4, seed=2, minibatch_discrimination=True,
        minibatch_kernels=6, minibatch_kernel_dim=3,
    )
    return g, d, latent_dim, x


NETS = {"dcgan": _dcgan_nets, "mixture": _mixture_nets, "dcgan_minibatch": _dcgan_minibatch_nets}


def _fit(strategy, nets, d_steps=1):
    with strategy.scope():
        g, d, latent_dim, x = NETS[nets]()
        gan = tfgan_orig.GAN(g, d, latent_dim, d_steps=d_steps, seed=7)
        # SGD, not Adam: a bias followed by batch norm has a zero gradient up to rounding, which
        # Adam's g / sqrt(v) would blow up to +-lr (noise, not a replica effect).
        gan.compile(keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.SGD(0.1, momentum=0.5))
    ds = tf.data.Dataset.from_tensor_slices(x.astype(np.float32)).batch(8 * d_steps, drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0)
    return gan


def _batch_norm_layers(model):
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.mark.parametrize("nets", sorted(NETS))
def test_package_networks_use_synchronized_batch_norm(nets):
    g, d, _, _ = NETS[nets]()
    bns = _batch_norm_layers(g) + _batch_norm_layers(d)
    assert bns, "these nets are the batch-norm cases"
    assert all(bn.synchronized for bn in bns), [bn.name for bn in bns if not bn.synchronized]


@pytest.mark.parametrize(
    "nets,d_steps", [("dcgan", 1), ("dcgan", 2), ("mixture", 1), ("dcgan_minibatch", 1)]
)
def test_batch_norm_nets_one_vs_two_replicas_same_weights_and_moving_statistics(nets, d_steps):
    """Batch statistics over the global batch: 2 replicas train exactly as 1 device, and every
    replica holds the same moving statistics (reads take replica 0's)."""
    one = _fit(tf.distribute.get_strategy(), nets, d_steps)
    two = _fit(mirrored_strategy(), nets, d_steps)
    assert len(one.weights) == len(two.weights)
    for a, b in zip(one.weights, two.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{nets}: {a.path}")
    moving = [
        w for w in two.generator.non_trainable_weights + two.discriminator.non_trainable_weights
        if "moving" in w.path
    ]
    assert moving
    for w in moving:
        copies = [v.numpy() for v in w.value.values]  # the per-replica copies of a MirroredVariable
        assert len(copies) == 2
        np.testing.assert_array_equal(copies[0], copies[1], err_msg=w.path)
        # Trained away from the initial values (not trivially equal).
        assert not np.allclose(copies[0], 0.0) and not np.allclose(copies[0], 1.0), w.path


def test_unsynchronized_batch_norm_weights_load_into_the_synchronized_nets(tmp_path):
    """Checkpoints and weight files written before batch norm was synchronized still load: the
    variables (gamma, beta, moving mean and variance) are the same; only the statistics' scope
    changed."""
    g = networks.dcgan_generator(latent_dim=8, output_shape=IMAGE, base_filters=4, seed=1)
    old = keras.models.clone_model(
        g,
        clone_function=lambda layer: (
            keras.layers.BatchNormalization.from_config({**layer.get_config(), "synchronized": False})
            if isinstance(layer, keras.layers.BatchNormalization)
            else layer.__class__.from_config(layer.get_config())
        ),
    )
    old.set_weights([np.random.default_rng(i).uniform(0.5, 1.5, w.shape) for i, w in enumerate(old.weights)])
    assert not any(bn.synchronized for bn in _batch_norm_layers(old))
    tf.train.Checkpoint(generator=old).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(generator=g).read(str(tmp_path / "ckpt")).assert_consumed()
    for a, b in zip(old.weights, g.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    old.save_weights(str(tmp_path / "g.weights.h5"))
    fresh = networks.dcgan_generator(latent_dim=8, output_shape=IMAGE, base_filters=4, seed=5)
    fresh.load_weights(str(tmp_path / "g.weights.h5"))
    for a, b in zip(old.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ----------------------------------------------------------------------------- output-bias init
def test_pixel_mean_logit_bias_clips_like_pylearn2():
    """pylearn2 (`init_bias_target_marginals`): `logit(clip(mean, 1e-7, 1 - 1e-7))`."""
    images = np.zeros((4, 2, 2, 1), np.float32)
    images[:, 0, 1] = 1.0  # always on
    images[0, 1, 0] = 1.0  # on in 1 of 4 images: mean 0.25
    images[:, 1, 1] = 0.5  # mean 0.5
    bias = networks.pixel_mean_logit_bias(images)
    # Golden: logit(1e-7) = ln(1e-7 / (1 - 1e-7)) = -16.11809560, logit(0.25) = -ln 3.
    np.testing.assert_allclose(bias, [-16.1180956, 16.1180956, -1.0986123, 0.0], rtol=1e-6, atol=1e-6)
    assert bias.dtype == np.float32


# ------------------------------------------------------------------- DCGAN, EBGAN, VBN, conditional nets
RNG = np.random.default_rng(0)


def test_vbn_generator_samples_are_independent_of_the_batch_in_training():
    g = networks.dcgan_generator(
        8, (28, 28, 1), base_filters=4, normalization="virtual_batch", reference_size=6, seed=0
    )
    z = RNG.normal(size=(4, 8)).astype(np.float32)
    full = g(z, training=True).numpy()
    alone = g(z[2:3], training=True).numpy()
    assert full.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(full[2:3], alone, rtol=1e-4, atol=1e-5)
    # Batch norm in training mode, by contrast, mixes the batch.
    g_bn = networks.dcgan_generator(8, (28, 28, 1), base_filters=4, seed=0)
    assert not np.allclose(g_bn(z, training=True).numpy()[2:3], g_bn(z[2:3], training=True).numpy())


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes_and_ranges(shape):
    g = networks.dcgan_generator(8, shape, base_filters=4, seed=0)
    d = networks.dcgan_discriminator(shape, base_filters=4, seed=0)
    x = g(RNG.normal(size=(2, 8)).astype(np.float32) * 50.0).numpy()
    assert x.shape == (2,) + shape and x.dtype == np.float32
    assert np.all(np.abs(x) <= 1.0)  # tanh
    assert d(x).shape == (2, 1)


def test_dcgan_rejects_unsupported_shapes():
    with pytest.raises(ValueError, match="Received"):
        networks.dcgan_generator(8, (30, 30, 1))
    with pytest.raises(ValueError, match="aux_classifier"):
        networks.dcgan_discriminator((28, 28, 1), aux_classifier=True)
    with pytest.raises(ValueError, match="normalization"):
        networks.dcgan_generator(8, (28, 28, 1), normalization="group")


def test_conditional_nets_use_the_labels():
    g = networks.dcgan_generator(8, (28, 28, 1), base_filters=4, num_classes=10, seed=0)
    d = networks.dcgan_discriminator((28, 28, 1), base_filters=4, num_classes=10, seed=0)
    z = tf.constant(np.repeat(RNG.normal(size=(1, 8)), 2, axis=0).astype(np.float32))
    x = g([z, tf.constant([1, 7])], training=False).numpy()
    assert not np.allclose(x[0], x[1])  # same z, different class
    same_x = tf.constant(np.repeat(x[:1], 2, axis=0))
    logits = d([same_x, tf.constant([1, 7])]).numpy()
    assert logits.shape == (2, 1) and logits[0, 0] != logits[1, 0]  # projection on the label
    ac = networks.dcgan_discriminator(
        (28, 28, 1), base_filters=4, num_classes=10, aux_classifier=True, seed=0
    )
    logit, class_logits = ac(x)
    assert logit.shape == (2, 1) and class_logits.shape == (2, 10)


def test_spectral_norm_discriminator_kernels_have_unit_spectral_norm():
    d = networks.dcgan_discriminator(
        (28, 28, 1), base_filters=4, spectral_norm=True, normalization="none", seed=0
    )
    x = RNG.normal(size=(2, 28, 28, 1)).astype(np.float32)
    for _ in range(30):  # each training call runs one power iteration and renormalizes
        d(x, training=True)
    wrapped = [layer for layer in d.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        np.testing.assert_allclose(sigma, 1.0, rtol=0.05, err_msg=layer.name)


def test_ebgan_discriminator_returns_a_nonnegative_energy():
    for shape in [(28, 28, 1), (2,)]:
        d = networks.ebgan_discriminator(shape, base_filters=4, hidden_units=(8,), code_dim=4)
        energy = d(RNG.normal(size=(3,) + shape).astype(np.float32)).numpy()
        assert energy.shape == (3, 1) and np.all(energy >= 0.0)


# ------------------------------------------------------------- 2-D nets: PacGAN's init and momentum
def _mixture_nets_from(config_path, **overrides):
    import runpy

    from tfgan_orig import config as config_lib
    from tfgan_orig import data

    config = runpy.run_path(config_path)["get_config"]()
    for key, value in overrides.items():
        config.model[key] = value
    config_lib.validate_config(config)
    info = data.info(config.data.name)
    return networks.build_generator(config, info), networks.build_discriminator(config, info)


def _kernels(model):
    return [w.numpy() for w in model.weights if w.name == "kernel"]


def test_mixture_nets_take_pacgan_init_and_batch_norm_momentum_from_the_config():
    import os

    ring8 = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "ring8.py")
    g, d = _mixture_nets_from(ring8)  # PacGAN's protocol: N(0, 0.02^2) weights, momentum 0.95
    for net in (g, d):
        kernels = _kernels(net)
        assert len(kernels) == (5 if net is g else 4)  # 4 hidden + output; 3 maxout + logit
        for k in kernels:
            if k.size >= 1000:  # enough draws for the std to be within 10% of 0.02
                assert abs(k.mean()) < 0.002 and 0.018 < k.std() < 0.022, (net.name, k.std())
        biases = [w.numpy() for w in net.weights if w.name == "bias"]
        assert biases and all(np.all(b == 0) for b in biases)
    bns = [layer for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 4 and all(layer.momentum == 0.95 for layer in bns)

    # The package's defaults: Glorot-uniform kernels (a 400 x 400 one has std sqrt(2 / 800) =
    # 0.05) and Keras' momentum 0.99.
    g0, d0 = _mixture_nets_from(ring8, mlp_init_stddev=0.0, g_batch_norm_momentum=0.99)
    assert _kernels(g0)[1].std() == pytest.approx(0.05, rel=0.05)
    assert np.abs(_kernels(g0)[1]).max() <= np.sqrt(6 / 800) + 1e-7  # uniform, bounded
    assert all(layer.momentum == 0.99 for layer in g0.layers
               if isinstance(layer, keras.layers.BatchNormalization))

    # The momentum really is the moving statistics' update rate:
    # moving_mean <- momentum * moving_mean + (1 - momentum) * batch_mean.
    bn = bns[0]
    before = bn.moving_mean.numpy().copy()
    h = g.get_layer("hidden_0")(np.random.default_rng(0).normal(size=(64, 2)).astype("float32"))
    bn(h, training=True)
    expected = 0.95 * before + 0.05 * h.numpy().mean(axis=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("slots", [1, 2])
def test_mixture_generator_batch_norm_epsilon_comes_from_the_config(slots):
    """`model.g_batch_norm_epsilon` is the epsilon of every batch norm of the 2-D G, with and
    without per-slot statistics: in training mode the first one computes
    gamma (h - mu_s) / sqrt(var_s + epsilon) + beta over each slot's rows. At PacGAN's init the
    first layer's variance is the order of Keras' 1e-3, so the two epsilons give visibly
    different activations there."""
    import os

    ring8 = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "ring8.py")
    z = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    outputs = {}
    for epsilon in (1e-3, 1e-4):
        g, _ = _mixture_nets_from(ring8, g_batch_norm_epsilon=epsilon, g_batch_norm_slots=slots)
        bns = [layer for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
        assert len(bns) == 4 and all(layer.epsilon == epsilon for layer in bns)
        h = g.get_layer("hidden_0")(z).numpy()
        out = g.get_layer("bn_0")(h, training=True).numpy()
        expected = np.empty_like(h)
        for s in range(slots):  # row i is in slot i mod slots
            rows = h[s::slots]
            expected[s::slots] = (rows - rows.mean(0)) / np.sqrt(rows.var(0) + epsilon)
        np.testing.assert_allclose(out, expected, rtol=2e-3, atol=2e-4)
        outputs[epsilon] = out
    # sqrt((v + 1e-4) / (v + 1e-3)) for v ~ 8e-4: the smaller epsilon's activations are larger.
    ratio = np.abs(outputs[1e-4]).mean() / np.abs(outputs[1e-3]).mean()
    assert 1.2 < ratio < 2.0, ratio

