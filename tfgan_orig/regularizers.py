"""The seam for everything that changes the adversarial game beyond the loss.

A `Regularizer` is a small object with up to five hooks, which `GAN` calls in every update:

- `d_inputs(ctx, x, labels, role)`: transform what D sees, for real (`role="real"`) and generated
  (`role="fake"`) rows alike, in D's and G's updates (instance noise);
- `d_terms(ctx, real, fake)`: per-row terms added to D's per-row loss (gradient penalty, the AC-GAN
  class loss on real and generated rows);
- `g_terms(ctx, fake, real)`: per-row terms added to G's per-row loss (AC-GAN on generated rows);
- `g_weights(ctx, fake, real)`: per-row weights of the objective's G loss, applied before the
  `g_terms` are added (top-k training);
- `after_d_update(ctx, discriminator)`: act on D after each of its updates (weight clipping).

`GAN.compile` builds the family's regularizers from its flat options (`gradient_penalty_weight`,
`clip_value`, `instance_noise_std`, ...) with `from_options`, which appends the user's
`regularizers=[...]`; the hooks run in that order. A new technique is one new class here (and, if
`compile` gets a flat option for it, a line in `from_options`): `train_step` does not change.

The networks' own losses (Keras weight regularizers, `add_loss` / activity regularizers) are part
of their objectives too; `network_losses` gives one replica's part of them in an update.

Rows and the divisor: D's loss is `sum over rows / global number of D rows`, whatever the rows
are (one example, or a transformed one), so the gradient all-reduce of `tf.distribute` gives the
single-device gradient. A `d_terms` / `g_terms` result must have one value per D row.

Randomness: a hook that draws must use `ctx.rows(local_rows, stream, sample)`: a stateless draw for
the global batch from (seed, step, draw, stream), of which each replica keeps its rows, so that the
result does not depend on the number of replicas (`tfgan_orig.randomness`). Streams 0-4 are taken
(`randomness.STREAM_*`); a new regularizer takes a new number.
"""

import keras
import tensorflow as tf

from tfgan_orig import losses, randomness

__all__ = [
    "Context",
    "Judged",
    "Regularizer",
    "GradientPenalty",
    "WeightClipping",
    "InstanceNoise",
    "AuxiliaryClassifier",
    "Packing",
    "pack_rows",
    "check_fit_batches",
    "R1",
    "R2",
    "TopK",
    "from_options",
    "weight_penalty",
    "call_loss",
    "network_losses",
]


class Judged:
    """Rows as D sees them and D's outputs on them.

    Attributes:
      x: D's input rows `[rows, ...]` (after every `d_inputs` transform).
      labels: int `[rows]` labels of a conditional GAN, or None.
      logits: D's main output `[rows, 1]` (a logit, score or energy: see `losses.Objective`).
      class_logits: AC-GAN's class head `[rows, num_classes]`, or None.
      call_loss: float32 scalar, the sum of the losses D added in the call that judged these rows
        (`add_loss`, activity regularizers), or None (none, or D is the look-ahead copy).
    """

    def __init__(self, x, labels, logits, class_logits=None, call_loss=None):
        self.x = x
        self.labels = labels
        self.logits = logits
        self.class_logits = class_logits
        self.call_loss = call_loss


# ------------------------------------------------------------------ the networks' own losses
# Each network's own losses are part of its objective (`GAN` logs them as d_reg / g_reg).


def weight_penalty(net, weights=None):
    """Sum of `net`'s Keras weight regularizers (float32 scalar) at `weights` (the values of
    `net.trainable_variables`, in order; default: the variables themselves)."""
    variables = net.trainable_variables
    weights = variables if weights is None else weights
    terms = [
        tf.cast(v.regularizer(w), tf.float32)
        for v, w in zip(variables, weights)
        if getattr(v, "regularizer", None) is not None
    ]
    return tf.add_n(terms) if terms else tf.constant(0.0)


def call_loss(net):
    """Sum of the losses `net` added in its latest call (`add_loss`, activity regularizers), or
    None. Keras' `net.losses` lists those first and the weight regularizers last."""
    losses_ = net.losses
    num_weight = sum(
        1 for v in net.trainable_variables if getattr(v, "regularizer", None) is not None
    )
    call = losses_[: len(losses_) - num_weight]
    return tf.add_n([tf.cast(x, tf.float32) for x in call]) if call else None


