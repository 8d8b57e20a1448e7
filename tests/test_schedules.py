"""The paper's SGD pieces: decayed learning rate with floor, momentum ramp, scheduled momentum."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_orig
from tfgan_orig import schedules


def test_learning_rate_decay_and_floor():
    lr = schedules.ExponentialDecayWithFloor(0.1, 1.000004, 1e-6)
    np.testing.assert_allclose(float(lr(0)), 0.1, rtol=1e-6)
    np.testing.assert_allclose(float(lr(100000)), 0.1 / 1.000004**100000, rtol=1e-4)
    assert float(lr(10**8)) == np.float32(1e-6)  # floor


def test_momentum_ramp_over_epochs():
    m = schedules.LinearRamp(0.5, 0.7, begin_step=100, end_step=200)
    np.testing.assert_allclose([float(m(s)) for s in (0, 100, 150, 200, 10**6)], [0.5, 0.5, 0.6, 0.7, 0.7], rtol=1e-6)


def test_scheduled_momentum_sgd_uses_the_schedule_inside_the_step():
    """Two steps on f(w) = w with lr 1 and momentum 0.0 then 1.0: m1 = -1, m2 = 1*(-1) - 1 = -2."""
    opt = schedules.ScheduledMomentumSGD(1.0, momentum_schedule=schedules.LinearRamp(0.0, 1.0, 0, 1))
    w = keras.Variable(0.0)
    opt.build([w])
    step = tf.function(lambda: opt.apply([tf.constant(1.0)], [w]))
    step()
    np.testing.assert_allclose(float(w.numpy()), -1.0)
    step()  # same traced function: the momentum is read from iterations, not frozen at trace
    np.testing.assert_allclose(float(w.numpy()), -1.0 - 2.0)


def test_paper_sgd_round_trips_through_config():
    opt = schedules.paper_sgd(steps_per_epoch=500, updates_per_step=3)
    clone = schedules.ScheduledMomentumSGD.from_config(opt.get_config())
    ramp = clone.momentum_schedule
    assert (ramp.saturate_epoch, ramp.steps_per_epoch, ramp.updates_per_step) == (250, 500, 3)
    np.testing.assert_allclose(float(clone.momentum_schedule(0)), 0.5)
    np.testing.assert_allclose(float(clone.momentum_schedule(3 * 500 * 249)), 0.7, rtol=1e-6)


# pylearn2's MomentumAdjustor(start, saturate) is called once before the first epoch and after every
# epoch, with `_count` = number of calls: the epoch numbered e (from 1) trains with
# alpha = clip((e - start) / (saturate - start), 0, 1). Golden values for 0.5 -> 0.7, start 1,
# saturate 250, 10 steps per epoch, at the first and last step of epochs 1, 2, 3, 250, 251:
_PYLEARN2_MOMENTUM = [
    (0, 0.5), (9, 0.5),                       # epoch 1: alpha 0
    (10, 0.5 + 0.2 / 249), (19, 0.5 + 0.2 / 249),  # epoch 2: alpha 1/249
    (20, 0.5 + 0.4 / 249),                    # epoch 3: alpha 2/249
    (2489, 0.5 + 0.2 * 248 / 249),            # epoch 249
    (2490, 0.7), (2499, 0.7), (2500, 0.7),    # epochs 250, 251: saturated
]


def test_paper_sgd_momentum_matches_pylearn2_momentum_adjustor():
    opt = schedules.paper_sgd(steps_per_epoch=10)
    got = [float(opt.momentum_schedule(step)) for step, _ in _PYLEARN2_MOMENTUM]
    np.testing.assert_allclose(got, [m for _, m in _PYLEARN2_MOMENTUM], rtol=1e-6)


def test_momentum_adjustor_saturate_equal_to_start_jumps_at_that_epoch():
    ramp = schedules.MomentumAdjustor(0.5, 0.9, start_epoch=3, saturate_epoch=3, steps_per_epoch=2)
    np.testing.assert_allclose([float(ramp(s)) for s in range(6)], [0.5, 0.5, 0.5, 0.5, 0.9, 0.9])


def test_schedules_follow_the_training_step_with_several_updates_per_step():
    """With updates_per_step=k, update t reads the schedule at training step t // k."""
    lr = schedules.ExponentialDecayWithFloor(0.1, 2.0, 0.0, updates_per_step=2)
    np.testing.assert_allclose([float(lr(t)) for t in range(6)], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    with pytest.raises(ValueError, match="updates_per_step"):
        schedules.ExponentialDecayWithFloor(0.1, 2.0, 0.0, updates_per_step=0)


def test_paper_sgd_d_and_g_follow_the_same_clock_with_two_d_steps():
    """k = 2 D updates per G update: after every training step, D's next update uses the learning
    rate and momentum of G's next update (the authors' clock: G updates / epochs), not a clock
    running twice as fast."""
    k, steps_per_epoch = 2, 2
    make = lambda name, per_step: schedules.paper_sgd(  # noqa: E731
        steps_per_epoch, decay_factor=1.5, ramp_start_epoch=1, ramp_end_epoch=3, name=name,
        updates_per_step=per_step,
    )
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    gan = tfgan_orig.GAN(g, d, 2, d_steps=k, seed=3)
    gan.compile(make("d_optimizer", k), make("g_optimizer", 1))
    x = np.random.default_rng(0).normal(size=(4 * k, 2)).astype(np.float32)
    seen = []
    for _ in range(3):  # 3 epochs of 2 training steps
        gan.fit(x, batch_size=2 * k, epochs=1, verbose=0, shuffle=False)
        d_opt, g_opt = gan.d_optimizer, gan.g_optimizer
        assert int(d_opt.iterations) == k * int(g_opt.iterations)
        seen.append((float(d_opt.learning_rate), d_opt.current_momentum()))
        np.testing.assert_allclose(seen[-1], (float(g_opt.learning_rate), g_opt.current_momentum()), rtol=1e-6)
    # Golden: after epoch e the next step is s = 2e: lr = 0.1 / 1.5^s; momentum of epoch e + 1.
    np.testing.assert_allclose(
        seen, [(0.1 / 1.5**2, 0.6), (0.1 / 1.5**4, 0.7), (0.1 / 1.5**6, 0.7)], rtol=1e-6
    )


def test_training_program_gives_d_the_generator_step_clock():
    """The config path: `optimizer.name="paper_sgd"` with `train.d_steps=2` builds D's optimizer on
    the training-step clock (2 updates per step) and G's on 1."""
    from conftest import tiny_ring8_config

    from tfgan_orig import builder

    config = tiny_ring8_config(d_steps=2)
    config.optimizer.name = "paper_sgd"
    gan = builder.build_gan(config, num_steps_per_epoch=5)
    inner = lambda opt: getattr(opt, "inner_optimizer", opt)  # noqa: E731
    d_opt, g_opt = inner(gan.d_optimizer), inner(gan.g_optimizer)
    assert d_opt.momentum_schedule.updates_per_step == 2
    assert d_opt._learning_rate.updates_per_step == 2
    assert g_opt.momentum_schedule.updates_per_step == 1
    d_opt.iterations.assign(2 * 7)
    g_opt.iterations.assign(7)
    np.testing.assert_allclose(float(d_opt.learning_rate), float(g_opt.learning_rate), rtol=1e-7)
    assert d_opt.current_momentum() == g_opt.current_momentum()
