"""Generator and discriminator networks.

Contracts (stated where they are produced):
- Generators map `z: float32 [batch, latent_dim]` to samples in the data's range:
  images `[batch, H, W, C]` in [0, 1] (sigmoid output) for the paper's MLP, points `[batch, d]`
  (linear output) for the low-dimensional mixtures.
- Discriminators return **logits** `[batch, 1]`, no sigmoid.
- DCGAN generators return images in [-1, 1] (tanh); train them on data scaled to [-1, 1].
- `ebgan_discriminator` returns an energy `[batch, 1]` >= 0 (reconstruction error), not a logit.

The paper's nets follow the authors' pylearn2 `mnist.yaml` (docs/references.md §1).
"""

import keras
import numpy as np

from tfgan_orig.layers import (
    Maxout,
    MinibatchDiscrimination,
    ReconstructionEnergy,
    ReferenceBatch,
    ReplicaDropout,
    SlotBatchNormalization,
    StripReferenceBatch,
    VirtualBatchNormalization,
)

__all__ = [
    "paper_generator",
    "paper_discriminator",
    "mlp_generator",
    "maxout_discriminator",
    "pixel_mean_logit_bias",
    "batch_normalization",
    "dcgan_generator",
    "dcgan_discriminator",
    "ebgan_discriminator",
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "num_classes",
    "discriminator_input_shape",
    "value_range",
]


def batch_normalization(slots=1, **kwargs):
    """`keras.layers.BatchNormalization` with statistics over the global batch.

    `slots` = k > 1 gives `SlotBatchNormalization`: statistics per slot of interleaved rows
    (row i in slot i mod k), PacGAN's per-call statistics for a packed generator.

    Keras' default normalizes each replica's share separately, so R replicas train another model
    than one device and their moving statistics drift apart (reads take replica 0's). Synchronized
    batch norm all-reduces the per-feature sum, sum of squares and count, so every replica uses
    (and stores) the statistics of the whole global batch: the same update as one device, at the
    cost of three small all-reduces per batch-norm layer per call (TensorFlow backend only).
    """
    kwargs.setdefault("synchronized", keras.backend.backend() == "tensorflow")
    if slots > 1:
        return SlotBatchNormalization(slots=slots, **kwargs)
    return keras.layers.BatchNormalization(**kwargs)


def _uniform(scale, seed):
    return keras.initializers.RandomUniform(-scale, scale, seed=seed)


def _seed(seed, offset):
    return None if seed is None else int(seed) + offset


def pixel_mean_logit_bias(images, eps=1e-7):
    """The authors' output-bias init: `b = logit(clip(mean pixel, eps, 1 - eps))`.

    With it the untrained generator's sigmoid output already matches the data's pixel marginals.
    `eps = 1e-7` is pylearn2's (`init_bias_target_marginals`): a pixel that is 0 in every training
    image (MNIST's borders) gets `b = logit(1e-7) = -16.12`, so the generator starts with it off.

    Args:
      images: array `[n, H, W, C]` (or `[n, d]`) in [0, 1].
      eps: the mean is clipped to `[eps, 1 - eps]` to avoid +-inf.

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


def _mlp_init(init_stddev, seed):
    """Dense/maxout kernels of the 2-D nets: Glorot uniform (Keras' default) for `init_stddev` 0,
    else N(0, init_stddev^2), as PacGAN's code (`IsotropicGaussian(0.02)`); biases start at 0."""
    if init_stddev:
        return keras.initializers.RandomNormal(0.0, float(init_stddev), seed=seed)
    return keras.initializers.GlorotUniform(seed)


def mlp_generator(
    latent_dim=2,
    output_dim=2,
    hidden_units=(400, 400, 400, 400),
    batch_norm=True,
    seed=None,
    name="generator",
    init_stddev=0.0,
    batch_norm_momentum=0.99,
    batch_norm_slots=1,
    batch_norm_epsilon=1e-3,
):
    """PacGAN's 2-D generator: 4 x 400 ReLU (+ batch norm) -> linear `output_dim`.

    Args:
      init_stddev: 0 for Glorot-uniform kernels; s > 0 for N(0, s^2) (PacGAN's code: 0.02).
      batch_norm_momentum: the moving statistics' update m <- momentum m + (1 - momentum) batch
        (Keras' default 0.99; PacGAN's code 0.95). They are what `generate` (inference) uses.
      batch_norm_slots: k > 1 normalizes each slot of interleaved rows (row i in slot i mod k) with
        its own training statistics (`SlotBatchNormalization`); PacGAN's code, which calls G once
        per packing slot, is k = pack. 1 = statistics over the whole batch.
      batch_norm_epsilon: x_hat = (x - mu) / sqrt(var + epsilon) (Keras' default 1e-3; PacGAN's
        Blocks code 1e-4). It matters in the first layer, whose pre-activation variance for
        z ~ N(0, I) is ||w_j||^2: about 8e-4 at N(0, 0.02^2) init, the order of 1e-3, so with
        Keras' epsilon that layer is only partly normalized (its output still scales with the
        weights' norm).

    Returns:
      A `keras.Model` mapping `[batch, latent_dim]` to points `[batch, output_dim]` in data space.
    """
    z = keras.Input((latent_dim,), name="z")
    h = z
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units,
            kernel_initializer=_mlp_init(init_stddev, _seed(seed, i)),
            name=f"hidden_{i}",
        )(h)
        if batch_norm:
            h = batch_normalization(
                slots=batch_norm_slots,
                momentum=batch_norm_momentum,
                epsilon=batch_norm_epsilon,
                name=f"bn_{i}",
            )(h)
        h = keras.layers.ReLU(name=f"relu_{i}")(h)
    x = keras.layers.Dense(
        output_dim,
        kernel_initializer=_mlp_init(init_stddev, _seed(seed, 100)),
        dtype="float32",
        name="output",
    )(h)
    return keras.Model(z, x, name=name)


