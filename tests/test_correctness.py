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
from tfgan_orig import networks

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


# ------------------------------------------------------------------- simultaneous updates
@pytest.mark.parametrize("replicas,rows", [(1, 4), (2, 4), (2, 5)])
def test_simultaneous_updates_take_both_gradients_at_the_same_weights(replicas, rows):
    """`update_order="simultaneous"`: D's step is Algorithm 1's, G's is taken against D *before*
    D's update (ALI / PacGAN), on one and two replicas, uneven shares included (5 = 3 + 2).
    Wasserstein, linear D, constant G output b: dL_D/dw = b - mean x, dL_G/db = -w."""
    strategy = mirrored_strategy() if replicas == 2 else None
    lr, g_lr = 0.1, 0.2
    gan = linear_gan(strategy, d_lr=lr, g_lr=g_lr)
    with (strategy or tf.distribute.get_strategy()).scope():
        gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(g_lr), loss="wasserstein",
                    update_order="simultaneous")
    x = X[:rows]
    gan.fit(_batches([rows]), epochs=1, verbose=0)
    np.testing.assert_allclose(_d_kernel(gan), _golden_d([x], 1, lr), rtol=1e-6, atol=1e-6)
    # Against the old w (alternating would use the updated one: B0 + g_lr * w1).
    np.testing.assert_allclose(gan.generator.layers[0].bias.numpy(), B0 + g_lr * W0[:, 0],
                               rtol=1e-6, atol=1e-6)
    assert int(gan.d_optimizer.iterations.numpy()) == int(gan.g_optimizer.iterations.numpy()) == 1


def _one_tape_reference(g, d, z, x, loss, d_lr, g_lr):
    """Both SGD steps from one persistent tape at the initial weights (by hand, eagerly)."""
    sp = tf.nn.softplus
    with tf.GradientTape(persistent=True) as tape:
        fake = g(z, training=True)
        real_out, fake_out = d(x, training=True)[:, 0], d(fake, training=True)[:, 0]
        if loss == "rpgan":  # real and fake paired row by row
            d_loss = tf.reduce_mean(sp(fake_out - real_out))
            g_loss = tf.reduce_mean(sp(real_out - fake_out))
        else:  # non_saturating: D's mean of the two halves' cross-entropies, G's -log D(G(z))
            d_loss = 0.5 * (tf.reduce_mean(sp(-real_out)) + tf.reduce_mean(sp(fake_out)))
            g_loss = tf.reduce_mean(sp(-fake_out))
    step = lambda net, l, lr: [  # noqa: E731
        v.numpy() - lr * gr.numpy()
        for v, gr in zip(net.trainable_variables, tape.gradient(l, net.trainable_variables))
    ]
    return step(d, d_loss, d_lr), step(g, g_loss, g_lr)


@pytest.mark.parametrize("loss", ["non_saturating", "rpgan"])
@pytest.mark.parametrize("replicas,rows", [(1, 8), (2, 8), (2, 7)])
def test_simultaneous_step_equals_one_tape_at_the_initial_weights(loss, replicas, rows):
    """Nonlinear nets: the step's D and G weights are those of both gradients taken on one forward
    pass (the same fakes, D's outputs on them, RpGAN's real/fake pairs), on one and two replicas."""
    strategy = mirrored_strategy() if replicas == 2 else tf.distribute.get_strategy()
    with strategy.scope():
        g, d = tiny_nets()
        gan = tfgan_orig.GAN(g, d, 4, seed=7)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.2), loss=loss,
                    update_order="simultaneous")
    z, _ = gan._training_noise(rows, 0)  # draw 0 of step 0, the global batch
    want_d, want_g = _one_tape_reference(g, d, z, X[:rows], loss, 0.1, 0.2)
    gan.fit(_batches([rows]), epochs=1, verbose=0)
    for net, want in ((d, want_d), (g, want_g)):
        for v, w in zip(net.trainable_variables, want):
            np.testing.assert_allclose(v.numpy(), w, rtol=1e-5, atol=1e-6, err_msg=v.path)


