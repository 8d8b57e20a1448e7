"""The training program as a library: validate a config, build the GAN, train, checkpoint, export.

`train_and_evaluate(config, workdir)` is everything `python -m tfgan_orig.train` does; the CLI
(`train.py`) only parses flags. Workdir layout (a contract other tools rely on):

    WORKDIR/config.json                 the resolved config of the run
    WORKDIR/tensorboard/                event files (scalars, sample pictures, hparams)
    WORKDIR/checkpoints/                full training state, `ckpt-<epoch>.*` + `checkpoint` index
    WORKDIR/samples/                    epoch_NNNN.png and latest.png
    WORKDIR/export/generator/<version>/ the generator as a TF Serving SavedModel

Re-running the same command on the same workdir resumes from the newest complete checkpoint
(and says so); a finished run is not trained again.

Data order is a pure function of (seed, epoch): epoch e's batches are the first
`steps_per_epoch * batch` indices of a stateless shuffle seeded by (seed, e). Resuming at epoch e
therefore replays the exact batches an uninterrupted run sees, and with
`train.deterministic=True` (`tf.config.experimental.enable_op_determinism`) the final weights are
equal.
"""

import contextlib
import json
import os
import time
import warnings

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import callbacks as callbacks_lib
from tfgan_orig import checkpoints as checkpoints_lib
from tfgan_orig import data as data_lib
from tfgan_orig import distribute
from tfgan_orig import divergence
from tfgan_orig import losses as losses_lib
from tfgan_orig import networks, schedules
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.gan import GAN, NOISE_TYPES

__all__ = [
    "ConfigError",
    "GENERATORS",
    "DISCRIMINATORS",
    "OPTIMIZERS",
    "STRATEGIES",
    "validate_config",
    "make_strategy",
    "steps_per_epoch",
    "build_gan",
    "training_dataset",
    "train_and_evaluate",
    "load_gan_from_workdir",
    "workdir_paths",
]

STRATEGIES = distribute.STRATEGIES


class ConfigError(ValueError):
    """An invalid training config (raised by `validate_config` before any work starts)."""


# ------------------------------------------------------------------------------------ networks
# Each builder: (config, data_info, output_bias or None) -> keras.Model. A network name is valid for
# the data kinds listed; the generator's output range decides how images are scaled.
def _paper_generator(config, info, output_bias):
    m = config.model
    return networks.paper_generator(
        latent_dim=m.latent_dim,
        hidden_units=tuple(m.g_hidden_units),
        output_shape=info.shape,
        output_bias=output_bias,
        init_scale=m.g_init_scale,
        seed=config.seed,
    )


def _mlp_generator(config, info, output_bias):
    del output_bias  # linear output: no data-dependent bias
    m = config.model
    return networks.mlp_generator(
        latent_dim=m.latent_dim,
        output_dim=int(np.prod(info.shape)),
        hidden_units=tuple(m.g_hidden_units),
        batch_norm=m.g_batch_norm,
        seed=config.seed,
    )


def _paper_discriminator(config, info):
    m = config.model
    return networks.paper_discriminator(
        input_shape=info.shape,
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        input_keep=m.d_input_keep,
        hidden_keep=m.d_hidden_keep,
        init_scale=m.d_init_scale,
        seed=config.seed + 1000,
    )


def _maxout_discriminator(config, info):
    m = config.model
    return networks.maxout_discriminator(
        input_dim=int(np.prod(info.shape)),
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        seed=config.seed + 1000,
    )


# The GAN family (docs/family.md). Their config fields are optional (read with `.get`); the family
# configs set the ones they use: model.base_filters, model.g_normalization, model.d_normalization,
# model.vbn_reference_size, model.spectral_norm, model.minibatch_discrimination,
# model.conditional, model.aux_classifier, model.ema_decay, loss.gradient_penalty_weight,
# loss.clip_value, loss.ebgan_margin, loss.aux_classifier_weight, train.instance_noise_std,
# train.instance_noise_decay_steps, train.unrolled_steps, train.unrolled_learning_rate.
def _num_classes(config, info):
    return info.num_classes if config.model.get("conditional", False) else None


