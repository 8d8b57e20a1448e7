"""TensorFlow rows of the benchmark: `GAN.fit`, the raw `tf.function` step (plain / XLA), the input
pipeline. Imported only inside a worker process (see `run.py`), after threads are configured.

Every row exposes `warmup()` and `rep() -> (images, seconds)`; a rep is `steps` training steps
(one discriminator and one generator update each, `batch` real images per step).
"""

import math
import queue
import threading
import time

import keras
import numpy as np
import tensorflow as tf

import tfgan_orig
from tfgan_orig import data as data_lib
from tfgan_orig import networks, schedules

from steps import TimedSteps

_SQRT3 = math.sqrt(3.0)
LATENT = 100


# ------------------------------------------------------------------------------------------ models
def model_spec(model, quick):
    """Sizes of the benchmarked nets (`quick` shrinks them for the smoke test)."""
    if model == "mlp":
        return {
            "latent_dim": LATENT,
            "hidden": (32, 32) if quick else (1200, 1200),
            "maxout_units": 16 if quick else 240,
            "pieces": 5,
            "noise": "uniform",
            "value_range": (0.0, 1.0),
        }
    if model == "dcgan":
        return {
            "latent_dim": LATENT,
            "base_filters": 4 if quick else 64,
            "noise": "normal",
            "value_range": (-1.0, 1.0),
        }
    raise ValueError(f"Unknown model {model!r}. Valid choices: ['mlp', 'dcgan']")


def build_nets(model, quick, seed=0):
    spec = model_spec(model, quick)
    if model == "mlp":
        g = networks.paper_generator(spec["latent_dim"], hidden_units=spec["hidden"], seed=seed)
        d = networks.paper_discriminator(
            units=spec["maxout_units"], pieces=spec["pieces"], seed=seed
        )
    else:
        g = networks.dcgan_generator(spec["latent_dim"], base_filters=spec["base_filters"], seed=seed)
        d = networks.dcgan_discriminator(base_filters=spec["base_filters"], seed=seed)
    return g, d, spec


def make_optimizer(model, name):
    """The paper's SGD (lr 0.1 decayed, momentum 0.5 -> 0.7) for the MLP; DCGAN's Adam."""
    if model == "mlp":
        return schedules.paper_sgd(steps_per_epoch=600, name=name)
    return keras.optimizers.Adam(2e-4, beta_1=0.5, name=name)


def make_data(model, batch, quick, seed=0):
    """The training program's pipeline (`tfgan_orig.data.make_dataset`, which is
    `tfgan_orig.data.training_dataset`) on Fashion-MNIST, repeated.

    Falls back to random pixels through the same pipeline when Fashion-MNIST is not on the
    machine (CI); the JSON records which one ran.
    """
    spec = model_spec(model, quick)
    limit = max(4 * batch, 512) if quick else None
    try:
        ds = data_lib.make_dataset(
            "fashion_mnist",
            batch,
            value_range=spec["value_range"],
            repeat=True,
            seed=seed,
            limit=limit,
        )
        return ds, "fashion_mnist"
    except data_lib.DataNotFoundError:
        n = limit or 60000
        x = np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28, 1), dtype=np.uint8)
        ds = data_lib.training_dataset(
            x, batch, n // batch, seed, 0, None, value_range=spec["value_range"]
        )
        return ds, "synthetic"


def strategy_for(replicas):
    if replicas == 1:
        return tf.distribute.get_strategy()  # the default strategy: what a single-device user has
    devices = [f"/cpu:{i}" for i in range(replicas)]
    return tf.distribute.MirroredStrategy(devices)


# ------------------------------------------------------------------------------------------ rows
class _Stop(Exception):
    """Ends the benchmark's endless `fit` call at an epoch boundary."""


