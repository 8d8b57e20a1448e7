"""The paper's Figure 1, drawn from an actual training run of `tfgan_orig.GAN` on 1-D data.

Goodfellow et al. (2014), Figure 1: GANs are trained by simultaneously updating the discriminative
distribution (D, blue dashed) so that it discriminates between samples from the data generating
distribution (black dotted) p_data and those of the generative distribution p_g (G, green solid).
The lower horizontal line is the domain from which z is sampled; the upper line is part of the
domain of x; the arrows show how the mapping x = G(z) imposes the non-uniform p_g on transformed
samples. (The paper samples z uniformly; here the default is z ~ N(0, 1), with which this G reaches
p_data -- a uniform z needs a G that stretches the ends of its range into Gaussian tails, and in
8000 steps it got to std 0.36 of the data's 0.5. `--noise=uniform` draws the paper's version.
Arrows start at equally spaced quantiles of p_z, so for uniform z they are equally spaced.)

The four panels are snapshots of one run, in the paper's order:

  (a) near the start: G begins away from the data and D, trained for a few joint steps, is a
      partially accurate classifier;
  (b) D trained to convergence with G held fixed (the inner loop of Algorithm 1): D approaches
      `D*(x) = p_data(x) / (p_data(x) + p_g(x))`;
  (c) after updates to G with that D held fixed: the gradient of D moves G(z) towards regions that
      are more likely to be classified as data;
  (d) after many joint steps: p_g is close to p_data and D(x) is close to 1/2 everywhere.

Run (the full setting, which produced docs/figure1.png):

    python -m tfgan_orig.figure1 --out=/tmp/figure1

writes `figure1.png`, `figure1.json` (the snapshots' numbers and the optimal-D check of
`tfgan_orig.theory`) and `tensorboard/` (the figure as an image, per-panel scalars, the training
losses and the checks).
"""

import inspect
import math
import os
import statistics

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import theory
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.gan import GAN

__all__ = [
    "PHASES",
    "Snapshot",
    "mlp_generator_1d",
    "gaussian_kde",
    "max_abs_d_minus_half",
    "snapshot",
    "train_figure1",
    "draw_figure1",
    "log_to_tensorboard",
    "run",
]

# (panel letter, caption) in the paper's order.
PHASES = (
    ("a", "near the start"),
    ("b", "D trained, G fixed"),
    ("c", "after G updates"),
    ("d", "near convergence"),
)
_SQRT3 = math.sqrt(3.0)


# ---------------------------------------------------------------------------------- networks
def mlp_generator_1d(hidden_units=(16, 16), init_mean=2.5, init_std=0.4, seed=None):
    """A small generator for 1-D data, started off-target: `x = b + a z + MLP(z)`.

    The affine part starts at `b = init_mean`, `a = init_std` and the MLP (`z -> tanh 16 -> tanh 16
    -> linear 1`) starts at exactly 0 (zero output kernel), so the untrained G is known: p_g =
    N(init_mean, init_std^2) for z ~ N(0, 1), U(init_mean -+ sqrt(3) init_std) for uniform z.
    The MLP lets G become nonlinear, as in the paper's picture, where uniformly spaced z map to
    non-uniformly spaced x (dense where p_g is high). `hidden_units=()` gives an affine G.

    Returns:
      A `keras.Model` mapping `z [batch, 1]` to points `[batch, 1]` (linear output, data space).
    """
    if init_std <= 0:
        raise ValueError(f"init_std must be > 0. Received: init_std={init_std}")
    z = keras.Input((1,), name="z")
    h = z
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units,
            activation="tanh",
            kernel_initializer=keras.initializers.GlorotUniform(None if seed is None else seed + i),
            name=f"hidden_{i}",
        )(h)
    x = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(float(init_std)),
        bias_initializer=keras.initializers.Constant(float(init_mean)),
        name="affine",
    )(z)
    if hidden_units:
        residual = keras.layers.Dense(1, kernel_initializer="zeros", use_bias=False, name="mlp_out")
        x = keras.layers.Add(name="output")([x, residual(h)])
    return keras.Model(z, x, name="generator")


# ---------------------------------------------------------------------------------- snapshots
def gaussian_kde(samples, x, bandwidth=None):
    """Gaussian kernel density estimate of 1-D `samples` at points `x`.

    `p(x) = mean_i N(x; s_i, h^2)`, with Scott's rule `h = std(s) n^(-1/5)` by default.
    """
    s = np.asarray(samples, np.float64).ravel()
    x = np.asarray(x, np.float64).ravel()
    if bandwidth is None:
        bandwidth = max(float(s.std(ddof=1)), 1e-6) * s.size ** (-0.2)
    out = np.zeros_like(x)
    # Chunked so that memory stays at chunk * len(x) floats for any number of samples.
    for start in range(0, s.size, 4096):
        d = (x[:, None] - s[None, start : start + 4096]) / bandwidth
        out += np.exp(-0.5 * d * d).sum(axis=1)
    return out / (s.size * bandwidth * math.sqrt(2.0 * math.pi))


