"""Tests of tfgan_orig.preflight: a run that cannot finish is refused before anything is written
(unwritable workdir, full disk, a resume whose model differs from the checkpoint's, data of the
wrong shape or labels). The command-line view of these refusals is in test_reliability_e2e.py."""

import os
import runpy
import subprocess

import numpy as np
import pytest

from tfgan_orig import preflight, train_lib

from conftest import files_under, tiny_ring8_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

tiny_config = tiny_ring8_config


def test_unwritable_workdir_is_rejected_before_training(tmp_path):
    with pytest.raises(preflight.PreflightError, match="not writable"):
        train_lib.train_and_evaluate(tiny_config(), "/proc/tfgan_reliability_test/run")
    assert not os.path.exists("/proc/tfgan_reliability_test")


def test_full_disk_by_margin_is_rejected_before_anything_is_written(tmp_path):
    """The disk is made "full" through the config: train.min_free_bytes (a margin the run must
    find free on top of its own estimate) is set beyond the filesystem's free space."""
    workdir = tmp_path / "run"
    config = tiny_config(min_free_bytes=int(2**62))
    with pytest.raises(preflight.PreflightError) as e:
        train_lib.train_and_evaluate(config, str(workdir))
    message = str(e.value)
    assert "Not enough free disk space" in message and str(workdir) in message
    assert "variables x 4 bytes" in message and "free" in message
    assert not workdir.exists()


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real, tiny filesystem (tmpfs of a chosen size); skipped where mounting is not allowed."""
    mounts = []

    def mount(size_bytes):
        point = tmp_path / f"fs{len(mounts)}"
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(size_bytes)}", "tmpfs",
                                 str(point)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        subprocess.run(["umount", str(point)], check=False)


def test_really_full_disk_is_rejected_and_the_estimate_is_enough(small_tmpfs):
    config = tiny_config(epochs=3, export=True)
    need, _ = preflight.estimate_bytes(config)
    # A filesystem too small for the estimate: refused before any file is written.
    small = small_tmpfs(64 * 1024)
    with pytest.raises(preflight.PreflightError, match="Not enough free disk space"):
        train_lib.train_and_evaluate(config, str(small / "run"))
    assert os.listdir(small) == []
    # A filesystem of exactly the estimated size: the whole run (3 checkpoints, pictures,
    # TensorBoard, export) fits, so the estimate is an upper bound, not a guess.
    exact = small_tmpfs(-(-need // 4096) * 4096)
    result = train_lib.train_and_evaluate(config, str(exact / "run"))
    assert result["checkpoint"].endswith("ckpt-3") and result["export"]
    used = sum(os.path.getsize(os.path.join(exact, "run", f))
               for f in files_under(str(exact / "run")))
    assert used <= need


def test_latent_size_mismatch_on_resume_is_rejected_before_any_write(tmp_path):
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(tiny_config(epochs=1), workdir)
    before = {f: os.path.getmtime(os.path.join(workdir, f)) for f in files_under(workdir)}
    config = tiny_config(epochs=2)
    config.model.latent_dim = 3
    with pytest.raises(preflight.PreflightError) as e:
        train_lib.train_and_evaluate(config, workdir)
    assert "model.latent_dim: checkpoint 2, config 3" in str(e.value)
    after = {f: os.path.getmtime(os.path.join(workdir, f)) for f in files_under(workdir)}
    assert after == before


def test_data_shape_and_conditional_labels_are_checked():
    config = runpy.run_path(os.path.join(REPO, "configs", "fashion_mnist_cgan.py"))["get_config"]()
    x = np.zeros((6, 28, 28, 1), np.uint8)
    preflight.check_data(config, x, np.arange(6) % 10)
    with pytest.raises(preflight.PreflightError, match=r"shape \(32, 32, 3\).*\(28, 28, 1\)"):
        preflight.check_data(config, np.zeros((6, 32, 32, 3), np.uint8), np.zeros(6, np.int32))
    with pytest.raises(preflight.PreflightError, match=r"found \[-1, 10\].*labels are 0\.\.9"):
        preflight.check_data(config, x, np.array([0, 10, 3, -1, 9, 10]))
    with pytest.raises(preflight.PreflightError, match="needs labels"):
        preflight.check_data(config, x, None)
