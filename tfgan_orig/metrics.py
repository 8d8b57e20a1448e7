"""Sample-quality metrics for GANs: pure functions of samples, features and data (no models, no I/O).

`tfgan_orig.evaluation.Evaluator` applies them to a GAN.

Metric groups (the names on the left are what `--metrics` and `Evaluator.evaluate` accept; the
names on the right are the keys of the results, used by other tools):

| group    | result keys                                           | default sample counts         |
| -------- | ----------------------------------------------------- | ----------------------------- |
| `parzen` | `parzen_ll`, `parzen_ll_stderr`, `parzen_sigma`       | 10,000 samples, 10,000 test   |
| `modes`  | `modes_captured`, `high_quality_fraction`, `reverse_kl` | 2,500 samples (mixtures) |
| `fd`     | `frechet_distance`                                    | 10,000 samples, 10,000 test   |
| `kid`    | `kid`, `kid_stderr`                                   | 10,000 samples, 10,000 test   |
| `pr`     | `precision`, `recall`                                 | 10,000 samples, 10,000 test   |
| `dc`     | `density`, `coverage`                                 | 10,000 samples, 10,000 test   |
| `cs`     | `classifier_score`                                    | 10,000 samples                |

`fd`, `kid`, `pr`, `dc` and `cs` work on features of a feature network (`tfgan_orig.classifier`):
the package's own dataset classifier (offline) or InceptionV3 (when its weights are on disk); for the
2-D mixtures, the points themselves ("identity"). Every result names its feature network.

References: Parzen windows as in Goodfellow et al. 2014 (authors' `parzen_ll.py`); mode coverage as
in PacGAN (Lin et al. 2018); Fréchet distance (Heusel et al. 2017); KID (Binkowski et al. 2018);
improved precision/recall (Kynkäänniemi et al. 2019); density/coverage (Naeem et al. 2020).
"""

import math

import numpy as np
import tensorflow as tf

__all__ = [
    "DEFAULT_NUM_SAMPLES",
    "FEATURE_GROUPS",
    "METRIC_GROUPS",
    "PARZEN_SIGMAS",
    "classifier_score",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_stats",
    "kernel_inception_distance",
    "mode_coverage",
    "parse_metrics",
    "parzen_log_likelihood",
    "parzen_window",
    "precision_recall",
    "select_parzen_sigma",
    "squared_distances",
]

# The authors' cross-validation grid: np.logspace(-1, 0, 10) = 0.1 ... 1.0.
PARZEN_SIGMAS = np.logspace(-1.0, 0.0, 10)

METRIC_GROUPS = {
    "parzen": ("parzen_ll", "parzen_ll_stderr", "parzen_sigma"),
    "modes": ("modes_captured", "high_quality_fraction", "reverse_kl"),
    "fd": ("frechet_distance",),
    "kid": ("kid", "kid_stderr"),
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
    "cs": ("classifier_score",),
}
FEATURE_GROUPS = ("fd", "kid", "pr", "dc", "cs")
DEFAULT_NUM_SAMPLES = {
    "parzen": 10000,
    "modes": 2500,
    "fd": 10000,
    "kid": 10000,
    "pr": 10000,
    "dc": 10000,
    "cs": 10000,
}
PARZEN_NUM_VALID = 1000
# Fashion-MNIST/MNIST validation images for sigma, as the authors' MNIST split (train[50000:51000]).
PARZEN_VALID_START = 50000


def parse_metrics(metrics):
    """Metric groups from a comma-separated string or a list of group or result names.

    "fd,precision" -> ["fd", "pr"]; "all" -> every group. Order is kept, duplicates dropped.

    Raises:
      ValueError: naming the unknown entries and the valid choices.
    """
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",")]
    names = [m.strip() for m in metrics if m and m.strip()]
    by_key = {key: group for group, keys in METRIC_GROUPS.items() for key in keys}
    groups, unknown = [], []
    for name in names:
        if name == "all":
            expanded = list(METRIC_GROUPS)
        elif name in METRIC_GROUPS:
            expanded = [name]
        elif name in by_key:
            expanded = [by_key[name]]
        else:
            unknown.append(name)
            continue
        groups += [g for g in expanded if g not in groups]
    if unknown or not groups:
        raise ValueError(
            f"Unknown metrics {unknown if unknown else metrics!r}. Valid choices: groups "
            f"{sorted(METRIC_GROUPS)} or 'all', or result names "
            f"{sorted(by_key)}."
        )
    return groups


