"""Checks before any long work: a run that cannot finish should fail in seconds, not after an epoch.

`check(config, workdir, strategy)` runs right after `train_lib.validate_config` and before anything
is written, loaded or trained:

- the reliability options (`train.on_nonfinite`, `train.max_consecutive_skips`,
  `train.min_free_bytes`) hold valid values;
- the global batch divides among the replicas, and the data holds at least one step;
- on resume (the workdir already has checkpoints and a `config.json`), the model the config
  describes is the one the checkpoints hold: latent size, networks and their widths, dataset
  (a different one would fail deep inside TensorFlow's restore, or restore into the wrong model);
  a damaged newest checkpoint is named (training then resumes from the previous one);
- the workdir can be created and written (a probe file is created and removed at once);
- the filesystem has room for the run: `estimate_bytes` (variables x 4 bytes x (1 + optimizer
  slots) x (checkpoints kept + 1 being written) + the exported generator + the pictures), plus
  `train.min_free_bytes` of margin, must be free.

`check_data(config, x, y)` runs once the training arrays are loaded, before the model is built: the
examples' shape must be what the generator produces, and a conditional model's labels must lie
in `[0, num_classes)`.

Every failure raises `PreflightError`, a `train_lib.ConfigError` (so a `ValueError`), whose message
names the field or the path and what would be valid.
"""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import data as data_lib
from tfgan_orig import divergence
from tfgan_orig import train_lib
from tfgan_orig import workdir as workdir_lib

__all__ = [
    "PreflightError",
    "check",
    "check_options",
    "check_workdir",
    "check_resume",
    "check_disk",
    "check_data",
    "count_parameters",
    "estimate_bytes",
]

# Model fields that change the variables a checkpoint holds (or their meaning), and the data.
_ARCHITECTURE = (
    "data.name",
    "model.generator",
    "model.discriminator",
    "model.latent_dim",
    "model.noise",
    "model.g_hidden_units",
    "model.g_batch_norm",
    "model.d_units",
    "model.d_pieces",
    "model.d_layers",
    "model.base_filters",
    "model.g_normalization",
    "model.d_normalization",
    "model.minibatch_discrimination",
    "model.spectral_norm",
    "model.conditional",
    "model.aux_classifier",
    "model.ema_decay",
    "model.ebgan_hidden_units",
    "model.ebgan_code_dim",
    "model.vbn_reference_size",
    "optimizer.name",  # the optimizer's slot variables differ
)
# Optimizer slot variables per trained variable (Keras 3).
_SLOTS = {"adam": 2, "sgd": 1, "paper_sgd": 1, "rmsprop": 1}
_EXPORT_OVERHEAD = 2 << 20  # SavedModel graph, warmup requests, metadata: well under 2 MiB
_PICTURE_OVERHEAD = 64 << 10  # one PNG + its TensorBoard copy, beyond the pixels


class PreflightError(train_lib.ConfigError):
    """The run cannot start (or could not finish): bad option, workdir, disk space or data."""


def _field(config, dotted, default=None):
    node = config
    for part in dotted.split("."):
        if not hasattr(node, "keys") or part not in node.keys():
            return default
        node = node[part]
    return node


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _mib(n):
    return f"{n / 2**20:.1f} MiB"


