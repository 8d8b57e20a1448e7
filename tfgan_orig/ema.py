"""Generator EMA: an exponential moving average of the generator's weights.

`w_ema <- d w_ema + (1 - d) w` for every trainable weight after each generator update; the
non-trainable weights (e.g. batch-norm statistics) are copied. Averaged generators give smoother,
often better samples than the last iterate (Yazici et al. 2019; Karras et al. 2018).
"""

import keras
import tensorflow as tf

__all__ = ["clone", "update"]


def clone(model):
    """A non-trainable copy of `model` with the same weights (the EMA's starting point)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


def update(ema_model, model, decay):
    """One EMA step of `ema_model` towards `model` (same architecture)."""
    for w, e in zip(model.weights, ema_model.weights):
        if w.trainable:
            e.assign(decay * e + (1.0 - decay) * tf.cast(w, e.dtype))
        else:
            e.assign(w)