# ------------------------------------------------------------------------------------- distances
def squared_distances(x, y, dtype=tf.float64):
    """Pairwise squared Euclidean distances `||x_i - y_j||^2` as a `[n, m]` tensor.

    Computed as `||x||^2 - 2 x.y + ||y||^2` (one matmul, so 10k x 10k x 784 takes seconds), in
    float64 by default: in float32 the cancellation of terms of size ~||x||^2 leaves errors of
    ~1e-7 ||x||^2, which a Parzen window of sigma = 0.1 magnifies 50x. Clipped at 0.
    """
    x = tf.cast(tf.convert_to_tensor(x), dtype)
    y = tf.cast(tf.convert_to_tensor(y), dtype)
    xx = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
    yy = tf.reduce_sum(tf.square(y), axis=1, keepdims=True)
    d = xx - 2.0 * tf.matmul(x, y, transpose_b=True) + tf.transpose(yy)
    return tf.maximum(d, 0.0)


def _flat(x):
    x = np.asarray(x)
    return x.reshape(len(x), -1)


# ------------------------------------------------------------------------------------------ Parzen
def _parzen_lls(samples, data, sigmas, batch_size, dtype):
    """log p_sigma(x) for every x in `data` and every sigma: float64 `[len(sigmas), len(data)]`.

    The squared distances of a batch to all samples are computed once and reused for every sigma.
    """
    samples = _flat(samples)
    data = _flat(data)
    if samples.shape[1] != data.shape[1]:
        raise ValueError(
            f"Parzen samples and data differ in dimension: {samples.shape[1]} vs {data.shape[1]}."
        )
    sigmas = np.asarray(sigmas, np.float64).reshape(-1)
    if np.any(sigmas <= 0):
        raise ValueError(f"Parzen sigmas must be > 0. Received: sigmas={sigmas.tolist()}")
    n, d = samples.shape
    mu = tf.constant(samples, dtype)
    out = np.empty((len(sigmas), len(data)), np.float64)
    log_n = math.log(n)
    for start in range(0, len(data), batch_size):
        dist = tf.cast(squared_distances(data[start : start + batch_size], mu, dtype), tf.float64)
        for s, sigma in enumerate(sigmas):
            # log (1/n) sum_i N(x; mu_i, sigma^2 I)
            #   = logsumexp_i(-||x - mu_i||^2 / (2 sigma^2)) - log n - d log(sigma sqrt(2 pi))
            lse = tf.reduce_logsumexp(-dist / (2.0 * sigma**2), axis=1).numpy()
            out[s, start : start + batch_size] = (
                lse - log_n - d * math.log(sigma * math.sqrt(2.0 * math.pi))
            )
    return out


def parzen_log_likelihood(samples, data, sigma, batch_size=1000, dtype=tf.float64):
    """Per-example log-likelihood of `data` under an isotropic Gaussian Parzen window on `samples`.

    `log p(x) = logmeanexp_i(-||x - mu_i||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi))`
    with `mu_i` the samples (the authors' `theano_parzen`).

    Args:
      samples: generator samples `[n, ...]` (flattened to `[n, d]`).
      data: evaluation points `[m, ...]`, same per-example size.
      sigma: window width.
      batch_size: data rows per distance matrix (memory `batch_size * n` floats).
      dtype: distance computation dtype (float64 default; see `squared_distances`).

    Returns:
      float64 numpy `[m]`.
    """
    return _parzen_lls(samples, data, [sigma], batch_size, dtype)[0]


