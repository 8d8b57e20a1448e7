"""Bad input is rejected before any work, with a message naming the field: a property-based test.

Hypothesis generates broken configs (unknown names, d_steps < 1, non-positive or non-finite learning
rates and batch sizes, batches that do not split over the replicas, values of the wrong type) and
typo'd override keys. Each must be rejected by `tfgan_orig.config.validate_config` (the one
config-only check that runs before anything is loaded, built or written) with a `ValueError` whose
message names the bad field, raised from the project's own code: no frame of the traceback may be
inside TensorFlow or Keras. It builds no model and reads no data.
"""

import math
import os
import runpy
import subprocess
import sys
import traceback

import ml_collections
import pytest
from absl import flags
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ml_collections import config_flags

from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import divergence, losses, networks, optimizers
from tfgan_orig.gan import NOISE_TYPES, UPDATE_ORDERS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ["ring8", "fashion_mnist_mlp", "fashion_mnist_cgan", "grid25_wgan_gp"]

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def base_config(name):
    """A shipped config whose fields may take values of any type (as a hand-made config could)."""
    config = runpy.run_path(os.path.join(REPO, "configs", f"{name}.py"))["get_config"]()
    return ml_collections.ConfigDict(config.to_dict(), type_safe=False)


def set_field(config, dotted, value):
    """Sets a field and returns what the config stores (ConfigDict turns True/3 into 1.0/3.0 for a
    float field: such a value is valid, not a bad input)."""
    section, key = dotted.split(".") if "." in dotted else (None, dotted)
    node = config if section is None else config[section]
    node[key] = value
    return node[key]


def is_valid(field, value):
    if field in NAME_FIELDS:
        return isinstance(value, str) and value in NAME_FIELDS[field]
    if field in INT_FIELDS:
        low = INT_FIELDS[field]
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and (low is None or value >= low)
    if field in POSITIVE_FLOATS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok and math.isfinite(value) and value > 0
    raise KeyError(field)


def validate(config, num_replicas=1):
    """What the training program runs before anything else (minus the disk and workdir checks)."""
    config_lib.validate_config(config, num_replicas=num_replicas)


def assert_rejected(config, field, num_replicas=1):
    with pytest.raises(ValueError) as info:
        validate(config, num_replicas)
    message = str(info.value)
    assert field in message, f"{field!r} not named in: {message}"
    frames = traceback.extract_tb(info.value.__traceback__)
    deep = [f.filename for f in frames if "site-packages" in f.filename]
    assert not deep, f"raised from inside a library: {deep}"
    return message


# ------------------------------------------------------------------------------------ strategies
NAME_FIELDS = {
    "data.name": sorted(data_lib.DATASETS),
    "model.generator": sorted(networks.GENERATORS),
    "model.discriminator": sorted(networks.DISCRIMINATORS),
    "model.noise": list(NOISE_TYPES),
    "loss.name": sorted(losses.LOSSES),
    "optimizer.name": sorted(optimizers.OPTIMIZERS),
    "train.on_nonfinite": list(divergence.ON_NONFINITE),
    "train.update_order": list(UPDATE_ORDERS),
}
# Integer fields and the smallest valid value.
INT_FIELDS = {
    "seed": None,
    "data.limit": 0,
    "model.latent_dim": 1,
    "model.d_units": 1,
    "model.d_pieces": 1,
    "model.d_layers": 1,
    "train.epochs": 1,
    "train.batch_size": 1,
    "train.steps_per_epoch": 0,
    "train.d_steps": 1,
    "train.log_every_steps": 0,
    "train.max_consecutive_skips": 1,
    "train.min_free_bytes": 0,
    "train.max_checkpoints": 1,
}
POSITIVE_FLOATS = ("optimizer.d_learning_rate", "optimizer.g_learning_rate")

