"""`GAN`: the adversarial nets of Goodfellow et al. (2014) as a `keras.Model` that `fit` trains.

One `train_step` is one iteration of the paper's Algorithm 1:

    for j in 1..k:                                     # k = d_steps
        sample a real minibatch x_j and noise z_j
        ascend  (1/m) sum log D(x_j) + log(1 - D(G(z_j)))    (i.e. descend the D loss;
                                                   its scale: tfgan_orig.losses)
    sample noise z
    descend the generator loss of D(G(z))

The dataset therefore yields batches of `k * m` examples; the j-th D update takes the examples
`j, j + k, j + 2k, ...` of the batch (a strided split, so that a data-parallel split of the batch
across replicas gives every replica its share of every minibatch). With `d_steps=1` a batch is one
minibatch, as users expect. Any batch size is trained exactly, on any number of replicas, with
shares of any size (a batch not divisible by k or by the replicas, the partial last batch of
`fit(x, batch_size=...)`): minibatch j has its `ceil((B - j) / k)` rows, each D loss is the mean
over its rows with as many noise rows, G's update takes `floor(B / k)` noise rows, and the result
is the one-device result.

Each network's own losses are part of its objective: Keras weight regularizers once per update
(under R replicas each adds 1/R; gradients are summed), and what it adds in its calls (`add_loss`,
activity regularizers; D's on its real and generated rows) as the mean over the global minibatch.
They are logged as `d_reg` / `g_reg` (0 without any); `d_loss` / `g_loss` are the GAN losses alone.

The model composes two seams and adds nothing of its own to the maths:
- the *objective* (`tfgan_orig.losses.Objective`, from `compile(loss=...)`): D's and G's
  per-row losses and how D's output is logged;
- the *regularizers* (`tfgan_orig.regularizers`): input transforms, extra D / G terms and
  after-update actions. `compile`'s flat options build them: `gradient_penalty_weight` (WGAN-GP),
  `clip_value` (WGAN weight clipping), `instance_noise_std` / `instance_noise_decay_steps`,
  `r1_gamma` / `r2_gamma` / `penalty_every` (zero-centred penalties, optionally lazy);
  `GAN(pack=m)` adds packing (PacGAN: D judges m samples at once); `GAN(aux_classifier=True)`
  adds AC-GAN (D returns `[logit, class_logits]` and does not see labels);
  `compile(regularizers=[...])` appends the user's own.
Besides: `compile(unrolled_steps=...)` (the unrolled GAN, `tfgan_orig.unrolled`),
`compile(update_order="simultaneous")` (both networks' gradients from one forward pass at the same
weights, ALI's and PacGAN's loop, instead of Algorithm 1's alternation; `GAN.simultaneous_step`) and
`GAN(ema_decay=...)` (an exponential moving average of G, `ema_generator`, `tfgan_orig.ema`).

Distribution (tf.distribute) is handled here, in one place:
- per-replica losses are `sum(per-row loss) / global number of D rows`, so the optimizers' SUM
  all-reduce of gradients gives exactly the single-device gradient of the mean loss;
- every random draw (z, labels, instance noise, GP's alpha) is drawn for the *global* minibatch
  from a stateless seed (seed, step, draw, stream) and each replica keeps its own rows
  (`tfgan_orig.randomness`): replicas draw different values, and the result does not depend on the
  number of replicas;
- logged values are unscaled per-row means, weighted by row counts;
- optimizers are built at `compile` time (inside the user's `strategy.scope()`), avoiding
  keras-team/keras#23085;
- under MultiWorkerMirroredStrategy the logs are returned with shape [1] because Keras 3.15 reduces
  them with `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars (keras-team/keras#20585).
"""

import functools

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import ema as ema_lib
from tfgan_orig import layers as layers_lib
from tfgan_orig import losses as losses_lib
from tfgan_orig import randomness
from tfgan_orig import regularizers as regularizers_lib
from tfgan_orig import unrolled as unrolled_lib
from tfgan_orig.loss_scaling import ReplicaSafeLossScaleOptimizer
from tfgan_orig.randomness import NOISE_TYPES
from tfgan_orig.regularizers import Judged

__all__ = ["GAN", "NOISE_TYPES", "STANDING_DRAWS", "STANDING_STREAM", "UPDATE_ORDERS"]

# `compile(update_order=...)` -> the method that performs one step's updates.
UPDATE_ORDERS = {"alternating": "_alternating_updates", "simultaneous": "_simultaneous_updates"}

STANDING_DRAWS = 10000  # latent draws for the EMA generator's own batch-norm statistics
STANDING_STREAM = 0x57A9D  # their random stream, apart from the seeds `generate` samples from


