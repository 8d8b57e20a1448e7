"""The training workdir: its layout (one place), atomic file writes (one implementation).

Layout (a contract other tools rely on; `paths(workdir)` returns it):

    WORKDIR/config.json                 the resolved config of the run
    WORKDIR/tensorboard/                event files (scalars, sample pictures, hparams)
    WORKDIR/tensorboard/eval/           the metrics logged during training
    WORKDIR/checkpoints/                full training state, `ckpt-<epoch>.*` + `checkpoint` index
    WORKDIR/samples/                    epoch_NNNN.png (`samples_png`) and latest.png
    WORKDIR/export/generator/<version>/ the generator as a TF Serving SavedModel
    WORKDIR/eval/metrics.json           the latest `python -m tfgan_orig.evaluate` record
    WORKDIR/lock                        while training: who trains here (see `WorkdirLock`)

Every file written here goes through `write_text` / `write_bytes` / `write_json` (or, for a file a
library writes itself such as a `.keras` model, `replacing`): the data is written to a temporary
file in the same folder, flushed to disk (`fsync`), then renamed over the target (`os.replace`,
atomic on POSIX). A reader never sees a half-written file, and a crash leaves
either the old or the new content (plus at worst an orphan `*.tmp-<pid>` file).
"""

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import tempfile
import time

__all__ = [
    "CONFIG_FILE",
    "paths",
    "workdir_paths",
    "samples_png",
    "replacing",
    "write_bytes",
    "write_text",
    "write_json",
    "latest_export",
    "WorkdirError",
    "check_writable",
    "WorkdirInUse",
    "FingerprintMismatch",
    "WorkdirLock",
    "LOCK_FILE",
    "FINGERPRINT_FIELDS",
    "run_fingerprint",
    "fingerprint_differences",
]

CONFIG_FILE = "config.json"
LOCK_FILE = "lock"


# ------------------------------------------------------------------------------------ layout
def paths(workdir):
    """The workdir layout as a dict of absolute paths.

    Keys: `workdir`, `config` (config.json), `tensorboard`, `eval_tensorboard` (the metrics logged
    during training), `checkpoints`, `samples`, `latest_samples` (samples/latest.png), `export`
    (the generator's model base directory, versions below it), `eval` (evaluation outputs),
    `metrics` (eval/metrics.json), `lock`.
    """
    workdir = os.path.abspath(workdir)
    return {
        "workdir": workdir,
        "config": os.path.join(workdir, CONFIG_FILE),
        "tensorboard": os.path.join(workdir, "tensorboard"),
        "eval_tensorboard": os.path.join(workdir, "tensorboard", "eval"),
        "checkpoints": os.path.join(workdir, "checkpoints"),
        "samples": os.path.join(workdir, "samples"),
        "latest_samples": samples_png(os.path.join(workdir, "samples")),
        "export": os.path.join(workdir, "export", "generator"),
        "eval": os.path.join(workdir, "eval"),
        "metrics": os.path.join(workdir, "eval", "metrics.json"),
        "lock": os.path.join(workdir, LOCK_FILE),
    }


workdir_paths = paths  # the name train_lib has always exported


def samples_png(samples_dir, epoch=None):
    """The picture after `epoch` epochs (`epoch_NNNN.png`), or the latest one (`latest.png`)."""
    return os.path.join(samples_dir, "latest.png" if epoch is None else f"epoch_{epoch:04d}.png")


def latest_export(export_dir):
    """The newest integer version directory in `export_dir` (a model base dir), or None."""
    try:
        names = os.listdir(export_dir)
    except (FileNotFoundError, NotADirectoryError):
        return None
    versions = [int(n) for n in names if n.isdigit()]
    return os.path.join(export_dir, str(max(versions))) if versions else None


