"""tfgan_orig.metrics against analytic values and hand-built cases (pure functions, no models)."""

import math

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfgan_orig import data, metrics

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------- Fréchet
def test_frechet_identical_sets_is_zero():
    x = RNG.standard_normal((500, 8))
    assert abs(metrics.frechet_distance(x, x)) < 1e-8


def test_frechet_diagonal_golden():
    # Diagonal covariances commute: Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt a - sqrt b)^2.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1.0 + 0.0 + 4.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    got = metrics.frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, abs=1e-10)


def _random_cov(d, rng):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_non_commuting_matches_sqrtm():
    rng = np.random.default_rng(1)
    s1, s2 = _random_cov(6, rng), _random_cov(6, rng)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    got = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2)
    assert got == pytest.approx(expected, rel=1e-8)


def test_frechet_of_shifted_gaussian_samples_is_analytic():
    rng = np.random.default_rng(2)
    d = 4
    s1, s2 = _random_cov(d, rng), _random_cov(d, rng)
    mu1, mu2 = np.zeros(d), np.array([1.0, -0.5, 0.0, 2.0])
    x = rng.multivariate_normal(mu1, s1, size=40000)
    y = rng.multivariate_normal(mu2, s2, size=40000)
    analytic = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2)
    assert metrics.frechet_distance(x, y) == pytest.approx(analytic, abs=0.05)


def test_frechet_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="equal width"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


# ------------------------------------------------------------------------------------------- KID
def test_kid_matches_direct_formula_and_is_near_zero_for_same_distribution():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 3)) + 0.7
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    m = 30
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    # A subset of all rows is a permutation, and MMD^2 does not depend on the order.
    kid, _ = metrics.kernel_inception_distance(x, y, num_subsets=3, subset_size=30)
    assert kid == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    same, stderr = metrics.kernel_inception_distance(
        rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3)), num_subsets=10,
        subset_size=500,
    )
    assert abs(same) < 5 * stderr + 1e-3
    assert kid > 0.1


# --------------------------------------------------------------------------- precision / recall
def test_identical_sets_have_perfect_precision_recall_coverage():
    x = RNG.standard_normal((300, 5))
    pr = metrics.precision_recall(x, x, k=3)
    dc = metrics.density_coverage(x, x, k=5)
    assert pr == {"precision": 1.0, "recall": 1.0}
    assert dc["coverage"] == 1.0
    assert dc["density"] >= 1.0  # each point is in its own ball, plus its neighbours'


def test_precision_recall_density_coverage_golden_1d():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0]])
    # Real 1-NN radii are all 1: fake 0.5 lies in the balls of 0 and 1, fake 10 in none.
    # Fake 1-NN radii are 9.5: every real point lies within 9.5 of 0.5.
    pr = metrics.precision_recall(real, fake, k=1)
    assert pr == {"precision": 0.5, "recall": 1.0}
    dc = metrics.density_coverage(real, fake, k=1)
    assert dc["density"] == pytest.approx(2 / (1 * 2))
    assert dc["coverage"] == pytest.approx(2 / 4)  # reals 0 and 1 have a fake within radius 1


def test_disjoint_sets_score_zero():
    x = RNG.standard_normal((200, 3))
    pr = metrics.precision_recall(x, x + 100.0, k=3)
    dc = metrics.density_coverage(x, x + 100.0, k=5)
    assert pr == {"precision": 0.0, "recall": 0.0}
    assert dc == {"density": 0.0, "coverage": 0.0}


def test_manifold_metrics_reject_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=3)


