"""The paper's SGD pieces: decayed learning rate with floor, momentum ramp, scheduled momentum."""

import keras
import numpy as np
import tensorflow as tf

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
    opt = schedules.paper_sgd(steps_per_epoch=500)
    clone = schedules.ScheduledMomentumSGD.from_config(opt.get_config())
    assert clone.momentum_schedule.end_step == 250 * 500
    np.testing.assert_allclose(float(clone.momentum_schedule(0)), 0.5)