# ------------------------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def replacing(path, suffix=""):
    """Yields a temporary path beside `path` to write a file to; when the block ends without an
    error, that file is flushed to disk (`fsync`) and renamed over `path` (`os.replace`); on an
    error it is removed. `suffix` ends the temporary name (Keras wants `.keras` to save a model).
    The parent folder is created if needed.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}{suffix}"
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes(data, path):
    """Writes `data` (bytes) to `path` atomically (temp file, fsync, `os.replace`). Returns `path`.

    The parent folder is created if needed.
    """
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def write_text(text, path):
    """Writes `text` (str, UTF-8) to `path` atomically. Returns `path`."""
    return write_bytes(text.encode("utf-8"), path)


def write_json(value, path, indent=2, sort_keys=False):
    """Writes `value` as JSON to `path` atomically. Returns `path`."""
    return write_text(json.dumps(value, indent=indent, sort_keys=sort_keys, default=str), path)


# ------------------------------------------------------------------------------------ errors
class WorkdirError(ValueError):
    """The workdir cannot be used as asked: it is in use by another process, its checkpoints
    belong to another run, or its checkpoint files are inconsistent. The message is one line
    naming the files or the process; the command-line programs print it as a FATAL line."""


def check_writable(path, what="directory"):
    """Raises `WorkdirError` unless files can be created at `path` (a directory, created later if
    missing: its nearest existing ancestor is probed with a file created and removed at once).

    Run before any long work whose result goes there (export, evaluation).
    """
    path = os.path.abspath(path)
    base = path
    while not os.path.exists(base) and os.path.dirname(base) != base:
        base = os.path.dirname(base)
    if not os.path.isdir(base):
        raise WorkdirError(
            f"The {what} {path} cannot be created: {base} exists and is not a directory."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".tfgan-write-probe-", dir=base)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise WorkdirError(
            f"The {what} {path} is not writable: cannot create a file in {base} "
            f"({e.strerror or e})."
        ) from e


class WorkdirInUse(WorkdirError):
    """Another live process holds the workdir's lock."""


class FingerprintMismatch(WorkdirError):
    """A checkpoint was written by a run that differs from the config in a defining field."""


# ------------------------------------------------------------------------------------ lock
# One training process per workdir. `WORKDIR/lock` holds the holder's host, pid, start time and
# command; the file is kept under an exclusive `fcntl.flock` for the holder's whole life. The kernel
# (or the NFS server) drops that lock when the process dies, however it dies (SIGKILL, OOM killer,
# node failure), so a lock file whose flock can be taken is stale: its holder is gone, and the new
# process takes it over and says whose it was. Where a filesystem does not support flock (some
# FUSE mounts), the holder's pid is checked instead (same host: alive or not; another host: the
# lock is respected and the message says how to remove it). Multi-worker runs lock once, from the
# chief (the caller decides; see train_lib).


def _holder_text(holder):
    if not holder:
        return "an unknown process"
    return (
        f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}"
        + (f" ({holder['command']})" if holder.get("command") else "")
    )


def _read_holder(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 1 << 16)
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (OSError, ValueError):
        return {"host": "?", "pid": "?", "started": "? (unreadable lock file)"}


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True  # exists (another user's) or unknown: assume alive
    return True


class WorkdirLock:
    """An exclusive lock on a workdir for one training process (a context manager).

    `acquire()` creates the workdir if needed and raises `WorkdirInUse` naming the holder (host,
    pid, start time, command) when another live process holds it; a stale lock (its process is
    gone) is taken over with a message. `release()` removes the lock file.

    Args:
      workdir: the training workdir.
      log: called with one line when a stale lock is taken over (default: print).
    """

    def __init__(self, workdir, log=None):
        self.workdir = os.path.abspath(workdir)
        self.path = os.path.join(self.workdir, LOCK_FILE)
        self.log = log or (lambda line: print(line, flush=True))
        self.taken_over = None  # the stale holder's record, when one was taken over
        self._fd = None

    def _refuse(self, holder):
        raise WorkdirInUse(
            f"Workdir {self.workdir} is in use by another training process: "
            f"{_holder_text(holder)} (lock file {self.path}). Wait for it to end or stop it; two "
            "processes on one workdir would overwrite each other's checkpoints."
        )

    def acquire(self):
        """Takes the lock (see the class doc); returns self."""
        try:
            os.makedirs(self.workdir, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as e:
            raise WorkdirError(
                f"Workdir {self.workdir} is not writable: cannot create its lock file {self.path} "
                f"({e.strerror or e})."
            ) from e
        me = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime()),
            "command": " ".join(sys.argv)[:160],
        }
        for _ in range(20):  # retried only when a releasing holder removed the file meanwhile
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                flock = True
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                self._refuse(holder)
            except OSError as e:
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    os.close(fd)
                    raise
                flock = False  # no flock on this filesystem: judge by the recorded pid
            try:
                same_file = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:  # the previous holder released (removed) it in between
                os.close(fd)
                continue
            holder = _read_holder(fd)
            if holder and holder.get("pid") != me["pid"]:
                same_host = holder.get("host") == me["host"]
                if not flock and (not same_host or _pid_alive(holder.get("pid"))):
                    os.close(fd)
                    self._refuse(holder)
                self.taken_over = holder
                self.log(
                    f"Taking over the stale lock {self.path} of {_holder_text(holder)}: that "
                    "process is gone (it was killed or crashed)."
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode("utf-8"), 0)
            os.fsync(fd)
            self._fd = fd
            return self
        raise WorkdirInUse(f"Could not lock {self.path}: it keeps being replaced by other processes.")

    def release(self):
        """Removes the lock file and drops the lock (no-op when not held)."""
        if self._fd is None:
            return
        try:
            os.remove(self.path)
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    @property
    def held(self):
        """Whether this object holds the lock now."""
        return self._fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# ------------------------------------------------------------------------------------ fingerprint
