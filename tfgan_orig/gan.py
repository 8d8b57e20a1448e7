"""`GAN`: the adversarial nets of Goodfellow et al. (2014) as a `keras.Model` that `fit` trains.

One `train_step` is one iteration of the paper's Algorithm 1:

    for j in 1..k:                                     # k = d_steps
        sample a real minibatch x_j and noise z_j
        ascend  (1/m) sum log D(x_j) + log(1 - D(G(z_j)))    (i.e. descend the D loss)
    sample noise z
    descend the generator loss of D(G(z))

The dataset therefore yields batches of `k * m` examples; the j-th D update takes the examples
`j, j + k, j + 2k, ...` of the batch (a strided split, so that a data-parallel split of the batch
across replicas gives every replica its share of every minibatch). With `d_steps=1` a batch is one
minibatch, as users expect.

Distribution (tf.distribute) is handled here, in one place:
- per-replica losses are `sum(per-example loss) / global minibatch`, so the optimizers' SUM
  all-reduce of gradients gives exactly the single-device gradient of the mean loss;
- noise is drawn for the *global* minibatch from a stateless seed (seed, step, draw) and each replica
  keeps its own rows: replicas draw different noise, and the result does not depend on the number
  of replicas;
- logged values are unscaled per-example means, weighted by example counts;
- optimizers are built at `compile` time (inside the user's `strategy.scope()`), avoiding
  keras-team/keras#23085;
- under MultiWorkerMirroredStrategy the logs are returned with shape [1] because Keras 3.15 reduces
  them with `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars (keras-team/keras#20585).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import losses as losses_lib

__all__ = ["GAN", "NOISE_TYPES"]

NOISE_TYPES = ("normal", "uniform")
_SQRT3 = math.sqrt(3.0)


def _unpack(data):
    """`images` or `(images, labels)` (or `(images, labels, weights)`) -> (images, labels|None)."""
    if isinstance(data, (tuple, list)):
        images = data[0]
        labels = data[1] if len(data) > 1 else None
        return images, labels
    if isinstance(data, dict):
        return data["image"], data.get("label")
    return data, None


def _replica_info():
    """(replica id as int32 tensor or 0, number of replicas in sync)."""
    ctx = tf.distribute.get_replica_context()
    strategy = tf.distribute.get_strategy()
    if ctx is None:  # cross-replica context: only when called outside strategy.run
        return 0, 1
    return ctx.replica_id_in_sync_group, strategy.num_replicas_in_sync


def _multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    )


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
        self._build_networks()

    # -------------------------------------------------------------------------------- building
    def _build_networks(self):
        """Creates all network variables now (eagerly, in the caller's strategy scope)."""
        z = tf.zeros((1, self.latent_dim))
        labels = tf.zeros((1,), tf.int32)
        fake = self.generator(self._g_inputs(z, labels), training=False)
        self.discriminator(self._d_inputs(fake, labels), training=False)
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

    def _d_inputs(self, x, labels):
        return x if self.num_classes is None else [x, labels]

    # -------------------------------------------------------------------------------- compile
    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        loss="non_saturating",
        label_smoothing=0.0,
        **kwargs,
    ):
        """Configures training.

        Args:
          d_optimizer, g_optimizer: Keras optimizers (or their names/configs). Default Adam(2e-4, 0.5).
          loss: a name in `tfgan_orig.losses.LOSSES` ("minimax", "non_saturating",
            "maximum_likelihood", ...) or a `(d_loss_fn, g_loss_fn)` pair of per-example functions
            of logits.
          label_smoothing: one-sided smoothing; real target = 1 - label_smoothing, fake target 0.
          **kwargs: passed to `keras.Model.compile` (`steps_per_execution`, `jit_compile`, ...).
            `jit_compile=True` under a multi-replica strategy is turned off with a logged note.
        """
        if isinstance(loss, str):
            self.d_loss_fn, self.g_loss_fn = losses_lib.get(loss)
        else:
            self.d_loss_fn, self.g_loss_fn = loss
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}"
            )
        self.loss_name = loss if isinstance(loss, str) else "custom"
        self.label_smoothing = float(label_smoothing)
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
            # overflow is skipped and the scale halved.
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scaled")
        return optimizer

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or self.loss_name == "custom":
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "label_smoothing": self.label_smoothing,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    # -------------------------------------------------------------------------------- sampling
    def call(self, inputs, training=False):
        """Generates samples: `inputs` is z `[batch, latent_dim]` (or `(z, labels)` if conditional)."""
        if self.num_classes is None:
            return self.generator(inputs, training=training)
        z, labels = inputs
        return self.generator([z, labels], training=training)

    def sample_latent(self, num, seed):
        """Noise `[num, latent_dim]` from the stateless seed `seed` (int or `[2]` int tensor)."""
        seed = tf.convert_to_tensor(seed)
        if seed.shape.rank == 0:
            seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        shape = tf.stack([tf.cast(num, tf.int32), self.latent_dim])
        if self.noise == "normal":
            return tf.random.stateless_normal(shape, seed=seed)
        return tf.random.stateless_uniform(shape, seed=seed, minval=-_SQRT3, maxval=_SQRT3)

    def generate(self, num, seed=None, labels=None, batch_size=1000):
        """Returns `num` samples as a numpy array; the same `seed` gives the same samples.

        Args:
          num: number of samples.
          seed: int; `None` draws a random one.
          labels: for a conditional GAN, int labels `[num]`; default cycles 0, 1, ..., n-1.
          batch_size: generator batch size (bounds memory for large `num`).
        """
        if int(num) < 1:
            raise ValueError(f"num must be >= 1. Received: num={num}")
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
            out.append(self._generate_batch(zb, lb).numpy())
        return np.concatenate(out, axis=0)

    @tf.function(reduce_retracing=True)
    def _generate_batch(self, z, labels):
        return self.generator(self._g_inputs(z, labels), training=False)

    # -------------------------------------------------------------------------------- training
    def _training_noise(self, local_batch, draw):
        """This replica's rows of the global noise batch for draw `draw` of the current step.

        All replicas compute the same global `[local * replicas, latent_dim]` batch from
        (seed, step, draw) and slice out their own rows, so noise differs between replicas and
        a run on R replicas sees exactly the noise of a run on one device.
        """
        replica_id, replicas = _replica_info()
        step = tf.cast(self.step_counter, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step * (self.d_steps + 1) + draw])
        z = self.sample_latent(local_batch * replicas, seed)
        start = tf.cast(replica_id, tf.int32) * local_batch
        z = z[start : start + local_batch]
        labels = None
        if self.num_classes is not None:
            all_labels = tf.random.stateless_uniform(
                [local_batch * replicas],
                seed=seed + tf.constant([0, 1 << 40], tf.int64),
                maxval=self.num_classes,
                dtype=tf.int32,
            )
            labels = all_labels[start : start + local_batch]
        return z, labels

    def _track(self, tracker, per_example):
        per_example = tf.cast(per_example, tf.float32)
        tracker.update_state(
            tf.reduce_mean(per_example), sample_weight=tf.cast(tf.size(per_example), tf.float32)
        )

    def discriminator_step(self, real, labels, draw, global_batch):
        """One D update on a real minibatch and fresh noise; returns nothing (updates trackers)."""
        local = tf.shape(real)[0]
        z, noise_labels = self._training_noise(local, draw)
        # Fakes are conditioned on the real minibatch's labels, so both halves share a label mix.
        fake_labels = labels if labels is not None else noise_labels
        fake = self.generator(self._g_inputs(z, fake_labels), training=True)
        fake = tf.stop_gradient(fake)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self._d_inputs(real, labels), training=True)
            fake_logits = self.discriminator(self._d_inputs(fake, fake_labels), training=True)
            per_example = self.d_loss_fn(
                real_logits, fake_logits, real_target=1.0 - self.label_smoothing
            )
            loss = tf.reduce_sum(per_example) / global_batch
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
        self._track(self.d_loss_tracker, per_example)
        self._track(self.d_real_tracker, tf.sigmoid(tf.cast(real_logits, tf.float32)))
        self._track(self.d_fake_tracker, tf.sigmoid(tf.cast(fake_logits, tf.float32)))

    def generator_step(self, local_batch, global_batch):
        """One G update on fresh noise."""
        z, labels = self._training_noise(local_batch, self.d_steps)
        with tf.GradientTape() as tape:
            fake = self.generator(self._g_inputs(z, labels), training=True)
            # The paper's G loss goes through the same dropped-out D (training=True).
            fake_logits = self.discriminator(self._d_inputs(fake, labels), training=True)
            per_example = self.g_loss_fn(fake_logits)
            loss = tf.reduce_sum(per_example) / global_batch
            scaled = self.g_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        self._track(self.g_loss_tracker, per_example)

    def train_step(self, data):
        images, labels = _unpack(data)
        if self.num_classes is None:
            labels = None
        elif labels is None:
            raise ValueError("A conditional GAN (num_classes set) needs (image, label) batches.")
        _, replicas = _replica_info()
        k = self.d_steps
        local = tf.shape(images)[0] // k  # this replica's share of one minibatch
        global_batch = tf.cast(local * replicas, tf.float32)
        for j in range(k):
            real = images[j::k]
            real_labels = None if labels is None else tf.cast(labels[j::k], tf.int32)
            self.discriminator_step(real, real_labels, j, global_batch)
        self.generator_step(local, global_batch)
        self.step_counter.assign_add(1)
        logs = {m.name: m.result() for m in self.metrics}
        if _multi_worker(tf.distribute.get_strategy()):
            logs = {name: tf.reshape(v, [1]) for name, v in logs.items()}
        return logs

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
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