def _dcgan_generator(config, info, output_bias):
    del output_bias  # tanh output: no data-dependent bias
    m = config.model
    return networks.dcgan_generator(
        latent_dim=m.latent_dim,
        output_shape=info.shape,
        base_filters=m.get("base_filters", 64),
        num_classes=_num_classes(config, info),
        seed=config.seed,
        normalization=m.get("g_normalization", "batch"),
        reference_size=m.get("vbn_reference_size", 64),
    )


def _dcgan_discriminator(config, info):
    m = config.model
    return networks.dcgan_discriminator(
        input_shape=info.shape,
        base_filters=m.get("base_filters", 64),
        num_classes=_num_classes(config, info),
        minibatch_discrimination=m.get("minibatch_discrimination", False),
        spectral_norm=m.get("spectral_norm", False),
        seed=config.seed + 1000,
        normalization=m.get("d_normalization", "batch"),
        aux_classifier=m.get("aux_classifier", False),
    )


def _ebgan_discriminator(config, info):
    m = config.model
    return networks.ebgan_discriminator(
        input_shape=info.shape,
        base_filters=m.get("base_filters", 64),
        hidden_units=tuple(m.get("ebgan_hidden_units", (256, 256))),
        code_dim=m.get("ebgan_code_dim", 32),
        seed=config.seed + 1000,
    )


# name -> (builder, data kinds it handles, output value range)
GENERATORS = {
    "paper": (_paper_generator, ("image",), (0.0, 1.0)),
    "mlp": (_mlp_generator, ("points",), None),
    "dcgan": (_dcgan_generator, ("image",), (-1.0, 1.0)),
}
# name -> (builder, data kinds it handles)
DISCRIMINATORS = {
    "paper": (_paper_discriminator, ("image", "points")),
    "maxout": (_maxout_discriminator, ("points",)),
    "dcgan": (_dcgan_discriminator, ("image",)),
    "ebgan": (_ebgan_discriminator, ("image", "points")),
}


# ------------------------------------------------------------------------------------ optimizers
def _adam(opt, lr, steps, name):
    del steps
    return keras.optimizers.Adam(lr, beta_1=opt.beta_1, beta_2=opt.beta_2, name=name)


def _sgd(opt, lr, steps, name):
    del steps
    return keras.optimizers.SGD(lr, momentum=opt.momentum, name=name)


def _paper_sgd(opt, lr, steps, name):
    start, end = opt.momentum_ramp_epochs
    return schedules.paper_sgd(
        steps,
        learning_rate=lr,
        decay_factor=opt.lr_decay,
        min_learning_rate=opt.min_learning_rate,
        initial_momentum=opt.momentum,
        final_momentum=opt.final_momentum,
        ramp_start_epoch=start,
        ramp_end_epoch=end,
        name=name,
    )


# name -> (optimizer config, learning rate, steps per epoch, name) -> optimizer
def _rmsprop(opt, lr, steps, name):
    del steps
    return keras.optimizers.RMSprop(lr, name=name)  # WGAN (Arjovsky et al. 2017): RMSProp 5e-5


OPTIMIZERS = {"adam": _adam, "sgd": _sgd, "paper_sgd": _paper_sgd, "rmsprop": _rmsprop}


# ------------------------------------------------------------------------------------ validation
def _get(config, dotted):
    node = config
    for part in dotted.split("."):
        if not hasattr(node, "keys") or part not in node.keys():
            raise KeyError(dotted)
        node = node[part]
    return node


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


_REQUIRED = (
    "seed",
    "data.name",
    "data.data_dir",
    "data.limit",
    "model.generator",
    "model.discriminator",
    "model.latent_dim",
    "model.noise",
    "model.g_hidden_units",
    "model.d_units",
    "model.d_pieces",
    "model.d_layers",
    "loss.name",
    "loss.label_smoothing",
    "optimizer.name",
    "optimizer.d_learning_rate",
    "optimizer.g_learning_rate",
    "train.epochs",
    "train.batch_size",
    "train.steps_per_epoch",
    "train.d_steps",
    "train.log_every_steps",
)


