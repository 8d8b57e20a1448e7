"""tfgan_orig.config: every field declared once with its default, validation (all problems at once),
config.json save/load, and the config files in configs/ that start from it."""

import ast
import glob
import json
import os
import runpy
import subprocess
import sys

import pytest

from tfgan_orig import config as config_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
SHIPPED = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(CONFIGS, "*.py")))


def load_config(name):
    return runpy.run_path(os.path.join(CONFIGS, f"{name}.py"))["get_config"]()


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    config_lib.validate_config(load_config(name))


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("loss.name", "hinge_typo", "Valid choices"),
        ("model.generator", "resnet", "Valid choices"),
        ("model.discriminator", "nope", "Valid choices"),
        ("data.name", "imagenet", "fashion_mnist"),
        ("optimizer.name", "lamb", "paper_sgd"),
        ("model.noise", "cauchy", "uniform"),
        ("train.d_steps", 0, "train.d_steps must be an integer >= 1"),
        ("train.batch_size", 0, "train.batch_size must be an integer >= 1"),
        ("optimizer.d_learning_rate", -0.1, "optimizer.d_learning_rate must be a finite number > 0"),
        ("optimizer.g_learning_rate", 0.0, "optimizer.g_learning_rate must be a finite number > 0"),
        ("loss.label_smoothing", 1.0, "loss.label_smoothing must be in [0, 1)"),
    ],
)
def test_validate_config_names_field_and_choices(field, value, expected):
    config = load_config("fashion_mnist_mlp")
    section, key = field.split(".")
    with config.unlocked():
        config[section][key] = value
    with pytest.raises(ValueError) as e:
        config_lib.validate_config(config)
    assert field in str(e.value) and expected in str(e.value)


def test_validate_config_reports_every_problem_and_kind_mismatch():
    config = load_config("ring8")
    config.model.generator = "paper"  # sigmoid image generator on 2-D points
    config.train.d_steps = 0
    with pytest.raises(ValueError) as e:
        config_lib.validate_config(config)
    message = str(e.value)
    assert "model.generator='paper' cannot generate points data" in message
    assert "['mlp']" in message
    assert "train.d_steps" in message


def test_validate_config_batch_must_split_over_replicas():
    config = load_config("ring8")
    config.train.batch_size = 101
    config_lib.validate_config(config)  # one replica: fine
    with pytest.raises(ValueError, match="divisible by the 2 replicas"):
        config_lib.validate_config(config, num_replicas=2)


def test_unknown_and_missing_fields_are_named():
    config = config_lib.default_config()
    config.train.pack_size = 2  # a new option without its default in default_config()
    del config.loss["ebgan_margin"]
    with pytest.raises(config_lib.ConfigError) as e:
        config_lib.validate_config(config)
    assert "train.pack_size" in str(e.value) and "loss.ebgan_margin" in str(e.value)


# ------------------------------------------------------------------------------------ defaults
_SECTIONS = {"data", "model", "loss", "optimizer", "train", "eval"}


def _config_gets_with_default(path):
    """`<config section>.get("field", default)` calls: a default repeated outside config.py."""
    found = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value  # `config.train.get(...)`, or `m.get(...)` with m = config.model
        section = owner.attr if isinstance(owner, ast.Attribute) else None
        alias = isinstance(owner, ast.Name) and owner.id == "m"
        if node.func.attr == "get" and (section in _SECTIONS or alias) and len(node.args) == 2:
            found.append(f"{os.path.relpath(path, REPO)}:{node.lineno}")
    return found


def test_each_field_is_declared_once_with_its_default():
    """No code repeats a field's default with `.get(field, default)`: it reads config.x.y."""
    paths = glob.glob(os.path.join(REPO, "tfgan_orig", "**", "*.py"), recursive=True)
    found = [hit for path in sorted(paths) for hit in _config_gets_with_default(path)]
    assert not found, f"config defaults repeated at: {found}"


def test_config_files_start_from_the_default_by_import():
    for name in SHIPPED:
        source = open(os.path.join(CONFIGS, f"{name}.py")).read()
        assert "runpy" not in source, name
        assert "from tfgan_orig import config as config_lib" in source, name


def test_shipped_configs_have_exactly_the_default_fields():
    expected = set(config_lib._fields(config_lib.default_config()))
    for name in SHIPPED:
        assert set(config_lib._fields(load_config(name))) == expected, name


