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

Every pipeline is shuffled, batched with `drop_remainder=True` (required for exact per-replica loss
scaling), and prefetched. Images are float32 `[H, W, C]` scaled to `value_range`; labels int32.
"""

import dataclasses
import gzip
import os
import socket
import struct

import numpy as np
import tensorflow as tf

__all__ = [
    "DataInfo",
    "DataNotFoundError",
    "IMAGE_DATASETS",
    "SYNTHETIC_DATASETS",
    "DATASETS",
    "info",
    "load_arrays",
    "make_dataset",
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
def read_idx(path):
    """Reads an IDX file (optionally gzipped) into a numpy array of its stored dtype and shape.

    Format (LeCun's MNIST page): 2 zero bytes, a type code (0x08 = uint8), the number of dimensions,
    then one big-endian uint32 per dimension, then the data in C order.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX type code {data[2]:#x}.")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: truncated ({array.size} values for shape {shape}).")
    return array.reshape(shape).astype(array.dtype.newbyteorder("="))


def _idx_dir(name, data_dir):
    """The first directory holding the IDX files of `name`, or None."""
    candidates = []
    if data_dir:
        candidates += [data_dir, os.path.join(data_dir, name)]
    if name == "fashion_mnist":
        candidates.append(DEBIAN_FASHION_MNIST)
    for d in candidates:
        if all(os.path.exists(os.path.join(d, f)) for f in _IDX_FILES["train"] + _IDX_FILES["test"]):
            return d
    return None


def _online(host="storage.googleapis.com", port=443, timeout=3.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_tfds(name, split, data_dir):
    import tensorflow_datasets as tfds  # imported lazily: slow, and only needed here

    builder = tfds.builder(name, data_dir=data_dir)
    prepared = os.path.exists(os.path.join(builder.data_dir, "dataset_info.json"))
    if not prepared:
        if not _online():
            raise DataNotFoundError(_not_found_message(name, data_dir))
        builder.download_and_prepare()
    x, y = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, as_supervised=True))
    return x, y


def _not_found_message(name, data_dir):
    hints = [
        f"Dataset {name!r} is not on this machine (data_dir={data_dir!r}) and there is no network.",
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
    idx_dir = _idx_dir(name, data_dir)
    if idx_dir is not None:
        images_file, labels_file = _IDX_FILES[split]
        x = read_idx(os.path.join(idx_dir, images_file))
        y = read_idx(os.path.join(idx_dir, labels_file)).astype(np.int32)
    else:
        x, y = _load_tfds(name, split, data_dir)
    x = np.asarray(x, np.uint8)
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[1:] != data_info.shape:
        raise ValueError(f"{name}: expected images of shape {data_info.shape}, got {x.shape[1:]}.")
    return x, np.asarray(y, np.int32)


def scale_images(x, value_range=(0.0, 1.0)):
    """uint8 pixels -> float32 in `value_range` (e.g. (0, 1) for sigmoid G, (-1, 1) for tanh G)."""
    lo, hi = value_range
    return (np.asarray(x, np.float32) / 255.0) * (hi - lo) + lo


def make_dataset(
    name,
    batch_size,
    split="train",
    data_dir=None,
    value_range=(0.0, 1.0),
    with_labels=False,
    shuffle=True,
    repeat=False,
    seed=0,
    limit=None,
):
    """A shuffled, batched (`drop_remainder=True`), prefetched `tf.data.Dataset`.

    Args:
      name: one of `DATASETS`.
      batch_size: examples per batch (with `GAN(d_steps=k)`, pass `k * minibatch`).
      split: "train" or "test".
      data_dir: IDX directory or tfds data_dir.
      value_range: pixel range of the generator's output; ignored for point data.
      with_labels: yield `(x, label)` pairs instead of `x`.
      shuffle, repeat, seed: pipeline order; `seed` fixes the shuffle order per epoch sequence.
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
    if data_info.kind == "image":
        x = scale_images(x, value_range)
    if len(x) < batch_size:
        raise ValueError(
            f"batch_size={batch_size} is larger than the dataset ({len(x)} examples of {name!r})."
        )
    if with_labels and y is None:
        raise ValueError(f"Dataset {name!r} has no labels; use with_labels=False.")
    ds = tf.data.Dataset.from_tensor_slices((x, y) if with_labels else x)
    if shuffle:
        ds = ds.shuffle(min(len(x), 60000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=True, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        ds = ds.repeat()
    return ds.prefetch(tf.data.AUTOTUNE)
