"""Divergence: what training does when a loss or a gradient stops being a finite number.

Two policies, chosen by `config.train.on_nonfinite`:

- "stop" (default): `NonFiniteGuard` looks at `d_loss` and `g_loss` after every step and, at the
  first NaN or Inf, raises `TrainingDiverged` naming the step and the loss. Raising from
  `on_train_batch_end` ends `fit` before any later callback runs, so the epoch-end checkpoint of the
  diverged state is never written: the newest checkpoint on disk is the last good one, and the CLI
  exits non-zero. (The losses Keras logs are running means over the epoch, so the first step whose
  loss is not finite is the first step whose logged mean is not finite.)

- "skip": both optimizers are wrapped in `SkipNonFinite`, which applies an update only if every
  gradient on every replica is finite and otherwise leaves the weights and the optimizer state as
  they were; training continues. `NonFiniteGuard` counts the skipped updates (logged per epoch, and
  in the epoch logs as `skipped_updates`) and still stops the run once `train.max_consecutive_skips`
  updates in a row were skipped (a run whose every step is non-finite is diverged, not unlucky).
  Only the optimizer updates are skipped: non-trainable state that a non-finite forward pass feeds
  (batch-norm moving statistics, the EMA generator) is not protected.

`SkipNonFinite` is Keras' `LossScaleOptimizer` with the scale fixed at 1 (no loss scaling: the loss
and the gradients are used as they are) and one change that matters under `tf.distribute`: Keras
decides "finite" from one replica's local gradients (under MirroredStrategy's merge-call path it
takes the first replica's and assumes gradients were all-reduced already; the GAN's are not, the
optimizer all-reduces them). If another replica's shard holds the NaN, Keras would apply a NaN sum.
Here every replica's verdict is all-reduced first, so all replicas skip or apply together.
"""

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig.loss_scaling import ReplicaSafeLossScaleOptimizer

__all__ = [
    "ON_NONFINITE",
    "TrainingDiverged",
    "SkipNonFinite",
    "wrap_optimizer",
    "NonFiniteGuard",
    "use_config_learning_rates",
]

ON_NONFINITE = ("stop", "skip")
_LOSSES = ("d_loss", "g_loss")


class TrainingDiverged(RuntimeError):
    """A loss became NaN/Inf (policy "stop"), or too many updates in a row were skipped ("skip")."""


def _scalar(value):
    return float(np.asarray(value, np.float64).reshape(-1)[0])


@keras.saving.register_keras_serializable(package="tfgan_orig")
class SkipNonFinite(ReplicaSafeLossScaleOptimizer):
    """Wraps an optimizer so that an update with any non-finite gradient is skipped.

    The wrapped optimizer's variables are the only ones checkpointed (`variables`), so checkpoints
    of a run with and without the wrapper are interchangeable. The counters `skipped_updates`
    (total) and `consecutive_skips` are diagnostics of the running process, not saved.

    Args:
      inner_optimizer: the `keras.optimizers.Optimizer` that applies the finite updates.
      name: optimizer name.
    """

    def __init__(self, inner_optimizer, name=None, **kwargs):
        kwargs.pop("initial_scale", None)
        kwargs.pop("dynamic_growth_steps", None)
        super().__init__(inner_optimizer, initial_scale=1.0, name=name, **kwargs)

    def build(self, var_list):
        self.inner_optimizer.build(var_list)
        self.skipped_updates = self.add_variable(
            shape=(), dtype="int", initializer="zeros", aggregation="only_first_replica",
            name="skipped_updates",
        )
        self.consecutive_skips = self.add_variable(
            shape=(), dtype="int", initializer="zeros", aggregation="only_first_replica",
            name="consecutive_skips",
        )
        keras.optimizers.Optimizer.build(self, var_list)

    @property
    def variables(self):
        return self.inner_optimizer.variables

    def scale_loss(self, loss):
        return loss  # no loss scaling: the scale is fixed at 1

    def _stateful_handle_finite_grads(self, grads, trainable_variables):
        self.inner_optimizer.apply(grads, trainable_variables=trainable_variables)
        self.consecutive_skips.assign(0)

    def _stateful_handle_non_finite_grads(self):
        self.skipped_updates.assign_add(1)
        self.consecutive_skips.assign_add(1)


