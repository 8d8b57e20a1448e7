"""Keras callbacks of the training program: TensorBoard summaries, sample pictures, checkpoints.

Per-step cost is one integer comparison: scalars are written every `log_every_steps` steps and at
each epoch's end, pictures once per epoch. (Keras' TensorFlow trainer already converts the step's
logs to Python floats for every callback, so reading them adds no device synchronisation.)

Scalars (TensorBoard, x-axis = global step, i.e. generator updates):
- `d_loss`, `g_loss`, `d_real` (mean D(x)), `d_fake` (mean D(G(z))): means over the last window of
  steps. Keras' metrics are running means since the epoch began, `m_b = (1/b) sum_{i<=b} v_i` (every
  step weighs the same: batches are complete), so the window (a, b] mean is recovered exactly as
  `(b m_b - a m_a) / (b - a)`. Also `d_reg`, `g_reg`: the networks' own losses in their objectives
  (Keras weight regularizers, `add_loss`; 0 without any).
- `d_learning_rate`, `g_learning_rate` (and `d_momentum`/`g_momentum` for scheduled-momentum SGD),
  the values the optimizers use at that step;
- `images_per_second`: real images consumed per second of wall-clock over the window.
- `epoch/<name>`: the epoch means, x-axis = epochs completed.

Pictures (x-axis = epochs completed): `samples`, the generator's output on one fixed latent batch
(the same z every epoch, so progress is visible), as an image grid; for 2-D data a scatter plot of
samples over the mixture's modes. Also written to `WORKDIR/samples/epoch_NNNN.png` and `latest.png`.

The run's hyperparameters go to TensorBoard's hparams plugin at the start.

Only the chief writes (under `tf.distribute` multi-worker training every worker runs the callbacks);
checkpoint saving, a collective operation, runs on every worker (see `checkpoints.py`).
"""

import os
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import images as images_lib
from tfgan_orig import workdir as workdir_lib

__all__ = [
    "TrainingSummaries",
    "CheckpointEachEpoch",
    "StopOnSignal",
    "TrainingInterrupted",
    "TimeLimit",
    "flatten_hparams",
    "learning_rate",
]

_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_reg", "g_reg")


def _scalar(value):
    """A log value (float, numpy scalar or the shape-[1] arrays of multi-worker runs) -> float."""
    return float(np.asarray(value, np.float64).reshape(-1)[0])


