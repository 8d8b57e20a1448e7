"""Keras layers the paper's networks need and Keras lacks.

- `Maxout` (Goodfellow et al. 2013): the discriminator's hidden units in the 2014 paper.
- `ReplicaDropout`: dropout whose mask differs between `tf.distribute` replicas. Keras' own
  `Dropout` draws from a `SeedGenerator` whose state is one mirrored variable, so every replica
  draws the same mask; with data parallelism that correlates the replicas' gradients.
- `VirtualBatchNormalization` (+ `ReferenceBatch` / `StripReferenceBatch`) and
  `MinibatchDiscrimination` (Salimans et al. 2016): the tutorial's stabilizing tricks.
- `ReconstructionEnergy`: EBGAN's autoencoder energy.
- `SlotBatchNormalization`: batch norm with statistics per packing slot (PacGAN's packed G).
"""

import math

import keras
import tensorflow as tf

from tfgan_orig import randomness

__all__ = [
    "Maxout",
    "ReplicaDropout",
    "ReferenceBatch",
    "StripReferenceBatch",
    "VirtualBatchNormalization",
    "MinibatchDiscrimination",
    "ReconstructionEnergy",
    "SlotBatchNormalization",
    "slot_unit",
]


@keras.saving.register_keras_serializable(package="tfgan_orig")
class Maxout(keras.layers.Layer):
    """Maxout units: `h_i(x) = max_j (x W_ij + b_ij)` for `j < pieces`.

    A dense projection to `units * pieces` features followed by a max over each group of `pieces`
    consecutive features. Input `[batch, d]`, output `[batch, units]`.

    Args:
      units: number of maxout units (outputs).
      pieces: linear pieces per unit (the paper's D uses 5).
      kernel_initializer, bias_initializer: for the dense projection.
    """

    def __init__(
        self,
        units,
        pieces,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 1:
            raise ValueError(
                f"Maxout needs units >= 1 and pieces >= 1. Received: units={units}, pieces={pieces}"
            )
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dense = keras.layers.Dense(
            self.units * self.pieces,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        z = self.dense(inputs)
        z = keras.ops.reshape(z, (-1, self.units, self.pieces))
        return keras.ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ReplicaDropout(keras.layers.Layer):
    """Inverted dropout with a mask that is different on every `tf.distribute` replica.

    `y = x * m / (1 - rate)`, `m ~ Bernoulli(1 - rate)` during training, `y = x` otherwise.
    Inside a `GAN` update (`randomness.current_row_window()` set) every replica draws the mask of
    the update's *global* minibatch from the layer's seed-generator draw and keeps its own rows:
    replicas get different masks, and R replicas train exactly as one device. Elsewhere the
    stateless seed mixes that draw with the replica id (independent masks per replica).

    Args:
      rate: fraction of units dropped, in [0, 1). The paper states keep probabilities
        (input 0.8, hidden 0.5), i.e. rate 0.2 and 0.5.
      seed: optional int for reproducible masks.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1). Received: rate={rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        window = randomness.current_row_window()
        if window is not None:
            local = tf.shape(inputs)[0]
            first, total = window.scaled(local)
            shape = tf.concat([[total], tf.shape(inputs)[1:]], 0)
            keep = tf.random.stateless_uniform(shape, seed=seed)[first : first + local]
            keep = keep >= self.rate
            return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        seed = seed + tf.stack([0, tf.cast(replica_id, tf.int32) * 7919])
        return tf.nn.experimental.stateless_dropout(inputs, rate=self.rate, seed=seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


# ---------------------------------------------------------------------------------------------------
# Stabilizing layers named by the tutorial (Goodfellow 2016, section 4) and Salimans et al. 2016.
# ---------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ReferenceBatch(keras.layers.Layer):
    """Prepends a fixed reference batch to its input: `[batch, ...] -> [size + batch, ...]`.

    The reference rows are drawn once from N(0, 1) at build time (a non-trainable weight, so it is
    saved with the model and mirrored identically on every `tf.distribute` replica). Every
    `VirtualBatchNormalization` downstream computes its statistics from these first `size` rows;
    `StripReferenceBatch` removes them again before the output.

    Args:
      size: number of reference examples (>= 1).
      seed: optional int for a reproducible reference batch.
    """

    def __init__(self, size, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"ReferenceBatch size must be >= 1. Received: size={size}")
        self.size = int(size)
        self.seed = seed

    def build(self, input_shape):
        self.reference = self.add_weight(
            shape=(self.size,) + tuple(input_shape[1:]),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
            trainable=False,
            name="reference",
        )

    def call(self, inputs):
        ref = keras.ops.cast(self.reference, inputs.dtype)
        return keras.ops.concatenate([ref, inputs], axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] + self.size
        return (batch,) + tuple(input_shape[1:])

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="tfgan_orig")
class StripReferenceBatch(keras.layers.Layer):
    """Drops the first `size` rows (the reference batch added by `ReferenceBatch`)."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"StripReferenceBatch size must be >= 1. Received: size={size}")
        self.size = int(size)
        self.built = True

    def call(self, inputs):
        return inputs[self.size :]

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] - self.size
        return (batch,) + tuple(input_shape[1:])

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size)
        return config