def maxout_discriminator(
    input_dim=2, units=200, pieces=5, num_layers=3, seed=None, name="discriminator",
    init_stddev=0.0,
):
    """PacGAN's 2-D discriminator: 3 maxout layers of 200 units x 5 pieces -> 1 logit.

    `init_stddev`: 0 for Glorot-uniform kernels; s > 0 for N(0, s^2) (PacGAN's code: 0.02).

    Returns:
      A `keras.Model` mapping `[batch, input_dim]` to logits `[batch, 1]` (float32).
    """
    x = keras.Input((input_dim,), name="x")
    h = x
    for i in range(num_layers):
        h = Maxout(
            units,
            pieces,
            kernel_initializer=_mlp_init(init_stddev, _seed(seed, i)),
            name=f"maxout_{i}",
        )(h)
    logits = keras.layers.Dense(
        1,
        kernel_initializer=_mlp_init(init_stddev, _seed(seed, 100)),
        dtype="float32",
        name="logit",
    )(h)
    return keras.Model(x, logits, name=name)



# ---------------------------------------------------------------------------------------------------
# DCGAN (Radford et al. 2015, docs/references.md §4) and its conditional / auxiliary-classifier /
# energy-based variants.
# ---------------------------------------------------------------------------------------------------

_DCGAN_NORMALIZATIONS = ("batch", "layer", "virtual_batch", "none")


def _dcgan_plan(image_shape):
    """`(start_size, num_upsamplings)` with `start_size * 2**n == H`, `3 <= start_size <= 7`."""
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(
            f"DCGAN nets need square images (H, W, C). Received: shape={tuple(image_shape)}"
        )
    size, n = int(image_shape[0]), 0
    while size > 7 and size % 2 == 0:
        size, n = size // 2, n + 1
    if size < 3 or size > 7 or n < 1:
        raise ValueError(
            "DCGAN nets need H = W = s * 2**n with 3 <= s <= 7 and n >= 1 (28, 32, 64, ...). "
            f"Received: shape={tuple(image_shape)}"
        )
    return size, n


def _dcgan_init(seed, offset):
    return keras.initializers.RandomNormal(0.0, 0.02, seed=_seed(seed, offset))


def _normalization(kind, name, reference_size=None):
    if kind == "batch":
        return batch_normalization(momentum=0.9, epsilon=1e-5, name=name)
    if kind == "layer":
        return keras.layers.LayerNormalization(epsilon=1e-5, name=name)
    if kind == "virtual_batch":
        return VirtualBatchNormalization(reference_size=reference_size, name=name)
    return None


