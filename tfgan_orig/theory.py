"""The paper's theory in 1-D, where every density is known: D*, C(G) = -log 4 + 2 JSD, V(D, G).

Goodfellow et al. (2014), section 4:

- Proposition 1: for a fixed G the optimal discriminator is
  `D*(x) = p_data(x) / (p_data(x) + p_g(x))`.
- Theorem 1: at D = D*, the value function
  `V(D, G) = E_{x ~ p_data} log D(x) + E_{z ~ p_z} log(1 - D(G(z)))`
  becomes the virtual training criterion `C(G) = -log 4 + 2 JSD(p_data || p_g)`, whose global
  minimum `-log 4` is reached exactly when `p_g = p_data` (and then `D* = 1/2` everywhere).

This module computes these quantities numerically (densities on a grid, trapezoid integrals) and
checks them against the package's own training: `fit_discriminator` trains a discriminator with
`tfgan_orig.GAN` against a *frozen* affine generator `x = mu_g + sigma_g z`, `z ~ N(0, 1)`, so that
`p_g = N(mu_g, sigma_g^2)` is known exactly and D can be compared with the analytic D*.
`optimal_discriminator_check` runs that comparison and reports the numbers quoted in the README.
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from tfgan_orig import data as data_lib
from tfgan_orig import losses as losses_lib
from tfgan_orig.gan import GAN

__all__ = [
    "LOG4",
    "normal_pdf",
    "optimal_discriminator",
    "kl_divergence",
    "jensen_shannon",
    "virtual_training_criterion",
    "value_integral",
    "value_estimate",
    "value_from_logits",
    "density_grid",
    "check_region",
    "gauss_dataset",
    "affine_generator",
    "discriminator_1d",
    "fit_discriminator",
    "discriminator_probabilities",
    "OptimalDCheck",
    "optimal_discriminator_check",
]

LOG4 = math.log(4.0)


# ------------------------------------------------------------------------------ analytic densities
def normal_pdf(x, mean, std):
    """Density of N(mean, std^2): `exp(-(x - mean)^2 / (2 std^2)) / (std sqrt(2 pi))`."""
    if std <= 0:
        raise ValueError(f"std must be > 0. Received: std={std}")
    x = np.asarray(x, np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2.0 * math.pi))


def optimal_discriminator(p_data, p_g):
    """Proposition 1: `D*(x) = p_data(x) / (p_data(x) + p_g(x))`.

    Args:
      p_data, p_g: densities evaluated at the same points (arrays of equal shape).

    Returns:
      float64 array of D*. Where both densities are 0, D* is undefined (any D is optimal there);
      it is returned as 1/2, the value that carries no information.
    """
    p_data = np.asarray(p_data, np.float64)
    p_g = np.asarray(p_g, np.float64)
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe, 0.5)


def density_grid(data_mean, data_std, g_mean, g_std, num=4001, width=8.0):
    """A grid covering both Gaussians to `width` std (mass outside < 1e-15 for width 8)."""
    lo = min(data_mean - width * data_std, g_mean - width * g_std)
    hi = max(data_mean + width * data_std, g_mean + width * g_std)
    return np.linspace(lo, hi, int(num))


def _xlogy_ratio(p, q):
    """`p log(p / q)` with the convention `0 log 0 = 0` (and q > 0 wherever p > 0)."""
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    out = np.zeros_like(p)
    mask = p > 0
    out[mask] = p[mask] * (np.log(p[mask]) - np.log(q[mask]))
    return out


def kl_divergence(p, q, x):
    """`KL(p || q) = integral p log(p / q) dx`, trapezoid rule on the grid `x`."""
    return float(np.trapezoid(_xlogy_ratio(p, q), x))


def jensen_shannon(p, q, x):
    """`JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2`, `m = (p + q) / 2`; nats, in [0, log 2]."""
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    # p log(p / m) = p log(2 p / (p + q)): written with p + q, which cannot underflow to 0 where
    # p > 0 as m = (p + q) / 2 can for subnormal densities.
    total = p + q
    terms = 0.5 * (_xlogy_ratio(p, total) + _xlogy_ratio(q, total)) + 0.5 * total * math.log(2.0)
    # JSD >= 0; for p == q the integral is 0 up to rounding (~1e-17), which may be negative.
    return max(0.0, float(np.trapezoid(terms, x)))


def virtual_training_criterion(p_data, p_g, x):
    """Theorem 1: `C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)`."""
    return -LOG4 + 2.0 * jensen_shannon(p_data, p_g, x)


def value_integral(d, p_data, p_g, x):
    """`V(D, G) = integral p_data log D + p_g log(1 - D) dx` for D given on the grid `x`.

    Written as an integral over x (the paper's eq. 3, after the change of variables x = G(z)).
    With `d = optimal_discriminator(p_data, p_g)` it equals `virtual_training_criterion`; this is
    computed independently of the JSD formula so the two can check each other.
    """
    d = np.clip(np.asarray(d, np.float64), 1e-300, 1.0)
    one_minus = np.clip(1.0 - d, 1e-300, 1.0)
    integrand = np.where(np.asarray(p_data) > 0, p_data * np.log(d), 0.0) + np.where(
        np.asarray(p_g) > 0, p_g * np.log(one_minus), 0.0
    )
    return float(np.trapezoid(integrand, x))


def value_estimate(d_real, d_fake):
    """Monte Carlo V: `mean log D(x_i) + mean log(1 - D(G(z_j)))` from D's probabilities.

    Returns:
      `(estimate, standard_error)`; the standard error is that of a sum of two independent sample
      means, `sqrt(var(log D(x)) / n + var(log(1 - D(G(z)))) / m)`.
    """
    a = np.log(np.asarray(d_real, np.float64).ravel())
    b = np.log1p(-np.asarray(d_fake, np.float64).ravel())
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(a.mean() + b.mean()), se


def value_from_logits(real_logits, fake_logits):
    """Monte Carlo V from D's logits, via the package's loss: `V = -2 mean(L_D)`.

    `tfgan_orig.losses.minimax_discriminator_loss` is `1/2 (-log D(x) - log(1 - D(G(z))))` per
    example pair (the tutorial's J(D)), so twice the mean of its negative is the paper's V (equal
    numbers of real and fake logits).
    """
    loss = losses_lib.minimax_discriminator_loss(
        tf.constant(real_logits, tf.float32), tf.constant(fake_logits, tf.float32)
    )
    return -2.0 * float(tf.reduce_mean(loss))


# ------------------------------------------------------------------------------ trained D vs D*
def affine_generator(mean, std, trainable=False, name="affine_generator"):
    """`x = mean + std * z` for z of size 1: with `z ~ N(0, 1)`, `p_g = N(mean, std^2)` exactly.

    Args:
      mean, std: the generator's output distribution (std > 0).
      trainable: False (default) freezes G, so training the GAN only moves D.

    Returns:
      A `keras.Model` mapping `[batch, 1]` to points `[batch, 1]`.
    """
    if std <= 0:
        raise ValueError(f"std must be > 0. Received: std={std}")
    z = keras.Input((1,), name="z")
    layer = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(float(std)),
        bias_initializer=keras.initializers.Constant(float(mean)),
        trainable=trainable,
        name="affine",
    )
    return keras.Model(z, layer(z), name=name)


def discriminator_1d(hidden_units=(32, 32), activation="tanh", seed=None, name="discriminator"):
    """A small MLP discriminator for 1-D points: `x -> tanh 32 -> tanh 32 -> 1 logit`.

    Returns:
      A `keras.Model` mapping `[batch, 1]` to logits `[batch, 1]` (no sigmoid).
    """
    x = keras.Input((1,), name="x")
    h = x
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(None if seed is None else seed + i),
            name=f"hidden_{i}",
        )(h)
    logits = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.GlorotUniform(None if seed is None else seed + 100),
        name="logit",
    )(h)
    return keras.Model(x, logits, name=name)


def gauss_dataset(mean, std, batch_size, seed=0, num=100_000):
    """Repeating `tf.data` of float32 `[batch, 1]` batches from `tfgan_orig.data.gauss1d`."""
    x, _ = data_lib.gauss1d(num=int(num), seed=seed, mean=mean, std=std)
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
    return ds.batch(int(batch_size), drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE)


def discriminator_probabilities(discriminator, x):
    """`D(x) = sigmoid(logit)` as float64 numpy, for points `x` of shape [n] or [n, 1]."""
    x = np.asarray(x, np.float32).reshape(-1, 1)
    logits = discriminator.predict(x, batch_size=4096, verbose=0)
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64).ravel()))


def fit_discriminator(
    data_mean,
    data_std,
    g_mean,
    g_std,
    steps=2000,
    batch_size=256,
    learning_rate=1e-2,
    hidden_units=(32, 32),
    seed=0,
):
    """Trains D alone, with the package's `GAN`, against the fixed `p_g = N(g_mean, g_std^2)`.

    The generator is `affine_generator(g_mean, g_std)` with frozen weights, so each `train_step`
    is one Algorithm-1 D update (ascending `log D(x) + log(1 - D(G(z)))` on a real minibatch and
    fresh noise) and a generator step that changes nothing. Run long enough, D approaches D*.

    Returns:
      The trained `GAN` (its `discriminator` is the D to compare with D*).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1. Received: steps={steps}")
    keras.utils.set_random_seed(seed)
    gan = GAN(
        affine_generator(g_mean, g_std),
        discriminator_1d(hidden_units, seed=seed),
        latent_dim=1,
        noise="normal",
        seed=seed,
    )
    gan.compile(
        # Decaying the step size to 0 averages out minibatch noise, so D settles at the optimum of
        # the expected loss instead of jittering around it.
        d_optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(learning_rate, int(steps))
        ),
        g_optimizer=keras.optimizers.SGD(0.0),
        loss="minimax",
        steps_per_execution=50,
    )
    data = gauss_dataset(data_mean, data_std, batch_size, seed=seed)
    gan.fit(data, epochs=1, steps_per_epoch=int(steps), verbose=0)
    return gan


@dataclasses.dataclass
class OptimalDCheck:
    """What `optimal_discriminator_check` measured for one generator setting.

    Attributes:
      max_abs_error: `max |D(x) - D*(x)|` over `x_check` (where the data or generator has mass).
      x_check, d, d_star: the grid, the trained D and the analytic D* on it.
      jsd: `JSD(p_data || p_g)` by trapezoid integration.
      criterion: `C(G) = -log 4 + 2 JSD`.
      value_integral_d_star: `V(D*, G)` integrated on the grid (an independent check of Theorem 1).
      value_integral_trained: `V(D, G)` of the trained D integrated on the grid; Proposition 1 says
        it is <= C(G) for any D, with equality only at D = D*.
      value_d_star, value_d_star_se: Monte Carlo `V(D*, G)` on fresh samples and its std error.
      value_trained, value_trained_se: Monte Carlo `V(D, G)` of the trained D on the same samples.
    """

    data_mean: float
    data_std: float
    g_mean: float
    g_std: float
    max_abs_error: float
    x_check: np.ndarray
    d: np.ndarray
    d_star: np.ndarray
    jsd: float
    criterion: float
    value_integral_d_star: float
    value_integral_trained: float
    value_d_star: float
    value_d_star_se: float
    value_trained: float
    value_trained_se: float

    def summary(self):
        """The scalar results as a plain dict (for JSON and logs)."""
        return {
            k: float(v)
            for k, v in dataclasses.asdict(self).items()
            if not isinstance(v, np.ndarray)
        }


def check_region(data_mean, data_std, g_mean, g_std, num_std=2.5, num=501):
    """Points within `num_std` standard deviations of either mean.

    Outside this region neither distribution puts mass that D ever sees in training (both densities
    < 2% of their peak), so D there is unconstrained by the data and D* is not learnable; the
    maximum error is taken over this region only.
    """
    lo = min(data_mean - num_std * data_std, g_mean - num_std * g_std)
    hi = max(data_mean + num_std * data_std, g_mean + num_std * g_std)
    x = np.linspace(lo, hi, int(num))
    near = (np.abs(x - data_mean) <= num_std * data_std) | (np.abs(x - g_mean) <= num_std * g_std)
    return x[near]


def optimal_discriminator_check(
    data_mean=4.0,
    data_std=0.5,
    g_mean=3.0,
    g_std=0.5,
    steps=2000,
    batch_size=256,
    learning_rate=1e-2,
    num_eval=200_000,
    seed=0,
):
    """Trains D against a fixed Gaussian G and compares it with D*, C(G) and V(D*, G).

    Returns:
      An `OptimalDCheck`.
    """
    gan = fit_discriminator(
        data_mean, data_std, g_mean, g_std, steps, batch_size, learning_rate, seed=seed
    )
    x_check = check_region(data_mean, data_std, g_mean, g_std)
    p_data_c, p_g_c = normal_pdf(x_check, data_mean, data_std), normal_pdf(x_check, g_mean, g_std)
    d_star_c = optimal_discriminator(p_data_c, p_g_c)
    d = discriminator_probabilities(gan.discriminator, x_check)

    x = density_grid(data_mean, data_std, g_mean, g_std)
    p_data, p_g = normal_pdf(x, data_mean, data_std), normal_pdf(x, g_mean, g_std)
    jsd = jensen_shannon(p_data, p_g, x)

    # Fresh samples (a seed the training data never used): the Monte Carlo V of the trained D is
    # then an unbiased estimate of its true V, which Proposition 1 bounds above by C(G).
    rng = np.random.default_rng(seed + 12345)
    real = data_mean + data_std * rng.standard_normal(num_eval)
    fake = np.asarray(gan.generate(num_eval, seed=seed + 54321), np.float64).ravel()

    def d_star_at(points):
        return optimal_discriminator(
            normal_pdf(points, data_mean, data_std), normal_pdf(points, g_mean, g_std)
        )

    v_star, v_star_se = value_estimate(d_star_at(real), d_star_at(fake))
    v_trained, v_trained_se = value_estimate(
        discriminator_probabilities(gan.discriminator, real),
        discriminator_probabilities(gan.discriminator, fake),
    )
    return OptimalDCheck(
        data_mean=data_mean,
        data_std=data_std,
        g_mean=g_mean,
        g_std=g_std,
        max_abs_error=float(np.max(np.abs(d - d_star_c))),
        x_check=x_check,
        d=d,
        d_star=d_star_c,
        jsd=jsd,
        criterion=-LOG4 + 2.0 * jsd,
        value_integral_d_star=value_integral(optimal_discriminator(p_data, p_g), p_data, p_g, x),
        value_integral_trained=value_integral(
            discriminator_probabilities(gan.discriminator, x), p_data, p_g, x
        ),
        value_d_star=v_star,
        value_d_star_se=v_star_se,
        value_trained=v_trained,
        value_trained_se=v_trained_se,
    )
