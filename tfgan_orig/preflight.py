"""Checks before any long work: a run that cannot finish should fail in seconds, not after an epoch.

`check(config, workdir)` runs right after `tfgan_orig.config.validate_config` (which checks every
field, config only) and before anything is written, loaded or trained:

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

Every failure raises `PreflightError`, a `tfgan_orig.config.ConfigError` (so a `ValueError`), whose message
names the field or the path and what would be valid.
"""

import json
import os
import shutil

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import checkpoints as checkpoints_lib
from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import networks, optimizers
from tfgan_orig import workdir as workdir_lib

__all__ = [
    "PreflightError",
    "check",
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
    "model.pack",
    "optimizer.name",  # the optimizer's slot variables differ
)
_EXPORT_OVERHEAD = 2 << 20  # SavedModel graph, warmup requests, metadata: well under 2 MiB
_PICTURE_OVERHEAD = 64 << 10  # one PNG + its TensorBoard copy, beyond the pixels


class PreflightError(config_lib.ConfigError):
    """The run cannot start (or could not finish): bad option, workdir, disk space or data."""


class ResumeMismatch(PreflightError, workdir_lib.FingerprintMismatch):
    """The workdir's checkpoints are of another run than the config describes."""


def _field(config, dotted, default=None):  # a saved config.json (a dict) may lack new fields
    node = config
    for part in dotted.split("."):
        if not hasattr(node, "keys") or part not in node.keys():
            return default
        node = node[part]
    return node


def _mib(n):
    return f"{n / 2**20:.1f} MiB"


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
    try:
        workdir_lib.check_writable(workdir, "workdir")  # the one writability probe
    except workdir_lib.WorkdirError as e:
        raise PreflightError(str(e)) from None


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
    """On resume: the checkpoints must be of the run the config describes; a damaged newest
    checkpoint is reported by file name (training falls back to the previous one).

    The run fingerprint stored in the newest checkpoint is compared with the config's
    (`workdir.FingerprintMismatch` names the differing fields), whatever `config.json` says;
    checkpoints older than fingerprints are compared with `config.json`. A damaged checkpoint
    index, or one naming files outside the checkpoint directory, is handled by
    `checkpoints.find_checkpoints` (rebuilt from the files, or refused).
    """
    paths = workdir_lib.paths(workdir)
    if not os.path.isdir(paths["checkpoints"]):
        return
    prefixes, _ = checkpoints_lib.find_checkpoints(paths["checkpoints"])
    if not prefixes:
        return
    newest = prefixes[-1]
    damaged = _damaged_files(newest)
    for prefix in reversed(prefixes):  # the newest that can be read holds the run's fingerprint
        try:
            fingerprint = checkpoints_lib.read_fingerprint(prefix)
        except (tf.errors.OpError, ValueError, IndexError):  # damaged: see the older one
            continue
        if fingerprint is not None:
            try:
                checkpoints_lib.check_fingerprint(prefix, workdir_lib.run_fingerprint(config))
            except workdir_lib.FingerprintMismatch as e:
                raise ResumeMismatch(str(e)) from None
        break
    else:
        fingerprint = None
    if fingerprint is None and os.path.exists(paths["config"]):
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
        generator = networks.build_generator(config, info)
        discriminator = networks.build_discriminator(config, info)
    count = lambda model: int(sum(np.prod(v.shape) for v in model.weights))  # noqa: E731
    return count(generator), count(discriminator)


def estimate_bytes(config, parameters=None):
    """Upper estimate of the bytes a run writes into its workdir, with how it was computed.

    Returns:
      `(bytes, explanation)`.
    """
    g, d = parameters if parameters is not None else count_parameters(config)
    ema = 1 if config.model.ema_decay else 0
    slots = optimizers.SLOTS[config.optimizer.name]
    keep = config.train.max_checkpoints
    per_checkpoint = 4 * ((g + d) * (1 + slots) + ema * g) + 4096
    checkpoints = per_checkpoint * (keep + 1)  # a new one is complete before the oldest goes
    export = 4 * g + _EXPORT_OVERHEAD if config.train.export else 0
    info = data_lib.info(config.data.name)
    num = config.train.num_samples
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
    margin = config.train.min_free_bytes
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
def check(config, workdir):
    """All checks that need no training data; raises `PreflightError` (see module doc).

    Call after `tfgan_orig.config.validate_config` and before anything is written.
    """
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
    if not config.model.conditional:
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