def network_losses(net, call_losses, window, weights=None):
    """This replica's part of `net`'s own losses in one update (a float32 scalar).

    Keras weight regularizers (at `weights`, default `net`'s values) count once per update:
    each of R replicas adds 1/R of them, and the SUM all-reduce of the gradients adds them up.
    Losses `net` added in its calls (`call_losses`: `call_loss` of each call, None for none;
    `add_loss`, activity regularizers, which Keras normalizes by the batch) are each replica's
    value on its share, weighted by its share of the global minibatch (`window.local /
    window.total`): for a batch mean that is exactly the mean over the global minibatch on any
    number of replicas.
    """
    _, replicas = randomness.replica_info()
    total = weight_penalty(net, weights) / float(replicas)
    calls = [c for c in call_losses if c is not None]
    if calls:
        # An empty share (possible on a batch smaller than the replicas) adds nothing; its
        # batch-normalized losses would be 0 / 0.
        total += tf.where(window.local > 0, tf.add_n(calls) * window.fraction(), 0.0)
    return total


class Context:
    """What a hook may know about the update it runs in.

    Attributes:
      discriminator: `fn(x, labels) -> (logits, class_logits or None)`, the D being trained (in the
        unrolled GAN's look-ahead, D at its unrolled weights), called with `training=True`.
      step: int64 scalar, the generator-step counter (the GAN's `step_counter`).
      draw: which draw of the step this is (0..k-1: the k D updates; k: the G update).
      phase: "d" (a D update) or "g" (a G update, including its unrolled look-ahead).
      window: `randomness.RowWindow`, where this replica's rows sit in the update's global
        minibatch (None: equal shares); `rows` draws by it.
      network: the Keras D that `discriminator` calls (None in the unrolled look-ahead, whose D
        is a stateless copy); the model reads the losses D adds in its calls from it.
      realism: `fn(out) -> [rows]` float32, D's output turned into "how real", higher = more
        real, whatever the loss family (`losses.Objective.realism`; default: the output itself).
    """

    def __init__(
        self, discriminator, step, draw, phase, seed, draws_per_step, window=None, network=None,
        realism=None,
    ):
        self.discriminator = discriminator
        self.step = step
        self.draw = draw
        self.phase = phase
        self._seed = seed
        self._draws_per_step = draws_per_step
        self.window = window
        self.network = network
        self.realism = losses.score_realism if realism is None else realism

    @property
    def d_update(self):
        """Index of this D update since training began (`step * d_steps + draw`), int64."""
        return self.step * (self._draws_per_step - 1) + self.draw

    def with_discriminator(self, discriminator):
        """The same context, evaluating another D function."""
        return Context(
            discriminator, self.step, self.draw, self.phase, self._seed, self._draws_per_step,
            window=self.window, realism=self.realism,
        )

    def rows(self, local_rows, stream, sample):
        """This replica's rows of `sample(global_rows, seed)`, seed from (seed, step, draw, stream).

        Args:
          local_rows: rows this replica needs.
          stream: the regularizer's own stream number (`randomness.STREAM_*`).
          sample: `fn(num_rows, seed) -> [num_rows, ...]`, a stateless draw.
        """
        seed = randomness.draw_seed(self._seed, self.step, self._draws_per_step, self.draw, stream)
        if self.window is not None:
            return self.window.rows(local_rows, seed, sample)
        return randomness.replica_rows(local_rows, seed, sample)


