"""A `LossScaleOptimizer` whose skip decision is the same on every replica.

Keras 3.15's `LossScaleOptimizer.check_finite` looks at the local gradients only, and under
MirroredStrategy the first replica's verdict decides, after which the *summed* gradients are
applied: a NaN or Inf produced on replica 1 alone is applied to the weights (seen here: the
discriminator became all NaN). Here the verdict is all-reduced first: a step is applied only if
the gradients are finite on every replica.
"""

import keras
import tensorflow as tf

__all__ = ["ReplicaSafeLossScaleOptimizer"]


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ReplicaSafeLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """`keras.optimizers.LossScaleOptimizer` with an all-replica finiteness check."""

    def check_finite(self, grads):
        """True iff every gradient on every replica is finite."""
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            bad = context.all_reduce(
                tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32)
            )
            finite = tf.equal(bad, 0.0)
        return finite