@keras.saving.register_keras_serializable(package="tfgan_orig")
class VirtualBatchNormalization(keras.layers.Layer):
    """Virtual batch normalization (Salimans et al. 2016, section 3.4).

    The first `reference_size` rows of the input are the activations of a fixed reference batch
    (see `ReferenceBatch`). Per channel (the last axis; statistics over the batch and all spatial
    axes, as batch norm), with `mu_R, s_R` the mean and mean square of the reference rows:

    - reference rows are normalized with `(mu_R, s_R)`;
    - every other example `x` with `mu = (1 - c) mu_R + c mu_x`, `s = (1 - c) s_R + c s_x`,
      `c = 1 / (reference_size + 1)` when `combine_with_example` (Salimans' VBN: the reference
      batch plus the example itself; `mu_x, s_x` over x's own spatial positions), else `c = 0`;

    then `y = gamma (x - mu) / sqrt(s - mu^2 + epsilon) + beta`. The output for an example thus
    depends on the reference batch and on that example only, never on the rest of the minibatch,
    and training and inference compute the same function (no moving averages).

    Args:
      reference_size: number of leading reference rows in every input batch.
      combine_with_example: include the example itself in its statistics.
      epsilon: added to the variance.
    """

    def __init__(self, reference_size, combine_with_example=True, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if reference_size is None or int(reference_size) < 1:
            raise ValueError(
                f"reference_size must be an integer >= 1. Received: reference_size={reference_size}"
            )
        self.reference_size = int(reference_size)
        self.combine_with_example = bool(combine_with_example)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        rank = len(inputs.shape)
        ref = x[: self.reference_size]
        axes = tuple(range(rank - 1))  # batch and spatial axes
        mean_ref = keras.ops.mean(ref, axis=axes)
        sq_ref = keras.ops.mean(keras.ops.square(ref), axis=axes)
        if self.combine_with_example:
            c = 1.0 / (self.reference_size + 1.0)
            ex_axes = tuple(range(1, rank - 1))
            mean_x = keras.ops.mean(x, axis=ex_axes, keepdims=True) if ex_axes else x
            sq_x = keras.ops.mean(keras.ops.square(x), axis=ex_axes, keepdims=True) if ex_axes else (
                keras.ops.square(x)
            )
            mean = (1.0 - c) * mean_ref + c * mean_x
            sq = (1.0 - c) * sq_ref + c * sq_x
            # Reference rows use the reference statistics alone.
            is_ref = keras.ops.reshape(
                keras.ops.arange(keras.ops.shape(x)[0]) < self.reference_size,
                (-1,) + (1,) * (rank - 1),
            )
            mean = keras.ops.where(is_ref, mean_ref, mean)
            sq = keras.ops.where(is_ref, sq_ref, sq)
        else:
            mean, sq = mean_ref, sq_ref
        var = keras.ops.maximum(sq - keras.ops.square(mean), 0.0)
        y = (x - mean) * keras.ops.rsqrt(var + self.epsilon)
        y = y * keras.ops.cast(self.gamma, "float32") + keras.ops.cast(self.beta, "float32")
        return keras.ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            reference_size=self.reference_size,
            combine_with_example=self.combine_with_example,
            epsilon=self.epsilon,
        )
        return config


