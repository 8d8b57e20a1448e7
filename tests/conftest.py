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
