"""The training config: every field with its default (declared once, here), validation, config.json.

A config is an `ml_collections.ConfigDict` with sections `data`, `model`, `loss`, `optimizer`,
`train`, `eval`. `default_config()` is the paper's MNIST model with every option of the GAN
family at its "off" value; the files in `configs/` start from it (or from one of the two published
setups below) and change a few fields:

    from tfgan_orig import config as config_lib

    def get_config():
        config = config_lib.default_config()
        config.data.name = "fashion_mnist"
        return config

A new option is one field here, with its default and a comment; code reads it as
`config.<section>.<field>` (never `.get(field, default)`: the default lives only here).

`validate_config` checks a config before anything is loaded or built and reports every problem at
once. `save_config` / `load_config` write and read `WORKDIR/config.json`; a config.json written
before a field existed loads with that field at its default.
"""

import json
import os

import ml_collections
import numpy as np

from tfgan_orig import data as data_lib
from tfgan_orig import distribute, divergence, metrics, networks, optimizers
from tfgan_orig import losses as losses_lib
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.gan import NOISE_TYPES, UPDATE_ORDERS

__all__ = [
    "ConfigError",
    "default_config",
    "default_fingerprint",
    "pacgan_mixture_config",
    "dcgan_config",
    "validate_config",
    "with_defaults",
    "to_json",
    "save_config",
    "load_config",
]


class ConfigError(ValueError):
    """An invalid training config (raised by `validate_config` before any work starts)."""