def _unpack(data):
    """`images` or `(images, labels)` (or `(images, labels, weights)`) -> (images, labels|None)."""
    if isinstance(data, (tuple, list)):
        images = data[0]
        labels = data[1] if len(data) > 1 else None
        return images, labels
    if isinstance(data, dict):
        return data["image"], data.get("label")
    return data, None


@keras.saving.register_keras_serializable(package="tfgan_orig")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by `fit`.

    Args:
      generator: a Keras model `z [batch, latent_dim] -> samples` (or `[z, labels] -> samples`
        when `num_classes` is set).
      discriminator: a Keras model `samples -> logits [batch, 1]` (or `[samples, labels] -> logits`).
      latent_dim: size of z.
      d_steps: k of Algorithm 1, discriminator updates per generator update (>= 1).
      noise: "normal" (N(0, I)) or "uniform" (U(-sqrt 3, sqrt 3), unit variance, as the authors').
      seed: int seeding the training noise; `None` picks one at random (recorded in `get_config`).
      num_classes: if set, a class-conditional GAN: labels are fed to both networks.
      ema_decay: if set (in [0, 1)), keep `ema_generator`, a copy of G whose trainable weights are
        the exponential moving average `w_ema <- d w_ema + (1 - d) w` after every G update (its
        non-trainable weights, e.g. batch-norm statistics, are copied). `generate(use_ema=True)`
        and `export_generator(use_ema=True)` use it, first giving it batch-norm statistics of its
        own (`refresh_ema_statistics`): the copied ones belong to the live weights.
      aux_classifier: AC-GAN (Odena et al. 2017); needs `num_classes`. D sees only the samples and
        returns `[logits [batch, 1], class_logits [batch, num_classes]]`; the class cross-entropy
        (times `aux_classifier_weight`) is added to D's loss on real and generated examples and to
        G's loss on generated ones (`regularizers.AuxiliaryClassifier`).
      aux_classifier_weight: weight of that class cross-entropy.
      pack: m of PacGAN (Lin et al. 2018): D judges m samples at once, the concatenation of m
        consecutive real (or generated) examples along the last axis, so D's input has m times
        the sample's last dimension and a minibatch of B examples gives B / m D rows
        (`regularizers.Packing`). 1 = off. A property of D's architecture, hence set here.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        d_steps=1,
        noise="normal",
        seed=None,
        num_classes=None,
        ema_decay=None,
        aux_classifier=False,
        aux_classifier_weight=1.0,
        pack=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if noise not in NOISE_TYPES:
            raise ValueError(f"Unknown noise {noise!r}. Valid choices: {list(NOISE_TYPES)}.")
        if int(d_steps) != d_steps or d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1. Received: d_steps={d_steps}")
        if int(latent_dim) != latent_dim or latent_dim < 1:
            raise ValueError(f"latent_dim must be an integer >= 1. Received: latent_dim={latent_dim}")
        if num_classes is not None and (int(num_classes) != num_classes or num_classes < 2):
            raise ValueError(f"num_classes must be None or >= 2. Received: num_classes={num_classes}")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be None or in [0, 1). Received: ema_decay={ema_decay}")
        if aux_classifier and num_classes is None:
            raise ValueError("aux_classifier=True needs num_classes. Received: num_classes=None")
        if int(pack) != pack or pack < 1:
            raise ValueError(f"pack must be an integer >= 1. Received: pack={pack}")
        if pack > 1 and num_classes is not None:
            raise ValueError(
                f"pack > 1 does not support conditional GANs. Received: pack={pack}, "
                f"num_classes={num_classes}"
            )
        self.pack = int(pack)
        self._packing = regularizers_lib.Packing(self.pack) if self.pack > 1 else None
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.aux_classifier = bool(aux_classifier)
        self.aux_classifier_weight = float(aux_classifier_weight)
        self._aux_regularizer = (
            regularizers_lib.AuxiliaryClassifier(self.aux_classifier_weight)
            if self.aux_classifier
            else None
        )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.noise = noise
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self.num_classes = None if num_classes is None else int(num_classes)
        # Counts generator updates; with `seed` it determines all training noise. It lives in the
        # model's weights, so checkpoints and `.keras` files carry the noise RNG state.
        self.step_counter = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="int64",
            trainable=False,
            aggregation="only_first_replica",
            name="step_counter",
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        # The networks' own losses (weight regularizers, add_loss): their global value per update.
        self.d_reg_tracker = keras.metrics.Mean(name="d_reg")
        self.g_reg_tracker = keras.metrics.Mean(name="g_reg")
        self._build_networks()
        self.ema_generator = None if self.ema_decay is None else ema_lib.clone(generator)
        self._ema_statistics_key = None  # what the EMA statistics were last recomputed for

    # -------------------------------------------------------------------------------- building
    def _build_networks(self):
        """Creates all network variables now (eagerly, in the caller's strategy scope)."""
        z = tf.zeros((self.pack, self.latent_dim))
        labels = tf.zeros((self.pack,), tf.int32)
        fake = self.generator(self._g_inputs(z, labels), training=False)
        d_rows = fake if self._packing is None else regularizers_lib.pack_rows(fake, self.pack)
        self.discriminator(self._d_net_inputs(d_rows, labels), training=False)
        self.sample_shape = tuple(int(d) for d in fake.shape[1:])
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Everything is built in __init__. Keras' symbolic build would pull a batch from the
        # distributed iterator and, under MultiWorkerMirroredStrategy, fail to convert PerReplica
        # values eagerly (keras-team/keras#20585).
        return

    def _g_inputs(self, z, labels):
        return z if self.num_classes is None else [z, labels]

    def _d_net_inputs(self, x, labels):
        return x if self.num_classes is None or self.aux_classifier else [x, labels]

    # -------------------------------------------------------------------------------- compile
    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        loss="non_saturating",
        label_smoothing=0.0,
        gradient_penalty_weight=0.0,
        clip_value=None,
        instance_noise_std=0.0,
        instance_noise_decay_steps=None,
        unrolled_steps=0,
        unrolled_learning_rate=None,
        ebgan_margin=1.0,
        r1_gamma=0.0,
        r2_gamma=0.0,
        penalty_every=1,
        regularizers=(),
        update_order="alternating",
        **kwargs,
    ):
        """Configures training.

        Args:
          d_optimizer, g_optimizer: Keras optimizers (or their names/configs). Default Adam(2e-4, 0.5).
          loss: a name in `tfgan_orig.losses.LOSSES` ("minimax", "non_saturating",
            "maximum_likelihood", "wasserstein", "least_squares", "hinge", "ebgan", "rpgan"), a
            `losses.Objective`, or a
            `(d_loss_fn, g_loss_fn)` pair of per-example functions of D's outputs
            (`losses.objective`).
          label_smoothing: one-sided smoothing; real target = 1 - label_smoothing, fake target 0.
            Only for the cross-entropy losses and "least_squares" (`losses.SMOOTHABLE_LOSSES`).
          gradient_penalty_weight: lambda of WGAN-GP (Gulrajani et al. 2017; 10 in the paper); 0 =
            off. Adds `regularizers.GradientPenalty(lambda)`.
          clip_value: c of WGAN (Arjovsky et al. 2017): after every D update every trainable D
            weight is clipped to [-c, c]; None = off. Adds `regularizers.WeightClipping(c)`.
          instance_noise_std: sigma_0 of instance noise (Sonderby et al. 2016): N(0, sigma^2) noise
            on every input D sees, real and generated, in D's and G's updates; 0 = off. Adds
            `regularizers.InstanceNoise(sigma_0, instance_noise_decay_steps)`.
          instance_noise_decay_steps: anneal sigma linearly from sigma_0 (generator step 0) to 0
            (this step and after); `None` keeps it constant.
          unrolled_steps: k of the unrolled GAN (Metz et al. 2017): G's loss is computed against D
            after k differentiable gradient-descent steps on D's loss (the same D objective, with
            its regularizer terms, on this step's fakes and the last real minibatch); D's own
            update is unchanged. 0 = off. See `tfgan_orig.unrolled`.
          unrolled_learning_rate: step size of those unrolled steps; `None` uses the D optimizer's
            current learning rate.
          ebgan_margin: m of the "ebgan" loss.
          r1_gamma: gamma of R1 (Mescheder et al. 2018), `(gamma/2) ||grad_x D(x)||^2` on real
            rows; 0 = off. Adds `regularizers.R1(gamma, penalty_every)`.
          r2_gamma: gamma of R2, the same on generated rows; 0 = off. Adds `regularizers.R2`.
          penalty_every: N of lazy R1 / R2 (StyleGAN2): applied every N-th D update, times N.
          regularizers: more `tfgan_orig.regularizers.Regularizer` objects; their hooks run after
            those that the options above build.
          update_order: "alternating" (Algorithm 1: k D updates, then G's update against the
            updated D on fresh noise) or "simultaneous" (D's and G's gradients from one forward
            pass at the same weights, then both applied: ALI's and PacGAN's loop,
            `simultaneous_step`; needs `d_steps=1` and `unrolled_steps=0`).
          **kwargs: passed to `keras.Model.compile` (`steps_per_execution`, `jit_compile`, ...).
            `jit_compile=True` under a multi-replica strategy is turned off with a logged note.
        """
        self.objective = losses_lib.objective(loss, label_smoothing, ebgan_margin)
        if int(unrolled_steps) != unrolled_steps or unrolled_steps < 0:
            raise ValueError(
                f"unrolled_steps must be an integer >= 0. Received: unrolled_steps={unrolled_steps}"
            )
        if not isinstance(update_order, str) or update_order not in UPDATE_ORDERS:
            raise ValueError(
                f"Unknown update_order {update_order!r}. Valid choices: {list(UPDATE_ORDERS)}."
            )
        if update_order == "simultaneous" and (self.d_steps != 1 or unrolled_steps):
            raise ValueError(
                "update_order='simultaneous' takes one D and one G update from the same forward "
                "pass: it needs d_steps=1 and unrolled_steps=0. Received: "
                f"d_steps={self.d_steps}, unrolled_steps={unrolled_steps}"
            )
        self.update_order = update_order
        noise = regularizers_lib.InstanceNoise(instance_noise_std, instance_noise_decay_steps)
        regularizers = list(regularizers)
        self.regularizers = regularizers_lib.from_options(
            instance_noise=noise,
            packing=self._packing,
            gradient_penalty_weight=gradient_penalty_weight,
            r1_gamma=r1_gamma,
            r2_gamma=r2_gamma,
            penalty_every=penalty_every,
            clip_value=clip_value,
            aux_classifier=self._aux_regularizer,
            extra=regularizers,
        )
        self.user_regularizers = list(regularizers)
        # The flat options, as given (get_compile_config, and for reading back).
        self.loss_name = self.objective.name
        self.label_smoothing = float(label_smoothing)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.instance_noise_std = noise.stddev
        self.instance_noise_decay_steps = noise.decay_steps
        self.unrolled_steps = int(unrolled_steps)
        self.unrolled_learning_rate = (
            None if unrolled_learning_rate is None else float(unrolled_learning_rate)
        )
        self.ebgan_margin = float(ebgan_margin)
        self.r1_gamma, self.r2_gamma = float(r1_gamma), float(r2_gamma)
        self.penalty_every = int(penalty_every)
        self.d_optimizer = self._prepare_optimizer(d_optimizer, "d_optimizer")
        self.g_optimizer = self._prepare_optimizer(g_optimizer, "g_optimizer")
        strategy = tf.distribute.get_strategy()
        if kwargs.get("jit_compile") is True and (
            strategy.num_replicas_in_sync > 1 or tf.distribute.has_strategy()
        ):
            logging.info(
                "jit_compile=True is not supported by Keras under a tf.distribute strategy "
                "(%s, %d replicas); training without XLA.",
                type(strategy).__name__,
                strategy.num_replicas_in_sync,
            )
            kwargs["jit_compile"] = False
        super().compile(**kwargs)
        # Build both optimizers' slots now, in the caller's strategy scope (keras#23085).
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def _prepare_optimizer(self, optimizer, name):
        if optimizer is None:
            optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, name=name)
        else:
            optimizer = keras.optimizers.get(optimizer)
        policy = keras.config.dtype_policy()
        if policy.compute_dtype == "float16" and not isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer
        ):
            # Loss scaling keeps float16 gradients from underflowing; a step whose scaled gradients
            # overflow on any replica is skipped on all of them and the scale halved.
            optimizer = ReplicaSafeLossScaleOptimizer(optimizer, name=f"{name}_loss_scaled")
        return optimizer

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or self.loss_name == "custom":
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "label_smoothing": self.label_smoothing,
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "clip_value": self.clip_value,
            "instance_noise_std": self.instance_noise_std,
            "instance_noise_decay_steps": self.instance_noise_decay_steps,
            "unrolled_steps": self.unrolled_steps,
            "unrolled_learning_rate": self.unrolled_learning_rate,
            "ebgan_margin": self.ebgan_margin,
            "r1_gamma": self.r1_gamma,
            "r2_gamma": self.r2_gamma,
            "penalty_every": self.penalty_every,
            "update_order": self.update_order,
            "regularizers": [keras.saving.serialize_keras_object(r) for r in self.user_regularizers],
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        config["regularizers"] = [
            keras.saving.deserialize_keras_object(r) for r in config.get("regularizers", [])
        ]
        self.compile(**config)

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
            self.d_reg_tracker,
            self.g_reg_tracker,
        ]

    # -------------------------------------------------------------------------------- sampling
    def call(self, inputs, training=False):
        """Generates samples: `inputs` is z `[batch, latent_dim]` (or `(z, labels)` if conditional)."""
        if self.num_classes is None:
            return self.generator(inputs, training=training)
        z, labels = inputs
        return self.generator([z, labels], training=training)

    def sample_latent(self, num, seed):
        """Noise `[num, latent_dim]` from the stateless seed `seed` (int or `[2]` int tensor)."""
        return randomness.sample_latent(num, seed, self.latent_dim, self.noise)

    def generate(self, num, seed=None, labels=None, batch_size=1000, use_ema=False):
        """Returns `num` samples as a numpy array; the same `seed` gives the same samples.

        Args:
          num: number of samples.
          seed: int; `None` draws a random one.
          labels: for a conditional GAN, int labels `[num]`; default cycles 0, 1, ..., n-1.
          batch_size: generator batch size (bounds memory for large `num`).
          use_ema: sample from `ema_generator` (needs `ema_decay`), with its own batch-norm
            statistics (`refresh_ema_statistics`).
        """
        if use_ema and self.ema_generator is None:
            raise ValueError(
                "use_ema=True needs a GAN built with ema_decay. Received: ema_decay=None"
            )
        if int(num) < 1:
            raise ValueError(f"num must be >= 1. Received: num={num}")
        if use_ema:
            self.refresh_ema_statistics()
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        z = self.sample_latent(int(num), int(seed))
        if self.num_classes is not None:
            labels = np.arange(num) % self.num_classes if labels is None else np.asarray(labels)
            if labels.shape != (num,) or labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(
                    f"labels must be {num} integers in [0, {self.num_classes}). "
                    f"Received: shape {labels.shape}, range [{labels.min()}, {labels.max()}]"
                )
            labels = tf.constant(labels, tf.int32)
        out = []
        for start in range(0, int(num), batch_size):
            zb = z[start : start + batch_size]
            lb = None if labels is None else labels[start : start + batch_size]
            out.append(self._generate_batch(zb, lb, bool(use_ema)).numpy())
        return np.concatenate(out, axis=0)

    def refresh_ema_statistics(self, num=STANDING_DRAWS, seed=0, batch_size=None, force=False):
        """Gives `ema_generator` batch-norm statistics of its own (`ema.standing_statistics`).

        `ema.update` copies the live generator's moving statistics, which normalize the live
        weights' activations, not the averaged ones': an EMA generator with batch norm must
        recompute them before it samples (PacGAN's ring8 after 5 epochs: 21.6% high-quality samples
        with copied statistics, 80.2% with its own; docs/mixtures.md). This runs the EMA generator
        on `num` latent draws (labels cycling over the classes) with batch statistics and stores
        their average. The draws come from stream `(seed, STANDING_STREAM)`, not the one
        `generate(num, seed)` samples from, so an evaluation is never scored on the draws its
        statistics were fitted on. `generate(use_ema=True)` and `export_generator(use_ema=True)`
        call it; it recomputes only when the averaged weights, the generator step or the arguments
        changed since the last time (after training, a restore or a hand edit of the weights).

        Args:
          num: latent draws (10,000 by default).
          seed: the stream's seed (fixed, so repeated calls give the same statistics).
          batch_size: rows per forward pass (`None`: `num` rows at once for vector samples, 500
            for images, bounding memory).
          force: recompute even if nothing changed.

        Returns:
          The number of batch-norm layers updated: 0 without an EMA, without batch norm, or when
          the statistics were already up to date.
        """
        if self.ema_generator is None:
            return 0
        if batch_size is None and len(self.sample_shape) > 1:
            batch_size = 500
        key = (int(num), int(seed), batch_size, int(self.step_counter.numpy()), self._ema_checksum())
        if not force and self._ema_statistics_key == key:
            return 0
        z = self.sample_latent(int(num), tf.constant([int(seed), STANDING_STREAM], tf.int64))
        inputs = z
        if self.num_classes is not None:
            inputs = [z, tf.constant(np.arange(int(num)) % self.num_classes, tf.int32)]
        updated = ema_lib.standing_statistics(self.ema_generator, inputs, batch_size)
        self._ema_statistics_key = key
        return updated

    def _ema_checksum(self):
        """Sum of the averaged (EMA) weights in float64: changes with every update or restore."""
        averaged = [
            e for w, e in zip(self.generator.weights, self.ema_generator.weights) if w.trainable
        ]
        return float(tf.add_n([tf.reduce_sum(tf.cast(e, tf.float64)) for e in averaged]))

    @tf.function(reduce_retracing=True)
    def _generate_batch(self, z, labels, use_ema=False):
        generator = self.ema_generator if use_ema else self.generator
        return generator(self._g_inputs(z, labels), training=False)

    # -------------------------------------------------------------------------------- training
    def _training_noise(self, local_batch, draw, window=None):
        """This replica's rows of the global (z, labels) batch of draw `draw` of the current step
        (`randomness.training_noise`; `window` None: equal shares of `local_batch`)."""
        return randomness.training_noise(
            local_batch, self.seed, self.step_counter, self.d_steps + 1, draw,
            self.sample_latent, self.num_classes, window,
        )

    def step_context(self, draw, phase="d", discriminator=None, window=None):
        """The `regularizers.Context` of draw `draw` of the current step (D: the model's D).

        `window`: this replica's `randomness.RowWindow` in the update's minibatch (None: equal
        shares).
        """
        net = self.discriminator if discriminator is None else discriminator
        return regularizers_lib.Context(
            functools.partial(self._judge, net),
            tf.cast(self.step_counter, tf.int64),
            draw,
            phase,
            self.seed,
            self.d_steps + 1,
            window=window,
            network=net if isinstance(net, keras.layers.Layer) else None,
            # Before compile there is no objective: D's output is read as a logit or score.
            realism=self.objective.realism if hasattr(self, "objective") else None,
        )

    def _judged(self, ctx, x, labels):
        """`Judged` rows: D's outputs on `x` and the losses D added in that call."""
        logits, class_logits = ctx.discriminator(x, labels)
        call_loss = None if ctx.network is None else regularizers_lib.call_loss(ctx.network)
        return Judged(x, labels, logits, class_logits, call_loss)

    def _judge(self, net, x, labels):
        """D's outputs on rows `x` -> (logits, class_logits or None); `net` is D or a stand-in."""
        out = net(self._d_net_inputs(x, labels), training=True)
        return (out[0], out[1]) if self.aux_classifier else (out, None)

    def _d_view(self, ctx, x, labels, role):
        """Rows as D sees them: every regularizer's `d_inputs`, in order."""
        for reg in self.regularizers:
            x, labels = reg.d_inputs(ctx, x, labels, role)
        return x, labels

    def discriminator_objective(self, ctx, real_x, real_labels, fake_x, fake_labels):
        """D's per-row loss on rows as D sees them: the objective's D loss plus every `d_terms`.

        The one place where D's objective is assembled (D updates and the unrolled look-ahead).

        Returns:
          (per-row loss `[rows]` float32, `Judged` real rows, `Judged` fake rows).
        """
        real = self._judged(ctx, real_x, real_labels)
        fake = self._judged(ctx, fake_x, fake_labels)
        per_row = self.objective.discriminator_loss(real.logits, fake.logits)
        for reg in self.regularizers:
            term = reg.d_terms(ctx, real, fake)
            if term is not None:
                per_row += term
        return per_row, real, fake

    def _track(self, tracker, per_row):
        # Sum and count (not mean and size): an empty share adds nothing instead of NaN.
        tracker.update_state(tf.reshape(tf.cast(per_row, tf.float32), [-1]))

    def _track_global(self, tracker, replica_part):
        """Logs a quantity whose global value is the sum of every replica's `replica_part`."""
        _, replicas = randomness.replica_info()
        tracker.update_state(replica_part * float(replicas))

    def discriminator_step(self, real, labels, draw, global_batch, window=None):
        """One D update on a real minibatch and fresh noise; returns nothing (updates trackers).

        `global_batch`: rows of the minibatch on all replicas; `window`: where this replica's rows
        sit in it (`randomness.RowWindow`; default: equal shares of `global_batch`).
        """
        local = tf.shape(real)[0]
        if window is None:
            window = randomness.RowWindow.equal_shares(local, global_batch)
        z, noise_labels = self._training_noise(local, draw, window)
        # Fakes are conditioned on the real minibatch's labels, so both halves share a label mix.
        fake_labels = labels if labels is not None else noise_labels
        fake = tf.stop_gradient(self.generator(self._g_inputs(z, fake_labels), training=True))
        ctx = self.step_context(draw, "d", window=window)
        real_x, real_labels = self._d_view(ctx, real, labels, "real")
        fake_x, fake_labels = self._d_view(ctx, fake, fake_labels, "fake")
        with tf.GradientTape() as tape:
            per_row, real_j, fake_j = self.discriminator_objective(
                ctx, real_x, real_labels, fake_x, fake_labels
            )
            rows = window.global_rows(tf.shape(per_row)[0])
            own = regularizers_lib.network_losses(
                self.discriminator, [real_j.call_loss, fake_j.call_loss], window
            )
            loss = tf.math.divide_no_nan(tf.reduce_sum(per_row), rows) + own
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self._apply_d_update(ctx, grads, per_row, real_j, fake_j, own)

    def generator_step(self, local_batch, global_batch, real=None, real_labels=None, window=None):
        """One G update on fresh noise.

        `real`: the last real minibatch; used when G's loss looks at real rows (unrolling, or an
        objective with `g_needs_real`, where it is paired row by row with this update's fakes).
        `global_batch`, `window`: as in `discriminator_step`, for G's `local_batch` rows.
        """
        if window is None:
            window = randomness.RowWindow.equal_shares(local_batch, global_batch)
        z, labels = self._training_noise(local_batch, self.d_steps, window)
        ctx = self.step_context(self.d_steps, "g", window=window)
        needs_real = self.unrolled_steps > 0 or self.objective.g_needs_real
        if needs_real:
            if real is None:
                raise ValueError("This G update needs the real minibatch. Received: real=None")
            real_labels = labels if real_labels is None else real_labels
            real, real_labels = self._d_view(ctx, real, real_labels, "real")
        with tf.GradientTape() as tape:
            fake = self.generator(self._g_inputs(z, labels), training=True)
            own = regularizers_lib.network_losses(
                self.generator, [regularizers_lib.call_loss(self.generator)], window
            )
            fake_x, fake_labels = self._d_view(ctx, fake, labels, "fake")
            rows = window.global_rows(tf.shape(fake_x)[0])
            if self.unrolled_steps:

                def d_loss(net):
                    per_row, _, _ = self.discriminator_objective(
                        ctx.with_discriminator(functools.partial(self._judge, net)),
                        real, real_labels, fake_x, fake_labels,
                    )
                    # D's weight regularizers at the look-ahead weights (its add_loss terms are
                    # not seen through the stateless copy).
                    own_d = regularizers_lib.network_losses(self.discriminator, [], window, net.theta)
                    return tf.math.divide_no_nan(tf.reduce_sum(per_row), rows) + own_d

                lr = self.unrolled_learning_rate
                lr = self.d_optimizer.learning_rate if lr is None else lr
                net = unrolled_lib.unroll(self.discriminator, d_loss, self.unrolled_steps, lr)
                ctx = ctx.with_discriminator(functools.partial(self._judge, net))
            # The paper's G loss goes through the same dropped-out D (training=True).
            fake_j = Judged(fake_x, fake_labels, *ctx.discriminator(fake_x, fake_labels))
            real_j = None
            if self.objective.g_needs_real:
                real_j = Judged(real, real_labels, *ctx.discriminator(real, real_labels))
            per_row = self.generator_objective(ctx, fake_j, real_j)
            loss = tf.math.divide_no_nan(tf.reduce_sum(per_row), rows) + own
            scaled = self.g_optimizer.scale_loss(loss)
        self._apply_g_update(tape.gradient(scaled, self.generator.trainable_variables), per_row, own)

    def generator_objective(self, ctx, fake, real=None):
        """G's per-row loss `[rows]` on D's outputs: the objective's G loss, times every
        `g_weights`, plus every `g_terms` (`fake`, `real`: `Judged`; `real` None unless the
        objective needs it)."""
        per_row = self.objective.generator_loss(fake.logits, None if real is None else real.logits)
        for reg in self.regularizers:
            weights = reg.g_weights(ctx, fake, real)
            if weights is not None:
                per_row *= weights
        for reg in self.regularizers:
            term = reg.g_terms(ctx, fake, real)
            if term is not None:
                per_row += term
        return per_row

    def _apply_d_update(self, ctx, grads, per_row, real, fake, own):
        """Applies D's gradients, runs the after-update hooks and logs the update."""
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
        for reg in self.regularizers:
            reg.after_d_update(ctx, self.discriminator)
        self._track(self.d_loss_tracker, per_row)
        self._track(self.d_real_tracker, self.objective.d_metric(real.logits))
        self._track(self.d_fake_tracker, self.objective.d_metric(fake.logits))
        self._track_global(self.d_reg_tracker, own)

    def _apply_g_update(self, grads, per_row, own):
        """Applies G's gradients, moves the EMA generator and logs the update."""
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        if self.ema_generator is not None:
            ema_lib.update(self.ema_generator, self.generator, self.ema_decay)
        self._track(self.g_loss_tracker, per_row)
        self._track_global(self.g_reg_tracker, own)

    def simultaneous_step(self, real, labels, window=None):
        """One D update and one G update from the same forward pass (simultaneous gradient steps).

            fakes = G(z);  L_D = D loss on (real, fakes);  L_G = G loss on D(fakes)
            theta_D <- theta_D - lr_D grad L_D,   theta_G <- theta_G - lr_G grad L_G

        Both gradients are taken at the same (theta_D, theta_G): G's is against D *before* its
        update, on the very fakes (and D outputs) D's update saw; G runs once per step (its
        batch-norm statistics move once). This is ALI's and PacGAN's training loop (Dumoulin et al.
        2017, `ali_algorithm`); Algorithm 1 (`update_order="alternating"`) instead takes G's
        gradient against the updated D on fresh noise. Needs `d_steps=1` and no unrolling.
        `window`: this replica's rows of the minibatch (`randomness.RowWindow`; default: equal
        shares). D's hooks run as draw 0 of the step, G's as draw 1 (`regularizers.Context`).
        """
        if window is None:
            window = randomness.RowWindow.even(tf.shape(real)[0])
        z, noise_labels = self._training_noise(window.local, 0, window)
        fake_labels = labels if labels is not None else noise_labels
        d_ctx = self.step_context(0, "d", window=window)
        g_ctx = self.step_context(self.d_steps, "g", window=window)
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(self._g_inputs(z, fake_labels), training=True)
            own_g = regularizers_lib.network_losses(
                self.generator, [regularizers_lib.call_loss(self.generator)], window
            )
            real_x, real_labels = self._d_view(d_ctx, real, labels, "real")
            fake_x, fake_labels = self._d_view(d_ctx, fake, fake_labels, "fake")
            per_row_d, real_j, fake_j = self.discriminator_objective(
                d_ctx, real_x, real_labels, fake_x, fake_labels
            )
            rows = window.global_rows(tf.shape(per_row_d)[0])
            own_d = regularizers_lib.network_losses(
                self.discriminator, [real_j.call_loss, fake_j.call_loss], window
            )
            d_scaled = self.d_optimizer.scale_loss(
                tf.math.divide_no_nan(tf.reduce_sum(per_row_d), rows) + own_d
            )
            per_row_g = self.generator_objective(
                g_ctx, fake_j, real_j if self.objective.g_needs_real else None
            )
            g_rows = window.global_rows(tf.shape(fake_x)[0])
            g_scaled = self.g_optimizer.scale_loss(
                tf.math.divide_no_nan(tf.reduce_sum(per_row_g), g_rows) + own_g
            )
        d_grads = tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_grads = tape.gradient(g_scaled, self.generator.trainable_variables)
        del tape
        self._apply_d_update(d_ctx, d_grads, per_row_d, real_j, fake_j, own_d)
        self._apply_g_update(g_grads, per_row_g, own_g)

    def fit(self, x=None, y=None, batch_size=None, *args, **kwargs):
        """`keras.Model.fit`; with packing (`pack > 1`) or a generator with per-slot batch norm
        (`layers.SlotBatchNormalization`), batches that cannot be split exactly are refused here,
        before training (every other batch is trained exactly, see the module)."""
        replicas = self.distribute_strategy.num_replicas_in_sync
        if self._packing is not None:
            self._packing.check_fit(x, batch_size, self.d_steps, replicas)
        slots = layers_lib.slot_unit(self.generator)
        if slots > 1:
            unit = self.d_steps * slots * replicas
            regularizers_lib.check_fit_batches(
                x, batch_size, unit, f"The generator's batch norm (slots={slots}) cannot split",
                f"Use batches that are a multiple of d_steps * slots * replicas = {self.d_steps} "
                f"* {slots} * {replicas} = {unit}",
            )
        return super().fit(x, y, batch_size, *args, **kwargs)

    def train_step(self, data):
        images, labels = _unpack(data)
        if self.num_classes is None:
            labels = None
        elif labels is None:
            raise ValueError("A conditional GAN (num_classes set) needs (image, label) batches.")
        # This replica holds rows first ... first + n - 1 of the global batch of `total` rows.
        first, total = randomness.replica_share(tf.shape(images)[0])
        getattr(self, UPDATE_ORDERS[self.update_order])(images, labels, first, total)
        self.step_counter.assign_add(1)
        logs = {m.name: m.result() for m in self.metrics}
        if randomness.multi_worker(tf.distribute.get_strategy()):
            logs = {name: tf.reshape(v, [1]) for name, v in logs.items()}
        return logs

    def _simultaneous_updates(self, images, labels, first, total):
        """`update_order="simultaneous"`: the batch is one minibatch (d_steps = 1)."""
        window = randomness.RowWindow(first, tf.shape(images)[0], total)
        labels = None if labels is None else tf.cast(labels, tf.int32)
        with randomness.row_window(window):  # per-row randomness in layers (dropout)
            self.simultaneous_step(images, labels, window)

    def _alternating_updates(self, images, labels, first, total):
        """`update_order="alternating"`: Algorithm 1, k D updates then one G update."""
        k = self.d_steps
        # Minibatch j of the global batch is its rows j, j + k, j + 2k, ... Any batch size and any
        # shares are exact: minibatch j has ceil((total - j) / k) rows, D's loss is its mean over
        # them, noise has as many rows, and G's update takes as many noise rows as the last real
        # minibatch (floor(total / k)).
        for j in range(k):
            start = j if isinstance(first, int) else tf.math.floormod(j - first, k)
            real = images[start::k]
            real_labels = None if labels is None else tf.cast(labels[start::k], tf.int32)
            window = randomness.RowWindow(
                (first + start - j) // k, tf.shape(real)[0], (total - j + k - 1) // k
            )
            with randomness.row_window(window):  # per-row randomness in layers (dropout)
                self.discriminator_step(real, real_labels, j, window.total, window)
        with randomness.row_window(window):
            self.generator_step(window.local, window.total, real, real_labels, window)

    # -------------------------------------------------------------------------------- config
    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "noise": self.noise,
            "seed": self.seed,
            "num_classes": self.num_classes,
            "ema_decay": self.ema_decay,
            "aux_classifier": self.aux_classifier,
            "aux_classifier_weight": self.aux_classifier_weight,
            "pack": self.pack,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
