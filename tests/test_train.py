"""The training program: config validation, the CLI, the workdir layout, data order, loading."""

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import images, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
SHIPPED = ["mnist_mlp", "fashion_mnist_mlp", "ring8", "grid25", "fashion_mnist_demo"]

# Tiny networks: every CLI run below trains in a few seconds on 2 shared cores.
TINY_IMAGE = [
    "--config.model.g_hidden_units=(16,)",
    "--config.model.d_units=8",
    "--config.model.d_pieces=2",
    "--config.data.limit=200",
    "--config.train.batch_size=10",
    "--config.train.steps_per_epoch=3",
    "--config.train.log_every_steps=2",
    "--config.train.num_samples=4",
    "--config.train.verbose=2",
]
TINY_RING = [
    "--config.model.g_hidden_units=(8,8)",
    "--config.model.d_units=8",
    "--config.model.d_pieces=2",
    "--config.train.batch_size=10",
    "--config.train.steps_per_epoch=5",
    "--config.train.log_every_steps=2",
    "--config.train.num_samples=50",
    "--config.train.verbose=2",
]


def load_config(name):
    return runpy.run_path(os.path.join(CONFIGS, f"{name}.py"))["get_config"]()


def run_cli(args, workdir=None, timeout=300):
    cmd = [sys.executable, "-m", "tfgan_orig.train"] + list(args)
    if workdir is not None:
        cmd.append(f"--workdir={workdir}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    train_lib.validate_config(load_config(name))


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
        train_lib.validate_config(config)
    assert field in str(e.value) and expected in str(e.value)


def test_validate_config_reports_every_problem_and_kind_mismatch():
    config = load_config("ring8")
    config.model.generator = "paper"  # sigmoid image generator on 2-D points
    config.train.d_steps = 0
    with pytest.raises(ValueError) as e:
        train_lib.validate_config(config)
    message = str(e.value)
    assert "model.generator='paper' cannot generate points data" in message
    assert "['mlp']" in message
    assert "train.d_steps" in message


def test_validate_config_batch_must_split_over_replicas():
    config = load_config("ring8")
    config.train.batch_size = 101
    train_lib.validate_config(config)  # one replica: fine
    with pytest.raises(ValueError, match="divisible by the 2 replicas"):
        train_lib.validate_config(config, num_replicas=2)


# ------------------------------------------------------------------------------------ CLI
def test_cli_typo_and_wrong_type_fail_at_once(tmp_path):
    typo = run_cli(["--config=configs/ring8.py", "--config.train.epoch=3"], tmp_path / "a")
    assert typo.returncode != 0
    assert "Unknown config field" in typo.stderr and "'epoch'" in typo.stderr
    assert "Traceback" not in typo.stderr
    wrong = run_cli(["--config=configs/ring8.py", "--config.train.epochs=three"], tmp_path / "b")
    assert wrong.returncode != 0
    assert "train.epochs" in wrong.stderr and "Traceback" not in wrong.stderr
    # Nothing was created: the error came before any work.
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_bad_value_fails_with_valid_choices(tmp_path):
    result = run_cli(["--config=configs/ring8.py", "--config.loss.name=hingee"], tmp_path / "w")
    assert result.returncode != 0
    assert "loss.name" in result.stderr and "non_saturating" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "w").exists()