def dcgan_generator(
    latent_dim=100,
    output_shape=(28, 28, 1),
    base_filters=64,
    num_classes=None,
    seed=None,
    name="generator",
    kernel_size=4,
    normalization="batch",
    reference_size=64,
    label_embedding_dim=50,
):
    """DCGAN generator: project z, then fractionally-strided convolutions up to the image.

    `z -> Dense(s*s*F*2^(n-1)) -> BN -> ReLU -> [ConvT stride 2 -> BN -> ReLU] x (n-1)
    -> ConvT stride 2 -> tanh`, with `s * 2^n = H` (28 = 7*4, 32 = 4*8, 64 = 4*16), no pooling,
    no batch norm on the output, weights ~ N(0, 0.02).

    Args:
      latent_dim: size of z.
      output_shape: `(H, W, C)`: (28, 28, 1), (32, 32, 3), (64, 64, 3), ...
      base_filters: F, the width of the last hidden layer; earlier layers double it.
      num_classes: if set, class-conditional (Mirza & Osindero 2014): the model takes
        `[z, labels]` (labels int `[batch]`), and a learned label embedding is concatenated to z.
      seed: optional int for reproducible initial weights.
      kernel_size: of the transposed convolutions.
      normalization: "batch" (DCGAN), "virtual_batch" (Salimans et al. 2016: statistics of a fixed
        reference batch of `reference_size` inputs, see `VirtualBatchNormalization`), "layer", or
        "none".
      reference_size: reference batch size for `normalization="virtual_batch"`.
      label_embedding_dim: size of the label embedding when conditional.

    Returns:
      A `keras.Model` mapping z `[batch, latent_dim]` (or `[z, labels]`) to float32 images
      `[batch, H, W, C]` in [-1, 1] (tanh output): train it on data scaled to [-1, 1].
    """
    if normalization not in _DCGAN_NORMALIZATIONS:
        raise ValueError(
            f"Unknown normalization {normalization!r}. Valid choices: {list(_DCGAN_NORMALIZATIONS)}"
        )
    if int(base_filters) < 1:
        raise ValueError(f"base_filters must be >= 1. Received: base_filters={base_filters}")
    size, n = _dcgan_plan(output_shape)
    channels = int(output_shape[-1])
    z = keras.Input((latent_dim,), name="z")
    inputs, h = z, z
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="label")
        inputs = [z, labels]
        emb = keras.layers.Embedding(
            num_classes,
            label_embedding_dim,
            embeddings_initializer=_dcgan_init(seed, 90),
            name="label_embedding",
        )(labels)
        h = keras.layers.Concatenate(name="z_and_label")([z, emb])
    if normalization == "virtual_batch":
        h = ReferenceBatch(reference_size, seed=_seed(seed, 95), name="reference_batch")(h)
    filters = int(base_filters) * 2 ** (n - 1)
    h = keras.layers.Dense(
        size * size * filters,
        use_bias=normalization == "none",
        kernel_initializer=_dcgan_init(seed, 0),
        name="project",
    )(h)
    h = keras.layers.Reshape((size, size, filters), name="reshape")(h)
    norm = _normalization(normalization, "norm_0", reference_size)
    if norm is not None:
        h = norm(h)
    h = keras.layers.ReLU(name="relu_0")(h)
    for i in range(1, n):
        filters //= 2
        h = keras.layers.Conv2DTranspose(
            max(filters, 1),
            kernel_size,
            strides=2,
            padding="same",
            use_bias=normalization == "none",
            kernel_initializer=_dcgan_init(seed, i),
            name=f"deconv_{i}",
        )(h)
        norm = _normalization(normalization, f"norm_{i}", reference_size)
        if norm is not None:
            h = norm(h)
        h = keras.layers.ReLU(name=f"relu_{i}")(h)
    h = keras.layers.Conv2DTranspose(
        channels,
        kernel_size,
        strides=2,
        padding="same",
        kernel_initializer=_dcgan_init(seed, 100),
        name="deconv_out",
    )(h)
    if normalization == "virtual_batch":
        h = StripReferenceBatch(reference_size, name="strip_reference")(h)
    x = keras.layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return keras.Model(inputs, x, name=name)


