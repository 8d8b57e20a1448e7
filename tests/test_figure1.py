"""Figure 1 from a real (tiny) run: the phase mechanics, the drawn PNG, TensorBoard, and the CLI."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import figure1, theory

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A run with a few steps per phase: seconds, and every code path of the full command.
QUICK = dict(steps_a=4, steps_b=20, steps_c=6, steps_d=10, batch_size=32, num_arrows=5)


def test_gaussian_kde_recovers_a_normal_density():
    rng = np.random.default_rng(0)
    x = np.linspace(-4, 4, 161)
    kde = figure1.gaussian_kde(rng.standard_normal(20000), x)
    assert np.trapezoid(kde, x) == pytest.approx(1.0, abs=0.01)
    # Scott's bandwidth (0.14 here) widens N(0, 1) to std sqrt(1 + 0.14^2) = 1.0098, lowering the
    # peak by 1%; sampling error of the KDE at 20000 points is ~0.005. 0.02 covers both.
    np.testing.assert_allclose(kde, theory.normal_pdf(x, 0.0, 1.0), atol=0.02)
    # A single sample with bandwidth h is the density N(s, h^2).
    np.testing.assert_allclose(
        figure1.gaussian_kde([1.0], x, bandwidth=0.5), theory.normal_pdf(x, 1.0, 0.5)
    )


def test_untrained_generator_is_the_stated_affine_map():
    g = figure1.mlp_generator_1d(init_mean=2.5, init_std=0.4, seed=0)
    z = np.array([[-1.0], [0.0], [2.0]], np.float32)
    np.testing.assert_allclose(g.predict(z, verbose=0).ravel(), [2.1, 2.5, 3.3], rtol=1e-6)
    with pytest.raises(ValueError, match="init_std must be > 0"):
        figure1.mlp_generator_1d(init_std=0.0)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("figure1"))
    results = figure1.run(out, check=False, **QUICK)
    return out, results


def test_phases_freeze_the_right_network(quick_run):
    """(b) trains D only, (c) G only: what the panels claim about the run must be true."""
    _, results = quick_run
    a, b, c, d = results["snapshots"]
    steps = [QUICK["steps_a"], QUICK["steps_b"], QUICK["steps_c"], QUICK["steps_d"]]
    assert [s["step"] for s in (a, b, c, d)] == list(np.cumsum(steps))
    # (a) -> (b): G frozen, D changed.
    np.testing.assert_array_equal(a["g_of_z"], b["g_of_z"])
    assert np.max(np.abs(np.subtract(a["d"], b["d"]))) > 1e-3
    # (b) -> (c): D frozen, G changed.
    np.testing.assert_array_equal(b["d"], c["d"])
    assert np.max(np.abs(np.subtract(b["g_of_z"], c["g_of_z"]))) > 1e-4
    # (c) -> (d): both changed.
    assert np.max(np.abs(np.subtract(c["d"], d["d"]))) > 1e-3
    assert np.max(np.abs(np.subtract(c["g_of_z"], d["g_of_z"]))) > 1e-4


def test_snapshot_contents(quick_run):
    _, results = quick_run
    for s in results["snapshots"]:
        x = np.asarray(s["x"])
        np.testing.assert_allclose(s["p_data"], theory.normal_pdf(x, 4.0, 0.5))
        assert np.trapezoid(s["p_g"], x) == pytest.approx(1.0, abs=0.02)  # KDE mass on the grid
        assert np.all((np.asarray(s["d"]) > 0) & (np.asarray(s["d"]) < 1))
        assert len(s["z_grid"]) == QUICK["num_arrows"]
        # Normal noise: arrows at equally spaced quantiles, symmetric about 0.
        np.testing.assert_allclose(s["z_grid"], -np.asarray(s["z_grid"])[::-1], atol=1e-12)
    # Before any G update worth the name, G is the affine start: mean 2.5, std 0.4.
    a = results["snapshots"][0]
    assert a["g_mean"] == pytest.approx(2.5, abs=0.05)
    assert a["g_std"] == pytest.approx(0.4, abs=0.05)


def test_png_and_tensorboard_written(quick_run):
    out, results = quick_run
    with open(os.path.join(out, "figure1.png"), "rb") as f:
        png = f.read()
    assert png.startswith(PNG_MAGIC)
    image = tf.image.decode_png(png).numpy()
    assert image.shape[1] > 3 * image.shape[0]  # four panels side by side
    assert image.std() > 10  # not a blank canvas
    with open(os.path.join(out, "figure1.json")) as f:
        assert len(json.load(f)["snapshots"]) == 4
    tags = set()
    for path in glob.glob(os.path.join(out, "tensorboard", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert "figure1" in tags
    assert {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"} <= tags


def test_max_abs_d_minus_half_ignores_untrained_tails():
    x = np.linspace(-10, 10, 201)
    snap = {"p_data": theory.normal_pdf(x, 0, 1), "p_g": theory.normal_pdf(x, 0, 1)}
    snap["d"] = np.where(np.abs(x) > 5, 0.99, 0.52)
    assert figure1.max_abs_d_minus_half(snap) == pytest.approx(0.02)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="steps_b must be an integer >= 0"):
        figure1.train_figure1(steps_b=-1)
    with pytest.raises(ValueError, match="data_std must be > 0"):
        figure1.train_figure1(data_std=0.0)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfgan_orig.figure1", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


# Three fresh Python processes importing TensorFlow: ~10 s of CPU, over 20 s on a loaded machine.
@pytest.mark.slow
def test_cli_quick_run_and_flag_errors(tmp_path):
    flags = [f"--{k}={v}" for k, v in QUICK.items()]
    proc = _cli(f"--out={tmp_path}", "--check=false", *flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "figure1.png", "rb") as f:
        assert f.read(8) == PNG_MAGIC
    # Bad flag values fail with a message naming the flag.
    proc = _cli(f"--out={tmp_path}", "--data_std=-1")
    assert proc.returncode != 0
    assert "--data_std must be > 0" in proc.stderr
    proc = _cli()
    assert proc.returncode != 0 and "--out" in proc.stderr
