r"""Evaluates a trained GAN: `python -m tfgan_orig.evaluate --workdir=DIR --metrics=...`.

Restores the newest checkpoint of a training workdir (`tfgan_orig.builder.load_gan_from_workdir`),
reads the dataset from `DIR/config.json`, computes the requested metric groups
(`tfgan_orig.evaluation.evaluate_workdir`), writes `DIR/eval/metrics.json` and prints a table. Examples:

    python -m tfgan_orig.evaluate --workdir=runs/ring8 --metrics=modes
    python -m tfgan_orig.evaluate --workdir=runs/ring8_best --samples=ema   # the generator EMA
    python -m tfgan_orig.evaluate --workdir=runs/fmnist_mlp --metrics=parzen,fd,kid,pr,dc,cs
    # the training set as "samples": the reference value of every metric
    python -m tfgan_orig.evaluate --dataset=fashion_mnist --samples=train --metrics=parzen,fd \
        --output=runs/reference/fashion_mnist.json

`metrics.json` maps every result name (`modes_captured`, `high_quality_fraction`, `reverse_kl`,
`parzen_ll`, `parzen_ll_stderr`, `parzen_sigma`, `frechet_distance`, `kid`, `kid_stderr`,
`precision`, `recall`, `density`, `coverage`, `classifier_score`) to its value (null if undefined),
next to `feature_network` (the network the feature metrics used, null if none), `num_samples`
(per group: generated and real example counts), `dataset`, `workdir`, `epoch`, `metrics`
(the groups computed), `seed` and `seconds`.
"""

import sys

from absl import app, flags

from tfgan_orig import cli
from tfgan_orig import evaluation, metrics
from tfgan_orig import workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags():
    """Defines the evaluation flags (called by `run`, never at import)."""
    flags.DEFINE_string(
        "workdir", None, "Training workdir (holds config.json, checkpoints/)."
    )
    flags.DEFINE_enum(
        "samples",
        "gan",
        list(evaluation.SAMPLES),
        "What to evaluate: the workdir's GAN; its generator EMA (model.ema_decay > 0; with its own "
        "batch-norm statistics; default output eval/metrics_ema.json); or the dataset's training "
        "set as samples (reference values; needs --dataset or --workdir, and --output when there "
        "is no workdir).",
    )
    flags.DEFINE_string("dataset", None, "Dataset for --samples=train without a workdir.")
    flags.DEFINE_string(
        "metrics",
        "auto",
        "Comma-separated metric groups or result names: "
        f"{', '.join(metrics.METRIC_GROUPS)}, or 'all'. 'auto' = modes for 2-D mixtures, "
        "parzen,fd,kid,pr,dc,cs for images; 'all' = every group that applies to the dataset.",
    )
    flags.DEFINE_enum(
        "feature_network",
        "auto",
        ["auto", "classifier", "inception"],
        "Features for fd/kid/pr/dc/cs: the package's cached dataset classifier (offline), InceptionV3 "
        "(needs local ImageNet weights), or auto (Inception if available, else the classifier).",
    )
    flags.DEFINE_integer(
        "num_samples", 0, "Generated samples for every group; 0 = each group's standard count."
    )
    flags.DEFINE_integer("num_real", 0, "Cap on real test examples; 0 = 10,000.")
    flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
    flags.DEFINE_string("data_dir", None, "Dataset directory; default: the run's config.")
    flags.DEFINE_string(
        "output", None,
        "Output JSON path; default WORKDIR/eval/metrics.json (metrics_ema.json for --samples=ema).",
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.workdir and FLAGS.samples != "train":
        raise app.UsageError(
            f"--samples={FLAGS.samples} needs --workdir (or --samples=train --dataset=NAME "
            "--output=PATH)."
        )
    try:
        record = _evaluate()
    # A bad workdir or checkpoint, or --samples=ema for a run without an EMA.
    except (FileNotFoundError, workdir_lib.WorkdirError) as e:
        sys.exit(f"FATAL {e}")
    source = "training set as samples" if FLAGS.samples == "train" else record["workdir"]
    print(f"{record['dataset']}, {source} (epoch {record['epoch']}):")
    print(evaluation.format_table(record))
    print(f"Wrote {record['output']} ({record['seconds']} s).")


def _evaluate():
    return evaluation.evaluate_workdir(
        FLAGS.workdir,
        metrics=FLAGS.metrics,
        feature_network=FLAGS.feature_network,
        num_samples=FLAGS.num_samples or None,
        num_real=FLAGS.num_real or None,
        seed=FLAGS.seed,
        data_dir=FLAGS.data_dir,
        output=FLAGS.output,
        samples=FLAGS.samples,
        dataset=FLAGS.dataset,
    )


def run():
    """Entry point of `python -m tfgan_orig.evaluate`."""
    cli.run_program(__name__, define_flags, main)


if __name__ == "__main__":
    run()