class FitRow:
    """`GAN.fit` as a user runs it: metrics on, History callback, one long `fit` call.

    The rep boundary is an epoch boundary (`steps_per_epoch=steps` on the repeated dataset, whose
    iterator Keras keeps across epochs): a callback's `on_epoch_end` hands the epoch's time to the
    harness and waits for the next rep. No batch-level hook is added, so Keras' own per-batch path is
    what is measured.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.strategy = strategy_for(cfg["replicas"])
        with self.strategy.scope():
            g, d, spec = build_nets(cfg["model"], cfg["quick"])
            if cfg.get("bn", "sync") == "local":  # Keras' per-replica statistics, for comparison
                for layer in g._flatten_layers() + d._flatten_layers():
                    if isinstance(layer, keras.layers.BatchNormalization):
                        layer.synchronized = False
            self.gan = tfgan_orig.GAN(g, d, latent_dim=spec["latent_dim"], noise=spec["noise"], seed=1)
            kwargs = {}
            if cfg.get("spe") is not None:
                kwargs["steps_per_execution"] = cfg["spe"]
            if cfg.get("jit") is not None:
                kwargs["jit_compile"] = cfg["jit"]
            self.gan.compile(
                make_optimizer(cfg["model"], "d_optimizer"),
                make_optimizer(cfg["model"], "g_optimizer"),
                **kwargs,
            )
        self.effective = {
            "steps_per_execution": int(self.gan.steps_per_execution),
            "jit_compile": bool(self.gan.jit_compile),
        }
        self.ds, self.data_name = make_data(cfg["model"], cfg["batch"], cfg["quick"])
        self._go = queue.Queue()
        self._done = queue.Queue()
        self._thread = None

    def _train(self):
        harness = self

        class Handoff(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if harness._go.get() == "stop":
                    raise _Stop()
                harness._t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                harness._done.put((time.perf_counter() - harness._t0, logs))

        try:
            self.gan.fit(
                self.ds,
                epochs=10**6,
                steps_per_epoch=self.cfg["steps"],
                verbose=self.cfg.get("verbose", 0),
                shuffle=False,  # the dataset is shuffled by the pipeline
                callbacks=[Handoff()],
            )
        except _Stop:
            pass
        except Exception as e:  # surfaced to the harness instead of hanging it
            self._done.put(e)
        self._done.put(None)

    def _one(self):
        self._go.put("go")
        out = self._done.get()
        if isinstance(out, Exception) or out is None:
            raise RuntimeError(f"fit thread failed: {out!r}")
        dt, logs = out
        if not all(np.isfinite(float(v)) for v in logs.values()):
            raise RuntimeError(f"non-finite logs {logs}")
        return dt

    def warmup(self):
        self._thread = threading.Thread(target=self._train, daemon=True)
        self._thread.start()
        for _ in range(self.cfg["warmup_reps"]):
            self._one()

    def rep(self):
        return self.cfg["batch"] * self.cfg["steps"], self._one()

    def close(self):
        if self._thread is not None:
            self._go.put("stop")
            self._thread.join(timeout=60)


class RawRow(TimedSteps):
    """A hand-written `tf.function` train step doing the same maths as `GAN.train_step`
    (k = 1): stateless noise from (seed, step, draw), D on real and on stop-gradient fakes, sum/
    global-batch losses, Keras optimizers, then G through the same dropped-out D. No metrics, no
    Keras trainer. The dataset iterator is read inside the function (as Keras does)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.strategy = strategy_for(cfg["replicas"])
        with self.strategy.scope():
            self.g, self.d, spec = build_nets(cfg["model"], cfg["quick"])
            self.d_opt = make_optimizer(cfg["model"], "d_optimizer")
            self.g_opt = make_optimizer(cfg["model"], "g_optimizer")
            self.d_opt.build(self.d.trainable_variables)
            self.g_opt.build(self.g.trainable_variables)
            self.step_var = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.spec = spec
        ds, self.data_name = make_data(cfg["model"], cfg["batch"], cfg["quick"])
        self.iterator = iter(self.strategy.experimental_distribute_dataset(ds))
        self.effective = {"steps_per_execution": 1, "jit_compile": bool(cfg.get("jit"))}
        self._build()

    def _noise(self, n, draw):
        ctx = tf.distribute.get_replica_context()
        replicas = self.strategy.num_replicas_in_sync
        seed = tf.stack([tf.constant(1, tf.int64), self.step_var * 2 + draw])
        shape = [n * replicas, self.spec["latent_dim"]]
        if self.spec["noise"] == "normal":
            z = tf.random.stateless_normal(shape, seed=seed)
        else:
            z = tf.random.stateless_uniform(shape, seed=seed, minval=-_SQRT3, maxval=_SQRT3)
        start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * n
        return z[start : start + n]

    def _build(self):
        g, d, d_opt, g_opt = self.g, self.d, self.d_opt, self.g_opt
        global_batch = float(self.cfg["batch"])
        replicas = self.strategy.num_replicas_in_sync
        local = self.cfg["batch"] // replicas

        def replica_step(real):
            z = self._noise(local, 0)
            fake = tf.stop_gradient(g(z, training=True))
            with tf.GradientTape() as tape:
                r = tf.reshape(d(real, training=True), [-1])
                f = tf.reshape(d(fake, training=True), [-1])
                loss = tf.reduce_sum(tf.nn.softplus(-r) + tf.nn.softplus(f)) / global_batch
            d_opt.apply(tape.gradient(loss, d.trainable_variables), d.trainable_variables)
            z = self._noise(local, 1)
            with tf.GradientTape() as tape:
                f = tf.reshape(d(g(z, training=True), training=True), [-1])
                g_loss = tf.reduce_sum(tf.nn.softplus(-f)) / global_batch
            g_opt.apply(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables)
            return loss

        strategy = self.strategy
        jit = bool(self.cfg.get("jit"))
        if replicas == 1:
            inner = tf.function(replica_step, jit_compile=jit)

            @tf.function
            def step(iterator):
                loss = inner(next(iterator))
                self.step_var.assign_add(1)
                return loss

        else:

            @tf.function
            def step(iterator):
                loss = strategy.run(replica_step, args=(next(iterator),))
                self.step_var.assign_add(1)
                return strategy.reduce("SUM", loss, axis=None)

        self.step = step

    def one_step(self):
        return self.step(self.iterator)


class PipelineRow:
    """`tfgan_orig.data.make_dataset` alone: batches/s it delivers to a Python loop, times batch."""

    def __init__(self, cfg):
        self.cfg = cfg
        ds, self.data_name = make_data(cfg["model"], cfg["batch"], cfg["quick"])
        self.iterator = iter(ds)
        self.effective = {}

    def _run(self, batches):
        t0 = time.perf_counter()
        for _ in range(batches):
            x = next(self.iterator)
        x.numpy()
        return time.perf_counter() - t0

    def warmup(self):
        self._run(self.cfg["steps"])

    def rep(self):
        return self.cfg["batch"] * self.cfg["steps"], self._run(self.cfg["steps"])

    def close(self):
        pass


ROWS = {"fit": FitRow, "raw": RawRow, "pipeline": PipelineRow}