not_an_int = st.one_of(
    st.text(max_size=5),
    st.floats(),  # even 3.0: an integer field must hold an int
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def unknown_name(draw):
    field = draw(st.sampled_from(sorted(NAME_FIELDS)))
    valid = NAME_FIELDS[field]
    value = draw(
        st.one_of(
            st.text(max_size=12).filter(lambda s: s not in valid),
            st.sampled_from(valid).map(lambda s: s.upper() + "_"),  # near-miss typo
            st.integers(),
            st.none(),
        )
    )
    return field, value


@st.composite
def bad_int(draw):
    field = draw(st.sampled_from(sorted(INT_FIELDS)))
    low = INT_FIELDS[field]
    if low is None:  # seed: any integer is fine, only the type can be wrong
        return field, draw(not_an_int)
    return field, draw(st.one_of(st.integers(max_value=low - 1), not_an_int))


@st.composite
def bad_learning_rate(draw):
    field = draw(st.sampled_from(POSITIVE_FLOATS))
    value = draw(
        st.one_of(
            st.floats(max_value=0.0),
            st.sampled_from([float("nan"), float("inf")]),
            st.text(max_size=4),
            st.none(),
            st.booleans(),
        )
    )
    return field, value


# ------------------------------------------------------------------------------------ properties
@SETTINGS
@given(config_name=st.sampled_from(CONFIGS), bad=st.one_of(unknown_name(), bad_int(),
                                                           bad_learning_rate()))
def test_every_bad_field_is_rejected_by_name(config_name, bad):
    field, value = bad
    config = base_config(config_name)
    assume(not is_valid(field, set_field(config, field, value)))
    assert_rejected(config, field)


@SETTINGS
@given(
    config_name=st.sampled_from(CONFIGS),
    replicas=st.integers(2, 16),
    data=st.data(),
)
def test_batch_not_divisible_by_replicas_is_rejected(config_name, replicas, data):
    config = base_config(config_name)
    batch = data.draw(st.integers(1, 4096).filter(lambda b: b % replicas))
    config.train.batch_size = batch
    config.data.limit = 0
    message = assert_rejected(config, "train.batch_size", num_replicas=replicas)
    assert f"{replicas} replicas" in message


@SETTINGS
@given(config_name=st.sampled_from(CONFIGS), units=st.one_of(
    st.lists(st.integers(max_value=0), min_size=1, max_size=3).map(tuple),
    st.text(max_size=4),
    st.integers(),
))
def test_bad_hidden_units_are_rejected(config_name, units):
    config = base_config(config_name)
    config.model.g_hidden_units = units
    assert_rejected(config, "model.g_hidden_units")


@SETTINGS
@given(config_name=st.sampled_from(CONFIGS), bads=st.lists(
    st.one_of(unknown_name(), bad_int(), bad_learning_rate()), min_size=2, max_size=5,
    unique_by=lambda b: b[0]))
def test_several_bad_fields_are_all_reported(config_name, bads):
    """Every problem at once (not one per run): each bad field is named in the one message."""
    config = base_config(config_name)
    for field, value in bads:
        assume(not is_valid(field, set_field(config, field, value)))
    with pytest.raises(ValueError) as info:
        validate(config)
    message = str(info.value)
    for field, _ in bads:  # names, types, ranges and the reliability options: one message
        assert field in message, f"{field!r} not named in: {message}"


def test_shipped_configs_pass_the_config_only_checks():
    for name in CONFIGS + ["mnist_mlp", "grid25", "fashion_mnist_dcgan", "cifar10_dcgan"]:
        validate(base_config(name))


def test_data_too_small_for_one_step_is_rejected_before_loading():
    config = base_config("ring8")
    config.data.limit = 50
    config.train.batch_size = 64
    message = assert_rejected(config, "train.batch_size")
    assert "data.limit" in message


# ------------------------------------------------------------------------------------ flags
def parse_overrides(argv):
    """The CLI's config-file flag, parsed in-process (the same `config_flags` definition)."""
    flag_values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", None, "config", flag_values=flag_values,
                                    lock_config=True)
    argv, sys.argv = sys.argv, ["train"] + argv  # config_flags reads the overrides from sys.argv
    try:
        flag_values(sys.argv)
    finally:
        sys.argv = argv
    return flag_values.config


