"""The training program as a library: `train_and_evaluate(config, workdir)`.

It is everything `python -m tfgan_orig.train` does (the CLI, `tfgan_orig/cli/train.py`, only parses
flags), in a straight line: validate the config (`tfgan_orig.config`), check the workdir and disk
(`tfgan_orig.preflight`), load the data, build the GAN (`tfgan_orig.builder`), restore the newest
checkpoint, train (`GAN.fit` on `tfgan_orig.data.training_dataset`), export the generator.

The workdir layout is `tfgan_orig.workdir`'s. Re-running the same command on the same workdir
resumes from the newest complete checkpoint (and says so); a finished run is not trained again.

Data order is a pure function of (seed, epoch) (`tfgan_orig.data.training_dataset`): resuming at
epoch e replays the exact batches an uninterrupted run sees, and with `train.deterministic=True`
(`tf.config.experimental.enable_op_determinism`) the final weights are equal.
"""

import os
import time
import warnings

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import callbacks as callbacks_lib
from tfgan_orig import checkpoints as checkpoints_lib
from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import distribute, divergence, evaluation, preflight
from tfgan_orig import export as export_lib
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.builder import build_gan, load_gan_from_workdir, steps_per_epoch, value_range
from tfgan_orig.config import ConfigError, load_config, validate_config
from tfgan_orig.networks import DISCRIMINATORS, GENERATORS
from tfgan_orig.optimizers import OPTIMIZERS

# The names this module has always offered (README, scripts), defined in the modules named above.
__all__ = [
    "ConfigError",
    "GENERATORS",
    "DISCRIMINATORS",
    "OPTIMIZERS",
    "STRATEGIES",
    "validate_config",
    "load_config",
    "make_strategy",
    "steps_per_epoch",
    "build_gan",
    "train_and_evaluate",
    "load_gan_from_workdir",
    "workdir_paths",
]

STRATEGIES = distribute.STRATEGIES
workdir_paths = workdir_lib.paths


def make_strategy(name="default"):
    """A `tf.distribute.Strategy` by name (see `tfgan_orig.distribute.get_strategy`); a strategy
    object is returned as it is. "tpu" connects to the TPU named by `TPU_NAME` (or a local one)."""
    if isinstance(name, tf.distribute.Strategy):
        return name
    try:
        return distribute.get_strategy(name or "default", tpu=os.environ.get("TPU_NAME", ""))
    except ValueError as e:
        raise ConfigError(str(e)) from e


def _load_training_data(config):
    """The training arrays (first `data.limit` examples), checked against the model."""
    x, y = data_lib.load_arrays(
        config.data.name, "train", config.data.data_dir or None, seed=config.seed
    )
    if config.data.limit > 0:
        x = x[: config.data.limit]
        y = None if y is None else y[: config.data.limit]
    preflight.check_data(config, x, y)  # example shape, conditional labels' range
    return x, y


def _callbacks(config, paths, ckpt, num_steps, chief, stop, start_step):
    """The fit callbacks, in order: non-finite guard, summaries, evaluation, checkpoint, time limit.

    The guard runs before the epoch-end checkpoint (a NaN epoch is never saved), and evaluation
    before it too (a checkpoint's epoch always has its metrics logged). The checkpoint callback
    also writes the mid-epoch checkpoint when `stop` (a `StopOnSignal`) got SIGTERM/SIGINT.
    """
    info = data_lib.info(config.data.name)
    train = config.train
    image_range = value_range(config) if info.kind == "image" else None
    mixture = data_lib.MIXTURES.get(config.data.name)
    fit_callbacks = [
        divergence.NonFiniteGuard(
            num_steps,
            on_nonfinite=train.on_nonfinite,
            max_consecutive_skips=train.max_consecutive_skips,
            checkpoint_dir=paths["checkpoints"],
        ),
        callbacks_lib.TrainingSummaries(
            paths["tensorboard"],
            paths["samples"],
            steps_per_epoch=num_steps,
            images_per_step=train.d_steps * train.batch_size,
            log_every_steps=train.log_every_steps,
            hparams=callbacks_lib.flatten_hparams(config),
            num_samples=train.num_samples,
            sample_seed=train.sample_seed,
            value_range=image_range or (0.0, 1.0),
            modes=mixture[0]() if mixture else None,
            chief=chief,
        ),
    ]
    if chief and config.eval.metrics and config.eval.every_n_epochs > 0:
        fit_callbacks.append(evaluation.EvaluationCallback(
            config.data.name,
            log_dir=paths["eval_tensorboard"],
            metrics=config.eval.metrics,
            every_n_epochs=config.eval.every_n_epochs,
            num_samples=config.eval.num_samples or None,
            value_range=image_range,
            data_dir=config.data.data_dir or None,
        ))
    fit_callbacks.append(callbacks_lib.CheckpointEachEpoch(
        ckpt, steps_per_epoch=num_steps, stop=stop, first_step=start_step
    ))
    time_limit = None
    if train.time_limit_minutes > 0:
        time_limit = callbacks_lib.TimeLimit(train.time_limit_minutes)
        fit_callbacks.append(time_limit)
    return fit_callbacks, time_limit