def validate_config(config, num_replicas=1):
    """Checks a training config before anything is loaded or built.

    The single validation entry point of the training program: every problem found is reported
    at once, each naming the field, the value received and the valid choices.

    Args:
      config: an `ml_collections.ConfigDict` (or nested dict) as returned by `configs/*.py`.
      num_replicas: replicas in sync; the global minibatch must divide evenly among them.

    Raises:
      ConfigError: (a `ValueError`) listing every invalid field.
    """
    problems = []
    missing = []
    for key in _REQUIRED:
        try:
            _get(config, key)
        except KeyError:
            missing.append(key)
    if missing:
        raise ConfigError(f"Config is missing required fields: {missing}.")

    def check(ok, message):
        if not ok:
            problems.append(message)

    def choice(key, valid):
        value = _get(config, key)
        check(
            isinstance(value, str) and value in valid,
            f"{key}: unknown value {value!r}. Valid choices: {sorted(valid)}.",
        )
        return value if isinstance(value, str) and value in valid else None

    def positive_int(key, minimum=1):
        value = _get(config, key)
        check(
            _is_int(value) and value >= minimum,
            f"{key} must be an integer >= {minimum}. Received: {key}={value!r}",
        )

    def positive_number(key):
        value = _get(config, key)
        check(
            _is_number(value) and np.isfinite(value) and value > 0,
            f"{key} must be a finite number > 0. Received: {key}={value!r}",
        )

    check(_is_int(config.seed), f"seed must be an integer. Received: seed={config.seed!r}")
    dataset = choice("data.name", data_lib.DATASETS)
    generator = choice("model.generator", GENERATORS)
    discriminator = choice("model.discriminator", DISCRIMINATORS)
    choice("model.noise", NOISE_TYPES)
    choice("loss.name", losses_lib.LOSSES)
    choice("optimizer.name", OPTIMIZERS)
    check(
        isinstance(config.data.data_dir, str),
        f"data.data_dir must be a string ('' for the defaults). Received: {config.data.data_dir!r}",
    )
    positive_int("data.limit", minimum=0)
    positive_int("model.latent_dim")
    positive_int("model.d_units")
    positive_int("model.d_pieces")
    positive_int("model.d_layers")
    units = config.model.g_hidden_units
    check(
        isinstance(units, (tuple, list)) and all(_is_int(u) and u >= 1 for u in units),
        f"model.g_hidden_units must be a tuple of integers >= 1. Received: {units!r}",
    )
    smoothing = config.loss.label_smoothing
    check(
        _is_number(smoothing) and 0.0 <= smoothing < 1.0,
        f"loss.label_smoothing must be in [0, 1). Received: loss.label_smoothing={smoothing!r}",
    )
    positive_number("optimizer.d_learning_rate")
    positive_number("optimizer.g_learning_rate")
    positive_int("train.epochs")
    positive_int("train.batch_size")
    positive_int("train.steps_per_epoch", minimum=0)
    positive_int("train.d_steps")
    positive_int("train.log_every_steps", minimum=0)
    if config.get("eval") and config.eval.get("metrics"):
        from tfgan_orig import evaluation

        try:
            evaluation.parse_metrics(config.eval.metrics)
        except ValueError as e:
            problems.append(f"eval.metrics: {e}")
    optional = config.train
    if "precision" in optional and optional.precision not in distribute.PRECISIONS:
        problems.append(
            f"train.precision={optional.precision!r} is unknown. Valid choices: "
            f"{list(distribute.PRECISIONS)}."
        )
    if "steps_per_execution" in optional:
        positive_int("train.steps_per_execution")
    if "time_limit_minutes" in optional:
        value = optional.time_limit_minutes
        check(
            _is_number(value) and value >= 0,
            f"train.time_limit_minutes must be a number >= 0 (0 = no limit). Received: {value!r}",
        )
    batch = config.train.batch_size
    if _is_int(batch) and batch >= 1 and int(num_replicas) > 1:
        check(
            batch % int(num_replicas) == 0,
            f"train.batch_size={batch} (the global minibatch) must be divisible by the "
            f"{num_replicas} replicas in sync.",
        )
    for role, name, table, verb in (
        ("generator", generator, GENERATORS, "generate"),
        ("discriminator", discriminator, DISCRIMINATORS, "take"),
    ):
        if dataset and name:
            kind = data_lib.info(dataset).kind
            check(
                kind in table[name][1],
                f"model.{role}={name!r} cannot {verb} {kind} data ({dataset!r}). "
                f"{role.capitalize()}s for {kind} data: "
                f"{sorted(n for n, v in table.items() if kind in v[1])}.",
            )
    _validate_family(config, dataset, check)
    if problems:
        raise ConfigError("Invalid config:\n  - " + "\n  - ".join(problems))


