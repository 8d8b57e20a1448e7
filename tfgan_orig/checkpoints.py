"""Checkpoints of the full training state, written atomically, restorable after a crash.

What a checkpoint holds (everything the next step depends on):
- every variable of the GAN: G and D weights, batch-norm statistics, the dropout layers'
  seed-generator states and `GAN.step_counter` (which, with the GAN's seed, fixes all training noise);
- every variable of both optimizers: `iterations` and the momentum / Adam slots (Keras'
  `BackupAndRestore` would keep only `model.optimizer` and lose these, see docs/upstream_issues.md);
- `epoch`: epochs completed, and `step_in_epoch`: steps done in the next epoch (0 except in a
  checkpoint written when a signal stopped training mid-epoch). Together they are the data
  position: the training pipeline draws epoch e's order from the seed (seed, e), so resuming at
  (epoch e, step s) replays exactly the batches an uninterrupted run would have seen. Checkpoint
  `ckpt-N` is the state in epoch N: after it (`step_in_epoch` 0) or inside it.
- `_run_fingerprint`: the config fields that define the run (`workdir.run_fingerprint`), as JSON.
  Restoring compares it with the config first and refuses another run's weights
  (`workdir.FingerprintMismatch`, naming the differing fields), whatever `config.json` says.

The variables are stored as flat lists in a fixed order (Keras 3 objects are not fully visible to
`tf.train.Checkpoint`'s object graph: a `GAN` passed whole would save its step counter but not its
networks). Restoring checks every shape, and that every variable the built model needs is in the
checkpoint (an error names the missing ones), so a checkpoint of another architecture, or one
without the EMA generator the config asks for, fails loudly instead of leaving untrained weights.

Atomicity comes from TensorFlow: `tf.train.Checkpoint.write` writes the shards under a temporary
name and renames them, and `tf.train.CheckpointManager` rewrites its `checkpoint` index file (with an
atomic rename) only after the data is complete. A run killed mid-save leaves at worst an orphan
temporary file; the index still names the previous complete checkpoint. A checkpoint that fails to
load anyway (truncated by a disk fault) is reported by name and the previous one is tried.

The index is not trusted blindly (`find_checkpoints`): an entry naming a path outside the
checkpoint directory is refused (so the manager's cleanup can never delete files elsewhere); a
missing, empty or unparsable index, or one naming no existing checkpoint, is rebuilt from the
complete `ckpt-N.index` + data files on disk (with a message); checkpoint files without any
complete checkpoint stop the program (`CheckpointError` naming them) rather than being overwritten
by a fresh start.

Under `MultiWorkerMirroredStrategy` saving is a collective operation: every worker must call
`save`. Only the chief writes into the real directory; the others write into a private temporary
directory that is deleted right after.
"""

import json
import os
import re
import shutil

import tensorflow as tf
from absl import logging

from tfgan_orig import config as config_lib
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.distribute import is_chief, task_id  # the one definition of the chief

__all__ = [
    "CheckpointError",
    "TrainingCheckpoint",
    "find_checkpoints",
    "read_fingerprint",
]

CHECKPOINT_NAME = "ckpt"
INDEX_FILE = "checkpoint"
_FINGERPRINT_KEY = "_run_fingerprint/.ATTRIBUTES/VARIABLE_VALUE"
_STEP_KEY = "step_in_epoch/.ATTRIBUTES/VARIABLE_VALUE"
_MODEL_KEY = "model/{}/.ATTRIBUTES/VARIABLE_VALUE"
_INDEX_RE = re.compile(rf"^{CHECKPOINT_NAME}-(\d+)\.index$")
_DATA_RE = re.compile(rf"^{CHECKPOINT_NAME}-(\d+)\.data-(\d+)-of-(\d+)$")


class CheckpointError(workdir_lib.WorkdirError):
    """The checkpoint directory or a checkpoint cannot be used; the message names the files."""


# ------------------------------------------------------------------------------------ the index
def _complete_on_disk(directory):
    """{number: prefix} of the checkpoints whose `.index` and every data shard exist."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    shards = {}
    for name in names:
        m = _DATA_RE.match(name)
        if m:
            shards.setdefault(int(m.group(1)), set()).add((int(m.group(2)), int(m.group(3))))
    complete = {}
    for name in names:
        m = _INDEX_RE.match(name)
        if not m:
            continue
        number = int(m.group(1))
        found = shards.get(number, set())
        totals = {total for _, total in found}
        if len(totals) == 1 and {i for i, _ in found} == set(range(totals.pop())):
            complete[number] = os.path.join(directory, f"{CHECKPOINT_NAME}-{number}")
    return dict(sorted(complete.items()))


def _checkpoint_files(directory):
    """Names of checkpoint index/data files in `directory` (not temporary files of a save)."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if _INDEX_RE.match(n) or _DATA_RE.match(n))