def _fit_tiny_bn(strategy, data, update_order):
    """Tiny nets with (synchronized) batch norm in G and a lazy R1 penalty (every 2nd D update),
    trained with `update_order`."""
    with strategy.scope():
        g, d = tiny_nets()
        g = keras.Sequential([g.layers[0], networks.batch_normalization(momentum=0.5),
                              g.layers[1]])
        gan = tfgan_orig.GAN(g, d, 4, seed=7)
        gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2),
                    loss="non_saturating", r1_gamma=0.5, penalty_every=2,
                    update_order=update_order)
    history = gan.fit(data, shuffle=False, epochs=1, verbose=0).history
    return gan, history


@pytest.mark.parametrize("sizes", [[8, 8], [5, 5, 5]])
def test_simultaneous_one_vs_two_replicas_same_weights(sizes):
    """Nonlinear nets, G's batch norm (statistics of the global batch) and lazy R1, uneven shares:
    the simultaneous step trains identically on one and two replicas, and differs from
    alternating."""
    one, h1 = _fit_tiny_bn(tf.distribute.get_strategy(), _batches(sizes), "simultaneous")
    two, h2 = _fit_tiny_bn(mirrored_strategy(), _batches(sizes), "simultaneous")
    _assert_same(one, two, h1, h2, names=("d_loss", "g_loss", "d_real", "d_fake", "d_reg"))
    alt, _ = _fit_tiny_bn(tf.distribute.get_strategy(), _batches(sizes), "alternating")
    diff = max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(one.weights, alt.weights))
    assert diff > 1e-4


def test_simultaneous_moves_g_batch_norm_statistics_once_per_step():
    """One forward pass of G per step: a fresh BN layer (momentum m, moving mean 0) ends at
    (1 - m) * the batch mean of G's pre-BN activations on the step's noise, once (alternating
    runs G twice per step and moves them twice)."""
    m = 0.5
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, kernel_initializer="ones"),
                          keras.layers.BatchNormalization(momentum=m)])
    d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    gan = tfgan_orig.GAN(g, d, 2, seed=5)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), update_order="simultaneous")
    z, _ = gan._training_noise(4, 0)  # the step's draw 0, as the step draws it (step 0)
    expected = (1 - m) * np.mean(np.asarray(g.layers[0](z)), axis=0)
    gan.fit(X[:4], batch_size=4, epochs=1, verbose=0)
    np.testing.assert_allclose(g.layers[1].moving_mean.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_simultaneous_update_order_is_checked_and_saved(tmp_path):
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"Unknown update_order 'simul'.*\['alternating', 'simultaneous'\]"):
        tfgan_orig.GAN(g, d, 2).compile(update_order="simul")
    with pytest.raises(ValueError, match="needs d_steps=1 and unrolled_steps=0. Received: d_steps=2"):
        tfgan_orig.GAN(g, d, 2, d_steps=2).compile(update_order="simultaneous")
    with pytest.raises(ValueError, match="d_steps=1, unrolled_steps=3"):
        tfgan_orig.GAN(g, d, 2).compile(update_order="simultaneous", unrolled_steps=3)
    gan = tfgan_orig.GAN(g, d, 2, seed=1)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), update_order="simultaneous")
    gan.fit(X[:4], batch_size=4, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    assert keras.models.load_model(path).update_order == "simultaneous"


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


# ------------------------------------------------------------- the family's terms, by hand
class HalfSquaredNorm(keras.layers.Layer):
    """A nonlinear critic `D(x) = s ||x||^2 / 2` (s trainable, 1 at start): grad_x D = s x, so a
    penalty on it reveals the point x_hat where it was taken (a linear critic's would not)."""

    def build(self, input_shape):
        self.s = self.add_weight(shape=(), initializer="ones", name="s")

    def call(self, x):
        return 0.5 * self.s * keras.ops.sum(x * x, axis=1, keepdims=True)


def quadratic_gp_gan(weight=1.0):
    from test_family import tiny_nets as family_nets

    g, _ = family_nets()
    d = keras.Sequential([keras.Input((3,)), HalfSquaredNorm()], name="quadratic_critic")
    gan = tfgan_orig.GAN(g, d, 4, seed=3)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), loss="wasserstein",
                gradient_penalty_weight=weight)
    gp = [r for r in gan.regularizers if isinstance(r, tfgan_orig.regularizers.GradientPenalty)]
    return gan, (gp[0] if gp else None)


