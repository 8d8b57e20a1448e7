"""The paper's optimizer as reusable pieces (authors' `mnist.yaml`, docs/references.md §1).

- `ExponentialDecayWithFloor`: `lr(t) = max(lr0 / decay^t, floor)`
  (pylearn2's `ExponentialDecay(decay_factor=1.000004, min_lr=1e-6)`: the update numbered t,
  counted from 0, uses `lr0 / decay^t`).
- `MomentumAdjustor`: pylearn2's `MomentumAdjustor(start=1, saturate=250, final_momentum=0.7)`
  on a step counter: constant within an epoch; the epoch numbered e (counted from 1) uses
  `alpha = clip((e - start) / (saturate - start), 0, 1)`, because pylearn2 calls the adjustor once
  before the first epoch and after every epoch.
- `LinearRamp`: a value going linearly from `start` to `end` between two steps (kept for
  optimizers saved before `MomentumAdjustor`; it reached each epoch's momentum one epoch late).
- `ScheduledMomentumSGD`: Keras SGD whose momentum follows a schedule of the step. Keras' SGD reads
  `momentum` as a Python float when the train step is traced, so a callback that changes it later
  has no effect; here it is evaluated from `iterations` inside the step.
- `paper_sgd(steps_per_epoch, updates_per_step=1)`: the whole recipe.

The clock is the training step (one generator update, the authors' epochs count them). An optimizer
that updates `k` times per step (the discriminator's, with `d_steps = k`) passes
`updates_per_step=k`: its update t then reads the schedules at step `t // k`, so D's learning rate
and momentum follow G's and do not run k times faster.
"""

import math

import keras
from keras import ops

__all__ = [
    "ExponentialDecayWithFloor",
    "MomentumAdjustor",
    "LinearRamp",
    "ScheduledMomentumSGD",
    "paper_sgd",
]


def _check_updates_per_step(updates_per_step):
    if int(updates_per_step) != updates_per_step or updates_per_step < 1:
        raise ValueError(
            f"updates_per_step must be an integer >= 1. Received: updates_per_step={updates_per_step}"
        )
    return int(updates_per_step)