def wrap_optimizer(optimizer, on_nonfinite="stop"):
    """The optimizer for a policy: wrapped in `SkipNonFinite` for "skip", unchanged for "stop".

    Under a float16 policy the GAN wraps its optimizers in a dynamic loss-scale optimizer
    (`ReplicaSafeLossScaleOptimizer`), which already skips non-finite steps on all replicas at once;
    the optimizer is then left to it.
    """
    if on_nonfinite not in ON_NONFINITE:
        raise ValueError(
            f"train.on_nonfinite: unknown value {on_nonfinite!r}. "
            f"Valid choices: {list(ON_NONFINITE)}."
        )
    if on_nonfinite == "stop" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if keras.config.dtype_policy().compute_dtype == "float16":
        return optimizer
    return SkipNonFinite(optimizer, name=f"{optimizer.name}_skip_nonfinite")


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss, or counts skipped updates (see module doc).

    Put it first in the callback list: it must run before the epoch-end checkpoint.

    Args:
      steps_per_epoch: steps in one epoch (to name the global step).
      on_nonfinite: "stop" or "skip".
      max_consecutive_skips: with "skip", stop once this many updates in a row were skipped.
      checkpoint_dir: named in the message (where the last good checkpoint is).
    """

    def __init__(self, steps_per_epoch, on_nonfinite="stop", max_consecutive_skips=100,
                 checkpoint_dir=None):
        super().__init__()
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(
                f"on_nonfinite must be one of {list(ON_NONFINITE)}. Received: {on_nonfinite!r}"
            )
        self.steps_per_epoch = int(steps_per_epoch)
        self.on_nonfinite = on_nonfinite
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.checkpoint_dir = checkpoint_dir
        self._epoch = 0
        self._skipped_at_epoch_start = 0

    def _optimizers(self):
        pairs = (("D", self.model.d_optimizer), ("G", self.model.g_optimizer))
        return [(name, opt) for name, opt in pairs if isinstance(opt, SkipNonFinite)]

    def _skipped(self):
        return sum(int(opt.skipped_updates.numpy()) for _, opt in self._optimizers())

    def _last_good(self):
        if not self.checkpoint_dir:
            return ""
        latest = tf.train.latest_checkpoint(self.checkpoint_dir)
        if latest is None:
            return " No checkpoint was written before it (it diverged in the first epoch)."
        return f" The last good checkpoint is kept: {latest}."

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        if self.on_nonfinite == "skip":
            self._skipped_at_epoch_start = self._skipped()

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch * self.steps_per_epoch + int(batch) + 1
        if self.on_nonfinite == "stop":
            bad = {n: _scalar(logs[n]) for n in _LOSSES if logs and n in logs}
            bad = {n: v for n, v in bad.items() if not np.isfinite(v)}
            if bad:
                losses = ", ".join(f"{n}={v}" for n, v in bad.items())
                message = (
                    f"Training diverged at step {step} (epoch {self._epoch + 1}, batch "
                    f"{int(batch) + 1}): non-finite {losses}. Stopped without saving the diverged "
                    f"state.{self._last_good()} Lower the learning rates, or set "
                    "--config.train.on_nonfinite=skip to skip such steps."
                )
                logging.error(message)
                raise TrainingDiverged(message)
            return
        for name, opt in self._optimizers():
            run = int(opt.consecutive_skips.numpy())
            if run >= self.max_consecutive_skips:
                message = (
                    f"Training diverged at step {step} (epoch {self._epoch + 1}): the last {run} "
                    f"{name} updates all had non-finite gradients and were skipped "
                    f"(train.max_consecutive_skips={self.max_consecutive_skips})."
                    f"{self._last_good()}"
                )
                logging.error(message)
                raise TrainingDiverged(message)

    def on_epoch_end(self, epoch, logs=None):
        if self.on_nonfinite != "skip":
            return
        skipped = self._skipped() - self._skipped_at_epoch_start
        if logs is not None:
            logs["skipped_updates"] = float(skipped)
        if skipped:
            logging.warning(
                "Epoch %d: %d optimizer updates with non-finite gradients were skipped.",
                int(epoch) + 1, skipped,
            )


def use_config_learning_rates(gan, d_learning_rate, g_learning_rate):
    """After a restore: the config's constant learning rates replace the checkpointed ones.

    Keras keeps a constant learning rate in an optimizer variable, which the checkpoint saves and a
    restore brings back, so without this a run resumed with a lowered learning rate (the usual
    answer to a divergence) would silently continue with the old one. Schedules (no variable) are
    left alone. Returns the `{"d": (old, new), ...}` that changed.
    """
    changed = {}
    for key, optimizer, value in (("d", gan.d_optimizer, d_learning_rate),
                                  ("g", gan.g_optimizer, g_learning_rate)):
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        variable = getattr(inner, "_learning_rate", None)
        if not isinstance(variable, keras.Variable):
            continue
        old = float(keras.ops.convert_to_numpy(variable.value))
        if not np.isclose(old, float(value), rtol=1e-6, atol=0.0):
            variable.assign(float(value))
            changed[key] = (old, float(value))
            logging.info("%s learning rate %g from the config (the checkpoint had %g).",
                         key.upper(), float(value), old)
    return changed
