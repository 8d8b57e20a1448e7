"""From a config to a compiled `GAN`: `build_gan`, and `load_gan_from_workdir` (config.json + the
newest checkpoint). Below the training loop, evaluation and export, which all build the same GAN.
"""

import contextlib

import keras
import numpy as np
from absl import logging

from tfgan_orig import checkpoints as checkpoints_lib
from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import networks, optimizers, regularizers
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.gan import GAN

__all__ = ["steps_per_epoch", "value_range", "build_gan", "load_gan_from_workdir"]


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


def value_range(config):
    """The range training images are scaled to: the generator's output range."""
    return networks.value_range(config.model.generator)


def build_gan(config, strategy=None, train_images=None, num_steps_per_epoch=None):
    """Builds and compiles the `GAN` a config describes, inside `strategy.scope()` if given.

    Args:
      config: a validated config (`tfgan_orig.config.validate_config`).
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
        and config.model.output_bias == "pixel_mean"
    ):
        output_bias = networks.pixel_mean_logit_bias(np.asarray(train_images, np.float32) / 255.0)
    m, loss, train, opt = config.model, config.loss, config.train, config.optimizer
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        keras.utils.set_random_seed(config.seed)
        gan = GAN(
            networks.build_generator(config, info, output_bias),
            networks.build_discriminator(config, info),
            latent_dim=m.latent_dim,
            d_steps=train.d_steps,
            noise=m.noise,
            seed=config.seed,
            num_classes=networks.num_classes(config, info),
            ema_decay=m.ema_decay or None,
            aux_classifier=m.aux_classifier,
            aux_classifier_weight=loss.aux_classifier_weight,
            pack=m.pack,
        )
        gan.compile(
            d_optimizer=optimizers.build(
                opt,
                opt.d_learning_rate,
                num_steps_per_epoch,
                "d_optimizer",
                train.on_nonfinite,
                updates_per_step=train.d_steps,
            ),
            g_optimizer=optimizers.build(
                opt, opt.g_learning_rate, num_steps_per_epoch, "g_optimizer", train.on_nonfinite
            ),
            loss=loss.name,
            label_smoothing=loss.label_smoothing,
            gradient_penalty_weight=loss.gradient_penalty_weight,
            clip_value=loss.clip_value or None,
            ebgan_margin=loss.ebgan_margin,
            r1_gamma=loss.r1_gamma,
            r2_gamma=loss.r2_gamma,
            penalty_every=loss.penalty_every,
            instance_noise_std=train.instance_noise_std,
            instance_noise_decay_steps=train.instance_noise_decay_steps or None,
            regularizers=(
                [regularizers.TopK(loss.top_k_keep, loss.top_k_decay, num_steps_per_epoch)]
                if loss.top_k_keep
                else []
            ),
            unrolled_steps=train.unrolled_steps,
            unrolled_learning_rate=train.unrolled_learning_rate or None,
            update_order=train.update_order,
            steps_per_execution=train.steps_per_execution,
            jit_compile=train.jit_compile,
        )
    return gan


def load_gan_from_workdir(workdir, with_optimizers=False):
    """Rebuilds a run's GAN from `WORKDIR/config.json` and restores its newest checkpoint.

    No training data is read. Raises `FileNotFoundError` if the workdir has no checkpoint.

    Args:
      workdir: a training workdir.
      with_optimizers: also restore both optimizers' state (to continue training by hand).

    Returns:
      The `tfgan_orig.GAN` with the newest checkpoint's weights (`gan.restored_epoch` set).
    """
    config = config_lib.load_config(workdir)
    config_lib.validate_config(config)
    # Steps per epoch from the dataset's size (no data read): schedules counted in epochs
    # (learning-rate decay, paper SGD's momentum ramp) continue where the run left them.
    gan = build_gan(config, None, train_images=None)
    paths = workdir_lib.paths(workdir)
    ckpt = checkpoints_lib.TrainingCheckpoint(
        gan, paths["checkpoints"], with_optimizers=with_optimizers, read_only=True,
        fingerprint=workdir_lib.run_fingerprint(config),  # checked against the checkpoint's own
    )
    path = ckpt.restore_latest(expect_partial=not with_optimizers)
    if path is None:
        raise FileNotFoundError(f"No checkpoint in {paths['checkpoints']}.")
    gan.restored_epoch = ckpt.restored_epoch
    logging.info("Loaded %s (epoch %d).", path, gan.restored_epoch)
    return gan
