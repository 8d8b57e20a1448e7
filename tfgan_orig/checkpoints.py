"""Checkpoints of the full training state, written atomically, restorable after a crash.

What a checkpoint holds (everything the next step depends on):
- every variable of the GAN: G and D weights, batch-norm statistics, the dropout layers'
  seed-generator states and `GAN.step_counter` (which, with the GAN's seed, fixes all training noise);
- every variable of both optimizers: `iterations` and the momentum / Adam slots (Keras'
  `BackupAndRestore` would keep only `model.optimizer` and lose these, see docs/upstream_issues.md);
- `epoch`: epochs completed. It is also the data position: the training pipeline draws epoch e's
  order from the seed (seed, e), so resuming at epoch e replays exactly the batches an
  uninterrupted run would have seen.

The variables are stored as flat lists in a fixed order (Keras 3 objects are not fully visible to
`tf.train.Checkpoint`'s object graph: a `GAN` passed whole would save its step counter but not its
networks). Restoring checks every shape, so a checkpoint of another architecture fails loudly.

Atomicity comes from TensorFlow: `tf.train.Checkpoint.write` writes the shards under a temporary
name and renames them, and `tf.train.CheckpointManager` rewrites its `checkpoint` index file (with an
atomic rename) only after the data is complete. A run killed mid-save leaves at worst an orphan
temporary file; the index still names the previous complete checkpoint. A checkpoint that fails to
load anyway (truncated by a disk fault) is reported by name and the previous one is tried.

Under `MultiWorkerMirroredStrategy` saving is a collective operation: every worker must call
`save`. Only the chief writes into the real directory; the others write into a private temporary
directory that is deleted right after.
"""

import os
import shutil

import tensorflow as tf
from absl import logging

__all__ = ["TrainingCheckpoint", "is_chief", "task_id"]


def is_chief(strategy=None):
    """True on the worker that writes summaries, samples, exports and real checkpoints."""
    strategy = strategy or tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)


def task_id(strategy=None):
    """This worker's task index (0 without a cluster)."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0) if resolver is not None else 0


class TrainingCheckpoint:
    """Saves and restores the complete training state of a compiled `GAN`.

    Args:
      gan: a compiled `tfgan_orig.GAN` (its optimizers' variables must exist; `GAN.compile` builds
        them). With `with_optimizers=False` an uncompiled GAN is fine (inference restore).
      directory: where checkpoints live (`WORKDIR/checkpoints`).
      max_to_keep: complete checkpoints kept (older ones are deleted after a newer one is complete).
      strategy: the `tf.distribute` strategy, to decide who writes where.
      with_optimizers: include both optimizers' state (training) or not (loading a generator).
    """

    def __init__(self, gan, directory, max_to_keep=3, strategy=None, with_optimizers=True):
        self.gan = gan
        self.directory = directory
        self.strategy = strategy or tf.distribute.get_strategy()
        # Plain host variable: the epoch is bookkeeping read in Python, never inside a replica.
        with tf.init_scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        objects = {"model": list(gan.variables), "epoch": self.epoch}
        if with_optimizers:
            objects["d_optimizer"] = list(gan.d_optimizer.variables)
            objects["g_optimizer"] = list(gan.g_optimizer.variables)
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.chief = is_chief(self.strategy)
        if self.chief:
            write_dir = directory
        else:
            write_dir = os.path.join(
                os.path.dirname(os.path.abspath(directory)), "tmp", f"worker_{task_id(self.strategy)}"
            )
        self._write_dir = write_dir
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_dir, max_to_keep=max_to_keep, checkpoint_name="ckpt"
        )

    # ------------------------------------------------------------------------------------ saving
    def save(self, epoch):
        """Saves the state after `epoch` completed epochs; returns the path (chief) or None.

        Every worker must call this (collective under MultiWorkerMirroredStrategy).
        """
        self.epoch.assign(int(epoch))
        path = self.manager.save(checkpoint_number=int(epoch))
        if not self.chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
            return None
        logging.info("Saved checkpoint %s (epoch %d).", path, int(epoch))
        return path

    # ------------------------------------------------------------------------------------ restoring
    def checkpoints(self):
        """Complete checkpoints in the chief's directory, oldest first."""
        state = tf.train.get_checkpoint_state(self.directory)
        if state is None:
            return []
        paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
        # Paths in the index may be relative to the directory.
        return [p if os.path.isabs(p) else os.path.join(self.directory, p) for p in paths]

    def restore_latest(self, expect_partial=False):
        """Restores the newest checkpoint that loads; returns its path, or None if there is none.

        A checkpoint that fails to load (truncated file, wrong architecture) is logged by name and
        the previous one is tried; if none loads, the last error is raised.
        """
        last_error = None
        for path in reversed(self.checkpoints()):
            try:
                status = self.checkpoint.restore(path)
                if expect_partial:
                    status.expect_partial()
                else:
                    status.assert_existing_objects_matched()
            except Exception as e:  # noqa: BLE001 - OpError, IndexError (truncated data), ...
                logging.error("Checkpoint %s could not be loaded (%s); trying an older one.", path, e)
                last_error = e
                continue
            return path
        if last_error is not None:
            raise ValueError(
                f"No checkpoint in {self.directory} could be loaded. Last error: {last_error}"
            ) from last_error
        return None

    @property
    def restored_epoch(self):
        """Epochs completed according to the restored (or saved) state."""
        return int(self.epoch.numpy())