def _read_index(directory):
    """(entries as written, problem) of `directory/checkpoint`; problem is None when it parsed."""
    index = os.path.join(directory, INDEX_FILE)
    if not os.path.exists(index):
        return [], "is missing"
    try:
        state = tf.train.get_checkpoint_state(directory)
    except ValueError:  # TF: "Invalid checkpoint state loaded" (empty model_checkpoint_path)
        return [], "is empty"
    except tf.errors.OpError as e:
        return [], f"cannot be read ({e.message.strip().splitlines()[0]})"
    if state is None:  # TF logs the parse error and ignores the file
        return [], "cannot be parsed"
    entries = list(state.all_model_checkpoint_paths)
    if state.model_checkpoint_path and state.model_checkpoint_path not in entries:
        entries.append(state.model_checkpoint_path)
    if not entries:
        return [], "names no checkpoint"
    return entries, None


def _inside(directory, path):
    """True if the checkpoint prefix `path` lies directly in `directory` (symlinks resolved)."""
    return os.path.dirname(os.path.realpath(path)) == os.path.realpath(directory)


def find_checkpoints(directory):
    """The checkpoints a resume may load, oldest first, whatever the `checkpoint` index says.

    Returns:
      `(prefixes, note)`: absolute checkpoint prefixes, and None when the index was usable as it
      is, or a one-line note saying why the list comes from the files on disk instead (the index
      is missing, empty, unparsable or names no existing checkpoint).

    Raises:
      CheckpointError: an index entry names a path outside `directory`; or checkpoint files exist
        but none is complete (index and every data shard), so nothing can be resumed and a fresh
        start would overwrite them.
    """
    directory = os.path.abspath(directory)
    index = os.path.join(directory, INDEX_FILE)
    entries, problem = _read_index(directory)
    paths = []
    for entry in entries:
        path = entry if os.path.isabs(entry) else os.path.join(directory, entry)
        if not _inside(directory, path):
            raise CheckpointError(
                f"The checkpoint index {index} names {entry!r}, which is outside {directory}: "
                "refused (a run only reads and deletes checkpoints in its own directory). Remove "
                f"that entry or the index file (it is rebuilt from the {CHECKPOINT_NAME}-N files)."
            )
        paths.append(os.path.normpath(path))
    complete = _complete_on_disk(directory)
    if problem is None and any(p in complete.values() for p in paths):
        return paths, None
    if problem is None:
        problem = f"names {', '.join(os.path.basename(p) for p in paths)}, which do not exist"
    if complete:
        note = (
            f"The checkpoint index {index} {problem}; using the complete checkpoints found in "
            f"{directory}: {', '.join(os.path.basename(p) for p in complete.values())}."
        )
        return list(complete.values()), note
    files = _checkpoint_files(directory)
    if files:
        raise CheckpointError(
            f"{directory} holds checkpoint files but no complete checkpoint (the index {problem}): "
            f"{', '.join(files)}. Refusing to start a fresh run over them: move them away to "
            "start fresh, or restore the missing files."
        )
    if entries:
        raise CheckpointError(
            f"The checkpoint index {index} names {', '.join(entries)}, but none of their files "
            "exist. Restore them, or delete the index to start a fresh run."
        )
    return [], None


def write_index(directory, prefixes):
    """Writes `directory/checkpoint` naming `prefixes` (oldest first), atomically."""
    names = [os.path.basename(p) for p in prefixes]
    # Timestamps (the index files' times) make the manager track, and in time rotate, these
    # checkpoints; without them it would keep them forever, unlisted.
    times = [os.path.getmtime(f"{p}.index") for p in prefixes]
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{n}"' for n in names]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in times]
    lines += [f"last_preserved_timestamp: {min(times) - 1.0!r}"]
    workdir_lib.write_text("\n".join(lines) + "\n", os.path.join(directory, INDEX_FILE))


def read_fingerprint(prefix, reader=None):
    """The run fingerprint stored in checkpoint `prefix` (a dict), or None for a checkpoint
    written before fingerprints existed. Raises what TensorFlow raises for a damaged file."""
    reader = reader or tf.train.load_checkpoint(prefix)
    if not reader.has_tensor(_FINGERPRINT_KEY):
        return None
    return json.loads(reader.get_tensor(_FINGERPRINT_KEY).decode("utf-8"))


