"""Generator EMA: an exponential moving average of the generator's weights.

`w_ema <- d w_ema + (1 - d) w` for every trainable weight after each generator update; the
non-trainable weights (e.g. batch-norm statistics) are copied. Averaged generators give smoother,
often better samples than the last iterate (Yazici et al. 2019; Karras et al. 2018).

Copied batch-norm statistics belong to the *live* generator's weights, not to the averaged ones: an
averaged generator with batch norm normalizes with the wrong mean and variance at inference.
`standing_statistics` recomputes them from the averaged generator's own activations ("standing
statistics", Brock et al. 2019, BigGAN); call it before sampling or exporting the EMA generator.
Measured on PacGAN's ring8 (batch-norm G, 5 epochs, docs/mixtures.md): EMA G with copied
statistics 21.6% high-quality samples, with standing statistics 80.2% (live G: 42.0%).
"""

import keras
import tensorflow as tf

from tfgan_orig import layers as layers_lib

__all__ = ["clone", "update", "standing_statistics"]


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


def standing_statistics(model, inputs, batch_size=None):
    """Sets every batch-norm layer's moving mean and variance to its batch statistics on `inputs`.

    Forward passes of `model` on `inputs` with batch statistics (each layer normalizes with the
    statistics of its own input, as in training), whose means and variances replace the moving
    averages. A pass over `r_i` rows after `s_i` rows already seen uses momentum
    `s_i / (s_i + r_i)`, so the moving statistics end as the row-weighted average of the batches'
    statistics, `mean = sum_i r_i mean_i / sum_i r_i` (likewise the variance; a short last batch
    counts for its rows only; a `SlotBatchNormalization` passes whole slots and contributes its
    slots' average). Afterwards `model(x, training=False)` normalizes with the statistics of
    `model`'s own activations on the distribution of `inputs` (BigGAN's standing statistics, Brock
    et al. 2019). Other layers and weights are untouched; layers' `trainable` and `momentum` are restored.

    Args:
      model: a Keras model (e.g. the EMA generator; it may be non-trainable).
      inputs: a tensor, or a list of tensors (e.g. `[z, labels]`) with the same first dimension:
        enough rows for stable statistics (e.g. 10,000 latent vectors).
      batch_size: rows per pass; `None` = all of `inputs` in one pass (exact statistics of the
        whole batch; bounded memory needs a batch size for large image generators).

    Returns:
      The number of batch-norm layers updated.
    """
    layers = [
        layer for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        return 0
    parts = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    # Layers with per-slot statistics (`SlotBatchNormalization`) need whole slots in every pass:
    # passes are multiples of every layer's slots, and the rows past the last multiple unused.
    unit = layers_lib.slot_unit(model)
    rows = int(parts[0].shape[0]) // unit * unit
    if rows == 0:
        raise ValueError(
            f"standing_statistics needs at least {unit} rows (the batch-norm layers' slots). "
            f"Received: {int(parts[0].shape[0])} rows."
        )
    batch_size = rows if batch_size is None else max(1, min(int(batch_size), rows))
    batch_size = max(unit, batch_size // unit * unit)
    parts = [p[:rows] for p in parts]
    saved = [(layer.trainable, layer.momentum) for layer in layers]
    try:
        for layer in layers:
            # Keras runs a non-trainable BatchNormalization in inference mode even when
            # training=True.
            layer.trainable = True
        for start in range(0, rows, batch_size):
            chunk = [p[start : start + batch_size] for p in parts]
            seen, new = float(start), float(int(chunk[0].shape[0]))
            for layer in layers:
                layer.momentum = seen / (seen + new)  # row-weighted running mean; 0 first
            model(chunk if isinstance(inputs, (list, tuple)) else chunk[0], training=True)
    finally:
        for layer, (trainable, momentum) in zip(layers, saved):
            layer.trainable = trainable
            layer.momentum = momentum
    return len(layers)