def train_and_evaluate(config, workdir, strategy=None):
    """Trains the GAN a config describes, writing the workdir layout; resumes if interrupted.

    Args:
      config: an `ml_collections.ConfigDict` (see `tfgan_orig.config.default_config`).
      workdir: output directory (created if needed).
      strategy: a `tf.distribute.Strategy`, a name in `STRATEGIES`, or None (default strategy).

    Returns:
      A dict: `workdir`, `tensorboard`, `checkpoint` (newest path), `sample_png` (newest picture),
      `export` (SavedModel version path or None), `start_epoch` (0 if fresh), `epochs`,
      `stopped_at_epoch` (set when `train.time_limit_minutes` stopped training early),
      `steps_per_epoch`, `history` (per-epoch metrics of this invocation), `seconds`.

    Raises:
      tfgan_orig.config.ConfigError: an invalid config, workdir or disk (nothing written).
      tfgan_orig.workdir.WorkdirError: the workdir is in use by another process
        (`WorkdirInUse`), its checkpoints are another run's (`FingerprintMismatch`) or unusable.
      tfgan_orig.callbacks.TrainingInterrupted: SIGTERM/SIGINT stopped training after a step; the
        checkpoint it names holds that step, and the same call resumes there.
    """
    # 1. Check everything that can be checked before any work: the config, then workdir and disk.
    strategy = make_strategy(strategy)
    validate_config(config, num_replicas=strategy.num_replicas_in_sync)
    chief = distribute.is_chief(strategy)
    # One training process per workdir (a multi-worker run locks once, from the chief). An
    # existing workdir is locked before its checkpoints are read, a new one after the checks
    # (which must fail before anything is written).
    lock = workdir_lib.WorkdirLock(workdir) if chief else None
    if lock is not None and os.path.isdir(workdir):
        lock.acquire()
    try:
        preflight.check(config, workdir)
        if lock is not None and not lock.held:
            lock.acquire()
        # SIGTERM/SIGINT: checkpoint after the current step, then stop. A multi-worker stop would
        # need every worker to agree on the step: there the signals keep their default action.
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        with callbacks_lib.StopOnSignal(enabled=not multi_worker) as stop:
            return _train(config, workdir, strategy, chief, stop)
    finally:
        if lock is not None:
            lock.release()


def _fit(config, gan, x, y, num_steps, start_epoch, start_step, fit_callbacks):
    """`gan.fit` over epochs `[start_epoch, train.epochs)` of `data.training_dataset`, from step
    `start_step` of the first; returns the per-epoch history of the metrics."""
    epochs = config.train.epochs
    history = {}
    info = data_lib.info(config.data.name)
    # A checkpoint written mid-epoch (SIGTERM) resumes at its step: one `fit` runs the rest of
    # that epoch (the epoch's batches minus those done), another the epochs after it.
    parts = [(start_epoch, epochs, num_steps, 0)]
    if start_step:
        parts = [(start_epoch, start_epoch + 1, num_steps - start_step, start_step)]
        if start_epoch + 1 < epochs:
            parts.append((start_epoch + 1, epochs, num_steps, 0))
    for first, end, steps, skip in parts:
        ds = data_lib.training_dataset(
            x,
            config.train.d_steps * config.train.batch_size,
            num_steps,
            config.seed,
            first,
            end,
            value_range=value_range(config) if info.kind == "image" else None,
            labels=y if gan.num_classes is not None else None,
        )
        with warnings.catch_warnings():
            # Keras warns that shuffle=True is ignored for datasets; the order is ours.
            warnings.filterwarnings("ignore", message=".*shuffle=True.*")
            result = gan.fit(
                ds.skip(skip),
                epochs=end,
                initial_epoch=first,
                steps_per_epoch=steps,
                callbacks=fit_callbacks,
                verbose=config.train.verbose,
            )
        for k, vals in result.history.items():
            history.setdefault(k, []).extend(float(np.asarray(v).reshape(-1)[0]) for v in vals)
        if gan.stop_training:  # time limit or signal
            break
    return history


