"""tfgan_orig.optimizers: every name a config can choose builds the optimizer its fields describe."""

import keras
import pytest

from tfgan_orig import config as config_lib
from tfgan_orig import divergence, optimizers, schedules


def _opt(name, **fields):
    config = config_lib.default_config().optimizer
    config.name = name
    for key, value in fields.items():
        config[key] = value
    return config


def test_every_registered_name_builds_and_has_a_slot_count():
    assert set(optimizers.OPTIMIZERS) == set(optimizers.SLOTS)
    for name in optimizers.OPTIMIZERS:
        opt = optimizers.build(_opt(name), 1e-3, steps_per_epoch=10, name=f"d_{name}")
        assert isinstance(opt, keras.optimizers.Optimizer), name
        assert opt.name == f"d_{name}"


def test_fields_reach_the_optimizer():
    adam = optimizers.build(_opt("adam", beta_1=0.8, beta_2=0.9), 2e-4, 10, "g")
    assert (adam.beta_1, adam.beta_2) == (0.8, 0.9)
    assert float(adam.learning_rate) == pytest.approx(2e-4)
    sgd = optimizers.build(_opt("sgd", momentum=0.3), 0.1, 10, "g")
    assert sgd.momentum == 0.3
    paper = optimizers.build(_opt("paper_sgd", momentum_ramp_epochs=(1, 5)), 0.1, 10, "g")
    assert isinstance(paper, schedules.ScheduledMomentumSGD)


def test_skip_policy_wraps_the_optimizer():
    stop = optimizers.build(_opt("adam"), 1e-3, 10, "d", on_nonfinite="stop")
    skip = optimizers.build(_opt("adam"), 1e-3, 10, "d", on_nonfinite="skip")
    assert not isinstance(stop, divergence.SkipNonFinite)
    assert isinstance(skip, divergence.SkipNonFinite)