# ----------------------------------------------------------------------------------- mode coverage
def test_mode_coverage_hand_built():
    modes, std = data.ring_modes(), 0.01
    samples = np.concatenate(
        [
            np.repeat(modes[:1], 10, axis=0),  # 10 exactly at mode 0
            modes[1:2] + [[0.02, 0.0]] * 5,  # 5 at 2 std from mode 1
            modes[2:3] + [[0.035, 0.0]] * 5,  # 5 at 3.5 std from mode 2: not high quality
        ]
    )
    out = metrics.mode_coverage(samples, modes, std)
    assert out["modes_captured"] == 2
    assert out["high_quality_fraction"] == pytest.approx(15 / 20)
    p = np.array([10 / 15, 5 / 15])
    assert out["reverse_kl"] == pytest.approx(np.sum(p * np.log(8 * p)))
    assert out["mode_counts"] == [10, 5, 0, 0, 0, 0, 0, 0]


def test_mode_offsets_and_radii_say_where_the_samples_sit():
    """Samples of a mode itself: offset ~0 and radius sqrt(2 ln 2) std (the median of a 2-D
    Gaussian's distance to its mean), also with a few samples strewn far away; the same samples
    shifted by 4 std: offset 4, radius unchanged, most HQ samples lost; a point mass: radius 0; a
    mode that is nobody's nearest: None."""
    rng = np.random.default_rng(0)
    modes, std = data.ring_modes(), 0.01
    own = modes[0] + std * rng.standard_normal((4000, 2))
    own[:40] = modes[0] + [-0.2, 0.1]  # 1% strewn 22 std away, still nearest to mode 0
    shifted = modes[1] + [0.0, 0.04] + std * rng.standard_normal((4000, 2))  # 4 std off, radially out
    point = np.repeat(modes[2:3] + [[0.005, 0.0]], 10, axis=0)
    out = metrics.mode_coverage(np.concatenate([own, shifted, point]), modes, std)
    assert out["mode_offsets"][0] == pytest.approx(0.0, abs=0.05)
    assert out["mode_radii"][0] == pytest.approx(math.sqrt(2 * math.log(2)), abs=0.04)
    assert out["mode_offsets"][1] == pytest.approx(4.0, abs=0.05)
    assert out["mode_radii"][1] == pytest.approx(math.sqrt(2 * math.log(2)), abs=0.04)
    assert out["mode_counts"][1] < 0.3 * 4000  # most of the shifted cluster is beyond 3 std
    assert out["mode_offsets"][2] == pytest.approx(0.5) and out["mode_radii"][2] == pytest.approx(0.0)
    assert out["mode_offsets"][3:] == [None] * 5 and out["mode_radii"][3:] == [None] * 5


def test_mode_coverage_balanced_single_and_empty():
    modes = data.grid_modes()
    balanced = metrics.mode_coverage(np.repeat(modes, 4, axis=0), modes, 0.05)
    assert balanced["modes_captured"] == 25 and balanced["reverse_kl"] == pytest.approx(0.0)
    single = metrics.mode_coverage(np.repeat(modes[:1], 7, axis=0), modes, 0.05)
    assert single["modes_captured"] == 1 and single["reverse_kl"] == pytest.approx(math.log(25))
    empty = metrics.mode_coverage(np.full((5, 2), 1.0), modes, 0.05)
    assert empty["modes_captured"] == 0 and empty["high_quality_fraction"] == 0.0
    assert math.isnan(empty["reverse_kl"])


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mode_coverage_of_the_true_distribution(name):
    x, _ = data.load_arrays(name, "test")
    modes_fn, std = data.MIXTURES[name]
    out = metrics.mode_coverage(x[:2500], modes_fn(), std)
    assert out["modes_captured"] == len(modes_fn())
    # ||x - mu|| / std is chi-distributed with 2 dof: P(< 3) = 1 - exp(-9/2) = 0.98889.
    assert out["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert out["reverse_kl"] < 0.02


# ------------------------------------------------------------------------------------------ Parzen
def _naive_parzen(samples, x, sigma):
    # The authors' theano_parzen, elementwise.
    a = (x[:, None, :] - samples[None, :, :]) / sigma
    e = -0.5 * (a**2).sum(2)
    lme = e.max(1) + np.log(np.exp(e - e.max(1, keepdims=True)).mean(1))
    return lme - samples.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))