# ------------------------------------------------------------------------------------ defaults
def default_config():
    """The paper's MNIST model (Goodfellow et al. 2014), every family option off.

    Every field can be overridden on the command line, e.g. `--config.train.epochs=3`; an unknown
    field or a value of the wrong type is an error. "" / 0 mean "default" / "no cap" where noted.
    """
    config = ml_collections.ConfigDict()
    config.seed = 0  # network init, training noise, data order

    config.data = ml_collections.ConfigDict()
    config.data.name = "mnist"  # a name in tfgan_orig.data.DATASETS
    config.data.data_dir = ""  # IDX folder or tfds data_dir; "" = defaults (Debian's package, tfds)
    config.data.limit = 0  # use only the first `limit` training examples; 0 = all

    config.model = ml_collections.ConfigDict()
    config.model.generator = "paper"  # tfgan_orig.networks.GENERATORS
    config.model.discriminator = "paper"  # tfgan_orig.networks.DISCRIMINATORS
    config.model.latent_dim = 100
    config.model.noise = "uniform"  # "uniform" (U(-sqrt3, sqrt3), the authors') or "normal"
    # paper / mlp networks
    config.model.g_hidden_units = (1200, 1200)
    config.model.g_init_scale = 0.05  # paper G: weights ~ U(-0.05, 0.05)
    config.model.g_batch_norm = True  # mlp generator only
    config.model.g_batch_norm_momentum = 0.99  # mlp G's moving statistics (PacGAN's code: 0.95)
    # mlp G's batch-norm epsilon, x_hat = (x - mu) / sqrt(var + epsilon): Keras' default 1e-3;
    # PacGAN's Blocks code 1e-4. Its first layer's pre-activation variance is ||w_j||^2 for
    # z ~ N(0, I), about 2 x 0.02^2 = 8e-4 at PacGAN's init: the same order as Keras' epsilon.
    config.model.g_batch_norm_epsilon = 1e-3
    # mlp G's training statistics per slot of interleaved rows (row i in slot i mod k): PacGAN's
    # code runs G once per packing slot, i.e. k = model.pack; 1 = over the whole batch.
    config.model.g_batch_norm_slots = 1
    config.model.mlp_init_stddev = 0.0  # mlp G + maxout D: 0 = Glorot uniform, s = N(0, s²)
    config.model.output_bias = "pixel_mean"  # paper G's output bias: "pixel_mean" or "zeros"
    config.model.d_units = 240
    config.model.d_pieces = 5
    config.model.d_layers = 2
    config.model.d_init_scale = 0.005  # paper D: weights ~ U(-0.005, 0.005)
    config.model.d_input_keep = 0.8  # paper D: dropout keep probabilities
    config.model.d_hidden_keep = 0.5
    # dcgan / ebgan networks
    config.model.base_filters = 64  # G's last hidden width and D's first; doubled per layer
    config.model.g_normalization = "batch"  # "batch", "virtual_batch", "layer", "none"
    config.model.vbn_reference_size = 64  # virtual batch norm's reference batch
    config.model.d_normalization = "batch"  # "batch", "layer", "none" ("layer"/"none" for WGAN-GP)
    config.model.spectral_norm = False  # spectral normalization of D's layers (Miyato 2018)
    config.model.minibatch_discrimination = False  # Salimans et al. 2016
    config.model.ebgan_hidden_units = (256, 256)  # EBGAN auto-encoder D's dense code path
    config.model.ebgan_code_dim = 32
    # The GAN family's model-independent options (docs/family.md), all off:
    config.model.conditional = False  # labels into G and D (dcgan nets)
    config.model.aux_classifier = False  # AC-GAN head on D (needs conditional)
    config.model.ema_decay = 0.0  # generator EMA (0 = off); exported when on
    config.model.pack = 1  # PacGAN's m: D judges m samples at once (Lin et al. 2018); 1 = off

    config.loss = ml_collections.ConfigDict()
    config.loss.name = "non_saturating"  # tfgan_orig.losses.LOSSES
    config.loss.label_smoothing = 0.0  # one-sided: real target 1 - label_smoothing
    config.loss.gradient_penalty_weight = 0.0  # WGAN-GP lambda (10 in the paper)
    config.loss.clip_value = 0.0  # WGAN weight clipping c (0.01 in the paper); 0 = off
    config.loss.ebgan_margin = 1.0  # EBGAN's m
    config.loss.aux_classifier_weight = 1.0  # AC-GAN class loss weight
    config.loss.r1_gamma = 0.0  # R1 penalty (gamma/2)||grad D(x_real)||^2 (Mescheder 2018); 0 = off
    config.loss.r2_gamma = 0.0  # R2: the same on generated rows; 0 = off
    config.loss.penalty_every = 1  # lazy R1/R2 (StyleGAN2): every N-th D update, times N
    # top-k training (Sinha et al. 2020): G learns from the fraction max(keep, decay^epoch) of its
    # samples that D rates most real; 0 = off (every sample)
    config.loss.top_k_keep = 0.0
    config.loss.top_k_decay = 0.99  # per epoch

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.name = "paper_sgd"  # tfgan_orig.optimizers.OPTIMIZERS
    config.optimizer.d_learning_rate = 0.1
    config.optimizer.g_learning_rate = 0.1
    config.optimizer.beta_1 = 0.5  # adam
    config.optimizer.beta_2 = 0.999  # adam
    config.optimizer.momentum = 0.5  # sgd; paper_sgd's initial momentum
    config.optimizer.final_momentum = 0.7  # paper_sgd
    config.optimizer.momentum_ramp_epochs = (1, 250)  # paper_sgd: ramp from epoch 1 to 250
    config.optimizer.lr_decay = 1.000004  # paper_sgd: lr divided by this after every step
    config.optimizer.min_learning_rate = 1e-6  # paper_sgd
    # adam/sgd/rmsprop: lr constant until epoch a, then linear to 0 at epoch b; (0, 0) = constant
    config.optimizer.linear_decay_epochs = (0, 0)

    config.train = ml_collections.ConfigDict()
    config.train.epochs = 100
    config.train.batch_size = 100  # the minibatch m (global, over all replicas)
    config.train.d_steps = 1  # k of Algorithm 1: D updates per G update
    config.train.steps_per_epoch = 0  # cap on steps per epoch (quick runs); 0 = whole dataset
    config.train.log_every_steps = 100  # TensorBoard scalar window; 0 = epoch ends only
    config.train.num_samples = 64  # pictures per epoch (64 images; use ~2500 for 2-D scatter)
    config.train.sample_seed = 1234  # the fixed latent batch of the pictures
    config.train.max_checkpoints = 3
    config.train.deterministic = False  # tf.config.experimental.enable_op_determinism()
    config.train.steps_per_execution = 1
    config.train.jit_compile = False  # XLA (single device only)
    config.train.instance_noise_std = 0.0  # sigma_0 of instance noise on D's inputs
    config.train.instance_noise_decay_steps = 0  # linear anneal to 0 over these G steps; 0 = const
    config.train.unrolled_steps = 0  # unrolled GAN's k (Metz et al. 2017)
    config.train.unrolled_learning_rate = 0.0  # step size of the unrolled D steps; 0 = D's lr
    # "alternating" (Algorithm 1) or "simultaneous" (D's and G's gradients from one forward pass,
    # as ALI / PacGAN train; needs d_steps = 1 and unrolled_steps = 0)
    config.train.update_order = "alternating"
    config.train.precision = "float32"  # or "mixed_float16" (loss-scaled), "mixed_bfloat16"
    config.train.verbose = 1  # Keras progress: 1 = bar, 2 = one line per epoch, 0 = silent
    config.train.export = True  # export the generator SavedModel at the end
    config.train.time_limit_minutes = 0.0  # stop at an epoch end before this; 0 = no limit
    config.train.on_nonfinite = "stop"  # NaN/Inf loss: "stop" (exit non-zero) or "skip" the update
    config.train.max_consecutive_skips = 100  # "skip": stop after this many skipped updates in a row
    config.train.min_free_bytes = 0  # free disk space required beyond the run's estimated needs

    # Metrics logged to TensorBoard (DIR/tensorboard/eval) during training; see tfgan_orig.metrics
    # (e.g. "modes" for the 2-D mixtures, "fd,prd" for images). "" = none.
    config.eval = ml_collections.ConfigDict()
    config.eval.metrics = ""
    config.eval.every_n_epochs = 1
    config.eval.num_samples = 0  # 0 = the metric's standard count (2,500 for modes)
    return config


