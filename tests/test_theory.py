"""The paper's theory on 1-D Gaussians: D* (Proposition 1) and C(G) = -log 4 + 2 JSD (Theorem 1).

The analytic parts are checked against independent computations (hand values, scipy quadrature);
the trained parts train a discriminator with the package's `GAN` against a frozen affine generator,
whose p_g = N(mu_g, sigma_g^2) is known exactly, and compare it with D*.
"""

import math

import numpy as np
import pytest
from scipy import integrate

from tfgan_orig import theory

DATA_MEAN, DATA_STD = 4.0, 0.5
SHIFTED_MEAN = 3.0  # p_g two data standard deviations to the left: JSD ~ 0.34 nats
# Training budget for the tests: half the CLI's, still a decayed-to-zero schedule. Measured max
# |D - D*| at this budget, seeds 0-2: 0.012-0.016 for the shifted generator, 0.002-0.004 for the
# equal one (0.0067 and 0.0003 at the CLI's 2000 steps, seed 0).
TEST_STEPS = 1000

# Tolerance on max |D - D*| over the region where either distribution has mass. D is fit from
# finite minibatches by a 2x32 MLP: twice the worst error measured above. For scale, the sampling
# error of a probability near 1/2 estimated from the ~10^4 samples that fall in one 0.05-wide bin
# is ~ sqrt(0.25 / 10^4) = 0.005. 0.03 is still small enough to reject the D* of a generator whose
# mean is off by half a standard deviation (checked below), so a D that is merely sigmoid-shaped
# cannot pass.
D_TOL = 0.03
# Tolerance on C(G) - V(D, G) for the trained D. V is stationary at its maximum D*, so the gap is
# second order in D - D*; measured 0.0005 (shifted) and < 1e-4 (equal) over seeds 0-2.
V_GAP_TOL = 0.005


# ------------------------------------------------------------------------------ analytic parts
def test_optimal_discriminator_hand_values():
    d = theory.optimal_discriminator([3.0, 1.0, 2.0, 0.0, 0.0], [1.0, 3.0, 2.0, 5.0, 0.0])
    # 3/(3+1), 1/(1+3), equal densities -> 1/2, no data -> 0, no mass anywhere -> 1/2 by convention.
    np.testing.assert_allclose(d, [0.75, 0.25, 0.5, 0.0, 0.5])


def test_normal_pdf_is_a_density():
    x = np.linspace(-10, 10, 20001)
    p = theory.normal_pdf(x, 1.0, 0.7)
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-9)
    assert np.trapezoid(x * p, x) == pytest.approx(1.0, abs=1e-9)
    assert theory.normal_pdf(1.0, 1.0, 0.7) == pytest.approx(1.0 / (0.7 * math.sqrt(2 * math.pi)))
    with pytest.raises(ValueError, match="std must be > 0"):
        theory.normal_pdf(x, 0.0, 0.0)


def _jsd_quad(m1, s1, m2, s2):
    """JSD of two Gaussians by adaptive quadrature: an implementation independent of the grid."""

    def integrand(x):
        p = theory.normal_pdf(x, m1, s1)
        q = theory.normal_pdf(x, m2, s2)
        m = 0.5 * (p + q)
        out = 0.0
        if p > 0:
            out += 0.5 * p * math.log(p / m)
        if q > 0:
            out += 0.5 * q * math.log(q / m)
        return out

    lo, hi = min(m1 - 12 * s1, m2 - 12 * s2), max(m1 + 12 * s1, m2 + 12 * s2)
    return integrate.quad(integrand, lo, hi, limit=200, epsabs=1e-12)[0]


@pytest.mark.parametrize("g_mean,g_std", [(4.0, 0.5), (3.0, 0.5), (4.0, 1.0), (0.0, 0.3)])
def test_jsd_and_criterion_match_quadrature(g_mean, g_std):
    x = theory.density_grid(DATA_MEAN, DATA_STD, g_mean, g_std)
    p, q = theory.normal_pdf(x, DATA_MEAN, DATA_STD), theory.normal_pdf(x, g_mean, g_std)
    jsd = theory.jensen_shannon(p, q, x)
    assert jsd == pytest.approx(_jsd_quad(DATA_MEAN, DATA_STD, g_mean, g_std), abs=1e-6)
    assert 0.0 <= jsd <= math.log(2) + 1e-9
    # Theorem 1, two ways: the JSD formula and the integral of V at D* agree.
    c = theory.virtual_training_criterion(p, q, x)
    assert c == pytest.approx(-math.log(4) + 2 * jsd)
    v_star = theory.value_integral(theory.optimal_discriminator(p, q), p, q, x)
    assert v_star == pytest.approx(c, abs=1e-8)


def test_criterion_extremes():
    x = np.linspace(-20, 20, 40001)
    p = theory.normal_pdf(x, 0.0, 1.0)
    # p_g = p_data: the global minimum -log 4, reached by D* = 1/2 everywhere.
    assert theory.virtual_training_criterion(p, p, x) == pytest.approx(-math.log(4), abs=1e-12)
    np.testing.assert_array_equal(theory.optimal_discriminator(p, p), 0.5)
    # Disjoint supports: JSD = log 2, C(G) = 0 (D* is a perfect classifier, V = 0).
    q = theory.normal_pdf(x, 15.0, 0.3)
    p_far = theory.normal_pdf(x, -15.0, 0.3)
    assert theory.jensen_shannon(p_far, q, x) == pytest.approx(math.log(2), abs=1e-9)
    assert theory.virtual_training_criterion(p_far, q, x) == pytest.approx(0.0, abs=1e-8)


