"""Golden values and gradient behaviour of the original GAN losses, and of the tutorial's loss
family: each mechanism (one-sided label smoothing touches only the real targets, EBGAN's margin,
the gradient penalty's epsilon, RpGAN's pairing)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import losses

REAL = np.array([2.0, -1.0, 0.0, 3.0], np.float32)
FAKE = np.array([-2.0, 0.5, 0.0, -4.0], np.float32)


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_discriminator_loss_matches_cross_entropy_by_hand():
    # The tutorial's J(D) and the authors' d_obj: 1/2 of the cross-entropies of the pair.
    expected = [0.5 * (-math.log(_sig(r)) - math.log(1.0 - _sig(f))) for r, f in zip(REAL, FAKE)]
    got = losses.minimax_discriminator_loss(REAL, FAKE).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # At D = 1/2 everywhere the loss is log 2 per pair (-V / 2, the paper's -V = log 4 at the optimum).
    np.testing.assert_allclose(losses.minimax_discriminator_loss([0.0], [0.0]), [math.log(2.0)], rtol=1e-6)


def test_label_smoothing_changes_only_the_real_term():
    t = 0.9
    got = losses.minimax_discriminator_loss(REAL, FAKE, real_target=t).numpy()
    expected = [
        0.5 * (-t * math.log(_sig(r)) - (1 - t) * math.log(1 - _sig(r)) - math.log(1 - _sig(f)))
        for r, f in zip(REAL, FAKE)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    fake_only = losses.minimax_discriminator_loss(np.zeros(4, np.float32) + 50.0, FAKE, real_target=1.0)
    fake_only_smoothed = losses.minimax_discriminator_loss(
        np.zeros(4, np.float32) + 50.0, FAKE, real_target=t
    )
    # With a confident real logit the difference is exactly the smoothing penalty (1-t)*softplus(50)/2.
    np.testing.assert_allclose(fake_only_smoothed - fake_only, 0.5 * (1 - t) * 50.0, rtol=1e-5)


def test_generator_losses_golden():
    np.testing.assert_allclose(
        losses.minimax_generator_loss(FAKE), [math.log(1 - _sig(f)) for f in FAKE], rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.non_saturating_generator_loss(FAKE), [-math.log(_sig(f)) for f in FAKE], rtol=1e-6
    )
    # -exp(logit(D)) = -D / (1 - D)
    np.testing.assert_allclose(
        losses.maximum_likelihood_generator_loss(FAKE),
        [-_sig(f) / (1 - _sig(f)) for f in FAKE],
        rtol=1e-5,
    )


def test_losses_are_stable_for_extreme_logits():
    extreme = np.array([-1e4, -100.0, 100.0, 1e4], np.float32)
    for fn in (
        losses.minimax_generator_loss,
        losses.non_saturating_generator_loss,
        losses.maximum_likelihood_generator_loss,
    ):
        assert np.all(np.isfinite(fn(extreme).numpy())), fn.__name__
    assert np.all(np.isfinite(losses.minimax_discriminator_loss(extreme, extreme).numpy()))


def _grad(fn, logit):
    x = tf.constant([logit])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(fn(x))
    return float(tape.gradient(y, x)[0])


@pytest.mark.parametrize("logit", [-5.0, -10.0, -20.0])
def test_minimax_saturates_where_non_saturating_does_not(logit):
    """Paper section 3: when D(G(z)) -> 0, log(1 - D) saturates, -log D does not."""
    g_minimax = _grad(losses.minimax_generator_loss, logit)
    g_ns = _grad(losses.non_saturating_generator_loss, logit)
    np.testing.assert_allclose(g_minimax, -_sig(logit), rtol=1e-5)  # -> 0
    np.testing.assert_allclose(g_ns, -_sig(-logit), rtol=1e-5)  # -> -1
    assert abs(g_minimax) < 7e-3
    assert abs(g_ns) > 0.99
    # Both push the fake logit up (negative gradient of the loss w.r.t. the logit).
    assert g_minimax < 0 and g_ns < 0


def test_get_names_and_errors():
    for name in ("minimax", "non_saturating", "maximum_likelihood"):
        d_fn, g_fn = losses.get(name)
        assert callable(d_fn) and callable(g_fn)
    with pytest.raises(ValueError, match="Valid choices.*non_saturating"):
        losses.get("nonsaturating")


def test_logits_shape_n_by_1_is_accepted():
    got = losses.minimax_discriminator_loss(REAL[:, None], FAKE[:, None])
    assert got.shape == (4,)


def test_objective_binds_options_and_says_how_d_is_logged():
    r, f = tf.constant([2.0, -1.0]), tf.constant([0.5, 3.0])
    smoothed = losses.objective("non_saturating", label_smoothing=0.1)
    np.testing.assert_allclose(
        smoothed.discriminator_loss(r, f),
        losses.minimax_discriminator_loss(r, f, real_target=0.9),
    )
    np.testing.assert_allclose(smoothed.d_metric(r), 1.0 / (1.0 + np.exp(-r.numpy())), rtol=1e-6)
    ebgan = losses.objective("ebgan", ebgan_margin=4.0)
    np.testing.assert_allclose(ebgan.discriminator_loss(r, f), r.numpy() + np.maximum(4.0 - f.numpy(), 0))
    assert (ebgan.output, losses.objective("wasserstein").output) == ("energy", "score")
    np.testing.assert_allclose(ebgan.d_metric(r), r)  # raw energies are logged
    # A user pair: the kind of the registered loss with the same D function, else "score".
    pair = (losses.minimax_discriminator_loss, losses.non_saturating_generator_loss)
    assert losses.objective(pair).output == "logit"
    assert losses.objective((lambda r, f: f - r, lambda f: -f)).output == "score"
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.objective("hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match="ebgan_margin"):
        losses.objective("ebgan", ebgan_margin=0.0)
    with pytest.raises(ValueError, match="Valid choices"):
        losses.objective("nonsaturating")


# ------------------------------------------------------------------- the tutorial's loss family
R = np.array([2.0, -1.0, 0.5, 0.0], np.float32)  # D's outputs on real examples


F = np.array([-3.0, 1.5, 0.25, 0.0], np.float32)  # D's outputs on generated examples


def np_softplus(x):
    return np.log1p(np.exp(x))


def grads(fn, *args):
    tensors = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = tf.reduce_sum(fn(*tensors))
    return [g.numpy() for g in tape.gradient(out, tensors)]


def test_every_family_is_registered_and_returns_float32_per_example():
    assert {"wasserstein", "least_squares", "hinge", "ebgan"} <= set(losses.LOSSES)
    for name, (d_fn, g_fn) in losses.LOSSES.items():
        d = d_fn(R[:, None], F[:, None])  # [batch, 1] logits are accepted
        # A paired G loss (RpGAN) also takes D's outputs on the paired real rows.
        paired = (tf.constant(R, tf.float16),) if name in losses.PAIRED_LOSSES else ()
        g = g_fn(tf.constant(F, tf.float16), *paired)
        assert d.shape == (4,) and d.dtype == tf.float32, name
        assert g.shape == (4,) and g.dtype == tf.float32, name
    assert losses.get("hinge") == (losses.hinge_discriminator_loss, losses.hinge_generator_loss)


def test_golden_values():
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss(R, F), F - R)
    np.testing.assert_allclose(losses.wasserstein_generator_loss(F), -F)
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss(R, F), 0.5 * (R - 1) ** 2 + 0.5 * F**2
    )
    np.testing.assert_allclose(losses.least_squares_generator_loss(F), 0.5 * (F - 1) ** 2)
    np.testing.assert_allclose(
        losses.hinge_discriminator_loss(R, F), [0 + 0, 2 + 2.5, 0.5 + 1.25, 1 + 1]
    )
    np.testing.assert_allclose(losses.hinge_generator_loss(F), -F)
    energy_r = np.array([0.1, 0.2, 0.0, 3.0], np.float32)
    energy_f = np.array([0.5, 1.0, 2.0, 0.0], np.float32)
    np.testing.assert_allclose(
        losses.ebgan_discriminator_loss(energy_r, energy_f, margin=1.0),
        [0.1 + 0.5, 0.2 + 0.0, 0.0 + 0.0, 3.0 + 1.0],
        rtol=1e-6,
    )
    np.testing.assert_allclose(losses.ebgan_generator_loss(energy_f), energy_f)


@pytest.mark.parametrize(
    "d_fn", [losses.minimax_discriminator_loss, losses.least_squares_discriminator_loss]
)
def test_label_smoothing_changes_only_the_real_targets(d_fn):
    plain = d_fn(R, F).numpy()
    smooth = d_fn(R, F, real_target=0.9).numpy()
    assert not np.allclose(plain, smooth)
    # The difference depends on the real outputs only: moving the fakes does not change it.
    other_f = F + np.array([5.0, -2.0, 1.0, 3.0], np.float32)
    np.testing.assert_allclose(smooth - plain, d_fn(R, other_f, 0.9) - d_fn(R, other_f), rtol=1e-5)
    # Fake target stays exactly 0: the gradient w.r.t. the fake outputs is unchanged...
    _, g_fake_plain = grads(lambda r, f: d_fn(r, f), R, F)
    _, g_fake_smooth = grads(lambda r, f: d_fn(r, f, real_target=0.9), R, F)
    np.testing.assert_array_equal(g_fake_plain, g_fake_smooth)
    # ...while the real outputs' optimum moves to the smoothed target.
    if d_fn is losses.minimax_discriminator_loss:
        target_logit = np.log(0.9 / 0.1)  # argmin_r of 0.9 softplus(-r) + 0.1 softplus(r)
    else:
        target_logit = 0.9  # argmin_r of (r - 0.9)^2
    g_real, _ = grads(
        lambda r, f: d_fn(r, f, real_target=0.9), np.full(4, target_logit, np.float32), F
    )
    np.testing.assert_allclose(g_real, 0.0, atol=1e-6)


def test_minimax_smoothing_formula():
    t = 0.9
    expected = 0.5 * (t * np_softplus(-R) + (1 - t) * np_softplus(R) + np_softplus(F))
    np.testing.assert_allclose(
        losses.minimax_discriminator_loss(R, F, real_target=t), expected, rtol=1e-5
    )


def test_ebgan_margin_behaves_as_the_formula_says():
    m = 0.7
    fake = np.array([0.0, 0.3, 0.69, 0.71, 2.0], np.float32)
    real = np.full(5, 0.25, np.float32)
    loss = losses.ebgan_discriminator_loss(real, fake, margin=m).numpy()
    np.testing.assert_allclose(loss, 0.25 + np.maximum(m - fake, 0.0), rtol=1e-6)
    g_real, g_fake = grads(lambda r, f: losses.ebgan_discriminator_loss(r, f, margin=m), real, fake)
    np.testing.assert_array_equal(g_real, np.ones(5))  # D always lowers real energies
    # Samples below the margin are pushed up (gradient -1), those beyond it are left alone.
    np.testing.assert_array_equal(g_fake, [-1.0, -1.0, -1.0, 0.0, 0.0])
    # The generator lowers its samples' energy regardless of the margin.
    (g_gen,) = grads(losses.ebgan_generator_loss, fake)
    np.testing.assert_array_equal(g_gen, np.ones(5))


def test_gradient_penalty_values_and_finite_gradient_at_zero():
    g = np.array([[3.0, 4.0], [0.6, 0.8], [0.0, 0.0]], np.float32)
    at_zero = (np.sqrt(1e-10) - 1.0) ** 2  # the epsilon shows at g = 0
    np.testing.assert_allclose(losses.gradient_penalty(g), [16.0, 0.0, at_zero], atol=1e-5)
    # Higher-rank gradients (images) use the norm over all non-batch axes.
    g_img = np.zeros((2, 2, 2, 1), np.float32)
    g_img[0, 0, 0, 0], g_img[0, 1, 1, 0] = 3.0, 4.0
    np.testing.assert_allclose(losses.gradient_penalty(g_img), [16.0, at_zero], atol=1e-5)
    # The epsilon inside the sqrt keeps the penalty differentiable at g = 0 (a bare sqrt: NaN).
    (dg,) = grads(losses.gradient_penalty, np.zeros((2, 3), np.float32))
    assert np.all(np.isfinite(dg))


def test_auxiliary_classifier_loss_is_softmax_cross_entropy():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], np.float32)
    labels = np.array([0, 2], np.int32)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(
        losses.auxiliary_classifier_loss(labels, logits),
        -log_softmax[np.arange(2), labels],
        rtol=1e-6,
    )


def test_metric_and_smoothing_groups():
    assert set(losses.CROSS_ENTROPY_LOSSES) == {"minimax", "non_saturating", "maximum_likelihood"}
    assert "least_squares" in losses.SMOOTHABLE_LOSSES
    assert "wasserstein" not in losses.SMOOTHABLE_LOSSES


def test_rpgan_golden_values_and_pairing():
    # L_D = softplus(f - r), L_G = softplus(r - f), row i of real paired with row i of fake.
    np.testing.assert_allclose(losses.rpgan_discriminator_loss(R, F), np_softplus(F - R), rtol=1e-6)
    np.testing.assert_allclose(losses.rpgan_generator_loss(F, R), np_softplus(R - F), rtol=1e-6)
    # Only the differences matter: shifting both sides leaves both losses unchanged.
    np.testing.assert_allclose(
        losses.rpgan_discriminator_loss(R + 5.0, F + 5.0), losses.rpgan_discriminator_loss(R, F), rtol=1e-6
    )
    objective = losses.objective("rpgan")
    assert objective.g_needs_real and objective.output == "score"
    np.testing.assert_allclose(objective.generator_loss(F, R), np_softplus(R - F), rtol=1e-6)
    assert "rpgan" not in losses.SMOOTHABLE_LOSSES