def default_fingerprint():
    """`workdir.run_fingerprint` of `default_config()`: the value each defining field had before it
    existed, for checkpoints older than the field (`workdir.fingerprint_differences`)."""
    return workdir_lib.run_fingerprint(default_config())


def pacgan_mixture_config(dataset="ring8", pack=1):
    """PacGAN's 2-D mixture setup (Lin et al. 2018), shared by its ring8 and grid25 experiments.

    100,000 training points; z 2-d N(0, I); G 4 x 400 ReLU + batch norm (momentum 0.95) -> linear
    2; D 3 maxout layers 200 x 5 -> logit; weights N(0, 0.02^2); Adam lr 1e-4, beta1 0.8; batch
    100; 400 epochs; mode coverage on 2,500 samples logged every epoch.

    `pack` = m > 1 gives PacGAN_m as in PacGAN's code: 100 packed D rows per step, i.e.
    `train.batch_size = 100 m` points of each kind (G runs on 100 m latents), so an epoch of
    100,000 points is 1,000 / m steps and PacGAN's 400 epochs of 1,000 steps are `400 m` epochs.
    G's batch norm takes its training statistics per packing slot of 100 rows
    (`model.g_batch_norm_slots = m`), as PacGAN's code, which calls G once per slot: measured to
    matter on ring8's PacGAN4 (docs/mixtures.md). Trained with XLA and 50 steps per execution (the
    same maths, about twice as fast on CPU).
    """
    config = default_config()
    config.data.name = dataset
    config.model.generator = "mlp"
    config.model.discriminator = "maxout"
    config.model.latent_dim = 2
    config.model.noise = "normal"
    config.model.g_hidden_units = (400, 400, 400, 400)
    config.model.g_batch_norm = True
    config.model.d_units = 200
    config.model.d_pieces = 5
    config.model.d_layers = 3
    # PacGAN's code: every weight N(0, 0.02^2), biases 0; batch-norm population statistics
    # updated as 0.95 p + 0.05 batch. Measured to matter (docs/mixtures.md): ring8's GAN after
    # 5 epochs has 70% high-quality samples with them, 44% with Glorot init and momentum 0.99.
    config.model.mlp_init_stddev = 0.02
    config.model.g_batch_norm_momentum = 0.95
    config.optimizer.name = "adam"
    config.optimizer.d_learning_rate = 1e-4
    config.optimizer.g_learning_rate = 1e-4
    config.optimizer.beta_1 = 0.8
    config.train.batch_size = 100
    config.train.epochs = 400
    config.train.num_samples = 2500  # PacGAN's metric sample size; plotted each epoch
    config.eval.metrics = "modes"  # PacGAN's mode coverage on 2,500 samples, every epoch
    if pack > 1:
        config.model.pack = pack
        config.train.batch_size = 100 * pack  # 100 packed rows of `pack` points
        config.model.g_batch_norm_slots = pack  # PacGAN's G: one call (statistics) per slot
        config.train.epochs = 400 * pack  # = PacGAN's 400 epochs of 1,000 steps
        config.train.jit_compile = True
        config.train.steps_per_execution = 50
    return config