def test_any_other_discriminator_scores_below_the_criterion():
    """Proposition 1: D* maximizes V pointwise, so every other D has V(D, G) < C(G)."""
    x = theory.density_grid(DATA_MEAN, DATA_STD, SHIFTED_MEAN, DATA_STD)
    p, q = theory.normal_pdf(x, DATA_MEAN, DATA_STD), theory.normal_pdf(x, SHIFTED_MEAN, DATA_STD)
    c = theory.virtual_training_criterion(p, q, x)
    d_star = theory.optimal_discriminator(p, q)
    others = {
        "half": np.full_like(x, 0.5),
        "wrong_generator": theory.optimal_discriminator(p, theory.normal_pdf(x, 3.5, DATA_STD)),
        "perturbed": np.clip(d_star + 0.05 * np.sin(3 * x), 1e-6, 1 - 1e-6),
    }
    assert theory.value_integral(others["half"], p, q, x) == pytest.approx(-math.log(4), abs=1e-9)
    for name, d in others.items():
        assert theory.value_integral(d, p, q, x) < c - 1e-4, name


def test_value_estimates_agree_and_use_the_package_loss():
    rng = np.random.default_rng(0)
    r, f = rng.normal(1.0, 2.0, 1000), rng.normal(-1.0, 2.0, 1000)
    v_probs, se = theory.value_estimate(1 / (1 + np.exp(-r)), 1 / (1 + np.exp(-f)))
    # Same number from the logits through tfgan_orig.losses.minimax_discriminator_loss.
    assert theory.value_from_logits(r, f) == pytest.approx(v_probs, abs=1e-5)
    assert 0 < se < 0.1
    # Hand value: D = 1/2 on both sides gives log(1/2) + log(1/2) = -log 4, with zero spread.
    v, se = theory.value_estimate(np.full(10, 0.5), np.full(7, 0.5))
    assert v == pytest.approx(-math.log(4)) and se == 0.0


def test_affine_generator_is_exact_and_frozen():
    g = theory.affine_generator(3.0, 0.5)
    z = np.array([[-2.0], [0.0], [1.0]], np.float32)
    np.testing.assert_allclose(g.predict(z, verbose=0).ravel(), [2.0, 3.0, 3.5], rtol=1e-6)
    assert g.trainable_variables == []
    with pytest.raises(ValueError, match="std must be > 0"):
        theory.affine_generator(0.0, -1.0)


# ------------------------------------------------------------------------------ trained D vs D*
@pytest.fixture(scope="module")
def shifted():
    return theory.optimal_discriminator_check(
        DATA_MEAN, DATA_STD, SHIFTED_MEAN, DATA_STD, steps=TEST_STEPS, num_eval=100_000, seed=0
    )


@pytest.fixture(scope="module")
def equal():
    return theory.optimal_discriminator_check(
        DATA_MEAN, DATA_STD, DATA_MEAN, DATA_STD, steps=TEST_STEPS, num_eval=100_000, seed=0
    )


def test_trained_discriminator_matches_d_star_for_a_shifted_generator(shifted):
    assert shifted.max_abs_error < D_TOL, shifted.summary()
    # The check region spans D* from near 0 to near 1, so this is not a test of a flat curve.
    assert shifted.d_star.min() < 0.1 and shifted.d_star.max() > 0.9
    # Negative control: the D* of a generator off by half a std is rejected at this tolerance.
    wrong = theory.optimal_discriminator(
        theory.normal_pdf(shifted.x_check, DATA_MEAN, DATA_STD),
        theory.normal_pdf(shifted.x_check, SHIFTED_MEAN + 0.25, DATA_STD),
    )
    assert np.max(np.abs(shifted.d - wrong)) > 2 * D_TOL


def test_trained_discriminator_is_one_half_for_an_equal_generator(equal):
    np.testing.assert_array_equal(equal.d_star, 0.5)
    assert equal.max_abs_error < D_TOL, equal.summary()


@pytest.mark.parametrize("setting", ["equal", "shifted"])
def test_value_at_the_optimum_is_minus_log4_plus_2jsd(setting, request):
    c = request.getfixturevalue(setting)
    expected = -math.log(4) + 2 * c.jsd
    assert c.criterion == pytest.approx(expected)
    if setting == "equal":
        assert c.criterion == pytest.approx(-math.log(4), abs=1e-9)
    else:
        quad = _jsd_quad(DATA_MEAN, DATA_STD, SHIFTED_MEAN, DATA_STD)
        assert c.jsd == pytest.approx(quad, abs=1e-6)
    # Monte Carlo V(D*, G) on fresh samples: unbiased, so within 4 standard errors (a false alarm
    # rate of 6e-5); at p_g = p_data D* = 1/2 exactly and the estimate is exactly -log 4.
    assert abs(c.value_d_star - expected) <= 4 * c.value_d_star_se + 1e-9, c.summary()
    # The trained D: V(D, G) <= C(G) for any D (exact on the grid: D* maximizes the integrand
    # pointwise), and the gap is small (see V_GAP_TOL).
    assert c.value_integral_trained <= c.value_integral_d_star + 1e-9
    assert c.value_integral_d_star - c.value_integral_trained < V_GAP_TOL, c.summary()
    # Its Monte Carlo estimate on fresh samples: sampling error (4 se) plus that gap.
    assert abs(c.value_trained - expected) <= 4 * c.value_trained_se + V_GAP_TOL, c.summary()
