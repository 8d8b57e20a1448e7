"""End to end (slow): the training program's command line trains tiny models and writes the workdir
layout; re-running a finished run trains nothing."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfgan_orig import images

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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



def run_cli(args, workdir=None, timeout=300):
    cmd = [sys.executable, "-m", "tfgan_orig.train"] + list(args)
    if workdir is not None:
        cmd.append(f"--workdir={workdir}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


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