# ------------------------------------------------------------------------------------ options
def check_options(config, num_replicas=1):
    """The reliability options, batch vs replicas and data size (config only, no I/O)."""
    problems = []
    mode = _field(config, "train.on_nonfinite", "stop")
    if mode not in divergence.ON_NONFINITE:
        problems.append(
            f"train.on_nonfinite: unknown value {mode!r}. Valid choices: "
            f"{list(divergence.ON_NONFINITE)}."
        )
    skips = _field(config, "train.max_consecutive_skips", 100)
    if not (_is_int(skips) and skips >= 1):
        problems.append(
            f"train.max_consecutive_skips must be an integer >= 1. Received: {skips!r}"
        )
    margin = _field(config, "train.min_free_bytes", 0)
    if not (_is_int(margin) and margin >= 0):
        problems.append(f"train.min_free_bytes must be an integer >= 0. Received: {margin!r}")
    keep = _field(config, "train.max_checkpoints", 3)
    if not (_is_int(keep) and keep >= 1):
        problems.append(f"train.max_checkpoints must be an integer >= 1. Received: {keep!r}")
    batch = config.train.batch_size
    replicas = int(num_replicas)
    if replicas > 1 and batch % replicas:
        problems.append(
            f"train.batch_size={batch} (the global minibatch) must be divisible by the {replicas} "
            f"replicas in sync. Valid: a multiple of {replicas}, e.g. "
            f"{max(1, batch // replicas) * replicas}."
        )
    info = data_lib.info(config.data.name)
    n = info.num_train if config.data.limit <= 0 else min(info.num_train, config.data.limit)
    per_step = config.train.d_steps * batch
    if per_step > n:
        problems.append(
            f"One step needs train.d_steps * train.batch_size = {per_step} examples but "
            f"{config.data.name!r} with data.limit={config.data.limit} has {n}. Lower "
            "train.batch_size or raise data.limit."
        )
    if problems:
        raise PreflightError("Invalid config:\n  - " + "\n  - ".join(problems))