def check_fingerprint(prefix, fingerprint, saved=None):
    """Raises `workdir.FingerprintMismatch` if checkpoint `prefix` was written by a run whose
    defining fields differ from `fingerprint` (None: nothing to check).

    Args:
      prefix: the checkpoint.
      fingerprint: `workdir.run_fingerprint(config)` of the config to compare with.
      saved: the checkpoint's fingerprint if already read (else it is read from `prefix`).
    """
    if fingerprint is None:
        return
    saved = read_fingerprint(prefix) if saved is None else saved
    if not saved:
        logging.warning("Checkpoint %s has no run fingerprint (older version): not checked.", prefix)
        return
    # A field the checkpoint predates is compared with its default (what the older version did).
    differences = workdir_lib.fingerprint_differences(
        saved, fingerprint, config_lib.default_fingerprint()
    )
    if differences:
        raise workdir_lib.FingerprintMismatch(
            f"Checkpoint {prefix} belongs to another run than the config describes: "
            + "; ".join(differences)
            + ". Use a new --workdir for a new run, or the checkpoint's values to continue it."
        )


# ------------------------------------------------------------------------------------ checkpoint
class TrainingCheckpoint:
    """Saves and restores the complete training state of a compiled `GAN`.

    Args:
      gan: a compiled `tfgan_orig.GAN` (its optimizers' variables must exist; `GAN.compile` builds
        them). With `with_optimizers=False` an uncompiled GAN is fine (inference restore).
      directory: where checkpoints live (`WORKDIR/checkpoints`).
      max_to_keep: complete checkpoints kept (older ones are deleted after a newer one is complete).
      strategy: the `tf.distribute` strategy, to decide who writes where.
      with_optimizers: include both optimizers' state (training) or not (loading a generator).
      fingerprint: `workdir.run_fingerprint(config)`: saved in every checkpoint and compared with
        each checkpoint's before restoring it (None: not checked, an empty one saved).
      read_only: never write (inference): a damaged index is worked around in memory only.
    """

    def __init__(self, gan, directory, max_to_keep=3, strategy=None, with_optimizers=True,
                 fingerprint=None, read_only=False):
        self.gan = gan
        self.directory = os.path.abspath(directory)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.fingerprint = fingerprint
        self.max_to_keep = max_to_keep
        self.read_only = read_only
        # Plain host variables: bookkeeping read in Python, never inside a replica.
        with tf.init_scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                             name="step_in_epoch")
            self._fingerprint_var = tf.Variable(
                json.dumps(fingerprint or {}, sort_keys=True), dtype=tf.string, trainable=False,
                name="run_fingerprint",
            )
        self._model_variables = list(gan.variables)
        objects = {"model": self._model_variables, "epoch": self.epoch}
        if with_optimizers:
            objects["d_optimizer"] = list(gan.d_optimizer.variables)
            objects["g_optimizer"] = list(gan.g_optimizer.variables)
        # Restored: the state. Saved: the state plus metadata read back with a reader (so
        # checkpoints written before the metadata existed still restore).
        self.checkpoint = tf.train.Checkpoint(**objects)
        self._saved = tf.train.Checkpoint(
            **objects, step_in_epoch=self.step_in_epoch, _run_fingerprint=self._fingerprint_var
        )
        self.chief = is_chief(self.strategy)
        self._write_dir = self.directory if self.chief else os.path.join(
            os.path.dirname(self.directory), "tmp", f"worker_{task_id(self.strategy)}"
        )
        self._manager = None
        self._paths = None
        self.recovery_note = None

    # ------------------------------------------------------------------------------------ index
    def checkpoints(self):
        """Complete checkpoints in the chief's directory, oldest first (see `find_checkpoints`).

        When training (not `read_only`, chief) and the index had to be worked around, the index is
        rewritten from the files found, before anything is saved.
        """
        if self._paths is None:
            paths, note = find_checkpoints(self.directory)
            if note:
                self.recovery_note = note
                logging.warning(note)
                print(f"WARNING {note}", flush=True)
                if not self.read_only and self.chief:
                    write_index(self.directory, paths)
            self._paths = paths
        return list(self._paths)

    def _get_manager(self):
        if self._manager is None:
            if self.chief:
                self.checkpoints()  # validates (and if needed rebuilds) the index first
            self._manager = tf.train.CheckpointManager(
                self._saved, self._write_dir, max_to_keep=self.max_to_keep,
                checkpoint_name=CHECKPOINT_NAME,
            )
            if self.chief:  # what its cleanup may delete: only files in this directory
                outside = [p for p in self._manager.checkpoints if not _inside(self.directory, p)]
                if outside:
                    raise CheckpointError(f"Checkpoint paths outside {self.directory}: {outside}.")
        return self._manager

    @property
    def manager(self):
        """The `tf.train.CheckpointManager` (created on first use, after the index is checked)."""
        return self._get_manager()

    # ------------------------------------------------------------------------------------ saving
    def save(self, epoch, step_in_epoch=0):
        """Saves the state after `epoch` completed epochs (and `step_in_epoch` steps of the next);
        returns the path (chief) or None.

        The checkpoint is numbered by the epoch it is in: `ckpt-<epoch>` at an epoch end,
        `ckpt-<epoch + 1>` mid-epoch (the epoch's end later replaces it).
        Every worker must call this (collective under MultiWorkerMirroredStrategy).
        """
        if self.read_only:
            raise CheckpointError(f"Checkpoint {self.directory} was opened read-only.")
        self.epoch.assign(int(epoch))
        self.step_in_epoch.assign(int(step_in_epoch))
        number = int(epoch) + (1 if step_in_epoch else 0)
        path = self._get_manager().save(checkpoint_number=number)
        if not self.chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
            return None
        self._paths = None
        where = f"epoch {int(epoch)}" + (f", step {int(step_in_epoch)} of the next" if step_in_epoch
                                         else "")
        logging.info("Saved checkpoint %s (%s).", path, where)
        return path

    # ------------------------------------------------------------------------------------ restoring
    def _missing_variables(self, reader):
        """Names of the built model's variables that checkpoint `reader` lacks."""
        return [v.path for i, v in enumerate(self._model_variables)
                if not reader.has_tensor(_MODEL_KEY.format(i))]

    def restore_latest(self, expect_partial=False):
        """Restores the newest checkpoint that loads; returns its path, or None if there is none.

        A checkpoint that fails to load (truncated file) is logged by name and the previous one is
        tried; if none loads, the last error is raised. A checkpoint of another run (fingerprint)
        or one lacking variables the model needs raises at once (older ones are of the same run).

        Args:
          expect_partial: the checkpoint may hold more than is restored (optimizer state when
            loading a generator); every variable of the built model must still be found.
        """
        last_error = None
        for path in reversed(self.checkpoints()):
            try:
                reader = tf.train.load_checkpoint(path)
                saved = read_fingerprint(path, reader)
            except (tf.errors.OpError, ValueError, IndexError) as e:  # IndexError: truncated
                logging.error("Checkpoint %s could not be opened (%s); trying an older one.", path, e)
                last_error = e
                continue
            check_fingerprint(path, self.fingerprint, saved or {})
            missing = self._missing_variables(reader)
            if missing:
                raise CheckpointError(
                    f"Checkpoint {path} lacks {len(missing)} of the {len(self._model_variables)} "
                    f"variables of the model the config describes: {', '.join(missing[:8])}"
                    + (" ..." if len(missing) > 8 else "")
                    + ". It was written by a different model (e.g. without model.ema_decay)."
                )
            try:
                status = self.checkpoint.restore(path)
                status.assert_existing_objects_matched()
                status.expect_partial()  # the metadata (and optimizers when inferring) is read apart
            except Exception as e:  # noqa: BLE001 - OpError, IndexError (truncated data), ...
                logging.error("Checkpoint %s could not be loaded (%s); trying an older one.", path, e)
                last_error = e
                continue
            self.step_in_epoch.assign(
                int(reader.get_tensor(_STEP_KEY)) if reader.has_tensor(_STEP_KEY) else 0
            )
            # The saving object counts saves on (its counter is part of the state compared).
            self._saved.save_counter.assign(self.checkpoint.save_counter)
            return path
        if last_error is not None:
            first_line = (str(last_error).strip().splitlines() or [type(last_error).__name__])[0]
            raise CheckpointError(
                f"No checkpoint in {self.directory} could be loaded. Last error: {first_line}"
            ) from last_error
        return None

    @property
    def restored_epoch(self):
        """Epochs completed according to the restored (or saved) state."""
        return int(self.epoch.numpy())

    @property
    def restored_step_in_epoch(self):
        """Steps of the next epoch already done in the restored state (0 at an epoch end)."""
        return int(self.step_in_epoch.numpy())
