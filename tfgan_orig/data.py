"""Training data as `tf.data` pipelines: image datasets and the 2-D mixtures of PacGAN.

Sources, tried in this order for an image dataset name:
1. a directory holding the four official IDX `.gz` files (`data_dir`, or for Fashion-MNIST
   Debian's `/usr/share/datasets/fashion-mnist` from the `dataset-fashion-mnist` package);
2. tfds (`tensorflow_datasets`), from `data_dir` if prepared there, downloading when online.
Offline with no local copy, `DataNotFoundError` is raised within seconds (a TCP probe), never after
tfds' multi-minute retry loop.

Synthetic sets (docs/references.md §3): `ring8` (8 modes on the unit circle, std 0.01) and `grid25`
(25 modes on {-4,-2,0,2,4}^2, std 0.05), 100,000 points; `gauss1d` (N(mean, std^2) in 1-D, the
setting of the paper's Figure 1).

One input pipeline (`training_dataset`; `make_dataset` loads a dataset by name into it): each epoch's
order is a pure function of (seed, epoch), batches are whole (`drop_remainder`, required for exact
per-replica loss scaling) and prefetched. Images are float32 `[H, W, C]` scaled to `value_range`;
labels int32.
"""

import dataclasses
import gzip
import os
import socket
import struct
import zlib

import numpy as np
import tensorflow as tf

__all__ = [
    "DataInfo",
    "DataNotFoundError",
    "DataError",
    "IMAGE_DATASETS",
    "SYNTHETIC_DATASETS",
    "DATASETS",
    "info",
    "load_arrays",
    "make_dataset",
    "training_dataset",
    "read_idx",
    "ring8",
    "grid25",
]

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DataNotFoundError(RuntimeError):
    """The dataset is neither on disk nor downloadable from here."""


class DataError(ValueError):
    """A data file is unreadable or inconsistent. The message is one line naming the file."""


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What a dataset yields: `shape` of one example, `num_classes` (None if unlabeled)."""

    name: str
    shape: tuple
    num_classes: int | None
    num_train: int
    kind: str  # "image" or "points"


IMAGE_DATASETS = {
    "mnist": DataInfo("mnist", (28, 28, 1), 10, 60000, "image"),
    "fashion_mnist": DataInfo("fashion_mnist", (28, 28, 1), 10, 60000, "image"),
    "cifar10": DataInfo("cifar10", (32, 32, 3), 10, 50000, "image"),
}
SYNTHETIC_DATASETS = {
    "ring8": DataInfo("ring8", (2,), 8, 100000, "points"),
    "grid25": DataInfo("grid25", (2,), 25, 100000, "points"),
    "gauss1d": DataInfo("gauss1d", (1,), None, 100000, "points"),
}
DATASETS = {**IMAGE_DATASETS, **SYNTHETIC_DATASETS}


def info(name):
    """`DataInfo` for a dataset name; `ValueError` naming the valid choices otherwise."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Valid choices: {sorted(DATASETS)}.")
    return DATASETS[name]


# ------------------------------------------------------------------------------------ 2-D mixtures
def ring_modes(num_modes=8, radius=1.0):
    """Mode centres `(r cos 2 pi i/n, r sin 2 pi i/n)`, shape [n, 2]."""
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1).astype(np.float32)