def _alphas(gan, n):
    from tfgan_orig import randomness

    return gan.step_context(0).rows(
        n, randomness.STREAM_GP_ALPHA, lambda m, seed: tf.random.stateless_uniform([m], seed)
    ).numpy()


def test_gradient_penalty_interpolates_with_a_uniform_alpha_per_example():
    """Through `GradientPenalty.penalty` itself: real rows e1, fake rows 0 give x_hat = alpha e1,
    grad = alpha e1 and penalty (alpha - 1)^2, so the penalty reveals each example's alpha."""
    gan, gp = quadratic_gp_gan()
    n = 4000
    real = np.tile(np.array([[1.0, 0.0, 0.0]], np.float32), (n, 1))
    penalty = gp.penalty(gan.step_context(0), tf.constant(real), tf.zeros((n, 3)), None).numpy()
    alpha = 1.0 - np.sqrt(penalty)
    assert 0.0 <= alpha.min() and alpha.max() < 1.0
    assert abs(alpha.mean() - 0.5) < 0.02 and abs(alpha.var() - 1.0 / 12.0) < 0.005
    assert len(np.unique(np.round(alpha, 6))) > 0.99 * n  # one alpha per example, not per batch
    np.testing.assert_allclose(alpha, _alphas(gan, n), atol=2e-4)  # the step's alpha stream


def test_gradient_penalty_on_a_nonlinear_critic_equals_hand_computation_in_the_d_loss():
    """WGAN-GP's d_loss difference (lambda 10 vs 0) in a real `fit` step equals lambda times the
    hand-computed mean penalty at x_hat = alpha x + (1 - alpha) G(z) for D(x) = ||x||^2 / 2."""
    x = X[:8]

    def first_d_loss(weight):
        gan, _ = quadratic_gp_gan(weight)
        z, _ = gan._training_noise(8, 0)  # the noise of the first D update
        fake = gan.generator(z).numpy()
        alpha = _alphas(gan, 8)[:, None]
        d_loss = gan.fit(x, batch_size=8, shuffle=False, verbose=0).history["d_loss"][0]
        return d_loss, alpha * x + (1 - alpha) * fake

    with_gp, x_hat = first_d_loss(10.0)
    without, _ = first_d_loss(0.0)
    penalty = (np.sqrt(np.sum(x_hat.astype(np.float64) ** 2, axis=1) + 1e-10) - 1.0) ** 2
    np.testing.assert_allclose(with_gp - without, 10.0 * penalty.mean(), rtol=1e-4)
    # A wrong interpolation (alpha on the fake side) would give another value here.
    assert abs(with_gp - without - 10.0 * penalty.mean()) < 0.05 * 10.0 * penalty.mean()