def _validate_family(config, dataset, check):
    """Checks the optional GAN-family fields (see GENERATORS' comment) that a config sets."""
    m, loss, train = config.model, config.loss, config.train

    def number(node, key, low, low_ok=True):
        if key not in node.keys():
            return
        value = node[key]
        ok = _is_number(value) and (value >= low if low_ok else value > low)
        check(ok, f"{key} must be a number {'>=' if low_ok else '>'} {low}. Received: {value!r}")

    for key in ("ema_decay",):
        if key in m.keys():
            check(
                _is_number(m[key]) and 0.0 <= m[key] < 1.0,
                f"model.{key} must be in [0, 1) (0 = off). Received: {m[key]!r}",
            )
    number(m, "base_filters", 1)
    number(m, "vbn_reference_size", 1)
    number(loss, "gradient_penalty_weight", 0.0)
    number(loss, "clip_value", 0.0)
    number(loss, "ebgan_margin", 0.0, low_ok=False)
    number(loss, "aux_classifier_weight", 0.0)
    number(train, "instance_noise_std", 0.0)
    number(train, "instance_noise_decay_steps", 0)
    number(train, "unrolled_steps", 0)
    number(train, "unrolled_learning_rate", 0.0)
    if "g_normalization" in m.keys():
        valid = ("batch", "layer", "virtual_batch", "none")
        check(
            m.g_normalization in valid,
            f"model.g_normalization: unknown value {m.g_normalization!r}. Valid choices: {valid}.",
        )
    if "d_normalization" in m.keys():
        valid = ("batch", "layer", "none")
        check(
            m.d_normalization in valid,
            f"model.d_normalization: unknown value {m.d_normalization!r}. Valid choices: {valid}.",
        )
    smoothing = loss.label_smoothing
    if _is_number(smoothing) and smoothing > 0 and loss.name in losses_lib.LOSSES:
        check(
            loss.name in losses_lib.SMOOTHABLE_LOSSES,
            f"loss.label_smoothing={smoothing} applies to {list(losses_lib.SMOOTHABLE_LOSSES)}. "
            f"Received: loss.name={loss.name!r}",
        )
    if (loss.name == "ebgan") != (m.discriminator == "ebgan") and m.discriminator in DISCRIMINATORS:
        check(
            False,
            "loss.name='ebgan' and model.discriminator='ebgan' go together (the EBGAN loss needs "
            f"an energy, not a logit). Received: loss.name={loss.name!r}, "
            f"model.discriminator={m.discriminator!r}",
        )
    if dataset:
        info = data_lib.info(dataset)
        if m.get("conditional", False):
            check(
                info.num_classes is not None,
                f"model.conditional=True needs a labeled dataset. Received: data.name={dataset!r}",
            )
            # Only the DCGAN nets take labels (an embedding into G, a projection in D).
            check(
                m.generator == "dcgan" and m.discriminator == "dcgan",
                "model.conditional=True needs model.generator='dcgan' and "
                f"model.discriminator='dcgan'. Received: generator={m.generator!r}, "
                f"discriminator={m.discriminator!r}",
            )
        if m.get("aux_classifier", False):
            check(
                m.get("conditional", False) and m.discriminator == "dcgan",
                "model.aux_classifier=True (AC-GAN) needs model.conditional=True and "
                f"model.discriminator='dcgan'. Received: conditional={m.get('conditional', False)}, "
                f"discriminator={m.discriminator!r}",
            )
        if info.kind == "image" and "dcgan" in (m.generator, m.discriminator):
            try:
                networks._dcgan_plan(info.shape)
            except ValueError as e:
                check(False, f"model.generator/discriminator='dcgan' on {dataset!r}: {e}")