class Regularizer:
    """A modification of the game: override the hooks it needs (every default does nothing)."""

    def d_inputs(self, ctx, x, labels, role):
        """Returns `(x, labels)` as D should see them; `role` is "real" or "fake"."""
        return x, labels

    def d_terms(self, ctx, real, fake):
        """Per-row `[rows]` float32 terms added to D's loss, or None. `real`, `fake`: `Judged`."""
        return None

    def g_terms(self, ctx, fake, real):
        """Per-row `[rows]` float32 terms added to G's loss, or None (`real` may be None)."""
        return None

    def g_weights(self, ctx, fake, real):
        """Per-row `[rows]` float32 weights of the objective's G loss (before `g_terms`), or None.

        G's loss stays `sum over rows / global rows`: weights that average 1 over the global
        minibatch keep its scale."""
        return None

    def after_d_update(self, ctx, discriminator):
        """Runs after every D update (not in the unrolled look-ahead)."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive(value, name, convenience):
    if value is None or not value > 0:
        raise ValueError(
            f"{name} must be > 0 (GAN.compile's {convenience}). Received: {name}={value}"
        )
    return float(value)


@keras.saving.register_keras_serializable(package="tfgan_orig")
class GradientPenalty(Regularizer):
    """WGAN-GP's penalty (Gulrajani et al. 2017), added to D's per-row loss.

    `lambda (sqrt(||grad_x D(x_hat)||^2 + 1e-10) - 1)^2`, `x_hat = alpha x + (1 - alpha) G(z)`,
    `alpha ~ U(0, 1)` per row (stream `STREAM_GP_ALPHA`), x and G(z) as D sees them. Use a critic
    without batch norm (it couples the rows whose gradients are penalized).

    Args:
      weight: lambda (> 0; 10 in the paper). `GAN.compile(gradient_penalty_weight=...)`.
    """

    def __init__(self, weight):
        self.weight = _positive(weight, "weight", "gradient_penalty_weight")

    def penalty(self, ctx, real_x, fake_x, labels):
        """The unweighted per-row penalty `[rows]` (differentiable w.r.t. D's weights)."""
        local = tf.shape(real_x)[0]
        alpha = ctx.rows(
            local,
            randomness.STREAM_GP_ALPHA,
            lambda n, seed: tf.random.stateless_uniform([n], seed),
        )
        alpha = tf.reshape(alpha, tf.concat([[local], tf.ones([tf.rank(real_x) - 1], tf.int32)], 0))
        real32, fake32 = tf.cast(real_x, tf.float32), tf.cast(fake_x, tf.float32)
        x_hat = alpha * real32 + (1.0 - alpha) * fake32
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            out, _ = ctx.discriminator(tf.cast(x_hat, real_x.dtype), labels)
            # Rows are independent (no batch norm): d sum / d x_hat_i = d D(x_hat_i) / d x_hat_i.
            total = tf.reduce_sum(tf.cast(out, tf.float32))
        return losses.gradient_penalty(tape.gradient(total, x_hat))

    def d_terms(self, ctx, real, fake):
        return self.weight * self.penalty(ctx, real.x, fake.x, real.labels)

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="tfgan_orig")
class WeightClipping(Regularizer):
    """WGAN's weight clipping (Arjovsky et al. 2017): after every D update, every trainable D
    weight is clipped to `[-c, c]`.

    Args:
      clip_value: c (> 0). `GAN.compile(clip_value=...)`.
    """

    def __init__(self, clip_value):
        self.clip_value = _positive(clip_value, "clip_value", "clip_value")

    def after_d_update(self, ctx, discriminator):
        c = self.clip_value
        for v in discriminator.trainable_variables:
            v.assign(tf.clip_by_value(v, tf.cast(-c, v.dtype), tf.cast(c, v.dtype)))

    def get_config(self):
        return {"clip_value": self.clip_value}


@keras.saving.register_keras_serializable(package="tfgan_orig")
class InstanceNoise(Regularizer):
    """Instance noise (Sonderby et al. 2016; Arjovsky & Bottou 2017): `x + N(0, sigma(t)^2)` on
    every input D sees, real and generated, in D's and G's updates.

    `sigma(t) = sigma_0 max(0, 1 - t / decay_steps)` (constant `sigma_0` without decay steps), `t`
    the generator step. Real and generated rows get independent noise (streams
    `STREAM_NOISE_REAL` / `STREAM_NOISE_FAKE`).

    Args:
      stddev: sigma_0 (>= 0; 0 leaves the inputs unchanged). `GAN.compile(instance_noise_std=...)`.
      decay_steps: anneal sigma linearly to 0 at this generator step (>= 1), or None.
        `GAN.compile(instance_noise_decay_steps=...)`.
    """

    def __init__(self, stddev, decay_steps=None):
        if stddev is None or not stddev >= 0:
            raise ValueError(
                "stddev must be >= 0 (GAN.compile's instance_noise_std). "
                f"Received: stddev={stddev}"
            )
        self.stddev = float(stddev)
        if decay_steps is not None and (int(decay_steps) != decay_steps or decay_steps < 1):
            raise ValueError(
                "decay_steps must be None or an integer >= 1 (GAN.compile's "
                f"instance_noise_decay_steps). Received: decay_steps={decay_steps}"
            )
        self.decay_steps = None if decay_steps is None else int(decay_steps)

    def stddev_at(self, step):
        """sigma(t) as a float32 scalar."""
        std = tf.constant(self.stddev, tf.float32)
        if self.decay_steps is None:
            return std
        t = tf.cast(step, tf.float32)
        return std * tf.maximum(0.0, 1.0 - t / float(self.decay_steps))

    def d_inputs(self, ctx, x, labels, role):
        if not self.stddev:
            return x, labels
        stream = randomness.STREAM_NOISE_REAL if role == "real" else randomness.STREAM_NOISE_FAKE
        shape = tf.shape(x)
        noise = ctx.rows(
            shape[0],
            stream,
            lambda n, seed: tf.random.stateless_normal(tf.concat([[n], shape[1:]], 0), seed=seed),
        )
        return x + tf.cast(self.stddev_at(ctx.step) * noise, x.dtype), labels

    def get_config(self):
        return {"stddev": self.stddev, "decay_steps": self.decay_steps}


