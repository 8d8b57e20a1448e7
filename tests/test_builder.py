"""tfgan_orig.builder: the GAN a config describes (every option reaches the model)."""

import numpy as np
import pytest
from conftest import tiny_ring8_config

from tfgan_orig import builder, config as config_lib


def test_packing_and_zero_centred_penalties_reach_the_gan():
    config = tiny_ring8_config()
    config.model.pack = 2
    config.loss.r1_gamma = 0.5
    config.loss.penalty_every = 4
    config_lib.validate_config(config)
    gan = builder.build_gan(config, num_steps_per_epoch=1)
    assert gan.pack == 2
    assert gan.discriminator.input_shape[1:] == (4,)  # two 2-D points side by side
    assert (gan.r1_gamma, gan.r2_gamma, gan.penalty_every) == (0.5, 0.0, 4)
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    logs = gan.train_on_batch(x, return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])


def test_top_k_reaches_the_gan_with_one_epoch_per_decay():
    config = tiny_ring8_config()
    config.loss.top_k_keep = 0.5
    config.loss.top_k_decay = 0.9
    config_lib.validate_config(config)
    gan = builder.build_gan(config, num_steps_per_epoch=7)
    assert [repr(r) for r in gan.regularizers] == [
        "TopK(keep_min=0.5, decay=0.9, decay_steps=7)"
    ]
    config.loss.top_k_keep = 0.0  # off
    assert builder.build_gan(config, num_steps_per_epoch=7).regularizers == []
    for key, value in [("top_k_keep", 1.5), ("top_k_keep", -0.1), ("top_k_decay", 0.0),
                       ("top_k_decay", float("nan"))]:
        bad = tiny_ring8_config()
        bad.loss[key] = value
        with pytest.raises(config_lib.ConfigError, match=f"loss.{key}"):
            config_lib.validate_config(bad)


def test_pack_must_divide_each_replicas_share():
    config = tiny_ring8_config()
    config.model.pack = 3  # batch 16
    with pytest.raises(config_lib.ConfigError, match="model.pack=3"):
        config_lib.validate_config(config)
    config.model.pack = 4
    config_lib.validate_config(config)
    with pytest.raises(config_lib.ConfigError, match="model.pack=4"):
        config_lib.validate_config(config, num_replicas=8)  # 2 examples per replica


def test_steps_per_epoch_and_value_range():
    config = tiny_ring8_config()  # batch 16, d_steps 1, steps_per_epoch cap 5
    assert builder.steps_per_epoch(config, 4000) == 5
    config.train.steps_per_epoch = 0
    assert builder.steps_per_epoch(config, 40) == 2
    with pytest.raises(ValueError, match="Lower train.batch_size"):
        builder.steps_per_epoch(config, 15)
    assert builder.value_range(config) == (0.0, 1.0)  # linear points generator
    config.model.generator = "dcgan"
    assert builder.value_range(config) == (-1.0, 1.0)