def dcgan_discriminator(
    input_shape=(28, 28, 1),
    base_filters=64,
    num_classes=None,
    minibatch_discrimination=False,
    spectral_norm=False,
    seed=None,
    name="discriminator",
    kernel_size=4,
    normalization="batch",
    aux_classifier=False,
    minibatch_kernels=50,
    minibatch_kernel_dim=5,
):
    """DCGAN discriminator: strided convolutions with LeakyReLU(0.2) down to a single logit.

    `x -> Conv stride 2 -> LReLU -> [Conv stride 2 -> BN -> LReLU] x (n-1) -> flatten
    -> [minibatch discrimination] -> Dense 1`, widths F, 2F, 4F, ..., no batch norm on the input
    layer, no pooling, weights ~ N(0, 0.02).

    Args:
      input_shape: `(H, W, C)`, as for `dcgan_generator`.
      base_filters: F, width of the first convolution.
      num_classes: if set (and `aux_classifier=False`), a projection discriminator
        (Miyato & Koyama 2018): the model takes `[x, labels]` and returns
        `logit = psi(phi(x)) + <embed(label), phi(x)>`.
      minibatch_discrimination: append `MinibatchDiscrimination` features (Salimans et al. 2016)
        before the output layer.
      spectral_norm: wrap every convolution and dense layer in `keras.layers.SpectralNormalization`
        (Miyato et al. 2018). Usually combined with `normalization="none"`.
      seed: optional int for reproducible initial weights.
      kernel_size: of the convolutions.
      normalization: "batch" (DCGAN), "layer" (for gradient-penalty critics, where batch norm would
        couple the examples whose gradients are penalized), or "none".
      aux_classifier: AC-GAN (Odena et al. 2017): needs `num_classes`; the model takes only `x` and
        returns `[logit [batch, 1], class_logits [batch, num_classes]]`.
      minibatch_kernels, minibatch_kernel_dim: B and C of `MinibatchDiscrimination`.

    Returns:
      A `keras.Model` returning float32 logits `[batch, 1]` (no sigmoid), or
      `[logits, class_logits]` with `aux_classifier=True`.
    """
    if normalization not in ("batch", "layer", "none"):
        raise ValueError(
            f"Unknown normalization {normalization!r}. Valid choices: ['batch', 'layer', 'none']"
        )
    if aux_classifier and num_classes is None:
        raise ValueError("aux_classifier=True needs num_classes. Received: num_classes=None")
    if int(base_filters) < 1:
        raise ValueError(f"base_filters must be >= 1. Received: base_filters={base_filters}")
    _, n = _dcgan_plan(input_shape)

    def wrap(layer):
        if spectral_norm:
            return keras.layers.SpectralNormalization(layer, name=f"sn_{layer.name}")
        return layer

    x = keras.Input(tuple(input_shape), name="x")
    inputs, h = x, x
    for i in range(n):
        h = wrap(
            keras.layers.Conv2D(
                int(base_filters) * 2**i,
                kernel_size,
                strides=2,
                padding="same",
                use_bias=i == 0 or normalization == "none",
                kernel_initializer=_dcgan_init(seed, i),
                name=f"conv_{i}",
            )
        )(h)
        if i > 0:
            norm = _normalization(normalization, f"norm_{i}")
            if norm is not None:
                h = norm(h)
        h = keras.layers.LeakyReLU(0.2, name=f"lrelu_{i}")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    if minibatch_discrimination:
        h = MinibatchDiscrimination(
            minibatch_kernels,
            minibatch_kernel_dim,
            kernel_initializer=_dcgan_init(seed, 80),
            name="minibatch_discrimination",
        )(h)
    logits = wrap(
        keras.layers.Dense(
            1, kernel_initializer=_dcgan_init(seed, 100), dtype="float32", name="logit"
        )
    )(h)
    if num_classes is not None and aux_classifier:
        class_logits = wrap(
            keras.layers.Dense(
                num_classes,
                kernel_initializer=_dcgan_init(seed, 101),
                dtype="float32",
                name="class_logits",
            )
        )(h)
        return keras.Model(x, [logits, class_logits], name=name)
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="label")
        inputs = [x, labels]
        emb = keras.layers.Embedding(
            num_classes,
            int(h.shape[-1]),
            embeddings_initializer=_dcgan_init(seed, 90),
            dtype="float32",
            name="label_projection",
        )(labels)
        h32 = keras.layers.Activation("linear", dtype="float32", name="features_f32")(h)
        proj = keras.layers.Dot(axes=-1, dtype="float32", name="projection")([emb, h32])
        logits = keras.layers.Add(dtype="float32", name="logit_plus_projection")([logits, proj])
    return keras.Model(inputs, logits, name=name)


