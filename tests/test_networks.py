"""The package's networks: constructors, their contracts, and their behaviour under a strategy."""

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