# ------------------------------------------------------------------------------------ strategy
def make_strategy(name="default"):
    """A `tf.distribute.Strategy` by name (see `tfgan_orig.distribute.get_strategy`); a strategy
    object is returned as it is. "tpu" connects to the TPU named by `TPU_NAME` (or a local one)."""
    if isinstance(name, tf.distribute.Strategy):
        return name
    try:
        return distribute.get_strategy(name or "default", tpu=os.environ.get("TPU_NAME", ""))
    except ValueError as e:
        raise ConfigError(str(e)) from e


# ------------------------------------------------------------------------------------ building
def steps_per_epoch(config, num_examples):
    """Steps in one epoch: whole batches of `d_steps * batch_size` examples, capped by
    `train.steps_per_epoch` when that is > 0."""
    per_step = config.train.d_steps * config.train.batch_size
    steps = num_examples // per_step
    if config.train.steps_per_epoch > 0:
        steps = min(steps, config.train.steps_per_epoch)
    if steps < 1:
        raise ValueError(
            f"One step needs d_steps * batch_size = {per_step} examples but the data has "
            f"{num_examples}. Lower train.batch_size or raise data.limit."
        )
    return steps


def _value_range(config):
    value_range = GENERATORS[config.model.generator][2]
    return (0.0, 1.0) if value_range is None else value_range


def build_gan(config, strategy=None, train_images=None, num_steps_per_epoch=None):
    """Builds and compiles the `GAN` a config describes, inside `strategy.scope()` if given.

    Args:
      config: a validated config.
      strategy: a `tf.distribute.Strategy` or None (default strategy).
      train_images: training images (uint8 `[n, H, W, C]`) for a data-dependent init (the paper
        generator's output bias = logit of the mean pixel, `model.output_bias="pixel_mean"`); None
        gives a zero bias (fine when weights are restored from a checkpoint next).
      num_steps_per_epoch: steps per epoch, for schedules counted in epochs (paper SGD's momentum
        ramp); default: computed from the dataset's size and the config.

    Returns:
      A compiled `tfgan_orig.GAN`.
    """
    info = data_lib.info(config.data.name)
    if num_steps_per_epoch is None:
        n = info.num_train if config.data.limit <= 0 else min(info.num_train, config.data.limit)
        num_steps_per_epoch = steps_per_epoch(config, n)
    output_bias = None
    if (
        train_images is not None
        and info.kind == "image"
        and config.model.get("output_bias", "zeros") == "pixel_mean"
    ):
        output_bias = networks.pixel_mean_logit_bias(np.asarray(train_images, np.float32) / 255.0)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        keras.utils.set_random_seed(config.seed)
        generator = GENERATORS[config.model.generator][0](config, info, output_bias)
        discriminator = DISCRIMINATORS[config.model.discriminator][0](config, info)
        ema_decay = config.model.get("ema_decay", 0.0)
        gan = GAN(
            generator,
            discriminator,
            latent_dim=config.model.latent_dim,
            d_steps=config.train.d_steps,
            noise=config.model.noise,
            seed=config.seed,
            num_classes=_num_classes(config, info),
            ema_decay=ema_decay or None,
            aux_classifier=config.model.get("aux_classifier", False),
            aux_classifier_weight=config.loss.get("aux_classifier_weight", 1.0),
        )
        opt = config.optimizer
        make_opt = OPTIMIZERS[opt.name]
        gan.compile(
            d_optimizer=divergence.wrap_optimizer(  # train.on_nonfinite="skip": skip NaN steps
                make_opt(opt, opt.d_learning_rate, num_steps_per_epoch, "d_optimizer"),
                config.train.get("on_nonfinite", "stop"),
            ),
            g_optimizer=divergence.wrap_optimizer(
                make_opt(opt, opt.g_learning_rate, num_steps_per_epoch, "g_optimizer"),
                config.train.get("on_nonfinite", "stop"),
            ),
            loss=config.loss.name,
            label_smoothing=config.loss.label_smoothing,
            gradient_penalty_weight=config.loss.get("gradient_penalty_weight", 0.0),
            clip_value=config.loss.get("clip_value", 0.0) or None,
            ebgan_margin=config.loss.get("ebgan_margin", 1.0),
            instance_noise_std=config.train.get("instance_noise_std", 0.0),
            instance_noise_decay_steps=config.train.get("instance_noise_decay_steps", 0) or None,
            unrolled_steps=config.train.get("unrolled_steps", 0),
            unrolled_learning_rate=config.train.get("unrolled_learning_rate", 0.0) or None,
            steps_per_execution=config.train.get("steps_per_execution", 1),
            jit_compile=config.train.get("jit_compile", False),
        )
    return gan