class Snapshot(dict):
    """One panel's numbers: `x`, `p_data`, `p_g`, `d`, `z_grid`, `g_of_z`, `step`, `label`.

    A dict (so it serializes to JSON directly) with attribute access for readability.
    """

    __getattr__ = dict.__getitem__


def snapshot(gan, x, data_mean, data_std, num_arrows=15, num_samples=20000, label="", seed=0):
    """Measures the state the figure draws: densities, D(x) and the map z -> G(z).

    Args:
      gan: the `GAN` being trained (1-D generator and discriminator).
      x: grid of points where densities and D are evaluated.
      data_mean, data_std: the target N(mean, std^2).
      num_arrows: number of z values (equally spaced quantiles of p_z) drawn as arrows.
      num_samples: generator samples for the KDE of p_g.
      label: panel caption.
      seed: seed of the generator samples (the same for every panel, so only G differs).

    Returns:
      A `Snapshot`.
    """
    samples = gan.generate(num_samples, seed=seed).ravel()
    # Arrows start at equally spaced quantiles of p_z, so each carries the same probability mass
    # and their spacing on the x line shows p_g. For uniform noise (the paper's figure) these z are
    # equally spaced.
    quantiles = (np.arange(int(num_arrows)) + 0.5) / int(num_arrows)
    if gan.noise == "uniform":
        z_lo, z_hi = -_SQRT3, _SQRT3
        z_grid = z_lo + quantiles * (z_hi - z_lo)
    else:
        z_lo, z_hi = -2.5, 2.5  # the drawn part of the z line: 98.8% of N(0, 1)
        z_grid = np.array([statistics.NormalDist().inv_cdf(q) for q in quantiles])
    g_of_z = gan.generator.predict(z_grid.reshape(-1, 1).astype(np.float32), verbose=0).ravel()
    return Snapshot(
        label=label,
        step=int(gan.step_counter.numpy()),
        x=np.asarray(x, np.float64),
        p_data=theory.normal_pdf(x, data_mean, data_std),
        p_g=gaussian_kde(samples, x),
        d=theory.discriminator_probabilities(gan.discriminator, x),
        z_grid=z_grid,
        z_range=(z_lo, z_hi),
        g_of_z=np.asarray(g_of_z, np.float64),
        g_mean=float(samples.mean()),
        g_std=float(samples.std()),
    )


def max_abs_d_minus_half(snap, mass_fraction=0.02):
    """`max |D(x) - 1/2|` where p_data or p_g exceeds `mass_fraction` of its peak.

    At the global optimum D = 1/2 wherever either distribution has mass; far outside, D is never
    trained and extrapolates freely, so those points are left out.
    """
    p_data, p_g = np.asarray(snap["p_data"]), np.asarray(snap["p_g"])
    mask = (p_data > mass_fraction * p_data.max()) | (p_g > mass_fraction * p_g.max())
    return float(np.max(np.abs(np.asarray(snap["d"])[mask] - 0.5)))


class _ScalarLogger(keras.callbacks.Callback):
    """Writes the GAN's metrics to TensorBoard against its generator-step counter."""

    def __init__(self, writer, phase):
        super().__init__()
        self.writer = writer
        self.phase = phase

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step_counter.numpy())
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"train/{name}", float(value))


def _fit(gan, data, steps, d_lr, g_lr, callbacks, decay=False):
    """`steps` Algorithm-1 iterations with the given learning rates (0 freezes a network).

    With `decay`, both rates follow a cosine from their value down to 10% of it: the final
    approach to the equilibrium is otherwise blurred by minibatch noise.
    """
    if steps <= 0:
        return

    def optimizer(lr):
        # SGD at rate 0 leaves a network's weights exactly unchanged while the other one trains,
        # so every phase runs through the same `GAN.train_step`.
        if lr <= 0:
            return keras.optimizers.SGD(0.0)
        if decay:
            lr = keras.optimizers.schedules.CosineDecay(lr, int(steps), alpha=0.1)
        return keras.optimizers.Adam(lr, beta_1=0.5)

    d_opt, g_opt = optimizer(d_lr), optimizer(g_lr)
    # steps_per_execution must divide `steps`, or fit would run past it.
    gan.compile(
        d_optimizer=d_opt,
        g_optimizer=g_opt,
        loss="non_saturating",
        steps_per_execution=math.gcd(int(steps), 50),
    )
    gan.fit(data, epochs=1, steps_per_epoch=int(steps), verbose=0, callbacks=callbacks)


