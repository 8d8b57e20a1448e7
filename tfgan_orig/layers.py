"""Keras layers the paper's networks need and Keras lacks.

- `Maxout` (Goodfellow et al. 2013): the discriminator's hidden units in the 2014 paper.
- `ReplicaDropout`: dropout whose mask differs between `tf.distribute` replicas. Keras' own
  `Dropout` draws from a `SeedGenerator` whose state is one mirrored variable, so every replica
  draws the same mask; with data parallelism that correlates the replicas' gradients.
"""

import keras
import tensorflow as tf

__all__ = ["Maxout", "ReplicaDropout"]


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
    The stateless seed mixes the layer's seed-generator draw with the replica id, so replicas of
    one step draw independent masks while one replica's stream stays reproducible.

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