@keras.saving.register_keras_serializable(package="tfgan_orig")
class MinibatchDiscrimination(keras.layers.Layer):
    """Minibatch discrimination (Salimans et al. 2016, section 3.2).

    For features `f(x_i)` `[batch, A]`, a tensor `T` `[A, B*C]` gives `M_i = f(x_i) T` reshaped
    to `[B, C]`; `c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)` and
    `o(x_i)_b = sum_{j != i} c_b(x_i, x_j)`. The output is `concat([f(x_i), o(x_i)])`
    `[batch, A + B]`: each example's output depends on the *other* examples of the minibatch,
    which lets D detect a generator whose samples are too alike (mode collapse).

    With `synchronized=True` (the default) the sum runs over the whole global minibatch: under
    `tf.distribute` data parallelism each replica all-gathers the other replicas' `M_j` (the
    gradient flows back to them through the all-gather), so R replicas compute what one device
    computes. With `synchronized=False` it runs over the replica's share only.

    Args:
      num_kernels: B.
      kernel_dim: C.
      kernel_initializer: for T.
      synchronized: compare with the examples of every replica (True) or of this one (False).
    """

    def __init__(
        self,
        num_kernels=50,
        kernel_dim=5,
        kernel_initializer="glorot_uniform",
        synchronized=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_kernels) < 1 or int(kernel_dim) < 1:
            raise ValueError(
                "MinibatchDiscrimination needs num_kernels >= 1 and kernel_dim >= 1. Received: "
                f"num_kernels={num_kernels}, kernel_dim={kernel_dim}"
            )
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.synchronized = bool(synchronized)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"MinibatchDiscrimination needs [batch, features] inputs. Received: {input_shape}"
            )
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
            initializer=self.kernel_initializer,
            name="kernel",
        )

    def call(self, inputs):
        m = keras.ops.matmul(inputs, self.kernel)
        m = keras.ops.reshape(m, (-1, self.num_kernels, self.kernel_dim))
        others = m
        ctx = tf.distribute.get_replica_context()
        if self.synchronized and ctx is not None and ctx.num_replicas_in_sync > 1:
            others = ctx.all_gather(m, axis=0)  # every replica's rows, in replica order
        diff = keras.ops.expand_dims(m, 1) - keras.ops.expand_dims(others, 0)  # [n, N, B, C]
        c = keras.ops.exp(-keras.ops.sum(keras.ops.abs(diff), axis=-1))  # [n, N, B]
        o = keras.ops.sum(c, axis=1) - 1.0  # drop j == i, where c = exp(0) = 1
        return keras.ops.concatenate([inputs, keras.ops.cast(o, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_kernels,)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_kernels=self.num_kernels,
            kernel_dim=self.kernel_dim,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            synchronized=self.synchronized,
        )
        return config


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ReconstructionEnergy(keras.layers.Layer):
    """EBGAN's energy: `[x, reconstruction] -> mean((reconstruction - x)^2)` per example, `[batch, 1]`.

    Computed in float32.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        x, recon = inputs
        diff = keras.ops.cast(recon, "float32") - keras.ops.cast(x, "float32")
        sq = keras.ops.reshape(keras.ops.square(diff), (keras.ops.shape(diff)[0], -1))
        return keras.ops.mean(sq, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


@keras.saving.register_keras_serializable(package="tfgan_orig")
class SlotBatchNormalization(keras.layers.BatchNormalization):
    """Batch normalization whose training statistics are computed per slot of interleaved rows.

    Row i of a training batch belongs to slot `i mod slots`. With `x_{g,s}` the row of group g in
    slot s (`g < n / slots`) and statistics over the groups (and spatial axes), per channel:

        mu_s = mean_g x_{g,s},   var_s = mean_g (x_{g,s} - mu_s)^2,
        y_{g,s} = gamma (x_{g,s} - mu_s) / sqrt(var_s + epsilon) + beta,

    and the moving statistics move toward the slots' average once per call:
    `moving_mean <- momentum moving_mean + (1 - momentum) mean_s mu_s` (likewise the variance).
    Inference (`training=False`) uses the moving statistics, exactly as `BatchNormalization`.

    Why: PacGAN's code (Lin et al. 2018) runs its generator once per packing slot, on that slot's
    own batch of latents, so each slot is normalized with its own statistics and the population
    statistics are updated with their average. `pack_rows` makes D row j of the concatenation of
    rows `m j, ..., m j + m - 1`, so with `slots = m` slot s holds exactly the s-th member of every
    pack: PacGAN's s-th generator call. With `slots = 1` this is `BatchNormalization`. (PacGAN's
    Blocks code tracks population standard deviations and so averages the slots' standard
    deviations; averaging variances differs only by their spread, and only at inference.)

    `synchronized=True` all-reduces each slot's sums over the replicas (`keras.ops.moments`): a
    replica's share must then be a multiple of `slots`, so that local and global row indices give
    the same slot. The number of rows must be a multiple of `slots` (a ValueError when it is known
    when the layer is traced, a graph assertion otherwise). Only the last (channel) axis is
    normalized.

    Args:
      slots: the number of interleaved slots, >= 1.
      **kwargs: `keras.layers.BatchNormalization` arguments (`axis` must be -1; no renorm).
    """

    def __init__(self, slots=1, **kwargs):
        if isinstance(slots, bool) or int(slots) != slots or slots < 1:
            raise ValueError(f"slots must be an integer >= 1. Received: slots={slots!r}")
        if kwargs.get("axis", -1) != -1 or kwargs.get("renorm", False):
            raise ValueError(
                "SlotBatchNormalization normalizes the last axis without renorm. Received: "
                f"axis={kwargs.get('axis', -1)!r}, renorm={kwargs.get('renorm', False)!r}"
            )
        super().__init__(**kwargs)
        self.slots = int(slots)

    def call(self, inputs, training=None, mask=None):
        if mask is not None and self.slots > 1:
            raise ValueError(
                f"{self.name}: SlotBatchNormalization (slots={self.slots}) does not take a mask: "
                "masked rows would move rows between slots."
            )
        if self.slots == 1 or not (training and self.trainable):
            return super().call(inputs, training=training, mask=mask)
        rows = inputs.shape[0]
        if rows is not None and rows % self.slots:
            raise ValueError(
                f"{self.name}: {rows} rows cannot be split into slots={self.slots} interleaved "
                "slots. Valid: a multiple of slots rows per replica."
            )
        # As BatchNormalization: at least float32 (float16 / bfloat16 statistics overflow).
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = tf.cast(inputs, dtype)
        checks = [
            tf.debugging.assert_equal(
                tf.shape(x)[0] % self.slots, 0, message=f"{self.name}: rows % slots != 0"
            )
        ]
        with tf.control_dependencies(checks):
            grouped = tf.reshape(x, tf.concat([[-1, self.slots], tf.shape(x)[1:]], 0))
        # Statistics over the groups and the spatial axes, one per slot and channel.
        axes = [0] + list(range(2, len(x.shape)))
        mean, variance = keras.ops.moments(
            grouped, axes=axes, keepdims=True, synchronized=self.synchronized
        )
        slot_mean = tf.reshape(tf.reduce_mean(mean, axis=1), [-1])
        slot_variance = tf.reshape(tf.reduce_mean(variance, axis=1), [-1])
        for moving, batch in ((self.moving_mean, slot_mean), (self.moving_variance, slot_variance)):
            old = tf.cast(moving, dtype)
            moving.assign(tf.cast(old * self.momentum + batch * (1.0 - self.momentum), moving.dtype))
        y = (grouped - mean) * tf.math.rsqrt(variance + self.epsilon)
        if self.scale:
            y = y * tf.cast(self.gamma, dtype)
        if self.center:
            y = y + tf.cast(self.beta, dtype)
        return tf.cast(tf.reshape(y, tf.shape(x)), self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(slots=self.slots)
        return config


def slot_unit(model):
    """Rows every training batch of `model` must be a multiple of for its per-slot batch norms:
    the least common multiple of their `slots` (1 without `SlotBatchNormalization`)."""
    return math.lcm(*(
        getattr(layer, "slots", 1) for layer in model._flatten_layers(include_self=False)
    ))
