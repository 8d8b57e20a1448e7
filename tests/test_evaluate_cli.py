"""End to end (slow): train ring8 briefly with the training program, then run the evaluate CLI."""

import json
import os
import runpy
import subprocess
import sys

import pytest

from tfgan_orig import evaluation, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _trained_ring8(tmp_path, steps, ema_decay):
    """A ring8 workdir trained by the training program for one epoch of `steps` steps."""
    config = runpy.run_path(os.path.join(REPO, "configs", "ring8.py"))["get_config"]()
    config.train.epochs = 1
    config.train.steps_per_epoch = steps
    config.train.export = False
    config.train.verbose = 0
    config.train.num_samples = 16
    config.model.ema_decay = ema_decay
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, workdir)
    return workdir


@pytest.mark.slow
def test_cli_writes_metrics_json(tmp_path):
    """Trains ring8 for one short epoch with the training program, then runs the evaluate CLI."""
    root = REPO
    workdir = _trained_ring8(tmp_path, steps=2, ema_decay=0.9)
    proc = subprocess.run(
        [sys.executable, "-m", "tfgan_orig.evaluate", f"--workdir={workdir}",
         "--metrics=modes,fd", "--num_samples=500", "--num_real=500"],
        capture_output=True, text=True, cwd=root, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "modes_captured" in proc.stdout and "frechet_distance" in proc.stdout
    with open(os.path.join(workdir, "eval", "metrics.json")) as f:
        record = json.load(f)
    for key in ("modes_captured", "high_quality_fraction", "reverse_kl", "frechet_distance"):
        assert key in record
    assert isinstance(record["modes_captured"], int)
    assert record["reverse_kl"] is None or isinstance(record["reverse_kl"], float)
    assert record["feature_network"] == "identity"
    assert record["num_samples"] == {"modes": {"samples": 500}, "fd": {"samples": 500, "real": 500}}
    assert record["dataset"] == "ring8" and record["epoch"] == 1
    assert record["metrics"] == ["modes", "fd"]
    # Per mode: HQ counts summing to the HQ samples, centre offsets and radii (None: no sample).
    details = record["mode_details"]
    assert sorted(details) == ["mode_counts", "mode_offsets", "mode_radii"]
    assert all(len(v) == 8 for v in details.values())
    assert sum(details["mode_counts"]) == round(500 * record["high_quality_fraction"])
    assert any(o is not None for o in details["mode_offsets"])
    # The generator EMA, with its own batch-norm statistics, into eval/metrics_ema.json.
    ema = subprocess.run(
        [sys.executable, "-m", "tfgan_orig.evaluate", f"--workdir={workdir}", "--samples=ema",
         "--metrics=modes", "--num_samples=500"],
        capture_output=True, text=True, cwd=root, timeout=300,
    )
    assert ema.returncode == 0, ema.stderr[-3000:]
    with open(os.path.join(workdir, "eval", "metrics_ema.json")) as f:
        ema_record = json.load(f)
    assert ema_record["samples"] == "ema" and ema_record["epoch"] == 1
    assert ema_record["num_samples"] == {"modes": {"samples": 500}}
    assert isinstance(ema_record["modes_captured"], int)
    bad = subprocess.run(
        [sys.executable, "-m", "tfgan_orig.evaluate", f"--workdir={workdir}", "--metrics=fid"],
        capture_output=True, text=True, cwd=root, timeout=300,
    )
    assert bad.returncode != 0 and "Valid choices" in bad.stderr


def test_ema_samples_need_a_run_with_an_ema(tmp_path):
    workdir = _trained_ring8(tmp_path, steps=1, ema_decay=0.0)
    with pytest.raises(ValueError, match="model.ema_decay > 0"):
        evaluation.evaluate_workdir(workdir, metrics="modes", samples="ema")
    proc = subprocess.run(
        [sys.executable, "-m", "tfgan_orig.evaluate", f"--workdir={workdir}", "--samples=ema"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode != 0 and "model.ema_decay=0.0" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not os.path.exists(os.path.join(workdir, "eval", "metrics_ema.json"))
