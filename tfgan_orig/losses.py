"""GAN losses as pure functions of discriminator logits.

Every function takes logits (the discriminator's pre-sigmoid output, any float dtype) and returns
the **per-example** loss, shape `[batch]`, in float32. The paper's expectation `E[...]` is the mean
of that vector; `tfgan_orig.GAN` reduces it as `sum / global_batch` so that the gradient all-reduce
of `tf.distribute` gives exactly the single-device gradient.

Notation: `r` = D's logit on a real example, `f` = D's logit on a generated one, `D(.) = sigmoid(.)`.
Stable forms use `log sigmoid(x) = -softplus(-x)` and `log(1 - sigmoid(x)) = -softplus(x)`.

The tutorial (Goodfellow 2016) writes `J(D)` and the generator costs with a factor 1/2; it is dropped
everywhere here (a constant scale that the learning rate absorbs), so every loss below is on the same
scale as the cross-entropy of one real plus one fake example.
"""

import tensorflow as tf

__all__ = [
    "LOSSES",
    "modified_discriminator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "maximum_likelihood_generator_loss",
    "get",
]


def _flat(logits):
    """Logits of shape [batch] or [batch, 1] -> float32 [batch]."""
    logits = tf.cast(logits, tf.float32)
    return tf.reshape(logits, [tf.shape(logits)[0]])


# ---------------------------------------------------------------------------------------------------
# The original GAN (Goodfellow et al. 2014), Algorithm 1 and section 3.
# ---------------------------------------------------------------------------------------------------


def minimax_discriminator_loss(real_logits, fake_logits, real_target=1.0):
    """Cross-entropy of D, the negative of the value function V(D, G) per example.

    `L_D = -log D(x) - log(1 - D(G(z))) = softplus(-r) + softplus(f)`.

    With one-sided label smoothing (Salimans et al. 2016), the real target `t < 1` gives
    `L_D = t * softplus(-r) + (1 - t) * softplus(r) + softplus(f)`; the fake target stays exactly 0.

    Args:
      real_logits: D's logits on real data, shape [batch] or [batch, 1].
      fake_logits: D's logits on generated data, same batch size.
      real_target: target probability for real examples (1.0 = no smoothing).

    Returns:
      float32 [batch] per-example loss.
    """
    r, f = _flat(real_logits), _flat(fake_logits)
    real_term = real_target * tf.nn.softplus(-r)
    if not (isinstance(real_target, float) and real_target == 1.0):
        real_term += (1.0 - real_target) * tf.nn.softplus(r)
    return real_term + tf.nn.softplus(f)


# All three generator costs of the paper share this discriminator loss.
modified_discriminator_loss = minimax_discriminator_loss


def minimax_generator_loss(fake_logits):
    """The zero-sum generator cost: G descends `log(1 - D(G(z)))`.

    `L_G = log(1 - D(G(z))) = -softplus(f)`.

    Its gradient `dL/df = -sigmoid(f)` vanishes as `D(G(z)) -> 0`, i.e. exactly when G is poor
    early in training -- the saturation the paper warns about.
    """
    return -tf.nn.softplus(_flat(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """The heuristic cost the paper uses in practice: G ascends `log D(G(z))`.

    `L_G = -log D(G(z)) = softplus(-f)`.

    Gradient `dL/df = -sigmoid(-f) -> -1` as `D(G(z)) -> 0`: strong early in training.
    """
    return tf.nn.softplus(-_flat(fake_logits))


def maximum_likelihood_generator_loss(fake_logits, max_logit=30.0):
    """Goodfellow (2014b, tutorial eq. 9): minimizing it minimizes KL(p_data || p_g) when D = D*.

    `L_G = -exp(sigma^-1(D(G(z)))) = -exp(f)` (the tutorial's factor 1/2 dropped).

    `f` is clipped to `max_logit` before the exp so that a confident D cannot overflow float32
    (exp(30) ~ 1e13; the gradient there is already useless).
    """
    return -tf.exp(tf.minimum(_flat(fake_logits), max_logit))


# name -> (discriminator loss, generator loss). `GAN.compile(loss=name)` looks names up here.
LOSSES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "non_saturating": (minimax_discriminator_loss, non_saturating_generator_loss),
    "maximum_likelihood": (minimax_discriminator_loss, maximum_likelihood_generator_loss),
}


def get(name):
    """Returns `(discriminator_loss_fn, generator_loss_fn)` for a loss name.

    Raises:
      ValueError: naming the bad value and the valid choices.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}. Valid choices: {sorted(LOSSES)}.")
    return LOSSES[name]