def _keys(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            yield from _keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


RING8_KEYS = sorted(_keys(base_config("ring8")))


@st.composite
def typo_key(draw):
    key = draw(st.sampled_from(RING8_KEYS))
    section, _, leaf = key.rpartition(".")
    i = draw(st.integers(0, len(leaf) - 1))
    edit = draw(st.sampled_from(["drop", "double", "swap", "char"]))
    if edit == "drop":
        typo = leaf[:i] + leaf[i + 1:]
    elif edit == "double":
        typo = leaf[:i] + leaf[i] + leaf[i:]
    elif edit == "swap" and i + 1 < len(leaf):
        typo = leaf[:i] + leaf[i + 1] + leaf[i] + leaf[i + 2:]
    else:
        typo = leaf[:i] + draw(st.sampled_from("xqz")) + leaf[i + 1:]
    siblings = {k.rpartition(".")[2] for k in RING8_KEYS if k.rpartition(".")[0] == section}
    if not typo or typo in siblings or not typo.isidentifier():
        typo = leaf + "_x"
    return (f"{section}.{typo}" if section else typo), typo


@settings(max_examples=40, deadline=None)
@given(typo=typo_key())
def test_typod_override_key_is_rejected_naming_it(typo):
    dotted, leaf = typo
    with pytest.raises(Exception) as info:  # absl/ml_collections: AttributeError or flags.Error
        parse_overrides(["--config=configs/ring8.py", f"--config.{dotted}=1"])
    assert leaf in str(info.value)


def _run_cli(args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-m", "tfgan_orig.train"] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_missing_config_file_is_a_clear_error(tmp_path):
    workdir = tmp_path / "w"
    result = _run_cli(["--config=configs/no_such_config.py", f"--workdir={workdir}"])
    assert result.returncode != 0
    assert "no_such_config.py" in result.stderr and "Traceback" not in result.stderr
    assert not workdir.exists()


@pytest.mark.parametrize(
    "field, value",
    [("model.g_batch_norm_momentum", 1.0), ("model.g_batch_norm_momentum", -0.1),
     ("model.g_batch_norm_momentum", "0.95"), ("model.mlp_init_stddev", -0.02),
     ("model.mlp_init_stddev", float("nan")), ("model.mlp_init_stddev", None),
     ("model.g_batch_norm_epsilon", 0.0), ("model.g_batch_norm_epsilon", -1e-4),
     ("model.g_batch_norm_epsilon", "1e-4"), ("model.g_batch_norm_epsilon", float("inf"))],
)
def test_bad_mixture_net_init_momentum_and_epsilon_are_rejected(field, value):
    config = base_config("ring8")
    set_field(config, field, value)
    assert_rejected(config, field)


@pytest.mark.parametrize("field, value", [("train.d_steps", 2), ("train.unrolled_steps", 5)])
def test_simultaneous_updates_refuse_k_steps_and_unrolling(field, value):
    config = base_config("ring8")
    config.train.update_order = "simultaneous"
    validate(config)  # d_steps = 1, no unrolling: valid
    set_field(config, field, value)
    message = assert_rejected(config, "train.update_order")
    assert f"{field.split('.')[1]}={value}" in message


@pytest.mark.parametrize(
    "changes, replicas, named",
    [
        ({"model.g_batch_norm_slots": 0}, 1, "model.g_batch_norm_slots must be an integer >= 1"),
        ({"model.g_batch_norm_slots": 2.0}, 1, "model.g_batch_norm_slots must be an integer"),
        ({"model.g_batch_norm_slots": 3}, 1, "share of train.batch_size=100"),
        # 100 rows split into 2 slots, but each of 4 replicas' 25 rows does not.
        ({"model.g_batch_norm_slots": 2}, 4, "(25 on each of 4 replicas)"),
        ({"model.g_batch_norm_slots": 2, "model.g_batch_norm": False}, 1,
         "needs model.generator='mlp' and model.g_batch_norm=True"),
    ],
)
def test_bad_batch_norm_slots_are_rejected_naming_the_field(changes, replicas, named):
    config = base_config("ring8")
    config.model.g_batch_norm_slots = 2
    validate(config)  # 2 slots of 50 rows: PacGAN's per-call statistics for a pack of 2
    for field, value in changes.items():
        set_field(config, field, value)
    message = assert_rejected(config, "model.g_batch_norm_slots", num_replicas=replicas)
    assert named in message