def select_parzen_sigma(samples, valid, sigmas=PARZEN_SIGMAS, batch_size=1000, dtype=tf.float64):
    """The sigma of `sigmas` with the highest mean validation log-likelihood (authors' procedure).

    Returns:
      `(best_sigma, mean_lls)` with `mean_lls[i]` the mean log-likelihood of `valid` for `sigmas[i]`.
    """
    lls = _parzen_lls(samples, valid, sigmas, batch_size, dtype).mean(axis=1)
    return float(np.asarray(sigmas)[int(np.argmax(lls))]), lls


def parzen_window(samples, valid, test, sigmas=PARZEN_SIGMAS, batch_size=1000, dtype=tf.float64):
    """Parzen-window log-likelihood exactly as Goodfellow et al. 2014 (authors' `parzen_ll.py`).

    sigma is chosen from `sigmas` (default `logspace(-1, 0, 10)`) by mean log-likelihood of `valid`;
    the result is the mean test log-likelihood and its standard error `std(ll) / sqrt(N)`
    (numpy's population std, as the authors').

    Args:
      samples: generator samples (the paper: 10,000), pixels real-valued in [0, 1].
      valid: validation examples (the paper: 1,000, MNIST train[50000:51000]).
      test: test examples (the paper: the 10,000 test images).

    Returns:
      dict with `parzen_ll`, `parzen_ll_stderr`, `parzen_sigma`.
    """
    sigma, _ = select_parzen_sigma(samples, valid, sigmas, batch_size, dtype)
    ll = parzen_log_likelihood(samples, test, sigma, batch_size, dtype)
    return {
        "parzen_ll": float(ll.mean()),
        "parzen_ll_stderr": float(ll.std() / math.sqrt(len(ll))),
        "parzen_sigma": sigma,
    }


# ----------------------------------------------------------------------------------- mode coverage
def mode_coverage(samples, modes, std, threshold=3.0):
    """Mode coverage of 2-D mixture samples as PacGAN (Lin et al. 2018) measures it.

    Each sample is assigned to its nearest mode; it is *high quality* (HQ) if that distance is below
    `threshold * std` (PacGAN: 3 standard deviations). A mode is captured if it has at least one HQ
    sample. With `c_k` the number of HQ samples at mode k (K modes) and `p_k = c_k / sum_j c_j`:

        reverse_kl = KL(p || uniform) = sum_{k: p_k > 0} p_k log(K p_k) = log K - H(p),

    in nats; empty bins contribute 0 (0 log 0 = 0), which is what makes the *reverse* KL finite under
    mode dropping (PacGAN's `scipy.stats.entropy` of the same histogram gives `log K - reverse_kl`).
    It is 0 for a perfectly balanced generator and log K when all HQ samples sit at one mode.
    With no HQ sample at all, p is undefined and `reverse_kl` is NaN.

    Args:
      samples: `[n, d]` generated points (PacGAN: 2,500).
      modes: `[K, d]` mode centres.
      std: the modes' standard deviation.
      threshold: HQ radius in standard deviations.

    Where the samples sit, per mode k, over the samples X_k whose nearest mode is k (`None` where
    there are none), with c_k the coordinate-wise median of X_k, in units of `std`:

        mode_offsets[k] = ||c_k - mu_k|| / std            (~0 for samples of the mode itself)
        mode_radii[k]   = median_{x in X_k} ||x - c_k|| / std

    For samples of the mode itself the radius is the median of a chi distribution with d degrees
    of freedom: sqrt(2 ln 2) = 1.18 in 2-D. Medians, so that the few samples strewn between modes
    do not move them. They tell apart the ways a generator loses HQ samples: a cluster as narrow as
    the mode or narrower but centred a few std off it (offset >= 3) loses most of its samples at
    once, which is how a GAN oscillating around the equilibrium dips on the tight ring (std 0.01;
    docs/mixtures.md), while a cluster wider than the mode shows as a large radius.

    Returns:
      dict with `modes_captured` (int), `high_quality_fraction`, `reverse_kl`, `mode_counts`
      (list of the K HQ counts), `mode_offsets` and `mode_radii` (lists of K floats or None).
    """
    samples = np.asarray(samples, np.float64)
    modes = np.asarray(modes, np.float64)
    if samples.ndim != 2 or modes.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(
            "mode_coverage needs samples [n, d] and modes [K, d]. Received: samples "
            f"{samples.shape}, modes {modes.shape}"
        )
    if std <= 0 or threshold <= 0:
        raise ValueError(
            f"std and threshold must be > 0. Received: std={std}, threshold={threshold}"
        )
    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(axis=2)
    nearest = d2.argmin(axis=1)
    hq = np.sqrt(d2[np.arange(len(samples)), nearest]) < threshold * std
    counts = np.bincount(nearest[hq], minlength=len(modes))
    total = counts.sum()
    if total > 0:
        p = counts[counts > 0] / total
        reverse_kl = float(np.sum(p * np.log(len(modes) * p)))
    else:
        reverse_kl = float("nan")
    offsets, radii = [], []
    for k in range(len(modes)):
        x = samples[nearest == k]
        if len(x) == 0:
            offsets.append(None)
            radii.append(None)
            continue
        centre = np.median(x, axis=0)
        offsets.append(float(np.linalg.norm(centre - modes[k]) / std))
        radii.append(float(np.median(np.linalg.norm(x - centre, axis=1)) / std))
    return {
        "modes_captured": int((counts > 0).sum()),
        "high_quality_fraction": float(hq.mean()),
        "reverse_kl": reverse_kl,
        "mode_counts": counts.tolist(),
        "mode_offsets": offsets,
        "mode_radii": radii,
    }


