"""Choosing a `tf.distribute` strategy, mixed precision, and who writes files.

    strategy = tfgan_orig.distribute.get_strategy("mirrored")   # all local GPUs
    with strategy.scope():
        gan = tfgan_orig.GAN(...)
        gan.compile(...)
    gan.fit(ds)                                                 # ds batched with the GLOBAL batch

The GAN's `train_step` is written for any of these strategies (see `tfgan_orig.gan`); this module
only builds them, checks the batch splits evenly, and answers "am I the chief?".
"""

import json
import os

import keras
import tensorflow as tf
from absl import logging

__all__ = [
    "STRATEGIES",
    "PRECISIONS",
    "get_strategy",
    "is_chief",
    "per_replica_batch",
    "set_precision",
    "task_id",
    "task_info",
]

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def get_strategy(name="default", devices=None, tpu=None):
    """Builds a strategy by name.

    Args:
      name: "default" (one device), "mirrored" (all local GPUs, or `devices`), "multi_worker"
        (MultiWorkerMirroredStrategy; the cluster comes from the `TF_CONFIG` environment variable),
        "tpu" (TPUStrategy; `tpu` is the TPU name/address, "" or None for the local one).
      devices: device names for "mirrored", e.g. ["/gpu:0", "/gpu:1"] or two logical CPUs.

    Raises:
      ValueError: unknown name, or "tpu" without a TPU.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}. Valid choices: {list(STRATEGIES)}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices)
    elif name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            logging.warning(
                "strategy=multi_worker without TF_CONFIG: running as a single worker. Set TF_CONFIG "
                "on every host (README: 'Several GPUs and several hosts')."
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.NotFoundError) as e:
            raise ValueError(f"strategy='tpu' but no TPU was found ({e}).") from e
        strategy = tf.distribute.TPUStrategy(resolver)
    logging.info("Strategy %s with %d replicas.", name, strategy.num_replicas_in_sync)
    return strategy


def task_info():
    """(task_type, task_id) from TF_CONFIG, or (None, None) outside a cluster."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = tf_config.get("task", {})
    return task.get("type"), task.get("index")


def is_chief(strategy=None):
    """True on the one task that writes logs, samples, exports and the real checkpoints.

    The chief is task `chief:0` if the cluster has one, else `worker:0`; a run without a cluster
    is its own chief.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver is None:
        return True
    return is_chief_task(resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id)


def is_chief_task(cluster, task_type, task_id):
    """Whether task `task_type:task_id` is the chief of `cluster` (a {type: [addresses]} dict):
    `chief:0` if the cluster has a chief, else `worker:0`; an empty cluster is one chief task."""
    if not cluster:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and int(task_id or 0) == 0 and "chief" not in cluster


def task_id(strategy=None):
    """This worker's task index in a multi-worker cluster (0 without one); it names the private
    directory a non-chief worker writes its throwaway checkpoints to."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0) if resolver is not None else 0


def per_replica_batch(global_batch, strategy=None):
    """global_batch / replicas, checked to divide evenly (the loss scaling assumes equal shares)."""
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    if global_batch < 1 or global_batch % replicas:
        raise ValueError(
            f"The global batch size must be a positive multiple of the number of replicas "
            f"({replicas}). Received: batch_size={global_batch}"
        )
    return global_batch // replicas


def set_precision(policy="float32"):
    """Sets the global Keras dtype policy before the networks are built.

    "mixed_float16": float16 compute, float32 variables; `GAN.compile` wraps both optimizers in
    `LossScaleOptimizer` (a step whose scaled gradients overflow is skipped). "mixed_bfloat16": no
    loss scaling needed (bfloat16 has float32's exponent range). The networks' final layers are float32.
    """
    if policy not in PRECISIONS:
        raise ValueError(f"Unknown precision {policy!r}. Valid choices: {list(PRECISIONS)}.")
    keras.config.set_dtype_policy(policy)