@keras.saving.register_keras_serializable(package="tfgan_orig")
class AuxiliaryClassifier(Regularizer):
    """AC-GAN (Odena et al. 2017): the class cross-entropy `-log softmax(c)[y]` of D's class head,
    times `weight`, added to D's loss on real and generated rows and to G's loss on generated rows.

    `GAN(aux_classifier=True, aux_classifier_weight=...)` adds it (D then returns
    `[logits, class_logits]` and does not see the labels).

    Args:
      weight: the term's weight (>= 0).
    """

    def __init__(self, weight=1.0):
        if not weight >= 0:
            raise ValueError(
                f"weight must be >= 0 (GAN's aux_classifier_weight). Received: weight={weight}"
            )
        self.weight = float(weight)

    def d_terms(self, ctx, real, fake):
        return self.weight * (
            losses.auxiliary_classifier_loss(real.labels, real.class_logits)
            + losses.auxiliary_classifier_loss(fake.labels, fake.class_logits)
        )

    def g_terms(self, ctx, fake, real):
        return self.weight * losses.auxiliary_classifier_loss(fake.labels, fake.class_logits)

    def get_config(self):
        return {"weight": self.weight}


def pack_rows(x, pack):
    """Groups `pack` consecutive rows into one: `[n, ..., c] -> [n / pack, ..., pack * c]`.

    Row i of the result is the concatenation, along the last (feature or channel) axis, of rows
    `pack * i, ..., pack * i + pack - 1`: for 2-D points `[n, d] -> [n / m, m d]` (x_1's coordinates,
    then x_2's, ...); for images `[n, h, w, c] -> [n / m, h, w, m c]`.

    Raises:
      ValueError: if the number of rows is known and not a multiple of `pack` (otherwise a
        `tf.debugging` assertion checks it when the graph runs).
    """
    n = x.shape[0]
    if n is not None and n % pack:
        raise ValueError(
            f"Packing needs a number of rows divisible by pack={pack} on every replica. "
            f"Received: {n} rows."
        )
    shape = tf.shape(x)
    rank = x.shape.rank
    checks = [tf.debugging.assert_equal(shape[0] % pack, 0, message=f"rows % pack ({pack}) != 0")]
    with tf.control_dependencies(checks):
        grouped = tf.reshape(x, tf.concat([[shape[0] // pack, pack], shape[1:]], 0))
    if rank > 2:  # move the group axis next to the channels: [g, m, ..., c] -> [g, ..., m, c]
        grouped = tf.transpose(grouped, [0] + list(range(2, rank)) + [1, rank])
    return tf.reshape(grouped, tf.concat([[shape[0] // pack], shape[1:-1], [pack * shape[-1]]], 0))


def check_fit_batches(x, batch_size, unit, refusal, how):
    """Refuses (ValueError) `fit(x, batch_size=...)` inputs with a batch that is not a multiple of
    `unit` rows (packing, per-slot batch norm), before training starts.

    For arrays both sizes are checked: `batch_size` and the last, partial batch. A `tf.data`
    dataset needs a static batch size (`drop_remainder=True`). Other inputs are left to the
    graph's own assertion. `refusal` starts the message ("GAN(pack=2) cannot pack"), `how` says
    what would work.
    """
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        spec = spec[0] if isinstance(spec, (tuple, list)) else spec
        spec = spec["image"] if isinstance(spec, dict) else spec
        size = spec.shape[0] if spec.shape.rank else None
        if size is None or size % unit:
            raise ValueError(
                f"{refusal} this dataset's batches exactly. {how}, batched with "
                f"drop_remainder=True. Received: batch size {size} (None = unknown or a partial "
                "last batch)."
            )
        return
    first = x[0] if isinstance(x, (tuple, list)) else x
    first = first["image"] if isinstance(first, dict) else first
    if not hasattr(first, "shape") or first.shape[0] is None:
        return
    n, batch = int(first.shape[0]), 32 if batch_size is None else int(batch_size)
    sizes = sorted({min(batch, n), n % batch} - {0})
    bad = [size for size in sizes if size % unit]
    if bad:
        raise ValueError(
            f"{refusal} batches of {bad} examples exactly. {how}: e.g. "
            f"batch_size={max(unit, batch // unit * unit)} and the first {n // unit * unit} of the "
            f"{n} examples. Received: batch_size={batch}, {n} examples."
        )


@keras.saving.register_keras_serializable(package="tfgan_orig")
class Packing(Regularizer):
    """PacGAN (Lin et al. 2018): D judges `pack` samples at once, all real or all generated.

    `D_m(x_1, ..., x_m)` sees the concatenation of m samples (`pack_rows`): each group of `pack`
    consecutive rows of a minibatch becomes one D row, in D's and G's updates, for every loss. So a
    minibatch of B examples gives B / m D rows (B must be a multiple of m on every replica), D's
    loss is the mean over those rows, and G generates B samples per update. PacGAN keeps B packed
    D rows per step by drawing m B samples: give the GAN minibatches of m B examples for that.

    Under a multi-replica strategy each replica packs its own share of the minibatch, so every
    packed group lies within one replica's share; the groups are the same as on one device when
    the per-replica share is a multiple of m (rows 0..m-1, m..2m-1, ... of the minibatch).

    `GAN(pack=m)` adds it (D must take inputs of m times the sample's last dimension). Generation
    and evaluation are unchanged: G still produces single samples. Not for conditional GANs.

    Args:
      pack: m >= 2.
    """

    def __init__(self, pack):
        if int(pack) != pack or pack < 2:
            raise ValueError(f"pack must be an integer >= 2. Received: pack={pack}")
        self.pack = int(pack)

    def d_inputs(self, ctx, x, labels, role):
        if labels is not None:
            raise ValueError(
                f"Packing (pack={self.pack}) does not support conditional GANs: "
                "D would need the labels of every packed sample."
            )
        return pack_rows(x, self.pack), None

    def check_fit(self, x, batch_size, d_steps, replicas):
        """Refuses (ValueError) `GAN.fit(x, batch_size=...)` inputs whose batches cannot be
        packed exactly.

        Each replica's share of every minibatch is grouped into packs of m rows, so every batch
        must be a multiple of `d_steps * pack * replicas` (then the packs are the one-device
        packs). Checked for arrays and `tf.data` datasets; other inputs meet the graph's assertion
        in `pack_rows`.
        """
        unit = d_steps * self.pack * replicas
        check_fit_batches(
            x, batch_size, unit, f"GAN(pack={self.pack}) cannot pack",
            f"Use batches that are a multiple of d_steps * pack * replicas = {d_steps} * "
            f"{self.pack} * {replicas} = {unit}",
        )

    def get_config(self):
        return {"pack": self.pack}


class _ZeroCenteredPenalty(Regularizer):
    """`(gamma / 2) ||grad_x D(x)||^2` per row on one side's rows as D sees them; D the logit."""

    role = None  # "real" (R1) or "fake" (R2)

    def __init__(self, gamma, every=1):
        name = type(self).__name__
        if gamma is None or not gamma > 0:
            raise ValueError(f"{name} gamma must be > 0. Received: gamma={gamma}")
        if int(every) != every or every < 1:
            raise ValueError(f"{name} every must be an integer >= 1. Received: every={every}")
        self.gamma = float(gamma)
        self.every = int(every)

    def penalty(self, ctx, x, labels):
        """The per-row `(gamma / 2) ||grad_x D(x)||^2` `[rows]` (not lazy, not scaled)."""
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out, _ = ctx.discriminator(x, labels)
            # Rows are independent (no batch norm): d sum / d x_i = d D(x_i) / d x_i.
            total = tf.reduce_sum(tf.cast(out, tf.float32))
        g = tf.cast(tape.gradient(total, x), tf.float32)
        sq = tf.reduce_sum(tf.reshape(tf.square(g), [tf.shape(g)[0], -1]), axis=1)
        return 0.5 * self.gamma * sq

    def d_terms(self, ctx, real, fake):
        side = real if self.role == "real" else fake
        if self.every == 1 or ctx.phase != "d":
            return self.penalty(ctx, side.x, side.labels)
        # Lazy (StyleGAN2): on D updates 0, N, 2N, ... only, times N (same expected gradient).
        return tf.cond(
            tf.equal(ctx.d_update % self.every, 0),
            lambda: float(self.every) * self.penalty(ctx, side.x, side.labels),
            lambda: tf.zeros(tf.shape(side.x)[:1], tf.float32),
        )

    def get_config(self):
        return {"gamma": self.gamma, "every": self.every}


@keras.saving.register_keras_serializable(package="tfgan_orig")
class R1(_ZeroCenteredPenalty):
    """R1 (Mescheder et al. 2018): `(gamma / 2) ||grad_x D(x)||^2` on real rows x, added to D's loss.

    Zero-centred: it pushes D's gradient on the data to 0, which makes GAN training locally
    convergent for D's logit under every loss of `tfgan_orig.losses`. With `every=N > 1` the
    penalty is lazy (StyleGAN2, Karras et al. 2020): it is added on D updates 0, N, 2N, ... (D
    update `step * d_steps + j`) times N, and is 0 on the others. In the unrolled GAN's
    look-ahead it is applied on every step, unscaled. Use a D without batch norm.

    Args:
      gamma: gamma > 0.
      every: N >= 1 (1 = every D update).
    """

    role = "real"


@keras.saving.register_keras_serializable(package="tfgan_orig")
class R2(_ZeroCenteredPenalty):
    """R2: `(gamma / 2) ||grad_x D(x)||^2` on generated rows x = G(z), added to D's loss.

    The same as `R1` (lazy form included) on the generated side; R3GAN (Huang et al. 2024) uses
    RpGAN with R1 + R2.

    Args:
      gamma: gamma > 0.
      every: N >= 1 (1 = every D update).
    """

    role = "fake"


@keras.saving.register_keras_serializable(package="tfgan_orig")
class TopK(Regularizer):
    """Top-k training (Sinha et al. 2020): G learns only from the generated rows D rates most real.

    In each G update the global minibatch's generated D rows are ranked by D's realism (its logit
    or score; minus the energy for EBGAN), and only the `k_t = max(1, ceil(v_t n))` best of the `n`
    rows keep their objective loss, so G's loss is the mean over them:

        L_G = (1 / |K_t|) sum_{i in K_t} l_G(i),   K_t = {i : realism_i >= realism of the k_t-th best},
        v_t = max(keep_min, decay ** floor(t / decay_steps)),

    `t` the generator step (`decay_steps` = one epoch of steps: the paper's gamma per epoch, from
    keeping every row down to the fraction nu = `keep_min`). The paper's argument: the gradients of
    the samples D rates worst can push samples away from their nearest mode. Measured on the 2-D
    mixtures here (docs/mixtures.md) it balanced the modes (ring8 reverse KL 0.0014) but lowered
    the high-quality share (89.7% vs 96.4%). Implemented as per-row weights `n / |K_t|` on the kept rows and 0 on
    the others (ties at the threshold are all kept, so `|K_t|` may exceed `k_t`); the `g_terms`
    of other regularizers (AC-GAN's class loss) keep every row.

    The ranking is global: under a multi-replica strategy every replica's realism values are
    summed into one global vector (each replica fills its own rows, `randomness.RowWindow`), so
    the kept rows are the one-device rows on any number of replicas, for uneven shares too. With
    packing the ranked rows are D's packed rows.

    Args:
      keep_min: nu in (0, 1], the fraction kept at the end (1 keeps every row: plain training).
      decay: gamma in (0, 1], the per-`decay_steps` factor of the kept fraction.
      decay_steps: generator steps per decay (>= 1; the config uses the steps of one epoch).
    """

    def __init__(self, keep_min, decay=0.99, decay_steps=1):
        if keep_min is None or not 0.0 < keep_min <= 1.0:
            raise ValueError(f"TopK keep_min must be in (0, 1]. Received: keep_min={keep_min}")
        if decay is None or not 0.0 < decay <= 1.0:
            raise ValueError(f"TopK decay must be in (0, 1]. Received: decay={decay}")
        if int(decay_steps) != decay_steps or decay_steps < 1:
            raise ValueError(
                f"TopK decay_steps must be an integer >= 1. Received: decay_steps={decay_steps}"
            )
        self.keep_min = float(keep_min)
        self.decay = float(decay)
        self.decay_steps = int(decay_steps)

    def keep_fraction(self, step):
        """v_t as a float32 scalar."""
        epochs = tf.math.floordiv(tf.cast(step, tf.int64), self.decay_steps)
        decayed = tf.pow(tf.constant(self.decay, tf.float64), tf.cast(epochs, tf.float64))
        return tf.cast(tf.maximum(decayed, self.keep_min), tf.float32)

    def g_weights(self, ctx, fake, real):
        score = tf.stop_gradient(ctx.realism(fake.logits))
        local = tf.shape(score)[0]
        _, replicas = randomness.replica_info()
        if replicas > 1:
            window = ctx.window
            if window is None:
                window = randomness.RowWindow.even(local)
            first, total = window.scaled(local)
            # This replica's values at its rows of the global minibatch, zeros elsewhere: the SUM
            # all-reduce is the global vector, exactly (x + 0 = x).
            placed = tf.scatter_nd(
                tf.reshape(tf.range(first, first + local), [-1, 1]), score, tf.reshape(total, [1])
            )
            everyone = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, placed
            )
        else:
            everyone = score
        n = tf.shape(everyone)[0]
        k = tf.cast(tf.math.ceil(self.keep_fraction(ctx.step) * tf.cast(n, tf.float32)), tf.int32)
        k = tf.maximum(k, 1)
        # The k-th largest value, without indexing by k: XLA compiles a slice at a computed
        # position once per position (measured: about 80 times slower per call), a mask once.
        ranked = tf.sort(everyone, direction="DESCENDING")
        threshold = tf.reduce_min(tf.where(tf.range(n) < k, ranked, float("inf")))
        kept = tf.reduce_sum(tf.cast(everyone >= threshold, tf.float32))
        scale = tf.math.divide_no_nan(tf.cast(n, tf.float32), kept)
        return tf.where(score >= threshold, scale, 0.0)

    def get_config(self):
        return {"keep_min": self.keep_min, "decay": self.decay, "decay_steps": self.decay_steps}


def from_options(
    instance_noise=None,
    packing=None,
    gradient_penalty_weight=0.0,
    r1_gamma=0.0,
    r2_gamma=0.0,
    penalty_every=1,
    clip_value=None,
    aux_classifier=None,
    extra=(),
):
    """The regularizers that `GAN.compile`'s flat options turn on, in hook order, then `extra`.

    Order: instance noise (an `InstanceNoise`, kept if its stddev is not 0), then packing (a
    `Packing` or None; after the noise, which is per sample), `GradientPenalty`, `R1`, `R2`,
    `WeightClipping`, the AC-GAN `AuxiliaryClassifier` (or None), then the user's `extra`.
    A zero weight / gamma or `clip_value=None` leaves that one out.

    Raises:
      ValueError: a bad option, or an `extra` item that is not a `Regularizer`.
    """
    built = []
    if instance_noise is not None and instance_noise.stddev:
        built.append(instance_noise)
    if packing is not None:
        built.append(packing)
    if gradient_penalty_weight:
        built.append(GradientPenalty(gradient_penalty_weight))
    if r1_gamma:
        built.append(R1(r1_gamma, penalty_every))
    if r2_gamma:
        built.append(R2(r2_gamma, penalty_every))
    if clip_value is not None:
        built.append(WeightClipping(clip_value))
    if aux_classifier is not None:
        built.append(aux_classifier)
    for reg in extra:
        if not isinstance(reg, Regularizer):
            raise ValueError(
                "regularizers must be tfgan_orig.regularizers.Regularizer objects. "
                f"Received: {reg!r}"
            )
    return built + list(extra)
