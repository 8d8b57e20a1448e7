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

The tutorial's family (Goodfellow 2016) is a set of flat options, each off by default:
- `compile(loss=...)`: any name of `tfgan_orig.losses.LOSSES` ("wasserstein", "least_squares",
  "hinge", "ebgan", ...); `gradient_penalty_weight` (WGAN-GP), `clip_value` (WGAN weight clipping),
  `label_smoothing` (one-sided), `instance_noise_std` / `instance_noise_decay_steps`,
  `unrolled_steps` / `unrolled_learning_rate` (unrolled GAN), `ebgan_margin`;
- `GAN(ema_decay=...)`: an exponential moving average of G (`ema_generator`);
- `GAN(aux_classifier=True)`: AC-GAN (D returns `[logit, class_logits]` and does not see labels).
Every random draw of these (instance noise, GP's alpha) follows the noise's seed scheme: drawn for
the global minibatch from (seed, step, draw, stream) and sliced per replica.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import losses as losses_lib
from tfgan_orig.loss_scaling import ReplicaSafeLossScaleOptimizer

__all__ = ["GAN", "NOISE_TYPES"]

NOISE_TYPES = ("normal", "uniform")
_SQRT3 = math.sqrt(3.0)

# Independent random streams of one (step, draw): added to the second seed component.
_STREAM_LABELS = 1
_STREAM_NOISE_REAL = 2
_STREAM_NOISE_FAKE = 3
_STREAM_GP_ALPHA = 4


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
      ema_decay: if set (in [0, 1)), keep `ema_generator`, a copy of G whose trainable weights are
        the exponential moving average `w_ema <- d w_ema + (1 - d) w` after every G update (its
        non-trainable weights, e.g. batch-norm statistics, are copied). `generate(use_ema=True)`
        and `export_generator(use_ema=True)` use it.
      aux_classifier: AC-GAN (Odena et al. 2017); needs `num_classes`. D sees only the samples and
        returns `[logits [batch, 1], class_logits [batch, num_classes]]`; the class cross-entropy
        (times `aux_classifier_weight`) is added to D's loss on real and generated examples and to
        G's loss on generated ones.
      aux_classifier_weight: weight of that class cross-entropy.
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
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.aux_classifier = bool(aux_classifier)
        self.aux_classifier_weight = float(aux_classifier_weight)
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
        self.ema_generator = None
        if self.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False

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
        return x if self.num_classes is None or self.aux_classifier else [x, labels]

    def _split_d(self, outputs):
        """D's outputs -> (logits, class_logits or None)."""
        if self.aux_classifier:
            return outputs[0], outputs[1]
        return outputs, None

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
        **kwargs,
    ):
        """Configures training.

        Args:
          d_optimizer, g_optimizer: Keras optimizers (or their names/configs). Default Adam(2e-4, 0.5).
          loss: a name in `tfgan_orig.losses.LOSSES` ("minimax", "non_saturating",
            "maximum_likelihood", ...) or a `(d_loss_fn, g_loss_fn)` pair of per-example functions
            of logits.
          label_smoothing: one-sided smoothing; real target = 1 - label_smoothing, fake target 0.
            Only for the cross-entropy losses and "least_squares" (`losses.SMOOTHABLE_LOSSES`).
          gradient_penalty_weight: lambda of WGAN-GP (Gulrajani et al. 2017; 10 in the paper).
            `lambda (sqrt(||grad D(x_hat)||^2 + 1e-10) - 1)^2` per example, `x_hat = alpha x +
            (1 - alpha) G(z)`, `alpha ~ U(0, 1)` per example, is added to D's per-example loss.
            Use a critic without batch norm (it couples the examples whose gradients are penalized).
          clip_value: c of WGAN (Arjovsky et al. 2017): after every D update every trainable D
            weight is clipped to [-c, c].
          instance_noise_std: sigma_0 of instance noise (Sonderby et al. 2016; Arjovsky & Bottou
            2017): N(0, sigma^2) noise added to every input D sees, real and generated, in D's and
            G's updates.
          instance_noise_decay_steps: anneal sigma linearly from sigma_0 (generator step 0) to 0
            (this step and after); `None` keeps it constant. See `instance_noise_stddev`.
          unrolled_steps: k of the unrolled GAN (Metz et al. 2017). G's loss is computed against
            D after k differentiable gradient-descent steps on D's loss (with this step's fakes and
            the last real minibatch), so G's gradient anticipates D's reaction. D's own update is
            unchanged. 0 = off.
          unrolled_learning_rate: step size of those unrolled steps; `None` uses the D optimizer's
            current learning rate.
          ebgan_margin: m of the "ebgan" loss.
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
        if label_smoothing and self.loss_name not in (
            losses_lib.SMOOTHABLE_LOSSES + ("custom",)
        ):
            raise ValueError(
                f"label_smoothing applies to {list(losses_lib.SMOOTHABLE_LOSSES)}. "
                f"Received: loss={loss!r}, label_smoothing={label_smoothing}"
            )
        if gradient_penalty_weight < 0:
            raise ValueError(
                "gradient_penalty_weight must be >= 0. "
                f"Received: gradient_penalty_weight={gradient_penalty_weight}"
            )
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be None or > 0. Received: clip_value={clip_value}")
        if instance_noise_std < 0:
            raise ValueError(
                f"instance_noise_std must be >= 0. Received: instance_noise_std={instance_noise_std}"
            )
        if instance_noise_decay_steps is not None and instance_noise_decay_steps < 1:
            raise ValueError(
                "instance_noise_decay_steps must be None or >= 1. "
                f"Received: instance_noise_decay_steps={instance_noise_decay_steps}"
            )
        if int(unrolled_steps) != unrolled_steps or unrolled_steps < 0:
            raise ValueError(
                f"unrolled_steps must be an integer >= 0. Received: unrolled_steps={unrolled_steps}"
            )
        if ebgan_margin <= 0:
            raise ValueError(f"ebgan_margin must be > 0. Received: ebgan_margin={ebgan_margin}")
        self.label_smoothing = float(label_smoothing)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.instance_noise_std = float(instance_noise_std)
        self.instance_noise_decay_steps = (
            None if instance_noise_decay_steps is None else int(instance_noise_decay_steps)
        )
        self.unrolled_steps = int(unrolled_steps)
        self.unrolled_learning_rate = (
            None if unrolled_learning_rate is None else float(unrolled_learning_rate)
        )
        self.ebgan_margin = float(ebgan_margin)
        # D's output is a logit of P(real) for the cross-entropy family: mean sigmoid(D) as d_real /
        # d_fake; every other family logs D's raw mean output (critic score, LS output, energy).
        self._sigmoid_metrics = self.loss_name in losses_lib.CROSS_ENTROPY_LOSSES or (
            self.loss_name == "custom" and self.d_loss_fn is losses_lib.minimax_discriminator_loss
        )
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

    def generate(self, num, seed=None, labels=None, batch_size=1000, use_ema=False):
        """Returns `num` samples as a numpy array; the same `seed` gives the same samples.

        Args:
          num: number of samples.
          seed: int; `None` draws a random one.
          labels: for a conditional GAN, int labels `[num]`; default cycles 0, 1, ..., n-1.
          batch_size: generator batch size (bounds memory for large `num`).
          use_ema: sample from `ema_generator` (needs `ema_decay`).
        """
        if use_ema and self.ema_generator is None:
            raise ValueError(
                "use_ema=True needs a GAN built with ema_decay. Received: ema_decay=None"
            )
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
            out.append(self._generate_batch(zb, lb, bool(use_ema)).numpy())
        return np.concatenate(out, axis=0)

    @tf.function(reduce_retracing=True)
    def _generate_batch(self, z, labels, use_ema=False):
        generator = self.ema_generator if use_ema else self.generator
        return generator(self._g_inputs(z, labels), training=False)

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

    def _replica_draw(self, local_batch, draw, stream, sample):
        """This replica's rows of `sample(global_shape_batch, seed)` for (step, draw, stream)."""
        replica_id, replicas = _replica_info()
        step = tf.cast(self.step_counter, tf.int64)
        seed = tf.stack(
            [
                tf.constant(self.seed, tf.int64),
                step * (self.d_steps + 1) + draw + tf.constant(stream << 40, tf.int64),
            ]
        )
        values = sample(local_batch * replicas, seed)
        start = tf.cast(replica_id, tf.int32) * local_batch
        return values[start : start + local_batch]

    def instance_noise_stddev(self, step=None):
        """sigma(t) = sigma_0 max(0, 1 - t / decay_steps) (constant sigma_0 without decay steps).

        `t` is the generator-step counter (`step_counter`) unless `step` is given.
        """
        t = tf.cast(self.step_counter if step is None else step, tf.float32)
        std = tf.constant(self.instance_noise_std, tf.float32)
        if self.instance_noise_decay_steps is None:
            return std
        return std * tf.maximum(0.0, 1.0 - t / float(self.instance_noise_decay_steps))

    def add_instance_noise(self, x, draw, stream):
        """x + N(0, sigma(t)^2) noise (replica-invariant draw); `x` unchanged when sigma_0 = 0."""
        if not self.instance_noise_std:
            return x
        local = tf.shape(x)[0]
        noise = self._replica_draw(
            local,
            draw,
            stream,
            lambda n, seed: tf.random.stateless_normal(
                tf.concat([[n], tf.shape(x)[1:]], 0), seed=seed
            ),
        )
        return x + tf.cast(self.instance_noise_stddev() * noise, x.dtype)

    def gradient_penalty(self, real, fake, labels, draw):
        """WGAN-GP's per-example `(sqrt(||grad_x D(x_hat)||^2 + eps) - 1)^2` (weight not applied).

        `x_hat = alpha real + (1 - alpha) fake`, `alpha ~ U(0, 1)` per example (replica-invariant
        draw). Call it inside the D update's tape: the penalty is differentiated w.r.t. D.
        """
        local = tf.shape(real)[0]
        alpha = self._replica_draw(
            local, draw, _STREAM_GP_ALPHA, lambda n, seed: tf.random.stateless_uniform([n], seed)
        )
        alpha = tf.reshape(alpha, tf.concat([[local], tf.ones([tf.rank(real) - 1], tf.int32)], 0))
        real32, fake32 = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
        x_hat = alpha * real32 + (1.0 - alpha) * fake32
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            out, _ = self._split_d(
                self.discriminator(self._d_inputs(tf.cast(x_hat, real.dtype), labels), training=True)
            )
            # Examples are independent (no batch norm): d sum / d x_hat_i = d D(x_hat_i) / d x_hat_i.
            total = tf.reduce_sum(tf.cast(out, tf.float32))
        grads = tape.gradient(total, x_hat)
        return losses_lib.gradient_penalty(grads)

    def _d_loss(self, real_out, fake_out):
        kwargs = {}
        if self.label_smoothing:
            kwargs["real_target"] = 1.0 - self.label_smoothing
        if self.loss_name == "ebgan":
            kwargs["margin"] = self.ebgan_margin
        return self.d_loss_fn(real_out, fake_out, **kwargs)

    def _clip_discriminator(self):
        c = self.clip_value
        for v in self.discriminator.trainable_variables:
            v.assign(tf.clip_by_value(v, tf.cast(-c, v.dtype), tf.cast(c, v.dtype)))

    def _update_ema(self):
        d = self.ema_decay
        for g, e in zip(self.generator.weights, self.ema_generator.weights):
            if g.trainable:
                e.assign(d * e + (1.0 - d) * tf.cast(g, e.dtype))
            else:
                e.assign(g)

    def _unrolled_d_output(self, real, real_labels, fake, fake_labels, global_batch):
        """D's output on `fake` after `unrolled_steps` differentiable SGD steps on D's loss.

        `theta_{i+1} = theta_i - eta grad_theta L_D(theta_i)`, with `L_D` the batch loss
        (`sum / global_batch`, its gradient summed over replicas) on `real` and `fake`; `fake` is not
        stopped, so the result is differentiable w.r.t. G through every step (Metz et al. 2017).
        D's variables are not changed (`stateless_call` on copies of their values).
        """
        d = self.discriminator
        theta = [tf.convert_to_tensor(v) for v in d.trainable_variables]
        state = [tf.convert_to_tensor(v) for v in d.non_trainable_variables]
        lr = self.unrolled_learning_rate
        if lr is None:
            lr = self.d_optimizer.learning_rate
        _, replicas = _replica_info()
        ctx = tf.distribute.get_replica_context()
        for _ in range(self.unrolled_steps):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                real_out, state = d.stateless_call(
                    theta, state, self._d_inputs(real, real_labels), training=True
                )
                fake_out, state = d.stateless_call(
                    theta, state, self._d_inputs(fake, fake_labels), training=True
                )
                real_out, real_cls = self._split_d(real_out)
                fake_out, fake_cls = self._split_d(fake_out)
                per_example = self._d_loss(real_out, fake_out)
                if self.aux_classifier:
                    per_example += self.aux_classifier_weight * (
                        losses_lib.auxiliary_classifier_loss(real_labels, real_cls)
                        + losses_lib.auxiliary_classifier_loss(fake_labels, fake_cls)
                    )
                loss = tf.reduce_sum(per_example) / global_batch
            grads = tape.gradient(loss, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            if replicas > 1:
                # Differentiable all-reduce: the unrolled step uses the global-batch gradient.
                grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            theta = [t - tf.cast(lr, t.dtype) * g for t, g in zip(theta, grads)]
        out, _ = d.stateless_call(theta, state, self._d_inputs(fake, fake_labels), training=True)
        return out

    def _d_metric(self, out):
        out = tf.cast(out, tf.float32)
        return tf.sigmoid(out) if self._sigmoid_metrics else out

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
        real = self.add_instance_noise(real, draw, _STREAM_NOISE_REAL)
        fake = self.add_instance_noise(fake, draw, _STREAM_NOISE_FAKE)
        with tf.GradientTape() as tape:
            real_logits, real_cls = self._split_d(
                self.discriminator(self._d_inputs(real, labels), training=True)
            )
            fake_logits, fake_cls = self._split_d(
                self.discriminator(self._d_inputs(fake, fake_labels), training=True)
            )
            per_example = self._d_loss(real_logits, fake_logits)
            if self.gradient_penalty_weight:
                per_example += self.gradient_penalty_weight * self.gradient_penalty(
                    real, fake, labels, draw
                )
            if self.aux_classifier:
                per_example += self.aux_classifier_weight * (
                    losses_lib.auxiliary_classifier_loss(labels, real_cls)
                    + losses_lib.auxiliary_classifier_loss(fake_labels, fake_cls)
                )
            loss = tf.reduce_sum(per_example) / global_batch
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
        if self.clip_value is not None:
            self._clip_discriminator()
        self._track(self.d_loss_tracker, per_example)
        self._track(self.d_real_tracker, self._d_metric(real_logits))
        self._track(self.d_fake_tracker, self._d_metric(fake_logits))

    def generator_step(self, local_batch, global_batch, real=None, real_labels=None):
        """One G update on fresh noise (`real`: the last real minibatch, for unrolling)."""
        z, labels = self._training_noise(local_batch, self.d_steps)
        with tf.GradientTape() as tape:
            fake = self.generator(self._g_inputs(z, labels), training=True)
            fake = self.add_instance_noise(fake, self.d_steps, _STREAM_NOISE_FAKE)
            if self.unrolled_steps:
                real = self.add_instance_noise(real, self.d_steps, _STREAM_NOISE_REAL)
                real_labels = labels if real_labels is None else real_labels
                fake_out = self._unrolled_d_output(real, real_labels, fake, labels, global_batch)
            else:
                # The paper's G loss goes through the same dropped-out D (training=True).
                fake_out = self.discriminator(self._d_inputs(fake, labels), training=True)
            fake_logits, fake_cls = self._split_d(fake_out)
            per_example = self.g_loss_fn(fake_logits)
            if self.aux_classifier:
                per_example += self.aux_classifier_weight * losses_lib.auxiliary_classifier_loss(
                    labels, fake_cls
                )
            loss = tf.reduce_sum(per_example) / global_batch
            scaled = self.g_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        if self.ema_generator is not None:
            self._update_ema()
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
        self.generator_step(local, global_batch, real, real_labels)
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
            "ema_decay": self.ema_decay,
            "aux_classifier": self.aux_classifier,
            "aux_classifier_weight": self.aux_classifier_weight,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