def test_parzen_matches_the_authors_formula():
    rng = np.random.default_rng(4)
    samples, x = rng.random((300, 16)), rng.random((40, 16))
    for sigma in (0.1, 0.3, 1.0):
        got = metrics.parzen_log_likelihood(samples, x, sigma, batch_size=7)
        np.testing.assert_allclose(got, _naive_parzen(samples, x, sigma), rtol=1e-10)
    # float32 distances stay within a small fraction of a nat at the smallest sigma.
    got32 = metrics.parzen_log_likelihood(samples, x, 0.1, dtype=tf.float32)
    np.testing.assert_allclose(got32, _naive_parzen(samples, x, 0.1), atol=0.05)


def test_parzen_on_gaussian_data_matches_the_analytic_log_likelihood():
    # x, mu_i ~ N(0, s^2 I_d). As n -> inf the window N(mu_i, sigma^2 I) averages to
    # N(0, v I) with v = s^2 + sigma^2, so E log p(x) = -d/2 log(2 pi v) - d s^2 / (2 v).
    rng = np.random.default_rng(5)
    d, s, sigma = 2, 1.0, 0.5
    samples = s * rng.standard_normal((20000, d))
    test = s * rng.standard_normal((4000, d))
    v = s**2 + sigma**2
    analytic = -d / 2 * math.log(2 * math.pi * v) - d * s**2 / (2 * v)
    ll = metrics.parzen_log_likelihood(samples, test, sigma)
    stderr = ll.std() / math.sqrt(len(ll))
    assert ll.mean() == pytest.approx(analytic, abs=4 * stderr + 0.01)


def test_parzen_window_selects_sigma_and_reports_stderr():
    rng = np.random.default_rng(6)
    samples = 0.3 * rng.standard_normal((2000, 3))
    valid = 0.3 * rng.standard_normal((200, 3))
    test = 0.3 * rng.standard_normal((500, 3))
    sigma, lls = metrics.select_parzen_sigma(samples, valid)
    assert sigma == metrics.PARZEN_SIGMAS[np.argmax(lls)]
    assert lls.shape == (10,) and 0.1 < sigma < 1.0  # an interior optimum for this spread
    out = metrics.parzen_window(samples, valid, test)
    ll = metrics.parzen_log_likelihood(samples, test, sigma)
    assert out == pytest.approx(
        {
            "parzen_ll": ll.mean(),
            "parzen_ll_stderr": ll.std() / math.sqrt(500),
            "parzen_sigma": sigma,
        }
    )


def test_parzen_rejects_bad_input():
    with pytest.raises(ValueError, match="dimension"):
        metrics.parzen_log_likelihood(np.zeros((4, 3)), np.zeros((2, 5)), 0.1)
    with pytest.raises(ValueError, match="sigmas must be > 0"):
        metrics.select_parzen_sigma(np.zeros((4, 3)), np.zeros((2, 3)), sigmas=[0.0])


# ------------------------------------------------------------------------------- classifier score
def test_classifier_score_bounds():
    assert metrics.classifier_score(np.zeros((50, 10))) == pytest.approx(1.0)
    # Confident and balanced over K classes: KL(p(y|x) || uniform) = log K, score K.
    confident = np.tile(np.eye(10) * 50.0, (5, 1))
    assert metrics.classifier_score(confident) == pytest.approx(10.0, rel=1e-6)
    # Confident but all one class: p(y|x) = p(y), score 1.
    collapsed = np.tile(np.eye(10)[:1] * 50.0, (40, 1))
    assert metrics.classifier_score(collapsed) == pytest.approx(1.0, rel=1e-6)


# ----------------------------------------------------------------------------------- metric names
def test_parse_metrics():
    assert metrics.parse_metrics("fd, precision,parzen_ll,fd") == ["fd", "pr", "parzen"]
    assert metrics.parse_metrics(["all"]) == list(metrics.METRIC_GROUPS)
    with pytest.raises(ValueError, match="Valid choices.*modes"):
        metrics.parse_metrics("fid,modes")
