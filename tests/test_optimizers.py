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


def _lr(optimizer, iteration):
    optimizer.iterations.assign(iteration)
    return float(optimizer.learning_rate)


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_linear_decay_holds_then_falls_to_zero(name):
    # 10 steps per epoch: constant to epoch 2 (step 20), 0 at epoch 6 (step 60), linear between.
    opt = optimizers.build(_opt(name, linear_decay_epochs=(2, 6)), 1e-3, 10, "g")
    assert _lr(opt, 0) == pytest.approx(1e-3)
    assert _lr(opt, 20) == pytest.approx(1e-3)
    assert _lr(opt, 30) == pytest.approx(0.75e-3)
    assert _lr(opt, 50) == pytest.approx(0.25e-3)
    assert _lr(opt, 60) == 0.0
    assert _lr(opt, 90) == 0.0
    assert float(optimizers.build(_opt(name), 1e-3, 10, "g").learning_rate) == pytest.approx(1e-3)


def test_linear_decay_follows_the_training_step_for_k_d_updates():
    # D makes 3 updates per training step: at training step 40 (epoch 4) it has made 120 updates
    # and must be half-way down, as G is after its 40.
    d = optimizers.build(_opt("adam", linear_decay_epochs=(2, 6)), 1e-3, 10, "d", updates_per_step=3)
    g = optimizers.build(_opt("adam", linear_decay_epochs=(2, 6)), 1e-3, 10, "g")
    assert _lr(d, 120) == pytest.approx(0.5e-3)
    assert _lr(g, 40) == pytest.approx(0.5e-3)


@pytest.mark.parametrize(
    "name, decay",
    [("adam", (5, 2)), ("adam", (-1, 3)), ("adam", (1,)), ("adam", (1, float("nan"))),
     ("adam", (3, 3)), ("adam", (10, 50)), ("paper_sgd", (1, 3))],
)
def test_bad_linear_decay_is_rejected_naming_the_field(name, decay):
    config = config_lib.default_config()  # train.epochs = 100: (10, 50) idles for 50 epochs
    config.optimizer.name = name
    config.optimizer.linear_decay_epochs = decay
    with pytest.raises(ValueError, match="linear_decay_epochs"):
        config_lib.validate_config(config)


def test_linear_decay_ending_before_the_run_is_rejected():
    # A decay to 0 at epoch 40 with train.epochs = 400 would train 360 epochs at rate 0.
    config = config_lib.default_config()
    config.optimizer.name = "adam"
    config.optimizer.linear_decay_epochs = (20, 40)
    config.train.epochs = 400
    with pytest.raises(ValueError, match="the last 360 epochs would not train"):
        config_lib.validate_config(config)
    config.train.epochs = 40
    config_lib.validate_config(config)
    config.train.epochs = 20  # a shorter run ends before its decay does: allowed
    config_lib.validate_config(config)
