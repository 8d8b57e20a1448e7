"""Generator and discriminator networks.

Contracts (stated where they are produced):
- Generators map `z: float32 [batch, latent_dim]` to samples in the data's range:
  images `[batch, H, W, C]` in [0, 1] (sigmoid output) for the paper's MLP, points `[batch, d]`
  (linear output) for the low-dimensional mixtures.
- Discriminators return **logits** `[batch, 1]`, no sigmoid.

The paper's nets follow the authors' pylearn2 `mnist.yaml` (REFERENCE.md section 1).
"""

import keras
import numpy as np

from tfgan_orig.layers import Maxout, ReplicaDropout

__all__ = [
    "paper_generator",
    "paper_discriminator",
    "mlp_generator",
    "maxout_discriminator",
    "pixel_mean_logit_bias",
]


def _uniform(scale, seed):
    return keras.initializers.RandomUniform(-scale, scale, seed=seed)


def _seed(seed, offset):
    return None if seed is None else int(seed) + offset


def pixel_mean_logit_bias(images, eps=1e-3):
    """The authors' output-bias init: `b = logit(mean pixel)`, clipped to avoid +-inf.

    With it the untrained generator's sigmoid output already matches the data's pixel marginals.

    Args:
      images: array `[n, H, W, C]` (or `[n, d]`) in [0, 1].

    Returns:
      float32 numpy vector of length H*W*C.
    """
    p = np.asarray(images, np.float64).reshape(len(images), -1).mean(axis=0)
    p = np.clip(p, eps, 1.0 - eps)
    return np.log(p / (1.0 - p)).astype(np.float32)


def paper_generator(
    latent_dim=100,
    hidden_units=(1200, 1200),
    output_shape=(28, 28, 1),
    output_bias=None,
    init_scale=0.05,
    seed=None,
    name="generator",
):
    """The paper's MNIST generator: z -> ReLU 1200 -> ReLU 1200 -> sigmoid 784 -> image.

    Args:
      latent_dim: size of z (the paper: 100).
      hidden_units: widths of the ReLU layers.
      output_shape: image shape `(H, W, C)`.
      output_bias: optional vector of length H*W*C for the output layer's bias
        (see `pixel_mean_logit_bias`).
      init_scale: weights ~ U(-init_scale, init_scale) (the paper: 0.05).
      seed: optional int for reproducible initial weights.

    Returns:
      A `keras.Model` mapping `[batch, latent_dim]` to images in [0, 1].
    """
    out_dim = int(np.prod(output_shape))
    z = keras.Input((latent_dim,), name="z")
    h = z
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=_uniform(init_scale, _seed(seed, i)),
            name=f"hidden_{i}",
        )(h)
    bias_init = "zeros"
    if output_bias is not None:
        output_bias = np.asarray(output_bias, np.float32).reshape(-1)
        if output_bias.shape != (out_dim,):
            raise ValueError(
                f"output_bias must have {out_dim} entries for output_shape={output_shape}. "
                f"Received: shape {output_bias.shape}"
            )
        bias_init = keras.initializers.Constant(output_bias.tolist())
    h = keras.layers.Dense(
        out_dim,
        kernel_initializer=_uniform(init_scale, _seed(seed, 100)),
        bias_initializer=bias_init,
        name="output_logits",
    )(h)
    # Float32 output so mixed precision never hands the discriminator (or a user) float16 images.
    h = keras.layers.Activation("sigmoid", dtype="float32", name="sigmoid")(h)
    x = keras.layers.Reshape(tuple(output_shape), name="image")(h)
    return keras.Model(z, x, name=name)


def paper_discriminator(
    input_shape=(28, 28, 1),
    units=240,
    pieces=5,
    num_layers=2,
    input_keep=0.8,
    hidden_keep=0.5,
    init_scale=0.005,
    seed=None,
    name="discriminator",
):
    """The paper's MNIST discriminator: maxout 240x5 -> maxout 240x5 -> 1 logit, with dropout.

    Dropout keeps 0.8 of the inputs and 0.5 of the hidden units (the authors' `input_include_probs`
    and `include_prob`). The same dropped-out D is used in the generator's loss (`training=True`).

    Returns:
      A `keras.Model` mapping `[batch, *input_shape]` to logits `[batch, 1]` (float32).
    """
    x = keras.Input(tuple(input_shape), name="x")
    h = keras.layers.Flatten(name="flatten")(x)
    h = ReplicaDropout(1.0 - input_keep, seed=_seed(seed, 50), name="input_dropout")(h)
    for i in range(num_layers):
        h = Maxout(
            units, pieces, kernel_initializer=_uniform(init_scale, _seed(seed, i)), name=f"maxout_{i}"
        )(h)
        h = ReplicaDropout(1.0 - hidden_keep, seed=_seed(seed, 60 + i), name=f"dropout_{i}")(h)
    logits = keras.layers.Dense(
        1, kernel_initializer=_uniform(init_scale, _seed(seed, 100)), dtype="float32", name="logit"
    )(h)
    return keras.Model(x, logits, name=name)


def mlp_generator(
    latent_dim=2,
    output_dim=2,
    hidden_units=(400, 400, 400, 400),
    batch_norm=True,
    seed=None,
    name="generator",
):
    """PacGAN's 2-D generator: 4 x 400 ReLU (+ batch norm) -> linear `output_dim`.

    Returns:
      A `keras.Model` mapping `[batch, latent_dim]` to points `[batch, output_dim]` in data space.
    """
    z = keras.Input((latent_dim,), name="z")
    h = z
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(_seed(seed, i)),
            name=f"hidden_{i}",
        )(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn_{i}")(h)
        h = keras.layers.ReLU(name=f"relu_{i}")(h)
    x = keras.layers.Dense(
        output_dim,
        kernel_initializer=keras.initializers.GlorotUniform(_seed(seed, 100)),
        dtype="float32",
        name="output",
    )(h)
    return keras.Model(z, x, name=name)


def maxout_discriminator(
    input_dim=2, units=200, pieces=5, num_layers=3, seed=None, name="discriminator"
):
    """PacGAN's 2-D discriminator: 3 maxout layers of 200 units x 5 pieces -> 1 logit.

    Returns:
      A `keras.Model` mapping `[batch, input_dim]` to logits `[batch, 1]` (float32).
    """
    x = keras.Input((input_dim,), name="x")
    h = x
    for i in range(num_layers):
        h = Maxout(
            units,
            pieces,
            kernel_initializer=keras.initializers.GlorotUniform(_seed(seed, i)),
            name=f"maxout_{i}",
        )(h)
    logits = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.GlorotUniform(_seed(seed, 100)),
        dtype="float32",
        name="logit",
    )(h)
    return keras.Model(x, logits, name=name)