def training_dataset(
    x, batch_size, num_steps, seed, start_epoch, end_epoch, value_range=None, labels=None
):
    """The batches of epochs `[start_epoch, end_epoch)`, in an order fixed by (seed, epoch).

    Epoch e yields `num_steps` batches: the first `num_steps * batch_size` indices of
    `stateless_shuffle(range(n), seed=(seed, e))`, so any epoch can be replayed alone (resume).

    Args:
      x: uint8 images `[n, H, W, C]` (scaled to `value_range` per batch) or float32 points `[n, d]`.
      batch_size: examples per batch (d_steps x global minibatch).
      num_steps: batches per epoch.
      seed: int.
      start_epoch, end_epoch: epoch range.
      value_range: pixel range for images; None leaves `x` as it is (points).
      labels: optional int labels `[n]`; then batches are `(x, labels)`.

    Returns:
      A `tf.data.Dataset` of exactly `(end_epoch - start_epoch) * num_steps` batches.
    """
    n = len(x)
    take = int(num_steps) * int(batch_size)
    if take > n:
        raise ValueError(f"{num_steps} steps of {batch_size} need {take} examples; have {n}.")
    x_t = tf.constant(x)
    y_t = None if labels is None else tf.constant(labels, tf.int32)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order[:take]).batch(batch_size, drop_remainder=True)

    def load(idx):
        xb = tf.gather(x_t, idx)
        if value_range is not None:
            lo, hi = value_range
            xb = tf.cast(xb, tf.float32) * ((hi - lo) / 255.0) + lo
        return xb if y_t is None else (xb, tf.gather(y_t, idx))

    ds = tf.data.Dataset.range(int(start_epoch), int(end_epoch)).flat_map(epoch_batches)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


# ------------------------------------------------------------------------------------ workdir
workdir_paths = workdir_lib.paths  # the layout lives in tfgan_orig.workdir


def _config_json(config):
    to_dict = getattr(config, "to_dict", None)
    return json.dumps(to_dict() if to_dict else dict(config), indent=2, sort_keys=True, default=str)


def load_config(workdir):
    """The `ml_collections.ConfigDict` a run saved in `WORKDIR/config.json`."""
    import ml_collections

    path = workdir_paths(workdir)["config"]
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir!r} a training workdir?")
    with open(path) as f:
        raw = json.load(f)

    def tuples(node):  # JSON turned tuples into lists; configs use tuples
        if isinstance(node, dict):
            return {k: tuples(v) for k, v in node.items()}
        if isinstance(node, list):
            return tuple(tuples(v) for v in node)
        return node

    return ml_collections.ConfigDict(tuples(raw))


