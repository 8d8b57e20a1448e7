"""Shared test setup: two logical CPU devices (for 2-replica MirroredStrategy tests), quiet TF."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
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


# Tiny ring8 networks shared by CLI and in-process tests: a run trains in seconds, start-up dominates.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_RING8 = {
    "model.g_hidden_units": (16, 16),
    "model.d_units": 16,
    "model.d_pieces": 2,
    "model.d_layers": 1,
    # Keras' init and momentum: PacGAN's N(0, 0.02^2) is scaled for 400-unit layers, not 16.
    "model.mlp_init_stddev": 0.0,
    "model.g_batch_norm_momentum": 0.99,
    "data.limit": 4000,
    "train.batch_size": 16,
    "train.steps_per_epoch": 5,
    "train.num_samples": 200,
    "train.log_every_steps": 0,
    "train.verbose": 0,
}
# The same as command-line flags (`--config` first: overrides must follow it).
TINY_RING8_FLAGS = ["--config=configs/ring8.py"] + [f"--config.{k}={v}" for k, v in TINY_RING8.items()]


def tiny_ring8_config(**train):
    """configs/ring8.py with TINY_RING8 applied, export off, and `train.<key>=value` overrides."""
    import runpy

    config = runpy.run_path(os.path.join(REPO, "configs", "ring8.py"))["get_config"]()
    for dotted, value in {**TINY_RING8, "train.export": False}.items():
        section, key = dotted.split(".")
        config[section][key] = value
    for key, value in train.items():
        config.train[key] = value
    return config


# Workdir inspection shared by the checkpoint, preflight, divergence and end-to-end tests.
def files_under(path):
    """Every file under `path`, relative to it, sorted."""
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _, fs in os.walk(path) for f in fs)


def indexed_checkpoints(workdir):
    """Checkpoint numbers the `checkpoint` index names (what a resume may load)."""
    state = tf.train.get_checkpoint_state(os.path.join(workdir, "checkpoints"))
    if state is None:
        return []
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


def assert_indexed_checkpoints_complete(workdir):
    for number in indexed_checkpoints(workdir):
        prefix = os.path.join(workdir, "checkpoints", f"ckpt-{number}")
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)  # raises on a partial file


def tiny_nets(latent_dim=4, dim=3, width=8, seed=0, d_activation="relu"):
    """A 2-layer G `z -> dim` and D `dim -> logit` with seeded Glorot inits (tiny, for exact tests)."""
    init = lambda i: keras.initializers.GlorotUniform(seed + i)  # noqa: E731
    g = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(width, activation="relu", kernel_initializer=init(1)),
            keras.layers.Dense(dim, kernel_initializer=init(2)),
        ],
        name="g",
    )
    d = keras.Sequential(
        [
            keras.Input((dim,)),
            keras.layers.Dense(width, activation=d_activation, kernel_initializer=init(3)),
            keras.layers.Dense(1, kernel_initializer=init(4)),
        ],
        name="d",
    )
    return g, d