def dcgan_config(dataset="fashion_mnist"):
    """The DCGAN setup (Radford et al. 2015): conv nets, Adam 2e-4 / beta1 0.5, batch 128.

    G projects z (100-d N(0, I)) and up-samples with stride-2 transposed convolutions (batch norm,
    ReLU, tanh output in [-1, 1]); D uses stride-2 convolutions (LeakyReLU 0.2, batch norm except
    on the input layer); non-saturating loss; 25 epochs.
    """
    config = default_config()
    config.data.name = dataset
    config.model.generator = "dcgan"
    config.model.discriminator = "dcgan"
    config.model.latent_dim = 100
    config.model.noise = "normal"
    config.loss.name = "non_saturating"
    config.optimizer.name = "adam"
    config.optimizer.d_learning_rate = 2e-4
    config.optimizer.g_learning_rate = 2e-4
    config.optimizer.beta_1 = 0.5
    config.train.batch_size = 128
    config.train.epochs = 25
    return config


# ------------------------------------------------------------------------------------ config.json
def _as_dict(config):
    to_dict = getattr(config, "to_dict", None)
    return to_dict() if to_dict else dict(config)


def to_json(config):
    """The config as the JSON text of `WORKDIR/config.json` (sorted keys)."""
    return json.dumps(_as_dict(config), indent=2, sort_keys=True, default=str)


def save_config(config, workdir):
    """Writes `WORKDIR/config.json` atomically; returns its path."""
    return workdir_lib.write_text(to_json(config), workdir_lib.paths(workdir)["config"])


def _tuples(node):  # JSON turned tuples into lists; configs use tuples
    if isinstance(node, dict):
        return {k: _tuples(v) for k, v in node.items()}
    if isinstance(node, list):
        return tuple(_tuples(v) for v in node)
    return node


def with_defaults(values):
    """`default_config()` updated with `values` (a nested dict or ConfigDict), as a ConfigDict.

    Fields `values` lacks keep their default (a config.json saved before the field existed);
    fields the defaults lack are kept too, for `validate_config` to report.
    """
    merged = default_config().to_dict()

    def update(base, new):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value

    update(merged, _tuples(_as_dict(values)))
    return ml_collections.ConfigDict(merged)


def load_config(workdir):
    """The `ml_collections.ConfigDict` a run saved in `WORKDIR/config.json` (missing fields take
    their defaults)."""
    path = workdir_lib.paths(workdir)["config"]
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir!r} a training workdir?")
    with open(path) as f:
        return with_defaults(json.load(f))


