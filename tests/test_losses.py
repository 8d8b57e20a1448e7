"""Golden values and gradient behaviour of the original GAN losses."""

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
