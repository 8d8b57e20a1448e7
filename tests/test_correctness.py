"""Correctness invariants of `GAN.train_step` (issue "Correctness"), checked against hand computations.

- Uneven batches: every batch `fit` can hand the model (a dataset batch not divisible by the number
  of replicas or by `d_steps`, the partial last batch of `fit(x_array, batch_size=...)`) is trained
  with the true means over the global example count and noise of matching size, identically on
  one and two replicas.
- The networks' own losses (Keras weight regularizers, `add_loss` / activity regularizers) are part
  of each network's objective, once per update under any number of replicas, and logged.

The golden tests use a linear D `D(x) = w.x + c`, a G whose samples are the constant `b` (zero
kernel) and plain SGD, so one update is a line of numpy:
with the Wasserstein loss `mean f - mean r`, D's gradient is `dL/dw = b - mean(real x)`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import mirrored_strategy

import tfgan_orig

X = np.random.default_rng(3).normal(size=(16, 3)).astype(np.float32)
W0 = np.array([[0.5], [-0.25], [1.0]], np.float32)
B0 = np.array([0.3, -0.2, 0.1], np.float32)


def linear_gan(strategy=None, d_steps=1, d_lr=0.1, g_lr=0.0, loss="wasserstein", d_kwargs=None,
               g_kwargs=None):
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, kernel_initializer="zeros", **(g_kwargs or {}))])
        d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, **(d_kwargs or {}))])
        gan = tfgan_orig.GAN(g, d, 2, d_steps=d_steps, seed=5)
        gan.compile(keras.optimizers.SGD(d_lr), keras.optimizers.SGD(g_lr), loss=loss)
    d.layers[0].kernel.assign(W0)
    d.layers[0].bias.assign(np.zeros(1, np.float32))
    g.layers[0].bias.assign(B0)
    return gan


def _d_kernel(gan):
    return gan.discriminator.layers[0].kernel.numpy()


def _batches(ds_sizes):
    """A dataset of consecutive X rows in batches of the given sizes."""
    parts, start = [], 0
    for n in ds_sizes:
        parts.append(X[start : start + n])
        start += n
    ds = tf.data.Dataset.from_generator(
        lambda: iter(parts), output_signature=tf.TensorSpec([None, 3], tf.float32)
    )
    return ds.apply(tf.data.experimental.assert_cardinality(len(parts)))


def _golden_d(batches, d_steps, lr=0.1, w=W0):
    """D's kernel after SGD on `batches`, minibatch j of a batch = rows j, j + k, ... (hand)."""
    w = w.astype(np.float64)
    for x in batches:
        for j in range(d_steps):
            w = w - lr * (B0[:, None] - x[j::d_steps].mean(0)[:, None])
    return w


# ------------------------------------------------------------------------------- uneven batches
@pytest.mark.parametrize("replicas", [1, 2])
@pytest.mark.parametrize("sizes,d_steps", [([5], 1), ([5], 2), ([6], 2), ([7, 3], 2), ([3], 2)])
def test_uneven_batches_take_the_true_mean_of_every_minibatch(replicas, sizes, d_steps):
    """Batch 5 on 2 replicas (shares 3 + 2), batches not divisible by k, shares not divisible
    by k (6 = 3 + 3 with k = 2), a replica with no row of a minibatch (3 rows, k = 2)."""
    strategy = mirrored_strategy() if replicas == 2 else None
    gan = linear_gan(strategy, d_steps=d_steps)
    gan.fit(_batches(sizes), epochs=1, verbose=0)
    np.testing.assert_allclose(_d_kernel(gan), _golden_d(_split(sizes), d_steps), rtol=1e-6, atol=1e-6)
    assert int(gan.d_optimizer.iterations.numpy()) == d_steps * len(sizes)


def _split(sizes):
    out, start = [], 0
    for n in sizes:
        out.append(X[start : start + n])
        start += n
    return out


@pytest.mark.parametrize("replicas", [1, 2])
def test_partial_last_batch_of_fit_on_arrays(replicas):
    """`fit(x, batch_size=6)` on 16 rows gives batches 6, 6, 4; with k = 2 and 2 replicas the
    last one splits 2 + 2 into minibatches of 2 rows."""
    strategy = mirrored_strategy() if replicas == 2 else None
    gan = linear_gan(strategy, d_steps=2)
    gan.fit(X[:15], batch_size=6, shuffle=False, epochs=1, verbose=0)  # 6, 6, 3
    np.testing.assert_allclose(_d_kernel(gan), _golden_d(_split([6, 6, 3]), 2), rtol=1e-6, atol=1e-6)