def acgan_linear(weight, d_lr=0.1, g_lr=0.1, classes=3):
    """AC-GAN with a G whose samples are the constant b whatever (z, label) and a D whose two
    heads are linear on x: logit = x.u + a, class logits = x K + k."""
    z, label = keras.Input((2,)), keras.Input((), dtype="int32")
    out = keras.layers.Dense(3, kernel_initializer="zeros", name="g_out")(z)
    g = keras.Model([z, label], out, name="g")
    x = keras.Input((3,))
    d = keras.Model(
        x, [keras.layers.Dense(1, name="logit")(x), keras.layers.Dense(classes, name="class_head")(x)]
    )
    gan = tfgan_orig.GAN(g, d, 2, seed=4, num_classes=classes, aux_classifier=True,
                         aux_classifier_weight=weight)
    gan.compile(keras.optimizers.SGD(d_lr), keras.optimizers.SGD(g_lr), loss="non_saturating")
    g.get_layer("g_out").bias.assign(B0)
    d.get_layer("logit").kernel.assign(W0)
    rng = np.random.default_rng(9)
    d.get_layer("class_head").kernel.assign(rng.normal(size=(3, classes)).astype(np.float32))
    return gan


def _softmax(c):
    e = np.exp(c - c.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_acgan_d_and_g_take_the_class_loss_on_generated_rows_by_hand():
    """D's class head learns from the real AND the generated rows (fakes conditioned on the real
    labels), G from the class loss of its samples under the labels it drew."""
    w, lr, n, classes = 0.7, 0.1, 6, 3
    gan = acgan_linear(w)
    x, y = X[:n].astype(np.float64), np.arange(n) % classes
    k0 = gan.discriminator.get_layer("class_head").kernel.numpy().astype(np.float64)
    _, g_labels = gan._training_noise(n, gan.d_steps)  # the labels G's update draws at step 0
    g_labels = g_labels.numpy()
    gan.fit(tf.data.Dataset.from_tensor_slices((X[:n], y)).batch(n), verbose=0)

    onehot = np.eye(classes)[y]
    b = B0.astype(np.float64)
    fake = np.tile(b, (n, 1))
    # d/dK of mean_i CE(y_i, x_i K + k) = mean_i x_i (softmax - onehot)^T; class bias k starts at 0.
    grad_real = x.T @ (_softmax(x @ k0) - onehot) / n
    grad_fake = fake.T @ (_softmax(fake @ k0) - onehot) / n
    k1 = gan.discriminator.get_layer("class_head").kernel.numpy()
    np.testing.assert_allclose(k1, k0 - lr * w * (grad_real + grad_fake), rtol=1e-5, atol=1e-6)
    # Without the fake rows' term the head would be elsewhere:
    assert np.abs(k1 - (k0 - lr * w * grad_real)).max() > 1e-3

    # G: mean_i softplus(-f) + w CE(y'_i, b K1 + k1), d/db = -(1 - sigmoid(f)) u1 + w K1 mean(p - e).
    u1 = gan.discriminator.get_layer("logit").kernel.numpy()[:, 0].astype(np.float64)
    a1 = float(gan.discriminator.get_layer("logit").bias.numpy()[0])
    kb1 = gan.discriminator.get_layer("class_head").bias.numpy().astype(np.float64)
    f = b @ u1 + a1
    p = _softmax((b @ k1 + kb1)[None, :])[0]
    g_onehot = np.eye(classes)[g_labels]
    grad_b = -(1 - 1 / (1 + np.exp(-f))) * u1 + w * k1 @ (p[None, :] - g_onehot).mean(0)
    np.testing.assert_allclose(gan.generator.get_layer("g_out").bias.numpy(), b - lr * grad_b, rtol=1e-5, atol=1e-6)
    grad_b_without_aux = -(1 - 1 / (1 + np.exp(-f))) * u1
    assert np.abs(grad_b - grad_b_without_aux).max() > 1e-2  # the aux term is not zero here


def test_train_step_adds_instance_noise_to_real_and_generated_inputs_of_d():
    """Linear critic, SGD: D's step is `-lr (mean(b + n_fake) - mean(x + n_real))` with the noise
    rows the step draws (independent for real and fake); without noise it would be another step."""
    from tfgan_orig import randomness

    lr, sigma, n = 0.1, 0.5, 8
    gan = linear_gan(d_lr=lr)
    gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(0.0), loss="wasserstein",
                instance_noise_std=sigma)
    ctx = gan.step_context(0)

    def noise(stream):
        return ctx.rows(n, stream, lambda m, s: tf.random.stateless_normal([m, 3], seed=s)).numpy()

    n_real, n_fake = sigma * noise(randomness.STREAM_NOISE_REAL), sigma * noise(randomness.STREAM_NOISE_FAKE)
    gan.fit(X[:n], batch_size=n, verbose=0)
    x = X[:n]
    grad = (B0 + n_fake).mean(0) - (x + n_real).mean(0)
    np.testing.assert_allclose(_d_kernel(gan)[:, 0], W0[:, 0] - lr * grad, rtol=1e-5, atol=1e-6)
    # Leaving out either side's noise would move the step by lr * its mean (> 1e-2 here):
    assert min(np.abs(n_real.mean(0)).max(), np.abs(n_fake.mean(0)).max()) > 1e-2
    assert np.abs(_d_kernel(gan)[:, 0] - (W0[:, 0] - lr * ((B0 - x.mean(0))))).max() > 1e-3


