"""Replica information and replica-invariant stateless random draws.

Every random draw of training (the latent noise z, the labels of a conditional GAN, instance
noise, WGAN-GP's interpolation weights, ...) is a *stateless* draw for the **global** batch from a
seed that depends only on

    (GAN seed, generator step t, draw j, stream s)  ->  [seed, t * draws_per_step + j + s << 40]

where `draws_per_step = d_steps + 1` (draws 0..k-1 are the k discriminator updates of a step,
draw k is the generator update) and a *stream* separates independent quantities of one draw (the
`STREAM_*` constants). Each replica computes the same global batch and keeps its own rows
(replica r of R keeps rows `r * local ... (r + 1) * local`), so replicas draw different values and
a run on R replicas sees exactly the values of a run on one device.
"""

import contextlib
import math
import threading

import tensorflow as tf

__all__ = [
    "NOISE_TYPES",
    "STREAM_LATENT",
    "STREAM_LABELS",
    "STREAM_NOISE_REAL",
    "STREAM_NOISE_FAKE",
    "STREAM_GP_ALPHA",
    "replica_info",
    "multi_worker",
    "draw_seed",
    "replica_rows",
    "RowWindow",
    "replica_share",
    "row_window",
    "current_row_window",
    "sample_latent",
    "training_noise",
]

NOISE_TYPES = ("normal", "uniform")
_SQRT3 = math.sqrt(3.0)

# Independent random streams of one (step, draw): `stream << 40` is added to the seed's second
# component. New streams take new numbers; existing numbers must not change (they define the noise
# that a given seed produces, so changing one changes every run's result).
STREAM_LATENT = 0
STREAM_LABELS = 1
STREAM_NOISE_REAL = 2
STREAM_NOISE_FAKE = 3
STREAM_GP_ALPHA = 4