def ebgan_discriminator(
    input_shape=(28, 28, 1),
    base_filters=64,
    hidden_units=(256, 256),
    code_dim=32,
    seed=None,
    name="discriminator",
    kernel_size=4,
):
    """EBGAN's autoencoder discriminator (Zhao et al. 2016): returns the energy, not a logit.

    `D(x) = ||Dec(Enc(x)) - x||^2 / dim(x)`, the per-example mean squared reconstruction error
    (low energy = "real"). Images use a DCGAN-shaped convolutional encoder (strided convs, LReLU)
    and a mirrored transposed-convolution decoder; points `(d,)` use an MLP autoencoder.

    Args:
      input_shape: `(H, W, C)` images (square, as for DCGAN) or `(d,)` points.
      base_filters: width of the first convolution (images).
      hidden_units: encoder widths for points; the decoder mirrors them.
      code_dim: size of the bottleneck (points) / channels of the bottleneck map (images).
      seed: optional int for reproducible initial weights.

    Returns:
      A `keras.Model` mapping `[batch, *input_shape]` to float32 energies `[batch, 1]` >= 0.
      Pair it with `loss="ebgan"`.
    """
    x = keras.Input(tuple(input_shape), name="x")
    h = x
    if len(input_shape) == 1:
        for i, units in enumerate(hidden_units):
            h = keras.layers.Dense(
                units, kernel_initializer=_dcgan_init(seed, i), name=f"enc_{i}"
            )(h)
            h = keras.layers.LeakyReLU(0.2, name=f"enc_lrelu_{i}")(h)
        h = keras.layers.Dense(code_dim, kernel_initializer=_dcgan_init(seed, 20), name="code")(h)
        for i, units in enumerate(reversed(hidden_units)):
            h = keras.layers.Dense(
                units, kernel_initializer=_dcgan_init(seed, 30 + i), name=f"dec_{i}"
            )(h)
            h = keras.layers.LeakyReLU(0.2, name=f"dec_lrelu_{i}")(h)
        recon = keras.layers.Dense(
            int(input_shape[0]),
            kernel_initializer=_dcgan_init(seed, 100),
            dtype="float32",
            name="reconstruction",
        )(h)
    else:
        _, n = _dcgan_plan(input_shape)
        for i in range(n):
            h = keras.layers.Conv2D(
                int(base_filters) * 2**i,
                kernel_size,
                strides=2,
                padding="same",
                kernel_initializer=_dcgan_init(seed, i),
                name=f"enc_{i}",
            )(h)
            h = keras.layers.LeakyReLU(0.2, name=f"enc_lrelu_{i}")(h)
        h = keras.layers.Conv2D(
            code_dim, 1, kernel_initializer=_dcgan_init(seed, 20), name="code"
        )(h)
        for i in reversed(range(1, n)):
            h = keras.layers.Conv2DTranspose(
                int(base_filters) * 2 ** (i - 1),
                kernel_size,
                strides=2,
                padding="same",
                kernel_initializer=_dcgan_init(seed, 30 + i),
                name=f"dec_{i}",
            )(h)
            h = keras.layers.LeakyReLU(0.2, name=f"dec_lrelu_{i}")(h)
        recon = keras.layers.Conv2DTranspose(
            int(input_shape[-1]),
            kernel_size,
            strides=2,
            padding="same",
            kernel_initializer=_dcgan_init(seed, 100),
            dtype="float32",
            name="reconstruction",
        )(h)
    energy = ReconstructionEnergy(name="energy")([x, recon])
    return keras.Model(x, energy, name=name)


# ------------------------------------------------------------------------------------ registry
# The networks a config names (`model.generator`, `model.discriminator`). Each builder takes the
# config and the dataset's `tfgan_orig.data.DataInfo`; a network name is valid for the data kinds
# listed, and a generator's output range decides how the training images are scaled.
def num_classes(config, info):
    """The label count a conditional model embeds (`model.conditional`), else None."""
    return info.num_classes if config.model.conditional else None