# ------------------------------------------------------------------------------------ workdir
def _existing_ancestor(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_workdir(workdir):
    """The workdir is (or can be made) a writable directory; nothing is left behind."""
    workdir = os.path.abspath(workdir)
    base = _existing_ancestor(workdir)
    if not os.path.isdir(base):
        raise PreflightError(
            f"workdir {workdir} cannot be created: {base} exists and is not a directory."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".tfgan-write-probe-", dir=base)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise PreflightError(
            f"workdir {workdir} is not writable: cannot create a file in {base} "
            f"({e.strerror or e})."
        ) from e


# ------------------------------------------------------------------------------------ resume
def _damaged_files(prefix):
    """The checkpoint files of `prefix` that cannot be read back, as "path (error)" strings."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as e:  # IndexError: truncated .data file
        directory = os.path.dirname(prefix)
        stem = os.path.basename(prefix)
        files = sorted(f for f in os.listdir(directory) if f.startswith(stem + "."))
        paths = [os.path.join(directory, f) for f in files]
        sizes = ", ".join(f"{p} ({os.path.getsize(p)} bytes)" for p in paths)
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"{sizes}: {first_line}"
    return None


def check_resume(config, workdir):
    """On resume: the config's model must match the checkpointed one; a damaged newest checkpoint
    is reported by file name (training falls back to the previous one)."""
    paths = workdir_lib.paths(workdir)
    state = tf.train.get_checkpoint_state(paths["checkpoints"]) if os.path.isdir(
        paths["checkpoints"]) else None
    if state is None or not state.model_checkpoint_path:
        return
    if os.path.exists(paths["config"]):
        with open(paths["config"]) as f:
            saved = json.load(f)
        differences = []
        for key in _ARCHITECTURE:
            old, new = _field(saved, key), _field(config, key)
            if isinstance(new, tuple):
                new = list(new)
            if old is not None and new is not None and old != new:
                differences.append(f"{key}: checkpoint {old!r}, config {new!r}")
        if differences:
            raise PreflightError(
                f"The checkpoints in {paths['checkpoints']} are of another model than the config "
                "describes (resume needs the same model):\n  - " + "\n  - ".join(differences)
                + "\nUse a new --workdir, or the checkpoint's values."
            )
    newest = state.model_checkpoint_path
    if not os.path.isabs(newest):
        newest = os.path.join(paths["checkpoints"], newest)
    damaged = _damaged_files(newest)
    if damaged:
        message = (
            f"Checkpoint {newest} is damaged and will not be loaded: {damaged}. "
            "Resuming from the previous complete checkpoint instead."
        )
        logging.error(message)
        print(f"ERROR {message}", flush=True)


# ------------------------------------------------------------------------------------ disk
def count_parameters(config):
    """(generator, discriminator) variable counts of the config's networks (built on the CPU,
    then dropped; no data is read)."""
    info = data_lib.info(config.data.name)
    with tf.device("/cpu:0"):
        generator = train_lib.GENERATORS[config.model.generator][0](config, info, None)
        discriminator = train_lib.DISCRIMINATORS[config.model.discriminator][0](config, info)
    count = lambda model: int(sum(np.prod(v.shape) for v in model.weights))  # noqa: E731
    return count(generator), count(discriminator)


def estimate_bytes(config, parameters=None):
    """Upper estimate of the bytes a run writes into its workdir, with how it was computed.

    Returns:
      `(bytes, explanation)`.
    """
    g, d = parameters if parameters is not None else count_parameters(config)
    ema = 1 if _field(config, "model.ema_decay", 0.0) else 0
    slots = _SLOTS.get(config.optimizer.name, 2)
    keep = _field(config, "train.max_checkpoints", 3)
    per_checkpoint = 4 * ((g + d) * (1 + slots) + ema * g) + 4096
    checkpoints = per_checkpoint * (keep + 1)  # a new one is complete before the oldest goes
    export = 4 * g + _EXPORT_OVERHEAD if _field(config, "train.export", True) else 0
    info = data_lib.info(config.data.name)
    num = _field(config, "train.num_samples", 64)
    picture = (num * int(np.prod(info.shape)) if info.kind == "image" else 0) + _PICTURE_OVERHEAD
    pictures = 2 * picture * (config.train.epochs + 1)  # samples/ PNG + TensorBoard image
    total = checkpoints + export + pictures
    explanation = (
        f"{g + d} variables x 4 bytes x (1 + {slots} optimizer slots) x ({keep} kept + 1) "
        f"checkpoints = {_mib(checkpoints)}, export {_mib(export)}, pictures {_mib(pictures)}"
    )
    return total, explanation


def check_disk(config, workdir):
    """Enough free space where the workdir lives for `estimate_bytes` + `train.min_free_bytes`."""
    base = _existing_ancestor(workdir)
    free = shutil.disk_usage(base).free
    need, explanation = estimate_bytes(config)
    margin = _field(config, "train.min_free_bytes", 0)
    if free < need + margin:
        raise PreflightError(
            f"Not enough free disk space for workdir {os.path.abspath(workdir)}: the run needs "
            "about "
            f"{_mib(need)} ({explanation})"
            + (f" + train.min_free_bytes={margin}" if margin else "")
            + f", but {base} has {_mib(free)} free. Free some space or choose another --workdir."
        )
    return need


# ------------------------------------------------------------------------------------ entry points
def check(config, workdir, strategy=None):
    """All checks that need no training data; raises `PreflightError` (see module doc).

    Call after `train_lib.validate_config` and before anything is written.
    """
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    check_options(config, replicas)
    check_resume(config, workdir)
    check_workdir(workdir)
    check_disk(config, workdir)


def check_data(config, x, y):
    """The loaded training arrays fit the model: example shape, labels of a conditional model."""
    info = data_lib.info(config.data.name)
    shape = tuple(np.shape(x)[1:])
    if shape != tuple(info.shape):
        raise PreflightError(
            f"The data's examples have shape {shape} but the generator for data.name="
            f"{config.data.name!r} produces {tuple(info.shape)}. Check data.data_dir (it must hold "
            f"{config.data.name!r}) or choose the data.name of these files."
        )
    if not _field(config, "model.conditional", False):
        return
    if y is None:
        raise PreflightError(
            f"model.conditional=True needs labels, but data.name={config.data.name!r} has none."
        )
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= info.num_classes):
        bad = y[(y < 0) | (y >= info.num_classes)]
        raise PreflightError(
            f"Labels out of range for a conditional model with {info.num_classes} classes: found "
            f"{sorted(set(bad.tolist()))[:10]} ({bad.size} examples); valid labels are "
            f"0..{info.num_classes - 1}."
        )