# ---------------------------------------------------------------------------------- Fréchet, KID
def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2):
    """`||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))` (Heusel et al. 2017).

    `Tr((S1 S2)^(1/2))` is computed as `sum_i sqrt(lambda_i)` over the eigenvalues of the symmetric
    PSD matrix `S1^(1/2) S2 S1^(1/2)`, which is similar to `S1 S2`: no complex `sqrtm` round-off.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"Mismatched statistics: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}."
        )
    w, v = np.linalg.eigh((s1 + s1.T) / 2.0)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root1 @ s2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2.0), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def frechet_distance(features1, features2):
    """Fréchet distance between Gaussians fitted to two feature sets `[n, d]` (unbiased covariance)."""
    f1, f2 = _flat(features1).astype(np.float64), _flat(features2).astype(np.float64)
    if f1.shape[1] != f2.shape[1] or len(f1) < 2 or len(f2) < 2:
        raise ValueError(
            f"Need two sets of >= 2 features of equal width. Received: {f1.shape}, {f2.shape}"
        )
    return frechet_distance_from_stats(
        f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False)
    )


def kernel_inception_distance(features1, features2, num_subsets=100, subset_size=1000, seed=0):
    """KID (Binkowski et al. 2018): unbiased MMD^2 with kernel `k(x, y) = (x.y / d + 1)^3`.

    Averaged over `num_subsets` random subsets of `subset_size` from each set (drawn without
    replacement within a subset):

        MMD^2 = sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1)) - 2 sum k(x_i,y_j)/m^2

    Returns:
      `(kid, stderr)`: the mean over subsets and its standard error std/sqrt(num_subsets).
    """
    f1, f2 = _flat(features1).astype(np.float64), _flat(features2).astype(np.float64)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"Feature widths differ: {f1.shape[1]} vs {f2.shape[1]}.")
    m = min(int(subset_size), len(f1), len(f2))
    if m < 2:
        raise ValueError(f"KID needs subsets of >= 2 examples. Received: subset_size={m}")
    d = f1.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(int(num_subsets)):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx = (x @ x.T / d + 1.0) ** 3
        kyy = (y @ y.T / d + 1.0) ** 3
        kxy = (x @ y.T / d + 1.0) ** 3
        mmd = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2.0 * kxy.mean()
        )
        values.append(mmd)
    values = np.asarray(values)
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


# ------------------------------------------------------------ precision/recall, density/coverage
def _knn_radii2(features, k, batch_size=1000):
    """Squared distance of every row to its k-th nearest *other* row (the row itself excluded)."""
    n = len(features)
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, {n - 1}] for {n} features. Received: k={k}")
    ref = tf.constant(features, tf.float64)
    out = np.empty(n)
    for start in range(0, n, batch_size):
        d = squared_distances(features[start : start + batch_size], ref).numpy()
        # Index k of the sorted row: index 0 is the row itself (distance 0).
        out[start : start + batch_size] = np.partition(d, k, axis=1)[:, k]
    return out


def _manifold_stats(real, fake, k_pr, k_dc, batch_size=1000):
    """One pass over the fake-vs-real distance matrix for all four manifold metrics."""
    real = _flat(real).astype(np.float64)
    fake = _flat(fake).astype(np.float64)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"Feature widths differ: real {real.shape[1]} vs fake {fake.shape[1]}.")
    out = {}
    real_ref = tf.constant(real, tf.float64)
    if k_pr is not None:
        r_real = _knn_radii2(real, k_pr, batch_size)
        r_fake = _knn_radii2(fake, k_pr, batch_size)
        in_real = np.zeros(len(fake), bool)  # fake j inside some real ball
        in_fake = np.zeros(len(real), bool)  # real i inside some fake ball
    if k_dc is not None:
        r_dc = _knn_radii2(real, k_dc, batch_size)
        ball_counts = np.zeros(len(fake))  # number of real balls containing fake j
        nearest_fake = np.full(len(real), np.inf)  # min_j ||x_i - y_j||^2
    for start in range(0, len(fake), batch_size):
        stop = start + batch_size
        d = squared_distances(fake[start:stop], real_ref).numpy()  # [fake batch, real]
        if k_pr is not None:
            in_real[start:stop] = (d <= r_real[None, :]).any(axis=1)
            in_fake |= (d <= r_fake[start:stop, None]).any(axis=0)
        if k_dc is not None:
            ball_counts[start:stop] = (d <= r_dc[None, :]).sum(axis=1)
            nearest_fake = np.minimum(nearest_fake, d.min(axis=0))
    if k_pr is not None:
        out["precision"] = float(in_real.mean())
        out["recall"] = float(in_fake.mean())
    if k_dc is not None:
        out["density"] = float(ball_counts.sum() / (k_dc * len(fake)))
        out["coverage"] = float((nearest_fake <= r_dc).mean())
    return out


def precision_recall(real, fake, k=3, batch_size=1000):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    With `B(x, r_k(x))` the ball around a point reaching its k-th nearest neighbour in its own set:
    precision = share of fake points inside the union of real balls; recall = share of real points
    inside the union of fake balls (boundaries included, as the authors' `<=`).

    Returns:
      dict with `precision`, `recall`.
    """
    return _manifold_stats(real, fake, k, None, batch_size)