# What defines a run: the fields that change what the weights are or mean. Every checkpoint
# carries them (`checkpoints.TrainingCheckpoint`), and resume, export and evaluate compare them
# with the config before restoring, independently of config.json (which can be deleted,
# replaced, or belong to another run when checkpoints were copied). Not included: what may change
# between invocations of one run (epochs, time limits, logging, learning rates, the data
# directory, precision, export, evaluation).
FINGERPRINT_FIELDS = (
    "seed",  # initialisation, training noise and data order
    "data.name",
    "model.",  # every model field: architecture, noise, EMA, conditioning, initialisation
    "loss.",  # every loss field: what D's output means and what G optimises
    "optimizer.name",  # the optimizer's slot variables
    # A learning-rate schedule replaces the optimizer's learning-rate variable, so a checkpoint
    # written with a constant rate cannot be restored into a decaying optimizer (or back).
    "optimizer.linear_decay_epochs",
    "train.d_steps",
    "train.unrolled_steps",
    "train.update_order",  # alternating (Algorithm 1) or simultaneous: another training game
    "train.instance_noise_std",
    "train.instance_noise_decay_steps",
)


def _plain(value):
    """JSON-comparable form of a config value (tuples as lists, ConfigDicts as dicts)."""
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        value = to_dict()
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def run_fingerprint(config):
    """The defining fields of a run's config, as `{dotted name: value}` (JSON types only).

    Args:
      config: a training config (`ml_collections.ConfigDict` or nested dict).
    """
    flat = {}

    def walk(node, prefix):
        for key in node.keys():
            value = node[key]
            if hasattr(value, "keys"):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value

    walk(_plain(config), "")
    return {
        name: value
        for name, value in sorted(flat.items())
        if any(name == f or (f.endswith(".") and name.startswith(f)) for f in FINGERPRINT_FIELDS)
    }


def fingerprint_differences(saved, current, defaults=None):
    """`["field: checkpoint X, config Y", ...]` for the fields whose values differ.

    A field the checkpoint lacks was added by a newer version of the package; the version that
    wrote the checkpoint behaved as that field's default (a new field's default always reproduces
    the behaviour from before it existed). With `defaults` (`config.default_fingerprint()`, as
    `checkpoints.check_fingerprint` passes) the
    config's value of such a field is compared with its default: a run started with
    Glorot-initialised nets is not resumed under a config asking for another initialisation.
    Without `defaults`, and for a field only the checkpoint has (removed since), it is not compared.
    """
    defaults = defaults or {}
    out = []
    for name in sorted(set(current) & (set(saved) | set(defaults))):
        if name in saved:
            if saved[name] != current[name]:
                out.append(f"{name}: checkpoint {saved[name]!r}, config {current[name]!r}")
        elif defaults[name] != current[name]:
            out.append(f"{name}: checkpoint (written before this field existed) "
                       f"{defaults[name]!r}, config {current[name]!r}")
    return out