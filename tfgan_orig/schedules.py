"""The paper's optimizer as reusable pieces (authors' `mnist.yaml`, docs/references.md §1).

- `ExponentialDecayWithFloor`: `lr(t) = max(lr0 / decay^t, floor)`, t = optimizer step
  (pylearn2's `ExponentialDecay(decay_factor=1.000004, min_lr=1e-6)`).
- `LinearRamp`: a value going linearly from `start` to `end` between two steps
  (pylearn2's `MomentumAdjustor(start=1, saturate=250, final_momentum=0.7)` counts epochs; multiply
  by the steps per epoch).
- `ScheduledMomentumSGD`: Keras SGD whose momentum follows a schedule of the step. Keras' SGD reads
  `momentum` as a Python float when the train step is traced, so a callback that changes it later
  has no effect; here it is evaluated from `iterations` inside the step.
- `paper_sgd(steps_per_epoch)`: the whole recipe.
"""

import math

import keras
from keras import ops

__all__ = ["ExponentialDecayWithFloor", "LinearRamp", "ScheduledMomentumSGD", "paper_sgd"]


@keras.saving.register_keras_serializable(package="tfgan_orig")
class ExponentialDecayWithFloor(keras.optimizers.schedules.LearningRateSchedule):
    """`lr(t) = max(initial / decay_factor^t, floor)`."""

    def __init__(self, initial_learning_rate=0.1, decay_factor=1.000004, floor=1e-6):
        if initial_learning_rate <= 0 or decay_factor < 1.0 or floor < 0:
            raise ValueError(
                "Need initial_learning_rate > 0, decay_factor >= 1, floor >= 0. Received: "
                f"initial_learning_rate={initial_learning_rate}, decay_factor={decay_factor}, "
                f"floor={floor}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_factor = float(decay_factor)
        self.floor = float(floor)

    def __call__(self, step):
        # decay^-t as exp(-t ln decay) with ln taken in float64: 1.000004 itself is not
        # representable in float32 (it rounds to 1.0000039), a 0.5% lr error after 1e5 steps.
        step = ops.cast(step, "float32")
        lr = self.initial_learning_rate * ops.exp(-step * math.log(self.decay_factor))
        return ops.maximum(lr, self.floor)

    def get_config(self):
        return dict(
            initial_learning_rate=self.initial_learning_rate,
            decay_factor=self.decay_factor,
            floor=self.floor,
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
):
    """The authors' optimizer: decayed lr 0.1, momentum 0.5 -> 0.7 between epochs 1 and 250."""
    return ScheduledMomentumSGD(
        learning_rate=ExponentialDecayWithFloor(learning_rate, decay_factor, min_learning_rate),
        momentum_schedule=LinearRamp(
            initial_momentum,
            final_momentum,
            ramp_start_epoch * steps_per_epoch,
            ramp_end_epoch * steps_per_epoch,
        ),
        name=name,
    )