# ----------------------------------------------------- package networks: batch norm, dropout
@pytest.mark.parametrize("nets,sizes,d_steps", [("mixture", [7, 5], 1), ("dcgan", [6, 6], 2)])
def test_batch_norm_nets_one_vs_two_replicas_with_uneven_batches(nets, sizes, d_steps):
    """The package's synchronized batch norm with shares of different sizes (7 = 4 + 3) and
    minibatch shares not divisible by k: batch statistics over the true global minibatch."""
    from test_networks import NETS

    def fit(strategy):
        with strategy.scope():
            g, d, latent_dim, x = NETS[nets]()
            gan = tfgan_orig.GAN(g, d, latent_dim, d_steps=d_steps, seed=7)
            gan.compile(keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.SGD(0.1, momentum=0.5))
        parts, start = [], 0
        for n in sizes:
            parts.append(x[start : start + n].astype(np.float32))
            start += n
        ds = tf.data.Dataset.from_generator(
            lambda: iter(parts), output_signature=tf.TensorSpec((None,) + x.shape[1:], tf.float32)
        ).apply(tf.data.experimental.assert_cardinality(len(parts)))
        gan.fit(ds, epochs=1, verbose=0)
        return gan

    one, two = fit(tf.distribute.get_strategy()), fit(mirrored_strategy())
    for a, b in zip(one.weights, two.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{nets}: {a.path}")


@pytest.mark.parametrize("sizes,d_steps", [([8, 8], 1), ([7, 5], 2)])
def test_paper_dropout_nets_one_vs_two_replicas_same_weights(sizes, d_steps):
    """The paper's D (maxout with dropout on inputs and hidden units): each replica draws its rows
    of the global minibatch's dropout mask, so 2 replicas train exactly as 1 device."""
    from tfgan_orig import networks

    x = np.random.default_rng(5).uniform(0, 1, size=(sum(sizes), 4, 4, 1)).astype(np.float32)

    def fit(strategy):
        with strategy.scope():
            g = networks.paper_generator(latent_dim=4, hidden_units=(16,), output_shape=(4, 4, 1), seed=1)
            d = networks.paper_discriminator(input_shape=(4, 4, 1), units=8, pieces=2, init_scale=0.5, seed=2)
            gan = tfgan_orig.GAN(g, d, 4, d_steps=d_steps, seed=7)
            gan.compile(keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.SGD(0.1, momentum=0.5))
        parts, start = [], 0
        for n in sizes:
            parts.append(x[start : start + n])
            start += n
        ds = tf.data.Dataset.from_generator(
            lambda: iter(parts), output_signature=tf.TensorSpec((None, 4, 4, 1), tf.float32)
        ).apply(tf.data.experimental.assert_cardinality(len(parts)))
        gan.fit(ds, epochs=1, verbose=0)
        return gan

    one, two = fit(tf.distribute.get_strategy()), fit(mirrored_strategy())
    for a, b in zip(one.weights, two.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