def train_figure1(
    data_mean=4.0,
    data_std=0.5,
    g_init_mean=2.5,
    g_init_std=0.4,
    g_hidden_units=(16, 16),
    steps_a=30,
    steps_b=1000,
    steps_c=100,
    steps_d=6000,
    batch_size=128,
    d_learning_rate=5e-4,
    g_learning_rate=2e-4,
    noise="normal",
    num_arrows=15,
    seed=0,
    writer=None,
):
    """Trains a 1-D GAN through the four phases of Figure 1 and returns the four snapshots.

    Args:
      data_mean, data_std: the target p_data = N(mean, std^2).
      g_init_mean, g_init_std: mean and std of the untrained generator's output.
      g_hidden_units: widths of the generator's MLP part; `()` makes G affine.
      steps_a: joint steps before panel (a) (D only partially trained).
      steps_b: D-only steps (G frozen) before panel (b).
      steps_c: G-only steps (D frozen) before panel (c).
      steps_d: joint steps before panel (d).
      batch_size: minibatch m (d_steps = 1).
      d_learning_rate, g_learning_rate: Adam step sizes (beta_1 = 0.5).
      noise: "normal" or "uniform" (as the paper's figure).
      num_arrows: z values drawn as arrows.
      seed: seeds weights, data and noise.
      writer: optional `tf.summary` writer for the training scalars.

    Returns:
      `(gan, [Snapshot] * 4)`.
    """
    for name, value in (("steps_a", steps_a), ("steps_b", steps_b), ("steps_c", steps_c),
                        ("steps_d", steps_d)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be an integer >= 0. Received: {name}={value}")
    if data_std <= 0:
        raise ValueError(f"data_std must be > 0. Received: data_std={data_std}")
    keras.utils.set_random_seed(seed)
    gan = GAN(
        mlp_generator_1d(
            tuple(g_hidden_units), init_mean=g_init_mean, init_std=g_init_std, seed=seed
        ),
        theory.discriminator_1d(seed=seed + 1000),
        latent_dim=1,
        noise=noise,
        seed=seed,
    )
    data = theory.gauss_dataset(data_mean, data_std, batch_size, seed=seed)
    lo = min(data_mean - 4 * data_std, g_init_mean - 4 * g_init_std)
    hi = max(data_mean + 4 * data_std, g_init_mean + 4 * g_init_std)
    x = np.linspace(lo, hi, 400)
    plan = (
        (steps_a, d_learning_rate, g_learning_rate, False),  # (a) a little joint training
        (steps_b, d_learning_rate, 0.0, True),  # (b) D alone: the inner loop run to convergence
        (steps_c, 0.0, g_learning_rate, False),  # (c) G alone, following the gradient of that D
        (steps_d, d_learning_rate, g_learning_rate, True),  # (d) joint training
    )
    snapshots = []
    for (letter, caption), (steps, d_lr, g_lr, decay) in zip(PHASES, plan):
        callbacks = [] if writer is None else [_ScalarLogger(writer, f"({letter}) {caption}")]
        _fit(gan, data, steps, d_lr, g_lr, callbacks, decay)
        snap = snapshot(gan, x, data_mean, data_std, num_arrows, label=f"({letter}) {caption}")
        logging.info(
            "%s: step %d, G mean %.3f std %.3f, max |D - 1/2| %.3f",
            snap.label, snap.step, snap.g_mean, snap.g_std, max_abs_d_minus_half(snap),
        )
        snapshots.append(snap)
    return gan, snapshots


# ---------------------------------------------------------------------------------- drawing
def draw_figure1(snapshots, path=None):
    """Draws the panels in the paper's style and optionally saves a PNG.

    Each panel: p_data black dotted, p_g green solid, D(x) blue dashed; below, the z line with
    arrows to the x line at G(z).

    Returns:
      The PNG bytes.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    # The data density and D (<= 1) set the scale; p_g may take up to twice the data's peak, and
    # a collapsed, very peaked p_g is cut at the top rather than squashing every other curve.
    p_data_peak = max(float(np.max(s["p_data"])) for s in snapshots)
    p_g_peak = max(float(np.max(s["p_g"])) for s in snapshots)
    top = max(1.0, 1.3 * p_data_peak, min(1.05 * p_g_peak, 2.0 * p_data_peak))
    x_line, z_line = -0.12 * top, -0.5 * top
    for ax, s in zip(axes[0], snapshots):
        x = s["x"]
        ax.plot(x, s["p_data"], color="black", linestyle=":", linewidth=2, label="p_data")
        ax.plot(x, s["p_g"], color="green", linestyle="-", linewidth=1.8, label="p_g (G)")
        ax.plot(x, s["d"], color="blue", linestyle="--", linewidth=1.5, label="D(x)")
        lo, hi = float(x[0]), float(x[-1])
        ax.hlines([x_line, z_line], lo, hi, color="black", linewidth=1)
        z_lo, z_hi = s["z_range"]
        # z is drawn on its own line, its range stretched over the panel's width.
        z_disp = lo + (np.asarray(s["z_grid"]) - z_lo) / (z_hi - z_lo) * (hi - lo)
        for zd, gx in zip(z_disp, s["g_of_z"]):
            gx = float(np.clip(gx, lo, hi))
            ax.annotate(
                "",
                xy=(gx, x_line),
                xytext=(zd, z_line),
                arrowprops=dict(arrowstyle="->", color="0.3", linewidth=0.8, shrinkA=0, shrinkB=0),
            )
        ax.text(lo, x_line + 0.03 * top, "x", fontsize=10, va="bottom")
        ax.text(lo, z_line + 0.03 * top, "z", fontsize=10, va="bottom")
        ax.set_xlim(lo, hi)
        ax.set_ylim(z_line - 0.08 * top, 1.08 * top)
        ax.set_yticks([0.0, 0.5, 1.0])
        ax.axhline(0.5, color="0.85", linewidth=0.6, zorder=0)
        ax.set_title(f"{s['label']}  (step {s['step']})", fontsize=10)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0][0].legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    png = buf.getvalue()
    if path is not None:
        with open(path, "wb") as f:
            f.write(png)
    return png


def log_to_tensorboard(writer, png, snapshots, step):
    """Logs the figure (and each panel's summary numbers) as TensorBoard images/scalars."""
    image = tf.image.decode_png(png, channels=4)[None]
    with writer.as_default(step=step):
        tf.summary.image("figure1", image)
        for i, s in enumerate(snapshots):
            tf.summary.scalar(f"figure1/{PHASES[i][0]}_g_mean", s["g_mean"])
            tf.summary.scalar(f"figure1/{PHASES[i][0]}_g_std", s["g_std"])
            tf.summary.scalar(
                f"figure1/{PHASES[i][0]}_max_abs_d_minus_half", max_abs_d_minus_half(s)
            )
    writer.flush()


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def run(out_dir, check=True, check_steps=2000, check_shift=1.0, **train_kwargs):
    """Trains, draws and logs Figure 1, and (if `check`) the optimal-D / value-function checks.

    Args:
      out_dir: output directory (created).
      check: also run `theory.optimal_discriminator_check` for p_g = p_data and a shifted p_g.
      check_steps: D training steps of each check.
      check_shift: mean of the shifted p_g is `data_mean - check_shift` (same std).
      **train_kwargs: passed to `train_figure1`.

    Returns:
      The JSON-able results dict (also written to `out_dir/figure1.json`).
    """
    os.makedirs(out_dir, exist_ok=True)
    writer = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard"))
    gan, snapshots = train_figure1(writer=writer, **train_kwargs)
    png_path = os.path.join(out_dir, "figure1.png")
    png = draw_figure1(snapshots, png_path)
    log_to_tensorboard(writer, png, snapshots, int(gan.step_counter.numpy()))
    results = {
        "png": png_path,
        "snapshots": [_jsonable(dict(s)) for s in snapshots],
        "settings": _jsonable(train_kwargs),
    }
    if check:
        defaults = inspect.signature(train_figure1).parameters  # the defaults, written once
        data_mean = train_kwargs.get("data_mean", defaults["data_mean"].default)
        data_std = train_kwargs.get("data_std", defaults["data_std"].default)
        checks = {}
        for name, g_mean in (("equal", data_mean), ("shifted", data_mean - check_shift)):
            c = theory.optimal_discriminator_check(
                data_mean, data_std, g_mean, data_std, steps=check_steps
            )
            checks[name] = c.summary()
            logging.info(
                "optimal D, %s p_g = N(%.2f, %.2f^2): max |D - D*| = %.4f; V(D*, G) MC = %.4f "
                "+- %.4f, V(D, G) = %.4f, -log 4 + 2 JSD = %.4f (JSD %.4f)",
                name, g_mean, data_std, c.max_abs_error, c.value_d_star, c.value_d_star_se,
                c.value_integral_trained, c.criterion, c.jsd,
            )
            with writer.as_default(step=0):
                tf.summary.scalar(f"theory/{name}_max_abs_d_minus_dstar", c.max_abs_error)
                tf.summary.scalar(f"theory/{name}_value_trained_d", c.value_integral_trained)
                tf.summary.scalar(f"theory/{name}_criterion", c.criterion)
        results["optimal_d_check"] = checks
        writer.flush()
    workdir_lib.write_json(results, os.path.join(out_dir, "figure1.json"), indent=1)
    return results


if __name__ == "__main__":  # `python -m tfgan_orig.figure1`: the program is tfgan_orig.cli.figure1
    # Run by name, not imported: the library never imports the CLI layer (no import cycle).
    import runpy

    runpy.run_module("tfgan_orig.cli.figure1", run_name="__main__", alter_sys=True)