def grid_modes(values=(-4.0, -2.0, 0.0, 2.0, 4.0)):
    """Mode centres on the grid `values x values`, shape [len^2, 2]."""
    xs, ys = np.meshgrid(values, values, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


MIXTURES = {"ring8": (ring_modes, 0.01), "grid25": (grid_modes, 0.05)}


def _mixture(modes, std, num, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(modes), size=num)
    points = modes[idx] + std * rng.standard_normal((num, modes.shape[1]))
    return points.astype(np.float32), idx.astype(np.int32)


def ring8(num=100000, seed=0):
    """PacGAN's ring: 8 equiprobable Gaussians, std 0.01, on the unit circle. Returns (x, mode)."""
    return _mixture(ring_modes(), 0.01, num, seed)


def grid25(num=100000, seed=0):
    """PacGAN's grid: 25 equiprobable Gaussians, std 0.05, at {-4,-2,0,2,4}^2. Returns (x, mode)."""
    return _mixture(grid_modes(), 0.05, num, seed)


def gauss1d(num=100000, seed=0, mean=4.0, std=0.5):
    """1-D Gaussian N(mean, std^2) (the paper's Figure 1 target). Returns (x [num, 1], None)."""
    rng = np.random.default_rng(seed)
    return (mean + std * rng.standard_normal((num, 1))).astype(np.float32), None


# ------------------------------------------------------------------------------------------- IDX
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Reads an IDX file (optionally gzipped) into a numpy array of its stored dtype and shape.

    Format (LeCun's MNIST page): 2 zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then one big-endian uint32
    per dimension, then the data in C order, big-endian.

    Raises:
      DataError: one line naming the file and what is wrong with it (unreadable, truncated or
        corrupt gzip stream, bad header, size that does not match the header).
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except EOFError:
        raise DataError(
            f"{path}: truncated gzip file (the stream ends early); download it again."
        ) from None
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        reason = " ".join(str(e).split()) or type(e).__name__
        raise DataError(f"{path}: unreadable or corrupt ({reason}); download it again.") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path} is not an IDX file (bad magic number).")
    if data[2] not in _IDX_DTYPES:
        raise DataError(
            f"{path}: unknown IDX type code {data[2]:#x}. Valid codes: "
            f"{[f'{c:#x}' for c in _IDX_DTYPES]}."
        )
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataError(
            f"{path}: IDX header declares {ndim} dimensions but the file holds {len(data)} bytes."
        )
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - offset != expected:
        state = "truncated" if len(data) - offset < expected else "longer than its header says"
        raise DataError(
            f"{path}: {state}: {len(data) - offset} data bytes for shape {tuple(shape)} of "
            f"{dtype.name} ({expected} bytes)."
        )
    array = np.frombuffer(data, dtype=dtype, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def _whole_values(array, path, what, lo, hi, target):
    """`array` as `target` when all its values are whole numbers in [lo, hi]; else DataError."""
    if array.dtype == target:
        bad = (array < lo) | (array > hi)
    else:
        bad = ~np.isfinite(array) | (array < lo) | (array > hi) | (np.round(array) != array)
    if np.any(bad):
        example = array[bad].ravel()[0]
        raise DataError(
            f"{path}: {what} must be whole numbers in [{lo}, {hi}]; this {array.dtype.name} IDX "
            f"file holds {int(bad.sum())} values outside (e.g. {example})."
        )
    return array.astype(target)


def _idx_dir(name, data_dir, split="train"):
    """The directory holding the IDX files of `name`'s `split`, or None.

    An explicit `data_dir` is used or refused, never replaced: with the split's two files in
    `data_dir` or `data_dir/<name>` that directory is returned; with one of the two,
    `DataNotFoundError` names the missing file; with none, None (the caller may then read a tfds
    copy prepared in `data_dir`). Without `data_dir`, Fashion-MNIST is looked up in Debian's
    `dataset-fashion-mnist` directory.
    """
    files = _IDX_FILES[split]
    candidates = [data_dir, os.path.join(data_dir, name)] if data_dir else []
    if not data_dir and name == "fashion_mnist":
        candidates.append(DEBIAN_FASHION_MNIST)
    for d in candidates:
        present = [f for f in files if os.path.exists(os.path.join(d, f))]
        if len(present) == len(files):
            return d
        if present:
            missing = [os.path.join(d, f) for f in files if f not in present]
            raise DataNotFoundError(
                f"{d} holds {present} but not {missing}: the {split} split needs both files."
            )
    return None


def _online(host="storage.googleapis.com", port=443, timeout=3.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_tfds(name, split, data_dir):
    try:
        import tensorflow_datasets as tfds  # imported lazily: slow, and only needed here
    except ImportError:
        raise DataNotFoundError(
            _not_found_message(name, data_dir, "tensorflow_datasets is not installed")
        ) from None

    builder = tfds.builder(name, data_dir=data_dir)
    prepared = os.path.exists(os.path.join(builder.data_dir, "dataset_info.json"))
    if not prepared:
        if not _online():
            raise DataNotFoundError(_not_found_message(name, data_dir, "there is no network"))
        builder.download_and_prepare()
    x, y = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, as_supervised=True))
    return x, y


def _not_found_message(name, data_dir, reason):
    where = (
        f"in data_dir={data_dir!r} (its IDX files or a tfds copy prepared there; an explicit "
        "data_dir is never replaced by another copy)"
        if data_dir
        else "on this machine"
    )
    hints = [
        f"Dataset {name!r} is not {where} and {reason}.",
        "Provide it one of these ways:",
        f"  - a directory with the official IDX files {_IDX_FILES['train'] + _IDX_FILES['test']}"
        " passed as data_dir;",
        "  - a tfds data_dir where it is already prepared (tfds.builder(name).download_and_prepare());",
        "  - run once with internet access so tfds can download it.",
    ]
    if name == "fashion_mnist":
        hints.append(
            "  - on Debian: apt-get install dataset-fashion-mnist "
            f"(files land in {DEBIAN_FASHION_MNIST})."
        )
    return "\n".join(hints)


def load_arrays(name, split="train", data_dir=None, seed=0):
    """Loads a whole split into memory.

    Returns:
      `(x, y)`: images as uint8 `[n, H, W, C]` (points as float32 `[n, d]`); labels int32 `[n]`
      (for the mixtures, the mode index; None for `gauss1d`).
    """
    data_info = info(name)
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}. Valid choices: ['train', 'test'].")
    if data_info.kind == "points":
        fn = {"ring8": ring8, "grid25": grid25, "gauss1d": gauss1d}[name]
        return fn(seed=seed if split == "train" else seed + 1)
    idx_dir = _idx_dir(name, data_dir, split)
    if idx_dir is None:
        x, y = _load_tfds(name, split, data_dir)
        return _checked_images(np.asarray(x, np.uint8), name, name), np.asarray(y, np.int32)
    images_path, labels_path = (os.path.join(idx_dir, f) for f in _IDX_FILES[split])
    x = _whole_values(read_idx(images_path), images_path, "pixels", 0, 255, np.uint8)
    y = read_idx(labels_path)
    if y.ndim != 1:
        raise DataError(f"{labels_path}: labels must be 1-D; the file holds shape {y.shape}.")
    y = _whole_values(y, labels_path, "labels", 0, data_info.num_classes - 1, np.int32)
    if len(x) != len(y):
        raise DataError(
            f"{images_path} holds {len(x)} images but {labels_path} holds {len(y)} labels."
        )
    return _checked_images(x, name, images_path), y