def _train(config, workdir, strategy, chief, stop):
    """`train_and_evaluate` once the checks passed and the workdir is locked."""
    # Before any layer is built: the dtype policy is read at layer construction.
    distribute.set_precision(config.train.precision)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    paths = workdir_lib.paths(workdir)
    if chief:
        for key in ("tensorboard", "checkpoints", "samples"):
            os.makedirs(paths[key], exist_ok=True)
        config_lib.save_config(config, workdir)

    # 2. Data, model, newest checkpoint.
    x, y = _load_training_data(config)
    num_steps = steps_per_epoch(config, len(x))
    epochs = config.train.epochs
    gan = build_gan(config, strategy, train_images=x, num_steps_per_epoch=num_steps)
    ckpt = checkpoints_lib.TrainingCheckpoint(
        gan, paths["checkpoints"], max_to_keep=config.train.max_checkpoints, strategy=strategy,
        fingerprint=workdir_lib.run_fingerprint(config),
    )
    restored = ckpt.restore_latest()
    start_epoch = ckpt.restored_epoch if restored else 0
    start_step = ckpt.restored_step_in_epoch if restored else 0  # > 0: stopped mid-epoch
    if restored:
        # A lowered learning rate (after a divergence) must win over the checkpoint's.
        divergence.use_config_learning_rates(
            gan, config.optimizer.d_learning_rate, config.optimizer.g_learning_rate
        )
        logging.info(
            "Resuming from checkpoint %s: %d of %d epochs done (step %d).",
            restored, start_epoch, epochs, int(gan.step_counter.numpy()),
        )
        within = f", step {start_step}/{num_steps} of the next" if start_step else ""
        print(f"Resuming from {restored} (epoch {start_epoch}/{epochs}{within}).", flush=True)
    else:
        logging.info("No checkpoint in %s: starting from scratch.", paths["checkpoints"])

    # 3. Train the remaining epochs.
    fit_callbacks, time_limit = _callbacks(config, paths, ckpt, num_steps, chief, stop, start_step)
    checkpointer = next(c for c in fit_callbacks if isinstance(c, callbacks_lib.CheckpointEachEpoch))
    history = {}
    started = time.perf_counter()
    if start_epoch < epochs:
        history = _fit(config, gan, x, y, num_steps, start_epoch, start_step, fit_callbacks)
    else:
        print(f"Training already complete ({start_epoch}/{epochs} epochs): nothing to do.",
              flush=True)
    if checkpointer.interrupted is not None:
        logging.warning("%s", checkpointer.interrupted)
        raise checkpointer.interrupted
    if stop.signum is not None:  # a signal before training started or after it ended
        raise callbacks_lib.TrainingInterrupted(
            stop.signum, tf.train.latest_checkpoint(paths["checkpoints"]), ckpt.restored_epoch, 0)
    seconds = time.perf_counter() - started

    # 4. Export the generator (a new version only when this invocation trained).
    export_path = workdir_lib.latest_export(paths["export"])
    if chief and config.train.export and (export_path is None or history):
        export_path = export_lib.export_generator(
            gan, paths["export"], use_ema=gan.ema_generator is not None
        )
        logging.info("Exported the generator to %s", export_path)
    sample_png = paths["latest_samples"]
    stopped = time_limit.stopped_at_epoch if time_limit is not None else None
    if stopped is not None and stopped < epochs:
        print(
            f"Time limit ({config.train.time_limit_minutes} min) reached after epoch {stopped} of "
            f"{epochs}; run the same command again to continue.",
            flush=True,
        )
    return {
        "workdir": paths["workdir"],
        "tensorboard": paths["tensorboard"],
        "checkpoint": tf.train.latest_checkpoint(paths["checkpoints"]),
        "sample_png": sample_png if os.path.exists(sample_png) else None,
        "export": export_path,
        "start_epoch": start_epoch,
        "epochs": epochs,
        "stopped_at_epoch": stopped,
        "steps_per_epoch": num_steps,
        "history": history,
        "seconds": seconds,
    }