@pytest.mark.slow
def test_cli_ring8_smoke_layout_override_and_rerun(tmp_path):
    workdir = tmp_path / "ring"
    args = ["--config=configs/ring8.py", "--config.train.epochs=2", "--config.seed=7"] + TINY_RING
    result = run_cli(args, workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    # The fixed layout.
    for sub in ("tensorboard", "checkpoints", "samples", "export/generator"):
        assert (workdir / sub).is_dir(), sub
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-2")
    assert (workdir / "samples" / "epoch_0002.png").exists()
    version = workdir / "export" / "generator" / "1"
    assert (version / "saved_model.pb").exists()
    # Overrides land in the resolved config.
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["seed"] == 7 and saved["train"]["epochs"] == 2
    assert saved["model"]["g_hidden_units"] == [8, 8]
    # The 2-D picture is a scatter plot (an RGBA matplotlib figure, not a 1-channel grid).
    picture = images.decode_png((workdir / "samples" / "latest.png").read_bytes())
    assert picture.shape[-1] == 4 and picture.shape[0] >= 200
    # The final message names every output.
    for text in ("latest.png", "tensorboard --logdir", "export/generator/1"):
        assert text in result.stdout
    # Re-running a finished run trains nothing and says so.
    again = run_cli(args, workdir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming from" in again.stdout and "already complete" in again.stdout


@pytest.mark.slow
def test_cli_fashion_mnist_capped(tmp_path):
    workdir = tmp_path / "fmnist"
    args = ["--config=configs/fashion_mnist_mlp.py", "--config.train.epochs=1"] + TINY_IMAGE
    result = run_cli(args, workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    grid = images.decode_png((workdir / "samples" / "epoch_0001.png").read_bytes())
    # 4 samples -> 2 x 2 tiles of 28 px with 2 px padding: 2 * 30 + 2 = 62.
    assert grid.shape == (62, 62, 1)
    assert (workdir / "export" / "generator" / "1" / "saved_model.pb").exists()


# ------------------------------------------------------------------------------------ library
def test_training_dataset_replays_any_epoch():
    x = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1)
    full = [b.numpy() for b in train_lib.training_dataset(x, 4, 3, seed=5, start_epoch=0,
                                                          end_epoch=3, value_range=(0.0, 255.0))]
    tail = [b.numpy() for b in train_lib.training_dataset(x, 4, 3, seed=5, start_epoch=2,
                                                          end_epoch=3, value_range=(0.0, 255.0))]
    assert len(full) == 9 and len(tail) == 3
    np.testing.assert_array_equal(np.stack(full[6:]), np.stack(tail))
    # Each epoch is a fresh permutation: no repeats inside an epoch, different epochs differ.
    epoch0 = np.concatenate(full[:3]).ravel()
    assert len(set(epoch0.tolist())) == 12
    assert not np.array_equal(np.concatenate(full[:3]), np.concatenate(full[3:6]))
    # Pixels map to value_range: uint8 v -> v / 255 * (hi - lo) + lo.
    assert set(epoch0.tolist()) <= set(float(v) for v in range(40))


def test_train_and_evaluate_then_load_gan_from_workdir(tmp_path):
    config = load_config("ring8")
    config.model.g_hidden_units = (8,)
    config.model.d_units = 4
    config.model.d_pieces = 2
    config.train.batch_size = 8
    config.train.steps_per_epoch = 3
    config.train.epochs = 2
    config.train.verbose = 0
    config.train.export = False
    config.train.num_samples = 20
    result = train_lib.train_and_evaluate(config, str(tmp_path))
    assert result["start_epoch"] == 0 and len(result["history"]["d_loss"]) == 2
    assert result["export"] is None
    gan = train_lib.load_gan_from_workdir(str(tmp_path))
    assert gan.restored_epoch == 2 and int(gan.step_counter.numpy()) == 6
    reader = tf.train.load_checkpoint(result["checkpoint"])
    saved_kernel = reader.get_tensor("model/1/.ATTRIBUTES/VARIABLE_VALUE")
    np.testing.assert_array_equal(saved_kernel, gan.variables[1].numpy())
    assert gan.generate(5, seed=1).shape == (5, 2)


def test_load_gan_from_workdir_without_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError):
        train_lib.load_gan_from_workdir(str(tmp_path))


def test_image_grid_layout_and_pixel_mapping():
    batch = np.zeros((3, 2, 2, 1), np.float32)
    batch[1] = 1.0
    batch[2] = 0.5
    grid = images.image_grid(batch, value_range=(0.0, 1.0), pad=1)
    # ceil(sqrt(3)) = 2 columns, 2 rows: 2 * (2 + 1) + 1 = 7 pixels each way.
    assert grid.shape == (7, 7, 1) and grid.dtype == np.uint8
    assert (grid[1:3, 1:3] == 0).all()  # image 0: value 0 -> black
    assert (grid[1:3, 4:6] == 255).all()  # image 1: value 1 -> white
    assert (grid[4:6, 1:3] == 128).all()  # image 2: round(0.5 * 255) = 128
    assert (grid[0] == 255).all()  # padding
    tanh_grid = images.image_grid(batch * 2 - 1, value_range=(-1.0, 1.0), pad=1)
    np.testing.assert_array_equal(tanh_grid, grid)
    np.testing.assert_array_equal(images.decode_png(images.png_bytes(grid)), grid)
