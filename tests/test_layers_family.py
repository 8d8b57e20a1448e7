"""Layers and networks of the family: VBN's per-example independence, minibatch discrimination's
dependence on the batch, spectral normalization, the DCGAN/EBGAN contracts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import layers, networks

RNG = np.random.default_rng(0)


def test_vbn_output_for_an_example_ignores_the_other_examples():
    ref = RNG.normal(size=(5, 3, 3, 2)).astype(np.float32)
    a, b, c = (RNG.normal(size=(1, 3, 3, 2)).astype(np.float32) for _ in range(3))
    vbn = layers.VirtualBatchNormalization(reference_size=5)
    out_ab = vbn(np.concatenate([ref, a, b])).numpy()
    out_ac = vbn(np.concatenate([ref, a, c * 10.0])).numpy()
    out_a = vbn(np.concatenate([ref, a])).numpy()
    np.testing.assert_allclose(out_ab[5], out_ac[5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_ab[5], out_a[5], rtol=1e-5, atol=1e-6)
    # ...but it does depend on the reference batch.
    out_ref2 = vbn(np.concatenate([ref + 1.0, a])).numpy()
    assert not np.allclose(out_a[5], out_ref2[5])


def test_vbn_matches_the_formula():
    ref = RNG.normal(size=(4, 3)).astype(np.float32)
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    out = layers.VirtualBatchNormalization(4, epsilon=1e-5)(np.concatenate([ref, x])).numpy()
    c = 1.0 / 5.0
    mean = (1 - c) * ref.mean(0) + c * x
    sq = (1 - c) * (ref**2).mean(0) + c * x**2
    expected = (x - mean) / np.sqrt(sq - mean**2 + 1e-5)
    np.testing.assert_allclose(out[4:], expected, rtol=1e-4, atol=1e-5)
    # The reference rows are normalized with the reference statistics alone.
    expected_ref = (ref - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5)
    np.testing.assert_allclose(out[:4], expected_ref, rtol=1e-4, atol=1e-5)
    plain = layers.VirtualBatchNormalization(4, combine_with_example=False)
    out_plain = plain(np.concatenate([ref, x])).numpy()
    np.testing.assert_allclose(
        out_plain[4:], (x - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5), rtol=1e-4, atol=1e-5
    )


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


def test_minibatch_discrimination_output_depends_on_the_other_examples():
    mbd = layers.MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    y = x.copy()
    y[2] += 1.0
    out_x, out_y = mbd(x).numpy(), mbd(y).numpy()
    assert out_x.shape == (3, 4 + 3)
    np.testing.assert_array_equal(out_x[:, :4], x)  # the features pass through
    assert not np.allclose(out_x[0, 4:], out_y[0, 4:])  # example 0 sees example 2 change
    # Hand computation: o(x_i)_b = sum_{j != i} exp(-||M_ib - M_jb||_1), M = x T.
    m = (x @ mbd.kernel.numpy()).reshape(3, 3, 2)
    l1 = np.abs(m[:, None] - m[None, :]).sum(-1)
    np.testing.assert_allclose(out_x[:, 4:], np.exp(-l1).sum(1) - 1.0, rtol=1e-5, atol=1e-6)
    # Alone in its batch an example has no one to be compared with.
    np.testing.assert_allclose(mbd(x[:1]).numpy()[0, 4:], 0.0, atol=1e-6)


def test_reference_batch_layers_and_reconstruction_energy():
    ref_layer = layers.ReferenceBatch(3, seed=1)
    x = np.ones((2, 4), np.float32)
    out = ref_layer(x).numpy()
    assert out.shape == (5, 4)
    np.testing.assert_array_equal(out[3:], x)
    np.testing.assert_array_equal(layers.StripReferenceBatch(3)(out).numpy(), x)
    recon = np.zeros((2, 2, 2, 1), np.float32)
    img = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    energy = layers.ReconstructionEnergy()([img, recon]).numpy()
    np.testing.assert_allclose(energy, [[np.mean(np.arange(4.0) ** 2)], [np.mean(np.arange(4.0, 8) ** 2)]])


@pytest.mark.parametrize(
    "layer",
    [
        layers.VirtualBatchNormalization(4, combine_with_example=False, epsilon=1e-3, name="v"),
        layers.MinibatchDiscrimination(7, 3, name="m"),
        layers.ReferenceBatch(5, seed=3, name="r"),
        layers.StripReferenceBatch(5, name="s"),
        layers.ReconstructionEnergy(name="e"),
    ],
)
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (layers.VirtualBatchNormalization, dict(reference_size=0), "reference_size"),
        (layers.MinibatchDiscrimination, dict(num_kernels=0), "num_kernels"),
        (layers.ReferenceBatch, dict(size=0), "size"),
    ],
)
def test_bad_layer_arguments_are_named(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


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


def test_minibatch_discrimination_compares_with_every_replicas_examples():
    """Under 2 replicas each example's o(x_i) sums over the global minibatch, as on one device,
    and the gradient reaching T is the one device's."""
    from conftest import mirrored_strategy

    strategy = mirrored_strategy()
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    with strategy.scope():
        layer = layers.MinibatchDiscrimination(3, 2, kernel_initializer=keras.initializers.GlorotUniform(1))
        layer.build((None, 4))
    weights = np.random.default_rng(1).normal(size=(6, 7)).astype(np.float32)

    def step(rows, w_rows):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(rows) * w_rows)
        return layer(rows), tape.gradient(loss, layer.kernel.value)

    one_out, one_grad = step(tf.constant(x), tf.constant(weights))
    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: (x[3 * ctx.replica_id_in_sync_group:][:3],
                     weights[3 * ctx.replica_id_in_sync_group:][:3]))
    out, grads = strategy.run(step, args=dist)
    np.testing.assert_allclose(np.concatenate([v.numpy() for v in out.values]), one_out.numpy(), rtol=1e-5)
    grad_sum = strategy.reduce(tf.distribute.ReduceOp.SUM, grads, axis=None)
    np.testing.assert_allclose(grad_sum.numpy(), one_grad.numpy(), rtol=1e-4, atol=1e-6)
    assert layers.MinibatchDiscrimination.from_config(layer.get_config()).synchronized