def replica_info():
    """(replica id as an int32 tensor, or 0; number of replicas in sync).

    Outside `strategy.run` (cross-replica context) this is `(0, 1)`.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return 0, 1
    return ctx.replica_id_in_sync_group, tf.distribute.get_strategy().num_replicas_in_sync


def multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy that really spans several workers."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    )


def draw_seed(seed, step, draws_per_step, draw, stream=STREAM_LATENT):
    """The stateless seed `[seed, step * draws_per_step + draw + (stream << 40)]`, int64 `[2]`."""
    step = tf.cast(step, tf.int64)
    return tf.stack(
        [
            tf.constant(int(seed), tf.int64),
            step * draws_per_step + draw + tf.constant(int(stream) << 40, tf.int64),
        ]
    )


def replica_rows(local_rows, seed, sample):
    """This replica's rows of `sample(global_rows, seed)`.

    Args:
      local_rows: rows this replica needs (every replica the same number).
      seed: int64 `[2]` stateless seed (`draw_seed`).
      sample: `fn(num_rows, seed) -> [num_rows, ...]` tensor, a stateless draw.

    Returns:
      rows `replica_id * local_rows ... (replica_id + 1) * local_rows` of the global draw.
    """
    replica_id, replicas = replica_info()
    values = sample(local_rows * replicas, seed)
    start = tf.cast(replica_id, tf.int32) * local_rows
    return values[start : start + local_rows]


class RowWindow:
    """Where this replica's rows sit in one global minibatch: rows `first ... first + local - 1`
    of `total` (all int32 scalars, counted in examples).

    Replicas may hold shares of different sizes (a batch not divisible by the number of
    replicas, the partial last batch of `fit`), and a share may even be empty; the window
    says which rows of a global draw are this replica's, so that every replica's rows together
    are exactly the draw of one device (`GAN.train_step` builds the windows).
    """

    def __init__(self, first, local, total):
        self.first = tf.cast(first, tf.int32)
        self.local = tf.cast(local, tf.int32)
        self.total = tf.cast(total, tf.int32)

    @classmethod
    def even(cls, local):
        """The window of equal shares: replica r holds rows `r * local ... (r + 1) * local - 1`."""
        replica_id, replicas = replica_info()
        local = tf.cast(local, tf.int32)
        return cls(tf.cast(replica_id, tf.int32) * local, local, local * replicas)

    @classmethod
    def equal_shares(cls, local, total):
        """The window of equal shares of a minibatch of `total` rows: replica r holds rows
        `r * local ... (r + 1) * local - 1` (for direct calls of `GAN`'s step methods)."""
        replica_id, _ = replica_info()
        local = tf.cast(local, tf.int32)
        return cls(tf.cast(replica_id, tf.int32) * local, local, tf.cast(total, tf.int32))

    def global_rows(self, local_rows):
        """The global number of rows of which this replica holds `local_rows` (float32): `total`
        times rows per example, `total * local_rows / local` (0 on an empty share). The divisor of
        a loss that is `sum over rows / global rows` (D rows: one per example, or per pack)."""
        ratio = tf.math.divide_no_nan(
            tf.cast(local_rows, tf.float32), tf.cast(self.local, tf.float32)
        )
        return tf.cast(self.total, tf.float32) * ratio

    def fraction(self):
        """This replica's share of the minibatch, `local / total` (float32; 0 if `total` is 0)."""
        local, total = tf.cast(self.local, tf.float32), tf.cast(self.total, tf.float32)
        return tf.math.divide_no_nan(local, total)

    def scaled(self, local_rows):
        """(first, total) in units of `local_rows` rows per `local` examples (e.g. packed D rows:
        one per `pack` examples); `(0, 0)` on an empty share."""
        local_rows = tf.cast(local_rows, tf.int32)
        safe = tf.maximum(self.local, 1)
        return self.first * local_rows // safe, self.total * local_rows // safe

    def rows(self, local_rows, seed, sample):
        """This replica's `local_rows` rows of `sample(global_rows, seed)` (a stateless draw)."""
        first, total = self.scaled(local_rows)
        values = sample(total, seed)
        return values[first : first + tf.cast(local_rows, tf.int32)]


def replica_share(examples):
    """(first example of this replica's share of the global batch, global batch size), given this
    replica's `examples`.

    Replicas' shares may differ in size (a batch not divisible by the number of replicas, the
    partial last batch of `fit`); the sizes are all-reduced (one small collective). On one
    replica: `(0, examples)`.
    """
    replica_id, replicas = replica_info()
    if replicas == 1:
        return 0, examples
    mine = tf.one_hot(replica_id, replicas, dtype=tf.float32) * tf.cast(examples, tf.float32)
    ctx = tf.distribute.get_replica_context()
    counts = tf.cast(ctx.all_reduce(tf.distribute.ReduceOp.SUM, mine), tf.int32)
    before = tf.cast(tf.range(replicas) < tf.cast(replica_id, tf.int32), tf.int32)
    return tf.reduce_sum(counts * before), tf.reduce_sum(counts)


_CURRENT = threading.local()  # MirroredStrategy traces each replica in its own thread


@contextlib.contextmanager
def row_window(window):
    """Within the block, `current_row_window()` is `window` (this thread, i.e. this replica).

    `GAN.train_step` sets it around each update, so that a layer drawing per-row randomness
    (`layers.ReplicaDropout`) can draw for the global minibatch and keep this replica's rows.
    """
    previous = getattr(_CURRENT, "window", None)
    _CURRENT.window = window
    try:
        yield window
    finally:
        _CURRENT.window = previous


def current_row_window():
    """The `RowWindow` of the update being traced on this replica, or None outside one."""
    return getattr(_CURRENT, "window", None)


def sample_latent(num, seed, latent_dim, noise="normal"):
    """Latent noise `[num, latent_dim]` from a stateless seed (int or int `[2]` tensor).

    `noise="normal"`: N(0, I); `"uniform"`: U(-sqrt 3, sqrt 3) per coordinate (unit variance).
    """
    if noise not in NOISE_TYPES:
        raise ValueError(f"Unknown noise {noise!r}. Valid choices: {list(NOISE_TYPES)}.")
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 0:
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    shape = tf.stack([tf.cast(num, tf.int32), int(latent_dim)])
    if noise == "normal":
        return tf.random.stateless_normal(shape, seed=seed)
    return tf.random.stateless_uniform(shape, seed=seed, minval=-_SQRT3, maxval=_SQRT3)


def training_noise(
    local_rows, seed, step, draws_per_step, draw, sample, num_classes=None, window=None
):
    """This replica's rows of the global (z, labels) noise batch of draw `draw` of step `step`.

    All replicas compute the same global batch from (seed, step, draw) (z from stream
    `STREAM_LATENT`, a conditional GAN's labels, uniform in `[0, num_classes)`, from
    `STREAM_LABELS`) and slice out their own rows (`window`, a `RowWindow`; default: equal shares
    of `local_rows`), so noise differs between replicas and a run on R replicas sees exactly the
    noise of a run on one device.

    Args:
      sample: `fn(num, seed) -> z [num, latent_dim]`, a stateless draw (`GAN.sample_latent`).
      num_classes: None (labels None) or the number of classes.

    Returns:
      (z `[local_rows, latent_dim]`, int32 labels `[local_rows]` or None).
    """
    window = RowWindow.even(local_rows) if window is None else window
    z = window.rows(local_rows, draw_seed(seed, step, draws_per_step, draw, STREAM_LATENT), sample)
    labels = None
    if num_classes is not None:
        labels = window.rows(
            local_rows,
            draw_seed(seed, step, draws_per_step, draw, STREAM_LABELS),
            lambda n, s: tf.random.stateless_uniform(
                [n], seed=s, maxval=num_classes, dtype=tf.int32
            ),
        )
    return z, labels