def load_gan_from_workdir(workdir, with_optimizers=False):
    """Rebuilds a run's GAN from `WORKDIR/config.json` and restores its newest checkpoint.

    No training data is read. Raises `FileNotFoundError` if the workdir has no checkpoint.

    Args:
      workdir: a training workdir.
      with_optimizers: also restore both optimizers' state (to continue training by hand).

    Returns:
      The `tfgan_orig.GAN` with the newest checkpoint's weights (`gan.restored_epoch` set).
    """
    config = load_config(workdir)
    validate_config(config)
    gan = build_gan(config, None, train_images=None, num_steps_per_epoch=1)
    paths = workdir_paths(workdir)
    ckpt = checkpoints_lib.TrainingCheckpoint(
        gan, paths["checkpoints"], with_optimizers=with_optimizers
    )
    path = ckpt.restore_latest(expect_partial=not with_optimizers)
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {paths['checkpoints']}.")
    gan.restored_epoch = ckpt.restored_epoch
    logging.info("Loaded %s (epoch %d).", path, gan.restored_epoch)
    return gan


# ------------------------------------------------------------------------------------ training
def train_and_evaluate(config, workdir, strategy=None):
    """Trains the GAN a config describes, writing the workdir layout; resumes if interrupted.

    Args:
      config: an `ml_collections.ConfigDict` (see `configs/default.py`).
      workdir: output directory (created if needed).
      strategy: a `tf.distribute.Strategy`, a name in `STRATEGIES`, or None (default strategy).

    Returns:
      A dict: `workdir`, `tensorboard`, `checkpoint` (newest path), `sample_png` (newest picture),
      `export` (SavedModel version path or None), `start_epoch` (0 if fresh), `epochs`,
      `stopped_at_epoch` (set when `train.time_limit_minutes` stopped training early),
      `steps_per_epoch`, `history` (per-epoch metrics of this invocation), `seconds`.
    """
    strategy = make_strategy(strategy)
    validate_config(config, num_replicas=strategy.num_replicas_in_sync)
    # Before any layer is built: the dtype policy is read at layer construction.
    distribute.set_precision(config.train.get("precision", "float32"))
    from tfgan_orig import preflight  # workdir, disk space, resume compatibility: before any write

    preflight.check(config, workdir, strategy)
    if config.train.get("deterministic", False):
        tf.config.experimental.enable_op_determinism()
    chief = checkpoints_lib.is_chief(strategy)
    paths = workdir_paths(workdir)
    if chief:
        for key in ("tensorboard", "checkpoints", "samples"):
            os.makedirs(paths[key], exist_ok=True)
        workdir_lib.write_text(_config_json(config), paths["config"])

    info = data_lib.info(config.data.name)
    x, y = data_lib.load_arrays(
        config.data.name, "train", config.data.data_dir or None, seed=config.seed
    )
    if config.data.limit > 0:
        x = x[: config.data.limit]
        y = None if y is None else y[: config.data.limit]
    preflight.check_data(config, x, y)  # example shape, conditional labels' range
    num_steps = steps_per_epoch(config, len(x))
    epochs = config.train.epochs
    step_batch = config.train.d_steps * config.train.batch_size

    gan = build_gan(config, strategy, train_images=x, num_steps_per_epoch=num_steps)
    ckpt = checkpoints_lib.TrainingCheckpoint(
        gan, paths["checkpoints"], max_to_keep=config.train.get("max_checkpoints", 3),
        strategy=strategy,
    )
    restored = ckpt.restore_latest()
    if restored:  # a lowered learning rate (after a divergence) must win over the checkpoint's
        divergence.use_config_learning_rates(
            gan, config.optimizer.d_learning_rate, config.optimizer.g_learning_rate
        )
    start_epoch = ckpt.restored_epoch if restored else 0
    if restored:
        logging.info(
            "Resuming from checkpoint %s: %d of %d epochs done (step %d).",
            restored, start_epoch, epochs, int(gan.step_counter.numpy()),
        )
        print(f"Resuming from {restored} (epoch {start_epoch}/{epochs}).", flush=True)
    else:
        logging.info("No checkpoint in %s: starting from scratch.", paths["checkpoints"])

    value_range = _value_range(config) if info.kind == "image" else None
    summaries = callbacks_lib.TrainingSummaries(
        paths["tensorboard"],
        paths["samples"],
        steps_per_epoch=num_steps,
        images_per_step=step_batch,
        log_every_steps=config.train.log_every_steps,
        hparams=callbacks_lib.flatten_hparams(config),
        num_samples=config.train.get("num_samples", 64 if info.kind == "image" else 2500),
        sample_seed=config.train.get("sample_seed", 1234),
        value_range=value_range or (0.0, 1.0),
        modes=data_lib.MIXTURES[config.data.name][0]() if config.data.name in data_lib.MIXTURES
        else None,
        chief=chief,
    )
    fit_callbacks = [summaries, callbacks_lib.CheckpointEachEpoch(ckpt)]
    fit_callbacks.insert(0, divergence.NonFiniteGuard(  # first: before the epoch-end checkpoint
        num_steps,
        on_nonfinite=config.train.get("on_nonfinite", "stop"),
        max_consecutive_skips=config.train.get("max_consecutive_skips", 100),
        checkpoint_dir=paths["checkpoints"],
    ))
    if chief and config.get("eval") and config.eval.metrics and config.eval.every_n_epochs > 0:
        from tfgan_orig import evaluation  # heavy (feature networks): only when asked for

        # Before the checkpoint callback, so a checkpoint's epoch always has its metrics logged.
        fit_callbacks.insert(-1, evaluation.EvaluationCallback(
            config.data.name,
            log_dir=os.path.join(paths["tensorboard"], "eval"),
            metrics=config.eval.metrics,
            every_n_epochs=config.eval.every_n_epochs,
            num_samples=config.eval.num_samples or None,
            value_range=value_range,
            data_dir=config.data.data_dir or None,
        ))
    time_limit = None
    if config.train.get("time_limit_minutes", 0) > 0:
        time_limit = callbacks_lib.TimeLimit(config.train.time_limit_minutes)
        fit_callbacks.append(time_limit)
    history = {}
    started = time.perf_counter()
    if start_epoch < epochs:
        ds = training_dataset(
            x,
            step_batch,
            num_steps,
            config.seed,
            start_epoch,
            epochs,
            value_range=value_range,
            labels=y if gan.num_classes is not None else None,
        )
        with warnings.catch_warnings():
            # Keras warns that shuffle=True is ignored for datasets; the order is ours, by design.
            warnings.filterwarnings("ignore", message=".*shuffle=True.*")
            result = gan.fit(
                ds,
                epochs=epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=num_steps,
                callbacks=fit_callbacks,
                verbose=config.train.get("verbose", 1),
            )
        history = {k: [float(np.asarray(v).reshape(-1)[0]) for v in vals]
                   for k, vals in result.history.items()}
    else:
        print(f"Training already complete ({start_epoch}/{epochs} epochs): nothing to do.",
              flush=True)
    seconds = time.perf_counter() - started

    export_path = workdir_lib.latest_export(paths["export"])
    if chief and config.train.get("export", True) and (export_path is None or history):
        from tfgan_orig import export as export_lib  # SavedModel code, only needed at the end

        export_path = export_lib.export_generator(
            gan, paths["export"], use_ema=gan.ema_generator is not None
        )
        logging.info("Exported the generator to %s", export_path)
    sample_png = os.path.join(paths["samples"], "latest.png")
    stopped = time_limit.stopped_at_epoch if time_limit is not None else None
    if stopped is not None and stopped < epochs:
        print(
            f"Time limit ({config.train.time_limit_minutes} min) reached after epoch {stopped} of "
            f"{epochs}; run the same command again to continue.",
            flush=True,
        )
    return {
        "workdir": paths["workdir"],
        "tensorboard": paths["tensorboard"],
        "checkpoint": tf.train.latest_checkpoint(paths["checkpoints"]),
        "sample_png": sample_png if os.path.exists(sample_png) else None,
        "export": export_path,
        "start_epoch": start_epoch,
        "epochs": epochs,
        "stopped_at_epoch": stopped,
        "steps_per_epoch": num_steps,
        "history": history,
        "seconds": seconds,
    }