# ------------------------------------------------------------------------------------ validation
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _fields(node, prefix=""):
    """The dotted names of a config's leaf fields."""
    for key, value in node.items():
        if hasattr(value, "items"):
            yield from _fields(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


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
    expected = set(_fields(default_config()))
    given = set(_fields(config))
    missing, unknown = sorted(expected - given), sorted(given - expected)
    if missing or unknown:
        raise ConfigError(
            "Config fields must be those of tfgan_orig.config.default_config()"
            + (f"; missing: {missing}" if missing else "")
            + (f"; unknown: {unknown} (a new option needs its default there)" if unknown else "")
            + "."
        )
    problems = []

    def check(ok, message):
        if not ok:
            problems.append(message)

    def choice(section, key, valid):
        value = config[section][key]
        ok = isinstance(value, str) and value in valid
        check(ok, f"{section}.{key}: unknown value {value!r}. Valid choices: {sorted(valid)}.")
        return value if ok else None

    def integer(section, key, minimum=1):
        value = config[section][key]
        check(
            _is_int(value) and value >= minimum,
            f"{section}.{key} must be an integer >= {minimum}. Received: {section}.{key}={value!r}",
        )

    def number(section, key, low, low_ok=True):
        value = config[section][key]
        ok = _is_number(value) and np.isfinite(value) and (value >= low if low_ok else value > low)
        check(
            ok,
            f"{section}.{key} must be a finite number {'>=' if low_ok else '>'} {low}. "
            f"Received: {section}.{key}={value!r}",
        )

    def fraction(section, key, what):
        value = config[section][key]
        check(
            _is_number(value) and 0.0 <= value < 1.0,
            f"{section}.{key} must be in [0, 1){what}. Received: {section}.{key}={value!r}",
        )

    m, loss, train = config.model, config.loss, config.train
    check(_is_int(config.seed), f"seed must be an integer. Received: seed={config.seed!r}")
    dataset = choice("data", "name", data_lib.DATASETS)
    generator = choice("model", "generator", networks.GENERATORS)
    discriminator = choice("model", "discriminator", networks.DISCRIMINATORS)
    choice("model", "noise", NOISE_TYPES)
    choice("model", "g_normalization", ("batch", "layer", "virtual_batch", "none"))
    choice("model", "d_normalization", ("batch", "layer", "none"))
    choice("loss", "name", losses_lib.LOSSES)
    choice("optimizer", "name", optimizers.OPTIMIZERS)
    choice("train", "precision", distribute.PRECISIONS)
    choice("train", "on_nonfinite", divergence.ON_NONFINITE)
    if choice("train", "update_order", UPDATE_ORDERS) == "simultaneous":
        check(
            train.d_steps == 1 and train.unrolled_steps == 0,
            "train.update_order='simultaneous' takes one D and one G update from the same forward "
            "pass: it needs train.d_steps=1 and train.unrolled_steps=0. Received: "
            f"d_steps={train.d_steps!r}, unrolled_steps={train.unrolled_steps!r}",
        )
    check(
        isinstance(config.data.data_dir, str),
        f"data.data_dir must be a string ('' for the defaults). Received: {config.data.data_dir!r}",
    )
    integer("data", "limit", minimum=0)
    for key in ("latent_dim", "d_units", "d_pieces", "d_layers", "base_filters",
                "vbn_reference_size", "pack", "g_batch_norm_slots"):
        integer("model", key)
    units = m.g_hidden_units
    check(
        isinstance(units, (tuple, list)) and all(_is_int(u) and u >= 1 for u in units),
        f"model.g_hidden_units must be a tuple of integers >= 1. Received: {units!r}",
    )
    fraction("model", "ema_decay", " (0 = off)")
    fraction("model", "g_batch_norm_momentum", "")
    number("model", "g_batch_norm_epsilon", 0.0, low_ok=False)
    number("model", "mlp_init_stddev", 0.0)
    fraction("loss", "label_smoothing", "")
    number("loss", "gradient_penalty_weight", 0.0)
    number("loss", "clip_value", 0.0)
    number("loss", "ebgan_margin", 0.0, low_ok=False)
    number("loss", "aux_classifier_weight", 0.0)
    number("loss", "r1_gamma", 0.0)
    number("loss", "r2_gamma", 0.0)
    integer("loss", "penalty_every")
    for key, what in (("top_k_keep", "[0, 1] (0 = off)"), ("top_k_decay", "(0, 1]")):
        value = loss[key]
        low_ok = key == "top_k_keep"
        check(
            _is_number(value) and (0.0 <= value if low_ok else 0.0 < value) and value <= 1.0,
            f"loss.{key} must be in {what}. Received: loss.{key}={value!r}",
        )
    number("optimizer", "d_learning_rate", 0.0, low_ok=False)
    number("optimizer", "g_learning_rate", 0.0, low_ok=False)
    decay = config.optimizer.linear_decay_epochs
    decay_ok = (
        isinstance(decay, (tuple, list)) and len(decay) == 2
        and all(_is_number(v) and np.isfinite(v) for v in decay)
        and (tuple(decay) == (0, 0) or 0 <= decay[0] < decay[1])
    )
    check(
        decay_ok,
        "optimizer.linear_decay_epochs must be (0, 0) (constant) or a pair (a, b) of epochs with "
        f"0 <= a < b. Received: {decay!r}",
    )
    if decay_ok and decay[1] > 0:
        check(
            config.optimizer.name != "paper_sgd",
            "optimizer.linear_decay_epochs is for adam, sgd and rmsprop; paper_sgd decays by "
            f"optimizer.lr_decay. Received: linear_decay_epochs={tuple(decay)!r}, name='paper_sgd'",
        )
        if _is_int(train.epochs):  # (a bad train.epochs is reported on its own)
            check(
                decay[1] >= train.epochs,
                f"optimizer.linear_decay_epochs={tuple(decay)!r} reaches learning rate 0 at epoch "
                f"{decay[1]}, but train.epochs={train.epochs}: the last "
                f"{train.epochs - decay[1]:g} epochs would not train. Valid: b >= train.epochs (a "
                "shorter run ends before its decay does), e.g. the decay moved to the new end.",
            )
    for key in ("epochs", "batch_size", "d_steps", "steps_per_execution", "max_checkpoints",
                "max_consecutive_skips"):
        integer("train", key)
    for key in ("steps_per_epoch", "log_every_steps", "min_free_bytes",
                "instance_noise_decay_steps", "unrolled_steps"):
        integer("train", key, minimum=0)
    number("train", "instance_noise_std", 0.0)
    number("train", "unrolled_learning_rate", 0.0)
    number("train", "time_limit_minutes", 0.0)
    if config.eval.metrics:
        try:
            metrics.parse_metrics(config.eval.metrics)
        except ValueError as e:
            problems.append(f"eval.metrics: {e}")

    batch = train.batch_size
    if _is_int(batch) and batch >= 1 and int(num_replicas) > 1:
        check(
            batch % int(num_replicas) == 0,
            f"train.batch_size={batch} (the global minibatch) must be divisible by the "
            f"{num_replicas} replicas in sync. Valid: a multiple of {num_replicas}, e.g. "
            f"{max(1, batch // int(num_replicas)) * int(num_replicas)}.",
        )
    pack = m.pack
    if _is_int(batch) and batch >= 1 and _is_int(pack) and pack > 1:
        share = batch // max(1, int(num_replicas))
        check(
            share % pack == 0,
            f"model.pack={pack} groups each replica's share of train.batch_size={batch} "
            f"({share} on each of {num_replicas} replicas) into packs: it must divide evenly.",
        )
        check(
            not m.conditional,
            f"model.pack > 1 does not support conditional GANs. Received: pack={pack}, "
            "model.conditional=True",
        )
    slots = m.g_batch_norm_slots
    if _is_int(slots) and slots > 1:
        check(
            m.generator == "mlp" and m.g_batch_norm is True,
            f"model.g_batch_norm_slots={slots} splits the batch norm of the mlp generator: it "
            "needs model.generator='mlp' and model.g_batch_norm=True. Received: "
            f"generator={m.generator!r}, g_batch_norm={m.g_batch_norm!r}",
        )
        if _is_int(batch) and batch >= 1:
            share = batch // max(1, int(num_replicas))
            check(
                share % slots == 0,
                f"model.g_batch_norm_slots={slots} splits each replica's share of "
                f"train.batch_size={batch} ({share} on each of {num_replicas} replicas) into "
                "interleaved slots: it must divide evenly.",
            )
    info = data_lib.info(dataset) if dataset else None
    if info is not None and _is_int(config.data.limit) and _is_int(batch) and _is_int(
            train.d_steps):
        n = info.num_train if config.data.limit <= 0 else min(info.num_train, config.data.limit)
        per_step = train.d_steps * batch
        check(
            per_step <= n,
            f"One step needs train.d_steps * train.batch_size = {per_step} examples but "
            f"{dataset!r} with data.limit={config.data.limit} has {n}. Lower train.batch_size or "
            "raise data.limit.",
        )
    for role, name, table, verb in (
        ("generator", generator, networks.GENERATORS, "generate"),
        ("discriminator", discriminator, networks.DISCRIMINATORS, "take"),
    ):
        if info is not None and name:
            check(
                info.kind in table[name][1],
                f"model.{role}={name!r} cannot {verb} {info.kind} data ({dataset!r}). "
                f"{role.capitalize()}s for {info.kind} data: "
                f"{sorted(n for n, v in table.items() if info.kind in v[1])}.",
            )
    smoothing = loss.label_smoothing
    if _is_number(smoothing) and smoothing > 0 and loss.name in losses_lib.LOSSES:
        check(
            loss.name in losses_lib.SMOOTHABLE_LOSSES,
            f"loss.label_smoothing={smoothing} applies to {list(losses_lib.SMOOTHABLE_LOSSES)}. "
            f"Received: loss.name={loss.name!r}",
        )
    if (loss.name == "ebgan") != (m.discriminator == "ebgan") and discriminator:
        check(
            False,
            "loss.name='ebgan' and model.discriminator='ebgan' go together (the EBGAN loss needs "
            f"an energy, not a logit). Received: loss.name={loss.name!r}, "
            f"model.discriminator={m.discriminator!r}",
        )
    if info is not None:
        if m.conditional:
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
        if m.aux_classifier:
            check(
                m.conditional and m.discriminator == "dcgan",
                "model.aux_classifier=True (AC-GAN) needs model.conditional=True and "
                f"model.discriminator='dcgan'. Received: conditional={m.conditional}, "
                f"discriminator={m.discriminator!r}",
            )
        if info.kind == "image" and "dcgan" in (m.generator, m.discriminator):
            try:
                networks._dcgan_plan(info.shape)
            except ValueError as e:
                check(False, f"model.generator/discriminator='dcgan' on {dataset!r}: {e}")
    if problems:
        raise ConfigError("Invalid config:\n  - " + "\n  - ".join(problems))
