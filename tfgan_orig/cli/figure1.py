"""Reproduces the paper's Figure 1 (the 1-D toy GAN): `python -m tfgan_orig.figure1 --out=DIR`.

The library is `tfgan_orig.figure1` (`run`, `train_figure1`, `draw_figure1`).
"""

import os

from absl import app, flags

from tfgan_orig import cli
from tfgan_orig import figure1

FLAGS = flags.FLAGS


def define_flags():
    """Defines the Figure 1 flags (called by `run`, never at import)."""
    flags.DEFINE_string("out", None, "Output directory: figure1.png, figure1.json, tensorboard/.")
    flags.DEFINE_float("data_mean", 4.0, "Mean of the 1-D Gaussian data.")
    flags.DEFINE_float("data_std", 0.5, "Std of the 1-D Gaussian data (> 0).")
    flags.DEFINE_float("g_init_mean", 2.5, "Mean of the untrained generator's output.")
    flags.DEFINE_float("g_init_std", 0.4, "Std of the untrained generator's output (> 0).")
    flags.DEFINE_list("g_hidden_units", ["16", "16"], "Widths of G's MLP part (empty: affine G).")
    flags.DEFINE_integer("steps_a", 30, "Joint steps before panel (a).")
    flags.DEFINE_integer("steps_b", 1000, "D-only steps (G frozen) before panel (b).")
    flags.DEFINE_integer("steps_c", 100, "G-only steps (D frozen) before panel (c).")
    flags.DEFINE_integer("steps_d", 6000, "Joint steps before panel (d).")
    flags.DEFINE_integer("batch_size", 128, "Minibatch size m.")
    flags.DEFINE_float("d_learning_rate", 5e-4, "Adam step size of D.")
    flags.DEFINE_float("g_learning_rate", 2e-4, "Adam step size of G.")
    flags.DEFINE_enum("noise", "normal", ["normal", "uniform"], "Noise prior p_z.")
    flags.DEFINE_integer("num_arrows", 15, "Number of z -> G(z) arrows per panel.")
    flags.DEFINE_integer("seed", 0, "Seed of weights, data and noise.")
    flags.DEFINE_bool("check", True, "Also run the optimal-D and value-function checks.")
    flags.DEFINE_integer("check_steps", 2000, "D training steps of each optimal-D check.")
    flags.DEFINE_float("check_shift", 1.0, "Shifted check: p_g mean = data_mean - check_shift.")
    flags.mark_flag_as_required("out")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    for name in ("steps_a", "steps_b", "steps_c", "steps_d", "batch_size", "num_arrows"):
        minimum = 1 if name in ("batch_size", "num_arrows") else 0
        if getattr(FLAGS, name) < minimum:
            raise app.UsageError(f"--{name} must be >= {minimum}. Received: {getattr(FLAGS, name)}")
    for name in ("data_std", "g_init_std"):
        if getattr(FLAGS, name) <= 0:
            raise app.UsageError(f"--{name} must be > 0. Received: {getattr(FLAGS, name)}")
    if FLAGS.check and FLAGS.check_steps < 1:
        raise app.UsageError(f"--check_steps must be >= 1. Received: {FLAGS.check_steps}")
    try:
        g_hidden_units = tuple(int(u) for u in FLAGS.g_hidden_units)
    except ValueError:
        raise app.UsageError(
            f"--g_hidden_units must be comma-separated integers. Received: {FLAGS.g_hidden_units}"
        ) from None
    if any(u < 1 for u in g_hidden_units):
        raise app.UsageError(f"--g_hidden_units must be >= 1. Received: {FLAGS.g_hidden_units}")
    results = figure1.run(
        FLAGS.out,
        check=FLAGS.check,
        check_steps=FLAGS.check_steps,
        check_shift=FLAGS.check_shift,
        data_mean=FLAGS.data_mean,
        data_std=FLAGS.data_std,
        g_init_mean=FLAGS.g_init_mean,
        g_init_std=FLAGS.g_init_std,
        g_hidden_units=g_hidden_units,
        steps_a=FLAGS.steps_a,
        steps_b=FLAGS.steps_b,
        steps_c=FLAGS.steps_c,
        steps_d=FLAGS.steps_d,
        batch_size=FLAGS.batch_size,
        d_learning_rate=FLAGS.d_learning_rate,
        g_learning_rate=FLAGS.g_learning_rate,
        noise=FLAGS.noise,
        num_arrows=FLAGS.num_arrows,
        seed=FLAGS.seed,
    )
    print(f"Wrote {results['png']} and {os.path.join(FLAGS.out, 'figure1.json')}")
    for name, c in results.get("optimal_d_check", {}).items():
        print(
            f"{name}: max|D - D*| = {c['max_abs_error']:.4f}; V(D, G) = "
            f"{c['value_integral_trained']:.4f}, V(D*, G) Monte Carlo = {c['value_d_star']:.4f} "
            f"+- {c['value_d_star_se']:.4f}; -log 4 + 2 JSD = {c['criterion']:.4f}"
        )


def run():
    """Entry point of `python -m tfgan_orig.figure1`."""
    cli.run_program(__name__, define_flags, main)


if __name__ == "__main__":
    run()