# ------------------------------------------------------------------------------------ config.json
def test_save_and_load_round_trip(tmp_path):
    config = load_config("grid25_wgan_gp")
    path = config_lib.save_config(config, str(tmp_path))
    assert path == os.path.join(tmp_path, "config.json")
    assert config_lib.load_config(str(tmp_path)).to_dict() == config.to_dict()  # tuples come back


def test_old_config_json_missing_new_fields_loads_with_defaults(tmp_path):
    saved = config_lib.default_config().to_dict()
    del saved["model"]["ebgan_code_dim"]
    del saved["train"]["min_free_bytes"]
    saved["train"]["epochs"] = 7
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config = config_lib.load_config(str(tmp_path))
    assert config.model.ebgan_code_dim == 32 and config.train.min_free_bytes == 0
    assert config.train.epochs == 7
    config_lib.validate_config(config)


def test_load_config_without_config_json_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="training workdir"):
        config_lib.load_config(str(tmp_path))


# ------------------------------------------------------------------------------------ config files
def test_config_file_loads_from_any_directory_with_overrides_and_lock(tmp_path):
    """What `--config=PATH --config.x.y=v` does, in a fresh interpreter whose working directory is
    not the repository: a config that builds on a published setup loads by its path."""
    code = (
        "from absl import flags\n"
        "from ml_collections import config_flags\n"
        "config_flags.DEFINE_config_file('config', None, 'c', lock_config=True)\n"
        "import sys\n"
        "path, override = sys.argv[1:]\n"
        "sys.argv = ['p', '--config=' + path, override]  # config_flags reads overrides there\n"
        "flags.FLAGS(sys.argv)\n"
        "c = flags.FLAGS.config\n"
        "if override.endswith('epochs=3'):\n"
        "    assert (c.data.name, c.loss.name, c.train.epochs) == ('grid25', 'wasserstein', 3)\n"
        "    c.train.epochs = 4  # unlocked values change\n"
        "    try:\n"
        "        c.train.epoch = 3  # locked: a new field is a typo\n"
        "    except AttributeError:\n"
        "        sys.exit(0)\n"
        "    sys.exit('a new field was accepted')\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    path = os.path.join(CONFIGS, "grid25_wgan_gp.py")

    def run(override):
        return subprocess.run([sys.executable, "-c", code, path, override], cwd=str(tmp_path),
                              env=env, capture_output=True, text=True, timeout=300)

    result = run("--config.train.epochs=3")
    assert result.returncode == 0, result.stderr[-3000:]
    typo = run("--config.train.epoch=3")
    assert typo.returncode != 0 and "epoch" in typo.stderr and "Did you mean" in typo.stderr


def test_presets_are_the_published_setups():
    ring = config_lib.pacgan_mixture_config("ring8")
    assert (ring.model.generator, ring.model.discriminator, ring.model.g_hidden_units) == (
        "mlp", "maxout", (400, 400, 400, 400))
    assert (ring.optimizer.name, ring.optimizer.beta_1, ring.train.batch_size) == ("adam", 0.8, 100)
    # PacGAN's code: weights N(0, 0.02^2), batch-norm population statistics at momentum 0.95; the
    # configs measured with Keras' defaults keep them.
    assert (ring.model.mlp_init_stddev, ring.model.g_batch_norm_momentum) == (0.02, 0.95)
    for name in ("ring8_best", "grid25_best", "ring8_unrolled", "grid25_wgan_gp"):
        measured = load_config(name).model
        assert (measured.mlp_init_stddev, measured.g_batch_norm_momentum) == (0.0, 0.99), name
    assert config_lib.pacgan_mixture_config("grid25").data.name == "grid25"
    # PacGAN_m: 100 packed rows per step (100 m points), PacGAN's 400 epochs of 1,000 steps.
    pac4 = config_lib.pacgan_mixture_config("grid25", pack=4)
    assert (pac4.model.pack, pac4.train.batch_size, pac4.train.epochs) == (4, 400, 1600)
    # PacGAN's G is called once per slot of 100 rows: batch-norm statistics per slot.
    assert pac4.model.g_batch_norm_slots == 4
    assert load_config("grid25_pacgan4").to_dict() == pac4.to_dict()
    assert (ring.model.pack, ring.model.g_batch_norm_slots, ring.train.jit_compile) == (1, 1, False)
    dcgan = config_lib.dcgan_config("cifar10")
    assert (dcgan.model.generator, dcgan.optimizer.d_learning_rate, dcgan.train.batch_size) == (
        "dcgan", 2e-4, 128)
    assert load_config("ring8").to_dict() == ring.to_dict()