def learning_rate(optimizer):
    """The learning rate `optimizer` applies at its current step (schedules evaluated)."""
    return _scalar(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _momentum(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if hasattr(inner, "current_momentum"):
        return float(inner.current_momentum())
    return None


def flatten_hparams(config, prefix=""):
    """Nested dict/ConfigDict -> `{"train.batch_size": 100, ...}` with bool/int/float/str values
    (the types TensorBoard's hparams plugin accepts; anything else, e.g. tuples, as its str)."""
    out = {}
    items = config.items() if hasattr(config, "items") else []
    for key, value in items:
        name = f"{prefix}{key}"
        if hasattr(value, "items"):
            out.update(flatten_hparams(value, prefix=f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


class TrainingSummaries(keras.callbacks.Callback):
    """Writes scalars, sample pictures and hparams for a `tfgan_orig.GAN` being fit.

    Args:
      log_dir: TensorBoard directory (`WORKDIR/tensorboard`).
      samples_dir: folder for the PNG pictures (`WORKDIR/samples`).
      steps_per_epoch: steps in one epoch (for the global step).
      images_per_step: real images one step consumes (d_steps x global minibatch).
      log_every_steps: scalar window length in steps (0: only at epoch ends).
      hparams: flat dict for the hparams plugin (see `flatten_hparams`), or None.
      num_samples: pictures' sample count (image grid: e.g. 64; scatter: e.g. 2500).
      sample_seed: seed of the fixed latent batch.
      value_range: the generator's output range (image grids).
      modes: `[m, 2]` mode centres, for scatter plots of 2-D data; None for images.
      chief: whether this worker writes anything.
    """

    def __init__(
        self,
        log_dir,
        samples_dir,
        steps_per_epoch,
        images_per_step,
        log_every_steps=100,
        hparams=None,
        num_samples=64,
        sample_seed=1234,
        value_range=(0.0, 1.0),
        modes=None,
        chief=True,
    ):
        super().__init__()
        self.log_dir = log_dir
        self.samples_dir = samples_dir
        self.steps_per_epoch = int(steps_per_epoch)
        self.images_per_step = int(images_per_step)
        self.log_every_steps = int(log_every_steps)
        self.hparams = hparams
        self.num_samples = int(num_samples)
        self.sample_seed = int(sample_seed)
        self.value_range = tuple(value_range)
        self.modes = modes
        self.chief = bool(chief)
        self.writer = None
        self.last_sample_path = None
        self._epoch = 0
        self._window_start = 0
        self._window_means = None
        self._window_time = 0.0
        self._epoch_time = 0.0

    # ------------------------------------------------------------------------------ lifecycle
    def on_train_begin(self, logs=None):
        if not self.chief:
            return
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.log_dir)
        if self.hparams:
            from tensorboard.plugins.hparams import api as hp  # only needed once, at start

            with self.writer.as_default():
                hp.hparams(self.hparams)
            self.writer.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._window_start = 0
        self._window_means = None
        self._window_time = self._epoch_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the 0-based index of the last step run (steps_per_execution may skip some).
        if not self.chief or self.log_every_steps <= 0 or not logs:
            return
        done = int(batch) + 1
        if done - self._window_start >= self.log_every_steps:
            self._write_window(done, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self.chief or self.model.stop_training:
            return  # stop_training here: a signal cut the epoch short (see StopOnSignal)
        now = time.perf_counter()
        step = (int(epoch) + 1) * self.steps_per_epoch
        epochs_done = int(epoch) + 1
        with self.writer.as_default(step=epochs_done):
            for name in _METRICS:
                if logs and name in logs:
                    tf.summary.scalar(f"epoch/{name}", _scalar(logs[name]))
            elapsed = max(now - self._epoch_time, 1e-9)
            tf.summary.scalar(
                "epoch/images_per_second", self.steps_per_epoch * self.images_per_step / elapsed
            )
        if logs and self.log_every_steps > 0 and self._window_start < self.steps_per_epoch:
            self._write_window(self.steps_per_epoch, logs)  # the epoch's last, partial window
        self._write_samples(epochs_done, step)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()

    # ------------------------------------------------------------------------------ writers
    def _write_window(self, done, logs):
        now = time.perf_counter()
        start = self._window_start
        means = {n: _scalar(logs[n]) for n in _METRICS if n in logs}
        step = self._epoch * self.steps_per_epoch + done
        with self.writer.as_default(step=step):
            for name, m_b in means.items():
                m_a = 0.0 if self._window_means is None else self._window_means.get(name, 0.0)
                value = (done * m_b - start * m_a) / (done - start)
                tf.summary.scalar(name, value)
            gan = self.model
            tf.summary.scalar("d_learning_rate", learning_rate(gan.d_optimizer))
            tf.summary.scalar("g_learning_rate", learning_rate(gan.g_optimizer))
            for prefix, opt in (("d", gan.d_optimizer), ("g", gan.g_optimizer)):
                momentum = _momentum(opt)
                if momentum is not None:
                    tf.summary.scalar(f"{prefix}_momentum", momentum)
            elapsed = max(now - self._window_time, 1e-9)
            tf.summary.scalar("images_per_second", (done - start) * self.images_per_step / elapsed)
        self._window_start = done
        self._window_means = means
        self._window_time = now

    def _write_samples(self, epochs_done, step):
        samples = self.model.generate(self.num_samples, seed=self.sample_seed)
        if self.modes is not None or samples.ndim == 2:
            if samples.ndim != 2 or samples.shape[1] != 2:
                return  # only 2-D point data gets a picture
            png = images_lib.scatter_png(samples, self.modes, title=f"epoch {epochs_done}")
            picture = images_lib.decode_png(png)
        else:
            picture = images_lib.image_grid(samples, self.value_range)
            png = images_lib.png_bytes(picture)
        path = workdir_lib.samples_png(self.samples_dir, epochs_done)
        workdir_lib.write_bytes(png, path)
        workdir_lib.write_bytes(png, workdir_lib.samples_png(self.samples_dir))
        self.last_sample_path = path
        with self.writer.as_default(step=epochs_done):
            tf.summary.image("samples", picture[None], max_outputs=1)
        logging.info("Epoch %d (step %d): samples in %s", epochs_done, step, path)


class TrainingInterrupted(Exception):
    """Training stopped on SIGTERM / SIGINT after writing a checkpoint; the same command resumes.

    Attributes:
      signum: the signal (`signal.SIGTERM` or `signal.SIGINT`).
      checkpoint: the checkpoint written (None on non-chief workers).
      exit_code: the conventional exit status, 128 + signum (143 for SIGTERM, 130 for SIGINT).
    """

    def __init__(self, signum, checkpoint, epoch, step_in_epoch):
        self.signum = int(signum)
        self.checkpoint = checkpoint
        self.exit_code = 128 + self.signum
        where = f"in epoch {epoch + 1} after step {step_in_epoch}" if step_in_epoch else (
            f"after epoch {epoch}")
        super().__init__(
            f"Stopped by {signal.Signals(self.signum).name} {where}: checkpoint {checkpoint} "
            "written. Run the same command again to resume from it."
        )


class StopOnSignal:
    """Turns SIGTERM and SIGINT into a request to stop at the next step boundary (a context
    manager; the previous handlers come back on exit).

    SIGTERM is how Kubernetes, Slurm and cloud preemption stop a job, SIGINT is Ctrl-C. The first
    one sets `signum` and prints what will happen; `CheckpointEachEpoch` then writes a checkpoint
    after the step in progress and stops training. A second signal stops at once (the default
    action). Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        if self.signum is not None:  # second signal: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.signum = signum
        print(
            f"Received {signal.Signals(signum).name}: stopping after the current step and writing "
            "a checkpoint (send it again to stop at once, without one).",
            flush=True,
        )

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


class CheckpointEachEpoch(keras.callbacks.Callback):
    """Saves the full training state (`checkpoints.TrainingCheckpoint`) after every epoch, and
    after the current step when a `StopOnSignal` got a signal (then stops training).

    Runs on every worker: under MultiWorkerMirroredStrategy saving is collective, and the
    checkpoint object sends non-chief workers' copies to a temporary directory.

    Args:
      training_checkpoint: the `checkpoints.TrainingCheckpoint`.
      steps_per_epoch: steps in a full epoch (to tell a cut-short epoch from a complete one).
      stop: a `StopOnSignal`, or None.
      first_step: steps of the first epoch already done before this `fit` (a resumed mid-epoch
        checkpoint: `fit` then runs the rest of that epoch).
    """

    def __init__(self, training_checkpoint, steps_per_epoch=None, stop=None, first_step=0):
        super().__init__()
        self.training_checkpoint = training_checkpoint
        self.steps_per_epoch = steps_per_epoch
        self.stop = stop
        self.first_step = int(first_step)
        self.interrupted = None  # TrainingInterrupted, once a signal stopped training
        self._epoch = 0
        self._done = 0
        self._saved_mid_epoch = False

    def _interrupt(self, epoch, step_in_epoch, path):
        self.model.stop_training = True
        self.interrupted = TrainingInterrupted(self.stop.signum, path, epoch, step_in_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._done = self.first_step
        self._saved_mid_epoch = False

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the 0-based index of the last step run (steps_per_execution may skip some).
        self._done = self.first_step + int(batch) + 1
        if self.stop is None or self.stop.signum is None or self.interrupted is not None:
            return
        if self.steps_per_epoch and self._done >= self.steps_per_epoch:
            return  # the epoch is complete: on_epoch_end saves it and stops
        path = self.training_checkpoint.save(self._epoch, step_in_epoch=self._done)
        self._saved_mid_epoch = True
        self._interrupt(self._epoch, self._done, path)

    def on_epoch_end(self, epoch, logs=None):
        self.first_step = 0
        if not self._saved_mid_epoch:
            path = self.training_checkpoint.save(int(epoch) + 1)
            if self.stop is not None and self.stop.signum is not None and self.interrupted is None:
                self._interrupt(int(epoch) + 1, 0, path)


class TimeLimit(keras.callbacks.Callback):
    """Stops training at an epoch end when the next epoch would end past `minutes` of training.

    The estimate is the mean epoch time of this invocation so far. Training state is checkpointed
    at every epoch end, so re-running the command continues where the limit stopped it.
    Single-process runs only: under multi-worker training each worker would decide on its own
    clock and the workers could disagree.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = 60.0 * float(minutes)
        self.stopped_at_epoch = None
        self._start = None
        self._epochs = 0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self._epochs += 1
        elapsed = time.perf_counter() - self._start
        if elapsed + elapsed / self._epochs > self.seconds:
            self.model.stop_training = True
            self.stopped_at_epoch = int(epoch) + 1
            logging.info(
                "Time limit: %.0f s used, another epoch would pass %.0f s; stopping after epoch %d.",
                elapsed, self.seconds, self.stopped_at_epoch,
            )