def _checked_images(x, name, source):
    expected = IMAGE_DATASETS[name].shape
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[1:] != expected:
        raise DataError(f"{source}: {name} images have shape {expected}, got {x.shape[1:]}.")
    return x


def scale_images(x, value_range=(0.0, 1.0)):
    """uint8 pixels -> float32 in `value_range` (e.g. (0, 1) for sigmoid G, (-1, 1) for tanh G)."""
    lo, hi = value_range
    return (np.asarray(x, np.float32) / 255.0) * (hi - lo) + lo


def training_dataset(
    x, batch_size, num_steps, seed, start_epoch=0, end_epoch=1, value_range=None, labels=None
):
    """THE input pipeline: the batches of epochs `[start_epoch, end_epoch)`, in an order fixed by
    (seed, epoch). Training runs it (`tfgan_orig.train_lib`), `make_dataset` wraps it, the
    benchmarks measure it.

    Epoch e yields `num_steps` batches: the first `num_steps * batch_size` indices of
    `stateless_shuffle(range(n), seed=(seed, e))`, so any epoch can be replayed alone (resume).
    Images stay uint8 in memory and are scaled per batch.

    Args:
      x: uint8 images `[n, H, W, C]` (scaled to `value_range` per batch) or float32 points `[n, d]`.
      batch_size: examples per batch (d_steps x global minibatch).
      num_steps: batches per epoch.
      seed: int.
      start_epoch, end_epoch: epoch range; `end_epoch=None` repeats without end.
      value_range: pixel range for images; None leaves `x` as it is (points).
      labels: optional int labels `[n]`; then batches are `(x, labels)`.

    Returns:
      A `tf.data.Dataset` of exactly `(end_epoch - start_epoch) * num_steps` batches.
    """
    n = len(x)
    take = int(num_steps) * int(batch_size)
    if int(batch_size) < 1 or int(num_steps) < 1:
        raise ValueError(
            f"batch_size and num_steps must be >= 1. Received: batch_size={batch_size}, "
            f"num_steps={num_steps}"
        )
    if take > n:
        raise ValueError(f"{num_steps} steps of {batch_size} need {take} examples; have {n}.")
    x_t = tf.constant(x)
    y_t = None if labels is None else tf.constant(labels, tf.int32)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order[:take]).batch(batch_size, drop_remainder=True)

    def load(idx):
        xb = tf.gather(x_t, idx)
        if value_range is not None:
            lo, hi = value_range
            xb = tf.cast(xb, tf.float32) * ((hi - lo) / 255.0) + lo
        return xb if y_t is None else (xb, tf.gather(y_t, idx))

    end = np.iinfo(np.int64).max if end_epoch is None else int(end_epoch)
    ds = tf.data.Dataset.range(int(start_epoch), end).flat_map(epoch_batches)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # flat_map hides the length; stating it lets `fit` know its steps (no "ran out of data").
    total = (
        tf.data.INFINITE_CARDINALITY if end_epoch is None
        else max(0, end - int(start_epoch)) * int(num_steps)
    )
    ds = ds.apply(tf.data.experimental.assert_cardinality(total))
    return ds.prefetch(tf.data.AUTOTUNE)