def discriminator_input_shape(config, info):
    """What D sees: one example, or with packing (`model.pack` = m > 1, PacGAN) m examples
    concatenated along the last axis (`tfgan_orig.regularizers.pack_rows`)."""
    shape = tuple(info.shape)
    return shape[:-1] + (shape[-1] * config.model.pack,)


def _paper_generator_from(config, info, output_bias):
    m = config.model
    return paper_generator(
        latent_dim=m.latent_dim,
        hidden_units=tuple(m.g_hidden_units),
        output_shape=info.shape,
        output_bias=output_bias,
        init_scale=m.g_init_scale,
        seed=config.seed,
    )


def _mlp_generator_from(config, info, output_bias):
    del output_bias  # linear output: no data-dependent bias
    m = config.model
    return mlp_generator(
        latent_dim=m.latent_dim,
        output_dim=int(np.prod(info.shape)),
        hidden_units=tuple(m.g_hidden_units),
        batch_norm=m.g_batch_norm,
        seed=config.seed,
        init_stddev=m.mlp_init_stddev,
        batch_norm_momentum=m.g_batch_norm_momentum,
        batch_norm_slots=m.g_batch_norm_slots,
        batch_norm_epsilon=m.g_batch_norm_epsilon,
    )


def _dcgan_generator_from(config, info, output_bias):
    del output_bias  # tanh output: no data-dependent bias
    m = config.model
    return dcgan_generator(
        latent_dim=m.latent_dim,
        output_shape=info.shape,
        base_filters=m.base_filters,
        num_classes=num_classes(config, info),
        seed=config.seed,
        normalization=m.g_normalization,
        reference_size=m.vbn_reference_size,
    )


def _paper_discriminator_from(config, info):
    m = config.model
    return paper_discriminator(
        input_shape=discriminator_input_shape(config, info),
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        input_keep=m.d_input_keep,
        hidden_keep=m.d_hidden_keep,
        init_scale=m.d_init_scale,
        seed=config.seed + 1000,
    )


def _maxout_discriminator_from(config, info):
    m = config.model
    return maxout_discriminator(
        input_dim=int(np.prod(discriminator_input_shape(config, info))),
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        seed=config.seed + 1000,
        init_stddev=m.mlp_init_stddev,
    )


def _dcgan_discriminator_from(config, info):
    m = config.model
    return dcgan_discriminator(
        input_shape=discriminator_input_shape(config, info),
        base_filters=m.base_filters,
        num_classes=num_classes(config, info),
        minibatch_discrimination=m.minibatch_discrimination,
        spectral_norm=m.spectral_norm,
        seed=config.seed + 1000,
        normalization=m.d_normalization,
        aux_classifier=m.aux_classifier,
    )


def _ebgan_discriminator_from(config, info):
    m = config.model
    return ebgan_discriminator(
        input_shape=discriminator_input_shape(config, info),
        base_filters=m.base_filters,
        hidden_units=tuple(m.ebgan_hidden_units),
        code_dim=m.ebgan_code_dim,
        seed=config.seed + 1000,
    )


# name -> (builder(config, info, output_bias), data kinds it handles, output value range or None)
GENERATORS = {
    "paper": (_paper_generator_from, ("image",), (0.0, 1.0)),
    "mlp": (_mlp_generator_from, ("points",), None),
    "dcgan": (_dcgan_generator_from, ("image",), (-1.0, 1.0)),
}
# name -> (builder(config, info), data kinds it handles)
DISCRIMINATORS = {
    "paper": (_paper_discriminator_from, ("image", "points")),
    "maxout": (_maxout_discriminator_from, ("points",)),
    "dcgan": (_dcgan_discriminator_from, ("image",)),
    "ebgan": (_ebgan_discriminator_from, ("image", "points")),
}


def build_generator(config, info, output_bias=None):
    """The generator `config.model.generator` names, for data described by `info`."""
    return GENERATORS[config.model.generator][0](config, info, output_bias)


def build_discriminator(config, info):
    """The discriminator `config.model.discriminator` names, for data described by `info`."""
    return DISCRIMINATORS[config.model.discriminator][0](config, info)


def value_range(generator_name):
    """The data range a generator produces, e.g. (-1, 1) for tanh; (0, 1) when it is unbounded."""
    value_range = GENERATORS[generator_name][2]
    return (0.0, 1.0) if value_range is None else value_range
