"""Evaluating a GAN: the `Evaluator` (metrics of `tfgan_orig.metrics` on generated samples), the
training callback that logs them, and `evaluate_workdir` (what `python -m tfgan_orig.evaluate` runs).

The metric groups, their result keys and default sample counts are listed in `tfgan_orig.metrics`.
`fd`, `kid`, `pr`, `dc` and `cs` work on features of a feature network (`tfgan_orig.classifier`):
the package's own dataset classifier (offline) or InceptionV3 (when its weights are on disk); for the
2-D mixtures, the points themselves ("identity"). Every result names its feature network.
"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import builder, classifier
from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import networks
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.metrics import (
    DEFAULT_NUM_SAMPLES,
    FEATURE_GROUPS,
    METRIC_GROUPS,
    PARZEN_NUM_VALID,
    PARZEN_VALID_START,
    classifier_score,
    density_coverage,
    frechet_distance,
    kernel_inception_distance,
    mode_coverage,
    parse_metrics,
    parzen_window,
    precision_recall,
)

__all__ = [
    "SAMPLES", "DatasetSampler", "EmaSampler", "Evaluator", "EvaluationCallback",
    "evaluate_workdir", "format_table",
]

# What `evaluate_workdir` can score: the run's generator, its EMA generator, the training set.
SAMPLES = ("gan", "ema", "train")


# ----------------------------------------------------------------------------------- the evaluator
def _to_unit_range(images, value_range):
    lo, hi = value_range
    return np.clip((np.asarray(images, np.float32) - lo) / (hi - lo), 0.0, 1.0)


class EmaSampler:
    """A restored GAN's EMA generator as the sampler (`samples="ema"` of `evaluate_workdir`).

    `generate(num, seed)` is `gan.generate(num, seed=seed, use_ema=True)`: the averaged weights
    with batch-norm statistics of their own (`GAN.refresh_ema_statistics`).
    """

    def __init__(self, gan):
        if getattr(gan, "ema_generator", None) is None:
            raise ValueError(
                "samples='ema' needs a run trained with a generator EMA (model.ema_decay > 0). "
                "Valid choices for this run: samples='gan' or 'train'."
            )
        self.gan = gan
        self.restored_epoch = getattr(gan, "restored_epoch", None)

    def generate(self, num, seed=None):
        return self.gan.generate(num, seed=seed, use_ema=True)


class DatasetSampler:
    """Real examples in place of a generator: the reference point every metric is read against.

    `generate(num)` returns the first `num` examples of `split` (images as float32 in [0, 1]), e.g.
    the training set as "samples" for the Parzen estimate (validation uses train[50000:51000], so
    with num <= 50,000 samples and validation never overlap) or for FD against the test set.
    """

    def __init__(self, dataset, split="train", data_dir=None):
        self.dataset = dataset
        self.split = split
        self.data_dir = data_dir
        self._x = None

    def generate(self, num, seed=None):
        """The first `num` examples (`seed` is ignored: the reference set is fixed)."""
        del seed
        if self._x is None:
            x, _ = data_lib.load_arrays(self.dataset, self.split, self.data_dir)
            if data_lib.info(self.dataset).kind == "image":
                x = x.astype(np.float32) / 255.0
            self._x = x
        if int(num) > len(self._x):
            raise ValueError(
                f"num={num} exceeds the {len(self._x)} examples of {self.dataset!r} {self.split!r}."
            )
        return self._x[: int(num)]


class Evaluator:
    """Applies metric groups to a GAN on one dataset, caching the real data and features.

    Args:
      dataset: dataset name of `tfgan_orig.data.DATASETS`.
      data_dir: passed to `tfgan_orig.data.load_arrays`.
      feature_network: "classifier" (offline, trained and cached on first use), "inception"
        (needs local weights), "auto" (Inception if its weights are on disk, else the classifier), or
        an object with `name`, `features(images)` and `features_and_logits(images)`. For the 2-D
        mixtures features are the points ("identity").
      value_range: the generator's output range for images, e.g. (0, 1) for the paper's sigmoid MLP
        or (-1, 1) for tanh nets; None infers it per call from the samples (any value < 0 -> (-1, 1)).
      num_samples: int overriding every group's number of generated samples, or a dict per group;
        default `DEFAULT_NUM_SAMPLES`.
      num_real: cap on real examples (Parzen test set, feature-metric reference set); default 10,000.
      seed: seed of the generated samples (the same for every group).
    """

    def __init__(
        self,
        dataset,
        data_dir=None,
        feature_network="auto",
        value_range=None,
        num_samples=None,
        num_real=None,
        seed=0,
    ):
        self.info = data_lib.info(dataset)
        self.dataset = dataset
        self.data_dir = data_dir
        self.value_range = None if value_range is None else tuple(float(v) for v in value_range)
        if isinstance(num_samples, dict):
            unknown = sorted(set(num_samples) - set(DEFAULT_NUM_SAMPLES))
            if unknown:
                raise ValueError(
                    f"Unknown groups {unknown} in num_samples. Valid: {sorted(METRIC_GROUPS)}"
                )
            self.num_samples = {**DEFAULT_NUM_SAMPLES, **num_samples}
        elif num_samples is None:
            self.num_samples = dict(DEFAULT_NUM_SAMPLES)
        else:
            self.num_samples = {g: int(num_samples) for g in DEFAULT_NUM_SAMPLES}
        self.num_real = 10000 if num_real is None else int(num_real)
        self.seed = int(seed)
        self._feature_network_arg = feature_network
        self._feature_network = None
        self._real = {}

    # ------------------------------------------------------------------ lazily loaded references
    @property
    def feature_network(self):
        if self._feature_network is None:
            self._feature_network = self._make_feature_network(self._feature_network_arg)
        return self._feature_network

    def _make_feature_network(self, spec):
        if self.info.kind == "points":
            return None
        if not isinstance(spec, str):
            return spec
        if spec == "auto":
            spec = "inception" if classifier.inception_available() else "classifier"
        if spec == "inception":
            return classifier.InceptionFeatures()
        if spec == "classifier":
            return classifier.ClassifierFeatures(self.dataset, data_dir=self.data_dir)
        raise ValueError(
            f"Unknown feature_network {spec!r}. Valid choices: ['auto', 'classifier', 'inception']."
        )

    @property
    def applicable_groups(self):
        """The groups that make sense for this dataset: no mode coverage for images, no
        classifier score for the 2-D mixtures (their identity features have no logits)."""
        if self.info.kind == "points":
            mixture = self.dataset in data_lib.MIXTURES
            return [g for g in METRIC_GROUPS if g != "cs" and (g != "modes" or mixture)]
        return [g for g in METRIC_GROUPS if g != "modes"]

    @property
    def feature_network_name(self):
        if self.info.kind == "points":
            return "identity"
        return self.feature_network.name

    def _real_arrays(self, split):
        if split not in self._real:
            x, y = data_lib.load_arrays(self.dataset, split, self.data_dir)
            if self.info.kind == "image":
                x = x.astype(np.float32) / 255.0  # real-valued pixels in [0, 1], as the authors'
            self._real[split] = (x, y)
        return self._real[split]

    def _real_features(self):
        if "features" not in self._real:
            x = self._real_arrays("test")[0][: self.num_real]
            self._real["features"] = self._features(x)
        return self._real["features"]

    def _features(self, x):
        if self.info.kind == "points":
            return np.asarray(x, np.float64)
        return self.feature_network.features(x)

    # ------------------------------------------------------------------------------ sampling
    def _samples(self, gan, num, cache):
        """`num` generated samples, images mapped to [0, 1]; shared between groups of one call."""
        if num not in cache:
            x = np.asarray(gan.generate(num, seed=self.seed))
            if self.info.kind == "image":
                value_range = self.value_range
                if value_range is None:
                    value_range = (-1.0, 1.0) if x.min() < -1e-6 else (0.0, 1.0)
                x = _to_unit_range(x, value_range)
            cache[num] = x
        return cache[num]

    # ------------------------------------------------------------------------------ metrics
    def evaluate(self, gan, metrics):
        """Computes the metric groups `metrics` (see `parse_metrics`) for `gan`.

        Args:
          gan: anything with `generate(num, seed=...)` returning numpy samples.
          metrics: group names or result names, as a list or comma-separated string; "all" means
            `applicable_groups`.

        Returns:
          `(results, info)`: `results` maps result names to floats; `info` holds the feature
          network name and, per group, the numbers of generated and real examples used; with
          "modes", also `mode_details` (per-mode HQ counts, centre offsets and radii in std,
          see `metrics.mode_coverage`).
        """
        groups = parse_metrics(metrics)
        if metrics in ("all", ["all"], ("all",)):
            groups = self.applicable_groups
        results, counts, cache = {}, {}, {}
        for group in groups:
            num = self.num_samples[group]
            if group == "parzen":
                samples = self._samples(gan, num, cache)
                valid, test = self._parzen_sets()
                results.update(parzen_window(samples, valid, test))
                counts[group] = {"samples": num, "valid": len(valid), "test": len(test)}
            elif group == "modes":
                if self.dataset not in data_lib.MIXTURES:
                    raise ValueError(
                        f"Mode coverage needs a 2-D mixture; dataset={self.dataset!r}. "
                        f"Valid choices: {sorted(data_lib.MIXTURES)}."
                    )
                modes_fn, std = data_lib.MIXTURES[self.dataset]
                out = mode_coverage(self._samples(gan, num, cache), modes_fn(), std)
                results.update({k: out[k] for k in METRIC_GROUPS["modes"]})
                counts[group] = {"samples": num}
                # Per mode, not scalars: beside the metrics, for reading a result, not for logs.
                details = {k: out[k] for k in ("mode_counts", "mode_offsets", "mode_radii")}
            else:
                results.update(self._feature_group(group, gan, num, cache))
                counts[group] = {"samples": num}
                if group != "cs":  # the classifier score uses no real examples
                    counts[group]["real"] = len(self._real_features())
        info = {"feature_network": None, "num_samples": counts, "dataset": self.dataset}
        if "modes" in groups:
            info["mode_details"] = details
        if any(g in FEATURE_GROUPS for g in groups):
            info["feature_network"] = self.feature_network_name
        return results, info

    def _parzen_sets(self):
        x_train, _ = self._real_arrays("train")
        x_test, _ = self._real_arrays("test")
        if self.info.kind == "image" and len(x_train) >= PARZEN_VALID_START + PARZEN_NUM_VALID:
            valid = x_train[PARZEN_VALID_START : PARZEN_VALID_START + PARZEN_NUM_VALID]
        else:
            valid = x_train[:PARZEN_NUM_VALID]
        return valid, x_test[: self.num_real]

    def _feature_group(self, group, gan, num, cache):
        key = ("features", num)
        if key not in cache:
            samples = self._samples(gan, num, cache)
            if self.info.kind == "points":
                cache[key] = (np.asarray(samples, np.float64), None)
            else:
                cache[key] = self.feature_network.features_and_logits(samples)
        feats, logits = cache[key]
        if group == "cs":
            if logits is None:
                raise ValueError(
                    f"The classifier score needs class logits; feature network "
                    f"{self.feature_network_name!r} has none."
                )
            return {"classifier_score": classifier_score(logits)}
        real = self._real_features()
        if group == "fd":
            return {"frechet_distance": frechet_distance(real, feats)}
        if group == "kid":
            kid, stderr = kernel_inception_distance(real, feats, seed=self.seed)
            return {"kid": kid, "kid_stderr": stderr}
        if group == "pr":
            return precision_recall(real, feats, k=3)
        return density_coverage(real, feats, k=5)


# ------------------------------------------------------------------------------------ the callback
class EvaluationCallback(keras.callbacks.Callback):
    """Logs metric groups to TensorBoard every `every_n_epochs` epochs during `fit`.

    Scalars are written as `eval/<result name>` (e.g. `eval/modes_captured`) to `log_dir`
    (a directory of its own, e.g. `<workdir>/tb/eval`), at step = epoch index like Keras'
    TensorBoard callback. The latest results are also kept in `self.history` as
    `(epoch, results)` pairs.

    Args:
      dataset: dataset name (or a ready `Evaluator` instance).
      log_dir: TensorBoard directory; None keeps results only in `history`.
      metrics: metric groups, e.g. ("modes",) for the 2-D mixtures or ("fd",) for images.
      every_n_epochs: evaluation period; the last epoch of a run is evaluated when it falls on it.
      **evaluator_kwargs: passed to `Evaluator` (`num_samples`, `feature_network`, ...).
    """

    def __init__(
        self, dataset, log_dir=None, metrics=("modes",), every_n_epochs=1, **evaluator_kwargs
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"every_n_epochs must be >= 1. Received: every_n_epochs={every_n_epochs}"
            )
        self.groups = parse_metrics(metrics)
        self.every_n_epochs = int(every_n_epochs)
        self.log_dir = log_dir
        if isinstance(dataset, Evaluator):
            self.evaluator = dataset
        else:
            self.evaluator = Evaluator(dataset, **evaluator_kwargs)
        self.history = []
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs or self.model.stop_training:
            return  # stop_training here: a signal cut the epoch short (callbacks.StopOnSignal)
        results, info = self.evaluator.evaluate(self.model, self.groups)
        self.history.append((epoch, results))
        logging.info("Epoch %d evaluation (%s): %s", epoch + 1, info["feature_network"], results)
        if self.log_dir is None:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=epoch):
            for name, value in results.items():
                if value is not None and np.isfinite(value):
                    tf.summary.scalar(f"eval/{name}", float(value))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# ----------------------------------------------------------------------------------- a workdir
def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


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
      metrics: groups or result names (see `tfgan_orig.metrics.parse_metrics`), or "auto".
      feature_network: "auto", "classifier", "inception" or a feature-network object.
      num_samples: int or per-group dict overriding the standard sample counts.
      num_real: cap on real test examples.
      seed: seed of the generated samples.
      data_dir: dataset directory; default the run config's `data.data_dir`.
      output: where to write the JSON; default `WORKDIR/eval/metrics.json`.
      gan: an already restored GAN (skips `load_gan_from_workdir`).
      samples: "gan"; "ema" for the run's generator EMA (`EmaSampler`; default output
        `WORKDIR/eval/metrics_ema.json`); or "train" to score the dataset's training set in place
        of generated samples (`DatasetSampler`): the reference value of each metric.
      dataset: dataset name when there is no workdir (`samples="train"` only).

    Returns:
      The record written to `metrics.json` (a dict).
    """
    if samples not in SAMPLES:
        raise ValueError(f"Unknown samples {samples!r}. Valid choices: {list(SAMPLES)}.")
    value_range = (0.0, 1.0)  # the training set's images (samples="train")
    if workdir is not None:
        config = config_lib.load_config(workdir)
        dataset = config.data.name
        if samples != "train":
            value_range = networks.value_range(config.model.generator)
        if samples == "ema" and not config.model.ema_decay:  # before restoring anything
            raise workdir_lib.WorkdirError(
                "samples='ema' needs a run trained with a generator EMA (model.ema_decay > 0); "
                f"{workdir} has model.ema_decay={config.model.ema_decay}. Valid choices for it: "
                "samples='gan' or 'train'."
            )
        if data_dir is None:
            data_dir = config.data.data_dir or None
    elif samples != "train" or dataset is None or output is None:
        raise ValueError(
            "Without a workdir, evaluate the training set (samples='train') and give dataset and "
            f"output. Received: samples={samples!r}, dataset={dataset!r}, output={output!r}"
        )
    if metrics == "auto":
        metrics = "modes" if dataset in data_lib.MIXTURES else "parzen,fd,kid,pr,dc,cs"
    parse_metrics(metrics)  # fail on a typo before loading anything
    if output is None:
        output = workdir_lib.paths(workdir)["metrics"]
        if samples == "ema":
            output = os.path.join(os.path.dirname(output), "metrics_ema.json")
    # metrics.json's folder must be writable before minutes of computing (a read-only workdir).
    workdir_lib.check_writable(os.path.dirname(os.path.abspath(output)), "output directory")
    if samples == "train":
        gan = DatasetSampler(dataset, "train", data_dir)
    else:
        gan = builder.load_gan_from_workdir(workdir) if gan is None else gan
        if samples == "ema":
            gan = EmaSampler(gan)
    evaluator = Evaluator(
        dataset,
        data_dir=data_dir,
        feature_network=feature_network,
        value_range=value_range,
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
            "samples": {"train": "train set"}.get(samples, samples),
            "epoch": getattr(gan, "restored_epoch", None),
            "metrics": groups,
            "seed": int(seed),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    if "mode_details" in info:
        record["mode_details"] = info["mode_details"]
    workdir_lib.write_json(record, output)
    record["output"] = output
    return record


def format_table(record):
    """A plain-text table of a `metrics.json` record: metric, value, what it was measured on."""
    rows = []
    for group in record["metrics"]:
        counts = record["num_samples"].get(group, {})
        where = ", ".join(f"{k}={v}" for k, v in counts.items())
        if group in FEATURE_GROUPS and record.get("feature_network"):
            where += f"; features: {record['feature_network']}"
        for name in METRIC_GROUPS[group]:
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