def density_coverage(real, fake, k=5, batch_size=1000):
    """Density and coverage (Naeem et al. 2020; k = 5 as they recommend).

    density = (1 / (k M)) sum_j sum_i 1[y_j in B(x_i, r_k(x_i))] (can exceed 1);
    coverage = (1 / N) sum_i 1[exists j: y_j in B(x_i, r_k(x_i))];
    x_i the N real, y_j the M fake features.

    Returns:
      dict with `density`, `coverage`.
    """
    return _manifold_stats(real, fake, None, k, batch_size)


def classifier_score(logits, splits=1):
    """Classifier (Inception) score `exp(E_x KL(p(y|x) || p(y)))` with p(y) = mean_x p(y|x).

    Args:
      logits: `[n, num_classes]` class logits of generated samples.
      splits: score disjoint chunks separately and average (Salimans et al. used 10); 1 = all.

    Returns:
      float (the mean over splits).
    """
    logits = np.asarray(logits, np.float64)
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    scores = []
    for chunk in np.array_split(log_p, int(splits)):
        p = np.exp(chunk)
        log_py = np.log(p.mean(axis=0) + 1e-300)
        scores.append(math.exp(float(np.mean(np.sum(p * (chunk - log_py), axis=1)))))
    return float(np.mean(scores))
