"""The training workdir: its layout (one place), atomic file writes (one implementation).

Layout (a contract other tools rely on; `paths(workdir)` returns it):

    WORKDIR/config.json                 the resolved config of the run
    WORKDIR/tensorboard/                event files (scalars, sample pictures, hparams)
    WORKDIR/checkpoints/                full training state, `ckpt-<epoch>.*` + `checkpoint` index
    WORKDIR/samples/                    epoch_NNNN.png and latest.png
    WORKDIR/export/generator/<version>/ the generator as a TF Serving SavedModel
    WORKDIR/eval/metrics.json           the latest `python -m tfgan_orig.evaluate` record

Every file written here goes through `write_text` / `write_bytes` / `write_json`: the data is
written to a temporary file in the same folder, flushed to disk (`fsync`), then renamed over the
target (`os.replace`, atomic on POSIX). A reader never sees a half-written file, and a crash leaves
either the old or the new content (plus at worst an orphan `*.tmp-<pid>` file).
"""

import json
import os

__all__ = [
    "CONFIG_FILE",
    "paths",
    "workdir_paths",
    "write_bytes",
    "write_text",
    "write_json",
    "latest_export",
]

CONFIG_FILE = "config.json"


# ------------------------------------------------------------------------------------ layout
def paths(workdir):
    """The workdir layout as a dict of absolute paths.

    Keys: `workdir`, `config` (config.json), `tensorboard`, `checkpoints`, `samples`, `export`
    (the generator's model base directory, versions below it), `eval` (evaluation outputs),
    `metrics` (eval/metrics.json).
    """
    workdir = os.path.abspath(workdir)
    return {
        "workdir": workdir,
        "config": os.path.join(workdir, CONFIG_FILE),
        "tensorboard": os.path.join(workdir, "tensorboard"),
        "checkpoints": os.path.join(workdir, "checkpoints"),
        "samples": os.path.join(workdir, "samples"),
        "export": os.path.join(workdir, "export", "generator"),
        "eval": os.path.join(workdir, "eval"),
        "metrics": os.path.join(workdir, "eval", "metrics.json"),
    }


workdir_paths = paths  # the name train_lib has always exported


def latest_export(export_dir):
    """The newest integer version directory in `export_dir` (a model base dir), or None."""
    try:
        names = os.listdir(export_dir)
    except (FileNotFoundError, NotADirectoryError):
        return None
    versions = [int(n) for n in names if n.isdigit()]
    return os.path.join(export_dir, str(max(versions))) if versions else None


# ------------------------------------------------------------------------------------ atomic writes
def write_bytes(data, path):
    """Writes `data` (bytes) to `path` atomically (temp file, fsync, `os.replace`). Returns `path`.

    The parent folder is created if needed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_text(text, path):
    """Writes `text` (str, UTF-8) to `path` atomically. Returns `path`."""
    return write_bytes(text.encode("utf-8"), path)


def write_json(value, path, indent=2, sort_keys=False):
    """Writes `value` as JSON to `path` atomically. Returns `path`."""
    return write_text(json.dumps(value, indent=indent, sort_keys=sort_keys, default=str), path)


# ------------------------------------------------------------------------------------ lock
# (reliability: one training process per workdir; added by the reliability work)


# ------------------------------------------------------------------------------------ fingerprint
# (reliability: what a run was started with, checked on resume; added by the reliability work)