def make_dataset(
    name,
    batch_size,
    split="train",
    data_dir=None,
    value_range=(0.0, 1.0),
    with_labels=False,
    repeat=False,
    seed=0,
    limit=None,
):
    """A dataset by name through the training pipeline (`training_dataset`): whole batches
    (`drop_remainder`), each epoch in the order (seed, epoch) fixes, prefetched.

    Args:
      name: one of `DATASETS`.
      batch_size: examples per batch (with `GAN(d_steps=k)`, pass `k * minibatch`).
      split: "train" or "test".
      data_dir: IDX directory or tfds data_dir.
      value_range: pixel range of the generator's output; ignored for point data.
      with_labels: yield `(x, label)` pairs instead of `x`.
      repeat: one epoch (False) or epochs without end (True). Every iteration of a one-epoch
        dataset replays epoch 0's order; to train several epochs, each in its own order, pass
        `repeat=True` and `fit(..., steps_per_epoch=num_examples // batch_size)`.
      seed: fixes the order of every epoch.
      limit: keep only the first `limit` examples (quick runs, tests).

    Returns:
      `tf.data.Dataset` of float32 `[batch, *shape]` (and int32 `[batch]` labels).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    data_info = info(name)
    x, y = load_arrays(name, split, data_dir, seed=seed)
    if limit is not None:
        x = x[:limit]
        y = None if y is None else y[:limit]
    if len(x) < batch_size:
        raise ValueError(
            f"batch_size={batch_size} is larger than the dataset ({len(x)} examples of {name!r})."
        )
    if with_labels and y is None:
        raise ValueError(f"Dataset {name!r} has no labels; use with_labels=False.")
    return training_dataset(
        x,
        int(batch_size),
        len(x) // int(batch_size),
        seed,
        0,
        None if repeat else 1,
        value_range=value_range if data_info.kind == "image" else None,
        labels=y if with_labels else None,
    )
