"""The unrolled GAN's look-ahead discriminator (Metz et al. 2017).

G's loss is computed against D after k differentiable gradient-descent steps on D's loss:

    theta_0 = D's current weights,   theta_{i+1} = theta_i - eta grad_theta L_D(theta_i)

with `L_D` D's batch loss on this step's fakes (not stopped) and the last real minibatch, so G's
gradient flows through every step and anticipates D's reaction. Under a multi-replica strategy
each step's gradient is all-reduced (SUM of the per-replica `sum / global rows` losses: the
global-batch gradient), and the all-reduce is differentiable. D's variables are not changed:
the steps run on copies of their values (`keras.Model.stateless_call`).
"""

import tensorflow as tf

from tfgan_orig import randomness

__all__ = ["StatelessDiscriminator", "unroll"]


class StatelessDiscriminator:
    """Callable like D (`net(inputs, training=True)`), at weights `theta`, without touching D.

    The non-trainable state (e.g. batch-norm statistics) is threaded from call to call.
    """

    def __init__(self, model, theta, state):
        self.model = model
        self.theta = theta
        self.state = state

    def __call__(self, inputs, training=True):
        out, self.state = self.model.stateless_call(
            self.theta, self.state, inputs, training=training
        )
        return out


def unroll(discriminator, loss_fn, steps, learning_rate):
    """D after `steps` differentiable SGD steps on `loss_fn`.

    Args:
      discriminator: the Keras D model.
      loss_fn: `fn(net) -> scalar`, D's batch loss (per-replica `sum / global rows`) computed with
        `net` in place of D.
      steps: k >= 1.
      learning_rate: eta (float or scalar tensor).

    Returns:
      a `StatelessDiscriminator` at theta_k (differentiable w.r.t. everything `loss_fn` used).
    """
    theta = [tf.convert_to_tensor(v) for v in discriminator.trainable_variables]
    state = [tf.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
    _, replicas = randomness.replica_info()
    for _ in range(steps):
        net = StatelessDiscriminator(discriminator, theta, state)
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss = loss_fn(net)
        grads = tape.gradient(loss, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        if replicas > 1:
            # Differentiable all-reduce: the unrolled step uses the global-batch gradient.
            grads = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, grads
            )
        theta = [t - tf.cast(learning_rate, t.dtype) * g for t, g in zip(theta, grads)]
        state = net.state
    return StatelessDiscriminator(discriminator, theta, state)