def tiny_nets(seed=20, d_reg=None, g_reg=None, activity=None):
    """test_distributed's tiny nets, with optional regularizers (D's hidden layer, G's output)."""
    init = lambda i: keras.initializers.GlorotUniform(seed + i)  # noqa: E731
    g = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu", kernel_initializer=init(1)),
        keras.layers.Dense(3, kernel_initializer=init(2), kernel_regularizer=g_reg),
    ])
    d = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(8, activation="relu", kernel_initializer=init(3), kernel_regularizer=d_reg,
                           activity_regularizer=activity),
        keras.layers.Dense(1, kernel_initializer=init(4)),
    ])
    return g, d


def _fit_tiny(strategy, data, d_steps, batch_size=None, d_reg=None, g_reg=None, activity=None):
    with strategy.scope():
        g, d = tiny_nets(d_reg=d_reg, g_reg=g_reg, activity=activity)
        gan = tfgan_orig.GAN(g, d, 4, d_steps=d_steps, seed=7)
        gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), loss="non_saturating")
    history = gan.fit(data, batch_size=batch_size, shuffle=False, epochs=1, verbose=0).history
    return gan, history


def _assert_same(one, two, h1, h2, names=("d_loss", "g_loss", "d_real", "d_fake")):
    for a, b in zip(one.weights, two.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    for name in names:
        np.testing.assert_allclose(h1[name], h2[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("sizes,d_steps", [([5, 5, 5], 1), ([6, 6], 2), ([7, 5], 2)])
def test_one_vs_two_replicas_same_weights_with_uneven_batches(sizes, d_steps):
    """Nonlinear nets, noise included: 1 and 2 replicas train identically on uneven shares
    (before the fix: 6e-3 apart with batch 5; 3e-8 with batch 6)."""
    one, h1 = _fit_tiny(tf.distribute.get_strategy(), _batches(sizes), d_steps)
    two, h2 = _fit_tiny(mirrored_strategy(), _batches(sizes), d_steps)
    _assert_same(one, two, h1, h2)


def test_one_vs_two_replicas_same_weights_with_a_partial_last_batch():
    one, h1 = _fit_tiny(tf.distribute.get_strategy(), X[:15], 2, batch_size=6)
    two, h2 = _fit_tiny(mirrored_strategy(), X[:15], 2, batch_size=6)
    _assert_same(one, two, h1, h2)


# ---------------------------------------------------------------------- the networks' own losses
def test_weight_regularizers_are_part_of_each_networks_objective():
    """D's kernel L2(l) adds 2 l w to D's gradient, G's bias L2(m) adds 2 m b to G's; logged."""
    l, m, lr, g_lr = 0.5, 0.25, 0.1, 0.2
    gan = linear_gan(
        d_lr=lr, g_lr=g_lr,
        d_kwargs={"kernel_regularizer": keras.regularizers.L2(l)},
        g_kwargs={"bias_regularizer": keras.regularizers.L2(m)},
    )
    x = X[:4]
    logs = gan.fit(x, batch_size=4, epochs=1, verbose=0).history
    w1 = W0 - lr * ((B0 - x.mean(0))[:, None] + 2 * l * W0)
    np.testing.assert_allclose(_d_kernel(gan), w1, rtol=1e-5, atol=1e-6)
    # G's loss -f = -(w1 . b + c): d/db = -w1, plus the regularizer's 2 m b.
    b1 = B0 - g_lr * (-w1[:, 0] + 2 * m * B0)
    np.testing.assert_allclose(gan.generator.layers[0].bias.numpy(), b1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["d_reg"], [l * np.sum(W0**2)], rtol=1e-5)
    np.testing.assert_allclose(logs["g_reg"], [m * np.sum(B0**2)], rtol=1e-5)


def test_add_loss_of_the_discriminator_counts_on_its_real_and_fake_calls():
    """An activity regularizer L2(a) on D's output adds `a mean(D^2)` for each call of D in its
    update (real rows and generated rows): gradient `2 a mean(D(x) x)` on each."""
    a, lr = 0.5, 0.1
    gan = linear_gan(d_lr=lr, d_kwargs={"activity_regularizer": keras.regularizers.L2(a)})
    x = X[:4]
    logs = gan.fit(x, batch_size=4, epochs=1, verbose=0).history
    fake = np.tile(B0, (4, 1))
    grad = (B0 - x.mean(0))[:, None]
    for rows in (x, fake):
        out = rows @ W0
        grad = grad + 2 * a * (rows * out).mean(0)[:, None]
    np.testing.assert_allclose(_d_kernel(gan), W0 - lr * grad, rtol=1e-5, atol=1e-6)
    expected = a * (np.mean((x @ W0) ** 2) + np.mean((fake @ W0) ** 2))
    np.testing.assert_allclose(logs["d_reg"], [expected], rtol=1e-5)


def test_without_regularizers_nothing_changes_and_zero_is_logged():
    gan = linear_gan()
    logs = gan.fit(X[:4], batch_size=4, epochs=1, verbose=0).history
    np.testing.assert_allclose(_d_kernel(gan), _golden_d([X[:4]], 1), rtol=1e-6, atol=1e-6)
    assert logs["d_reg"] == [0.0] and logs["g_reg"] == [0.0]


@pytest.mark.parametrize("sizes", [[8, 8], [5, 5]])
def test_one_vs_two_replicas_same_weights_with_regularizers(sizes):
    """Weight regularization once per update (not once per replica), activity terms as the mean
    over the global rows, on even and uneven shares."""
    kwargs = dict(
        d_reg=keras.regularizers.L2(0.1), g_reg=keras.regularizers.L1(0.05),
        activity=keras.regularizers.L2(0.2),
    )
    one, h1 = _fit_tiny(tf.distribute.get_strategy(), _batches(sizes), 1, **kwargs)
    two, h2 = _fit_tiny(mirrored_strategy(), _batches(sizes), 1, **kwargs)
    plain, _ = _fit_tiny(tf.distribute.get_strategy(), _batches(sizes), 1)
    _assert_same(one, two, h1, h2, names=("d_loss", "g_loss", "d_reg", "g_reg"))
    diff = max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(one.weights, plain.weights))
    assert diff > 1e-3  # the regularizers did change training


# ------------------------------------------------------------------ the paper recipe's step sizes
@pytest.mark.parametrize("config_file", ["mnist_mlp.py", "fashion_mnist_mlp.py", "fashion_mnist_demo.py"])
def test_paper_configs_take_the_authors_d_and_g_steps(config_file):
    """One step of the paper configs' optimizers and loss on a tiny fixed net equals the authors'
    update (goodfeli/adversarial, `AdversaryCost2`, pylearn2 SGD at lr 0.1, momentum buffer 0):
    `d_obj = 0.5 (mean CE(1, D(x)) + mean CE(0, D(G(z))))`, `g_obj = mean CE(1, D(G(z)))`."""
    import os
    import runpy

    from tfgan_orig import optimizers

    config = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "configs", config_file))["get_config"]()
    opt, lr = config.optimizer, 0.1
    assert (opt.name, opt.d_learning_rate, opt.g_learning_rate, config.train.d_steps) == ("paper_sgd", lr, lr, 1)
    gan = linear_gan(loss=config.loss.name)
    gan.compile(
        optimizers.build(opt, opt.d_learning_rate, 10, "d_optimizer", updates_per_step=1),
        optimizers.build(opt, opt.g_learning_rate, 10, "g_optimizer"),
        loss=config.loss.name,
        label_smoothing=config.loss.label_smoothing,
    )
    x = X[:4].astype(np.float64)
    gan.fit(X[:4], batch_size=4, epochs=1, verbose=0)

    def sig(t):
        return 1.0 / (1.0 + np.exp(-t))

    w0, b0 = W0.astype(np.float64), B0.astype(np.float64)
    r, f = (x @ w0)[:, 0], float(b0 @ w0[:, 0])  # c = 0; every fake is the constant b
    # d/dlogit CE(1, sigmoid(l)) = -(1 - sigmoid(l)); d/dlogit CE(0, sigmoid(l)) = sigmoid(l).
    grad_w = 0.5 * ((-(1 - sig(r))[:, None] * x).mean(0) + sig(f) * b0)
    grad_c = 0.5 * (np.mean(-(1 - sig(r))) + sig(f))
    w1, c1 = w0[:, 0] - lr * grad_w, -lr * grad_c
    np.testing.assert_allclose(_d_kernel(gan)[:, 0], w1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gan.discriminator.layers[0].bias.numpy(), [c1], rtol=1e-5, atol=1e-7)
    f1 = float(w1 @ b0 + c1)
    b1 = b0 - lr * (-(1 - sig(f1)) * w1)  # G's step against the updated D
    np.testing.assert_allclose(gan.generator.layers[0].bias.numpy(), b1, rtol=1e-5, atol=1e-7)


def test_packing_refuses_batches_it_cannot_pack_before_training():
    """GAN(pack=2): a partial last batch of 3 (or a dataset whose batch size is unknown) cannot be
    grouped into pairs; fit says so before any update instead of failing mid-epoch."""
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    d = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    gan = tfgan_orig.GAN(g, d, 2, pack=2, seed=1)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    before = [w.numpy().copy() for w in gan.weights]
    with pytest.raises(ValueError, match=r"pack=2.*\[3\].*multiple of d_steps \* pack \* replicas = 1 \* 2 \* 1 = 2"):
        gan.fit(X[:15], batch_size=6, verbose=0)
    with pytest.raises(ValueError, match="drop_remainder=True.*batch size None"):
        gan.fit(tf.data.Dataset.from_tensor_slices(X[:15]).batch(6), verbose=0)
    for a, b in zip(before, gan.weights):
        np.testing.assert_array_equal(a, b.numpy())
    gan.fit(X[:12], batch_size=6, verbose=0)  # multiples of 2 train
    gan.fit(tf.data.Dataset.from_tensor_slices(X[:16]).batch(4, drop_remainder=True), verbose=0)
    assert int(gan.step_counter.numpy()) == 6
