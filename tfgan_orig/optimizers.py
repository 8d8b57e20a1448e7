"""The optimizers a config names (`optimizer.name`), built from the config's optimizer section.

    optimizer = tfgan_orig.optimizers.build(config.optimizer, learning_rate, steps_per_epoch,
                                            name="d_optimizer", on_nonfinite="stop")

`optimizer.linear_decay_epochs = (a, b)` (adam, sgd, rmsprop) holds the learning rate until epoch
`a` and lowers it linearly to 0 at epoch `b` (`lr(t) = lr * clip((b s - t) / ((b - a) s), 0, 1)`
for an optimizer making `s` updates per epoch): the annealed end of a run, where the last iterate
settles instead of oscillating around the equilibrium; `(0, 0)` keeps it constant. paper_sgd has
its own exponential decay (`optimizer.lr_decay`).

`build` wraps the result for `train.on_nonfinite` (`tfgan_orig.divergence.wrap_optimizer`: "skip"
drops an update whose loss or gradients are not finite, "stop" leaves it to the guard callback).
"""

import keras

from tfgan_orig import divergence, schedules

__all__ = ["OPTIMIZERS", "SLOTS", "build"]


def _decayed(opt, lr, steps, updates_per_step):
    """`lr`, or its linear decay to 0 over `opt.linear_decay_epochs` (module docstring)."""
    begin, end = opt.get("linear_decay_epochs", (0, 0))
    if end <= 0:
        return lr
    per_epoch = int(steps) * int(updates_per_step)  # this optimizer's updates per epoch
    return schedules.LinearRamp(lr, 0.0, int(begin * per_epoch), int(end * per_epoch))


def _adam(opt, lr, steps, name, updates_per_step=1):
    lr = _decayed(opt, lr, steps, updates_per_step)
    return keras.optimizers.Adam(lr, beta_1=opt.beta_1, beta_2=opt.beta_2, name=name)


def _sgd(opt, lr, steps, name, updates_per_step=1):
    lr = _decayed(opt, lr, steps, updates_per_step)
    return keras.optimizers.SGD(lr, momentum=opt.momentum, name=name)


def _paper_sgd(opt, lr, steps, name, updates_per_step=1):
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
        updates_per_step=updates_per_step,  # D's k updates per step follow G's clock
    )


def _rmsprop(opt, lr, steps, name, updates_per_step=1):
    lr = _decayed(opt, lr, steps, updates_per_step)
    return keras.optimizers.RMSprop(lr, name=name)  # WGAN (Arjovsky et al. 2017): RMSProp 5e-5


# name -> builder(optimizer config, learning rate, steps per epoch, name) -> keras optimizer
OPTIMIZERS = {"adam": _adam, "sgd": _sgd, "paper_sgd": _paper_sgd, "rmsprop": _rmsprop}
# Slot variables per trained variable (Keras 3), for the checkpoint size estimate.
SLOTS = {"adam": 2, "sgd": 1, "paper_sgd": 1, "rmsprop": 1}


def build(
    optimizer_config, learning_rate, steps_per_epoch, name, on_nonfinite="stop", updates_per_step=1
):
    """The optimizer `optimizer_config.name` names, wrapped for `on_nonfinite`.

    Args:
      optimizer_config: the config's `optimizer` section.
      learning_rate: this network's learning rate.
      steps_per_epoch: steps per epoch, for schedules counted in epochs (paper SGD's momentum ramp,
        `linear_decay_epochs`).
      name: the optimizer's name ("d_optimizer" / "g_optimizer").
      on_nonfinite: "stop" or "skip" (`train.on_nonfinite`).
      updates_per_step: the optimizer's updates per training step (`train.d_steps` for D's, 1 for
        G's): schedules counted in steps or epochs follow the training step, so D's learning-rate
        decay and momentum ramp do not run `d_steps` times faster than G's.
    """
    make = OPTIMIZERS[optimizer_config.name]
    return divergence.wrap_optimizer(
        make(optimizer_config, learning_rate, steps_per_epoch, name, updates_per_step=updates_per_step),
        on_nonfinite,
    )
