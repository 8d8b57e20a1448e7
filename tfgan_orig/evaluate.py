r"""Evaluates a trained GAN: `python -m tfgan_orig.evaluate --workdir=DIR --metrics=...`.

Restores the newest checkpoint of a training workdir (`tfgan_orig.train_lib.load_gan_from_workdir`),
reads the dataset from `DIR/config.json`, computes the requested metric groups
(`tfgan_orig.evaluation`), writes `DIR/eval/metrics.json` and prints a table. Examples:

    python -m tfgan_orig.evaluate --workdir=runs/ring8 --metrics=modes
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

import json
import math
import os
import time

from absl import app, flags

from tfgan_orig import evaluation
from tfgan_orig import workdir as workdir_lib

__all__ = ["evaluate_workdir", "format_table", "main"]

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Training workdir (holds config.json, checkpoints/)."
)
_SAMPLES = flags.DEFINE_enum(
    "samples",
    "gan",
    ["gan", "train"],
    "What to evaluate: the workdir's GAN, or the dataset's training set as samples (reference "
    "values; needs --dataset or --workdir, and --output when there is no workdir).",
)
_DATASET = flags.DEFINE_string("dataset", None, "Dataset for --samples=train without a workdir.")
_METRICS = flags.DEFINE_string(
    "metrics",
    "auto",
    "Comma-separated metric groups or result names: "
    f"{', '.join(evaluation.METRIC_GROUPS)}, or 'all'. 'auto' = modes for 2-D mixtures, "
    "parzen,fd,kid,pr,dc,cs for images; 'all' = every group that applies to the dataset.",
)
_FEATURE_NETWORK = flags.DEFINE_enum(
    "feature_network",
    "auto",
    ["auto", "classifier", "inception"],
    "Features for fd/kid/pr/dc/cs: the package's cached dataset classifier (offline), InceptionV3 "
    "(needs local ImageNet weights), or auto (Inception if available, else the classifier).",
)
_NUM_SAMPLES = flags.DEFINE_integer(
    "num_samples", 0, "Generated samples for every group; 0 = each group's standard count."
)
_NUM_REAL = flags.DEFINE_integer("num_real", 0, "Cap on real test examples; 0 = 10,000.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Dataset directory; default: the run's config.")
_OUTPUT = flags.DEFINE_string(
    "output", None, "metrics.json path; default WORKDIR/eval/metrics.json."
)


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _value_range(config):
    """The generator's output range from the run's config, or None to infer it from samples."""
    try:
        from tfgan_orig import train_lib

        value_range = train_lib.GENERATORS[config["model"]["generator"]][2]
    except (ImportError, KeyError, AttributeError, IndexError, TypeError):
        return None
    return (0.0, 1.0) if value_range is None else tuple(value_range)


def evaluate_workdir(
    workdir=None,
    metrics="auto",
    feature_network="auto",
    num_samples=None,
    num_real=None,
    seed=0,
    data_dir=None,
    output=None,
    gan=None,
    samples="gan",
    dataset=None,
):
    """Evaluates the newest checkpoint of `workdir` (or the training set) and writes `metrics.json`.

    Args:
      workdir: a training workdir (`config.json` and `checkpoints/`).
      metrics: groups or result names (see `tfgan_orig.evaluation.parse_metrics`), or "auto".
      feature_network: "auto", "classifier", "inception" or a feature-network object.
      num_samples: int or per-group dict overriding the standard sample counts.
      num_real: cap on real test examples.
      seed: seed of the generated samples.
      data_dir: dataset directory; default the run config's `data.data_dir`.
      output: where to write the JSON; default `WORKDIR/eval/metrics.json`.
      gan: an already restored GAN (skips `load_gan_from_workdir`).
      samples: "gan", or "train" to score the dataset's training set in place of generated samples
        (`tfgan_orig.evaluation.DatasetSampler`): the reference value of each metric.
      dataset: dataset name when there is no workdir (`samples="train"` only).

    Returns:
      The record written to `metrics.json` (a dict).
    """
    if samples not in ("gan", "train"):
        raise ValueError(f"Unknown samples {samples!r}. Valid choices: ['gan', 'train'].")
    config = {"data": {"name": dataset, "data_dir": ""}, "model": {}}
    if workdir is not None:
        config_path = workdir_lib.paths(workdir)["config"]
        if not os.path.exists(config_path):
            raise FileNotFoundError(f"{config_path} not found: is {workdir!r} a training workdir?")
        with open(config_path) as f:
            config = json.load(f)
    elif samples == "gan" or dataset is None or output is None:
        raise ValueError(
            "Without a workdir, evaluate the training set (samples='train') and give dataset and "
            f"output. Received: samples={samples!r}, dataset={dataset!r}, output={output!r}"
        )
    dataset = config["data"]["name"]
    if data_dir is None:
        data_dir = config["data"].get("data_dir") or None
    if metrics == "auto":
        from tfgan_orig import data as data_lib

        metrics = "modes" if dataset in data_lib.MIXTURES else "parzen,fd,kid,pr,dc,cs"
    evaluation.parse_metrics(metrics)  # fail on a typo before loading anything
    if samples == "train":
        gan = evaluation.DatasetSampler(dataset, "train", data_dir)
    elif gan is None:
        from tfgan_orig import train_lib  # lazy: the training program pulls in a lot

        gan = train_lib.load_gan_from_workdir(workdir)
    evaluator = evaluation.Evaluator(
        dataset,
        data_dir=data_dir,
        feature_network=feature_network,
        value_range=(0.0, 1.0) if samples == "train" else _value_range(config),
        num_samples=num_samples,
        num_real=num_real,
        seed=seed,
    )
    started = time.perf_counter()
    results, info = evaluator.evaluate(gan, metrics)
    groups = list(info["num_samples"])  # the groups computed, in order
    record = {name: _json_value(value) for name, value in results.items()}
    record.update(
        {
            "feature_network": info["feature_network"],
            "num_samples": info["num_samples"],
            "dataset": dataset,
            "workdir": None if workdir is None else os.path.abspath(workdir),
            "samples": "train set" if samples == "train" else "gan",
            "epoch": getattr(gan, "restored_epoch", None),
            "metrics": groups,
            "seed": int(seed),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    output = output or workdir_lib.paths(workdir)["metrics"]
    workdir_lib.write_json(record, output)
    record["output"] = output
    return record


def format_table(record):
    """A plain-text table of a `metrics.json` record: metric, value, what it was measured on."""
    rows = []
    for group in record["metrics"]:
        counts = record["num_samples"].get(group, {})
        where = ", ".join(f"{k}={v}" for k, v in counts.items())
        if group in evaluation.FEATURE_GROUPS and record.get("feature_network"):
            where += f"; features: {record['feature_network']}"
        for name in evaluation.METRIC_GROUPS[group]:
            value = record.get(name)
            if value is None:
                text = "n/a"
            else:
                text = f"{value:.6g}" if isinstance(value, float) else str(value)
            rows.append((name, text, where))
    widths = [max(len(r[i]) for r in rows + [("metric", "value", "measured on")]) for i in range(3)]
    lines = [
        f"{'metric':<{widths[0]}}  {'value':>{widths[1]}}  measured on",
        f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * widths[2]}",
    ]
    lines += [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not _WORKDIR.value and _SAMPLES.value == "gan":
        raise app.UsageError(
            "--workdir is required (or --samples=train --dataset=NAME --output=PATH)."
        )
    record = evaluate_workdir(
        _WORKDIR.value,
        metrics=_METRICS.value,
        feature_network=_FEATURE_NETWORK.value,
        num_samples=_NUM_SAMPLES.value or None,
        num_real=_NUM_REAL.value or None,
        seed=_SEED.value,
        data_dir=_DATA_DIR.value,
        output=_OUTPUT.value,
        samples=_SAMPLES.value,
        dataset=_DATASET.value,
    )
    source = "training set as samples" if _SAMPLES.value == "train" else record["workdir"]
    print(f"{record['dataset']}, {source} (epoch {record['epoch']}):")
    print(format_table(record))
    print(f"Wrote {record['output']} ({record['seconds']} s).")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