def _training_step(iteration, updates_per_step):
    """The training step (G update) that optimizer update `iteration` belongs to."""
    iteration = ops.cast(iteration, "int64")
    if updates_per_step > 1:
        iteration = ops.floor_divide(iteration, updates_per_step)
    return iteration


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ExponentialDecayWithFloor(keras.optimizers.schedules.LearningRateSchedule):
    """`lr(t) = max(initial / decay_factor^s, floor)`, `s = t // updates_per_step`.

    Args:
      initial_learning_rate: lr0, the first update's learning rate.
      decay_factor: the learning rate is divided by it once per training step.
      floor: the smallest learning rate.
      updates_per_step: optimizer updates per training step (see the module docstring).
    """

    def __init__(
        self, initial_learning_rate=0.1, decay_factor=1.000004, floor=1e-6, updates_per_step=1
    ):
        if initial_learning_rate <= 0 or decay_factor < 1.0 or floor < 0:
            raise ValueError(
                "Need initial_learning_rate > 0, decay_factor >= 1, floor >= 0. Received: "
                f"initial_learning_rate={initial_learning_rate}, decay_factor={decay_factor}, "
                f"floor={floor}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_factor = float(decay_factor)
        self.floor = float(floor)
        self.updates_per_step = _check_updates_per_step(updates_per_step)

    def __call__(self, step):
        # decay^-s as exp(-s ln decay) with ln taken in float64: 1.000004 itself is not
        # representable in float32 (it rounds to 1.0000039), a 0.5% lr error after 1e5 steps.
        step = ops.cast(_training_step(step, self.updates_per_step), "float32")
        lr = self.initial_learning_rate * ops.exp(-step * math.log(self.decay_factor))
        return ops.maximum(lr, self.floor)

    def get_config(self):
        return dict(
            initial_learning_rate=self.initial_learning_rate,
            decay_factor=self.decay_factor,
            floor=self.floor,
            updates_per_step=self.updates_per_step,
        )


@keras.saving.register_keras_serializable(package="tfgan_orig")
class MomentumAdjustor(keras.optimizers.schedules.LearningRateSchedule):
    """pylearn2's `MomentumAdjustor(final_momentum, start, saturate)` as a schedule of the step.

    Update t belongs to training step `s = t // updates_per_step` and to the epoch numbered
    `e = s // steps_per_epoch + 1` (from 1). pylearn2 calls the adjustor once before training
    and after every epoch, so epoch e trains with
    `mu = initial (1 - alpha) + final alpha`, `alpha = clip((e - start) / (saturate - start), 0, 1)`
    (with `saturate == start`: `final` from epoch `start` on). With start=1, saturate=250 the
    first epoch uses the initial momentum, the second `initial + (final - initial) / 249`, and
    epoch 250 the final one.

    Args:
      initial_momentum, final_momentum: the two ends of the ramp.
      start_epoch, saturate_epoch: pylearn2's `start` and `saturate` (epochs, counted from 1).
      steps_per_epoch: training steps per epoch.
      updates_per_step: optimizer updates per training step (see the module docstring).
    """

    def __init__(
        self,
        initial_momentum,
        final_momentum,
        start_epoch,
        saturate_epoch,
        steps_per_epoch,
        updates_per_step=1,
    ):
        if saturate_epoch < start_epoch:
            raise ValueError(
                "MomentumAdjustor needs saturate_epoch >= start_epoch. Received: "
                f"start_epoch={start_epoch}, saturate_epoch={saturate_epoch}"
            )
        if int(steps_per_epoch) != steps_per_epoch or steps_per_epoch < 1:
            raise ValueError(
                f"steps_per_epoch must be an integer >= 1. Received: steps_per_epoch={steps_per_epoch}"
            )
        self.initial_momentum = float(initial_momentum)
        self.final_momentum = float(final_momentum)
        self.start_epoch, self.saturate_epoch = int(start_epoch), int(saturate_epoch)
        self.steps_per_epoch = int(steps_per_epoch)
        self.updates_per_step = _check_updates_per_step(updates_per_step)

    def __call__(self, step):
        step = _training_step(step, self.updates_per_step)
        epoch = ops.cast(ops.floor_divide(step, self.steps_per_epoch) + 1, "float32")
        span = self.saturate_epoch - self.start_epoch
        if span == 0:
            alpha = ops.cast(epoch >= self.start_epoch, "float32")
        else:
            alpha = ops.clip((epoch - self.start_epoch) / span, 0.0, 1.0)
        return self.initial_momentum * (1.0 - alpha) + self.final_momentum * alpha

    def get_config(self):
        return dict(
            initial_momentum=self.initial_momentum,
            final_momentum=self.final_momentum,
            start_epoch=self.start_epoch,
            saturate_epoch=self.saturate_epoch,
            steps_per_epoch=self.steps_per_epoch,
            updates_per_step=self.updates_per_step,
        )


@keras.saving.register_keras_serializable(package="tfgan_orig")
class LinearRamp(keras.optimizers.schedules.LearningRateSchedule):
    """`v(t) = start` for t <= begin, `end` for t >= finish, linear in between."""

    def __init__(self, start, end, begin_step, end_step):
        if end_step < begin_step:
            raise ValueError(
                f"LinearRamp needs end_step >= begin_step. Received: begin_step={begin_step}, "
                f"end_step={end_step}"
            )
        self.start, self.end = float(start), float(end)
        self.begin_step, self.end_step = int(begin_step), int(end_step)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        span = max(self.end_step - self.begin_step, 1)
        frac = ops.clip((step - self.begin_step) / span, 0.0, 1.0)
        return self.start + (self.end - self.start) * frac

    def get_config(self):
        return dict(
            start=self.start, end=self.end, begin_step=self.begin_step, end_step=self.end_step
        )


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ScheduledMomentumSGD(keras.optimizers.SGD):
    """SGD with `m <- mu(t) m - lr(t) g; w <- w + m`, `mu` a schedule of the step `t`."""

    def __init__(self, learning_rate=0.1, momentum_schedule=None, **kwargs):
        kwargs.pop("momentum", None)
        # A non-zero momentum makes the base class create the momentum slots.
        super().__init__(learning_rate=learning_rate, momentum=0.5, **kwargs)
        if momentum_schedule is None:
            momentum_schedule = LinearRamp(0.5, 0.5, 0, 0)
        elif isinstance(momentum_schedule, dict):
            momentum_schedule = keras.saving.deserialize_keras_object(momentum_schedule)
        self.momentum_schedule = momentum_schedule

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum_schedule(self.iterations), variable.dtype)
        self.assign(m, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, m)

    def current_momentum(self):
        """The momentum the next update uses (for logging)."""
        return float(self.momentum_schedule(self.iterations))

    def get_config(self):
        config = super().get_config()
        config.pop("momentum", None)
        config["momentum_schedule"] = keras.saving.serialize_keras_object(self.momentum_schedule)
        return config


def paper_sgd(
    steps_per_epoch,
    learning_rate=0.1,
    decay_factor=1.000004,
    min_learning_rate=1e-6,
    initial_momentum=0.5,
    final_momentum=0.7,
    ramp_start_epoch=1,
    ramp_end_epoch=250,
    name=None,
    updates_per_step=1,
):
    """The authors' optimizer: decayed lr 0.1, momentum 0.5 -> 0.7 between epochs 1 and 250.

    Args:
      steps_per_epoch: training steps (generator updates) per epoch.
      learning_rate, decay_factor, min_learning_rate: `ExponentialDecayWithFloor`.
      initial_momentum, final_momentum, ramp_start_epoch, ramp_end_epoch: `MomentumAdjustor`
        (pylearn2's `start` and `saturate`).
      name: the optimizer's name.
      updates_per_step: this optimizer's updates per training step: `d_steps` for the
        discriminator's optimizer, 1 for the generator's. Both then follow the same clock.
    """
    return ScheduledMomentumSGD(
        learning_rate=ExponentialDecayWithFloor(
            learning_rate, decay_factor, min_learning_rate, updates_per_step=updates_per_step
        ),
        momentum_schedule=MomentumAdjustor(
            initial_momentum,
            final_momentum,
            ramp_start_epoch,
            ramp_end_epoch,
            steps_per_epoch,
            updates_per_step=updates_per_step,
        ),
        name=name,
    )
