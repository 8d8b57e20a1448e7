"""Shared test setup: two logical CPU devices (for 2-replica MirroredStrategy tests), quiet TF."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # devices already initialised by an earlier import: keep what exists
    pass

TWO_CPUS = ["/cpu:0", "/cpu:1"]

_MIRRORED = []


def mirrored_strategy():
    """The test process's one 2-replica MirroredStrategy over TWO_CPUS.

    Use this instead of `tf.distribute.MirroredStrategy(TWO_CPUS)`: strategies created side by side
    in one process reuse collective instance keys, and TF's collective executor caches the first
    use's shapes, so a later strategy's all-reduce fails with "Shape mismatch in the collective
    instance N" (seen here). A real program builds one strategy, as this does.
    """
    if not _MIRRORED:
        _MIRRORED.append(tf.distribute.MirroredStrategy(TWO_CPUS))
    return _MIRRORED[0]
