"""Tests of tfgan_orig.workdir: the one workdir layout, the one atomic write, the run fingerprint
and the workdir lock (two training processes on one workdir: test_reliability_e2e.py)."""

import json
import os

import pytest

from tfgan_orig import train_lib, workdir


def test_layout_is_the_documented_contract(tmp_path):
    p = workdir.paths(str(tmp_path))
    assert p["workdir"] == str(tmp_path)
    assert p["config"] == os.path.join(tmp_path, "config.json")
    assert p["checkpoints"] == os.path.join(tmp_path, "checkpoints")
    assert p["tensorboard"] == os.path.join(tmp_path, "tensorboard")
    assert p["samples"] == os.path.join(tmp_path, "samples")
    assert p["export"] == os.path.join(tmp_path, "export", "generator")
    assert p["metrics"] == os.path.join(tmp_path, "eval", "metrics.json")
    assert p["eval_tensorboard"] == os.path.join(tmp_path, "tensorboard", "eval")
    assert p["latest_samples"] == os.path.join(tmp_path, "samples", "latest.png")
    epoch_7 = os.path.join(tmp_path, "samples", "epoch_0007.png")
    assert workdir.samples_png(p["samples"], 7) == epoch_7
    assert train_lib.workdir_paths(str(tmp_path)) == p  # the old public name


def test_relative_workdir_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert workdir.paths("run")["config"] == os.path.join(tmp_path, "run", "config.json")


def test_atomic_writes_round_trip_and_leave_no_temp_file(tmp_path):
    target = tmp_path / "deep" / "x.json"
    workdir.write_json({"a": [1, 2]}, str(target))
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    workdir.write_text("replaced", str(target))
    assert target.read_text() == "replaced"
    workdir.write_bytes(b"\x00\x01", str(target))
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["x.json"]


def test_failed_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        workdir.write_bytes("not bytes", str(target))
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["x.json"]


def test_replacing_publishes_what_a_library_wrote_or_nothing(tmp_path):
    """For files another library writes itself (a `.keras` model): the same temp + rename."""
    target = tmp_path / "model.keras"
    with workdir.replacing(str(target), suffix=".keras") as tmp:
        assert tmp.endswith(".keras") and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "w") as f:
            f.write("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["model.keras"]
    with pytest.raises(RuntimeError):
        with workdir.replacing(str(target), suffix=".keras") as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("killed mid-save")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["model.keras"]


def test_latest_export_is_the_largest_integer_version(tmp_path):
    assert workdir.latest_export(str(tmp_path / "missing")) is None
    assert workdir.latest_export(str(tmp_path)) is None
    for name in ("2", "10", ".tmp-abc", "notes"):
        (tmp_path / name).mkdir()
    assert workdir.latest_export(str(tmp_path)) == os.path.join(tmp_path, "10")


# ------------------------------------------------------------------------------------ lock
def test_lock_of_a_dead_process_is_taken_over_with_a_message(tmp_path):
    """A child process takes the lock and dies without releasing it (as under SIGKILL): its lock
    file stays, names it, and the next taker says whose stale lock it takes over."""
    pid = os.fork()
    if pid == 0:  # child: lock, then die at once (no release, no cleanup)
        workdir.WorkdirLock(str(tmp_path), log=lambda line: None).acquire()
        os._exit(0)
    os.waitpid(pid, 0)
    assert json.load(open(tmp_path / "lock"))["pid"] == pid
    lines = []
    lock = workdir.WorkdirLock(str(tmp_path), log=lines.append).acquire()
    assert lock.taken_over["pid"] == pid
    assert len(lines) == 1 and f"Taking over the stale lock {tmp_path / 'lock'} of pid {pid} " in lines[0]
    assert json.load(open(tmp_path / "lock"))["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / "lock").exists()


def test_lock_on_an_unwritable_workdir_is_a_workdir_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(workdir.WorkdirError, match="not writable"):
        workdir.WorkdirLock(str(tmp_path / "file" / "run")).acquire()
    with pytest.raises(workdir.WorkdirError, match="cannot be created: .* is not a directory"):
        workdir.check_writable(str(tmp_path / "file" / "run" / "export"), "export directory")


# ------------------------------------------------------------------------------------ fingerprint
def test_run_fingerprint_holds_what_defines_a_run_and_nothing_else():
    from conftest import tiny_ring8_config

    config = tiny_ring8_config(epochs=2)
    fingerprint = workdir.run_fingerprint(config)
    assert fingerprint["data.name"] == "ring8" and fingerprint["model.g_hidden_units"] == [16, 16]
    assert "loss.name" in fingerprint and "optimizer.name" in fingerprint and "seed" in fingerprint
    for free in ("train.epochs", "train.time_limit_minutes", "train.log_every_steps",
                 "optimizer.d_learning_rate", "data.data_dir", "train.export"):
        assert free not in fingerprint, free
    other = tiny_ring8_config(epochs=50, time_limit_minutes=5.0)
    other.optimizer.d_learning_rate = 1e-5
    assert workdir.run_fingerprint(other) == fingerprint
    other.model.latent_dim = 3
    assert workdir.fingerprint_differences(fingerprint, workdir.run_fingerprint(other)) == [
        "model.latent_dim: checkpoint 2, config 3"]
    # Adding a learning-rate decay changes the optimizer's variables: refused by name on resume.
    decayed = tiny_ring8_config(epochs=2)
    decayed.optimizer.linear_decay_epochs = (1, 2)
    assert workdir.fingerprint_differences(fingerprint, workdir.run_fingerprint(decayed)) == [
        "optimizer.linear_decay_epochs: checkpoint [0, 0], config [1, 2]"]



def test_a_field_the_checkpoint_predates_is_compared_with_its_default():
    """A checkpoint written before `model.mlp_init_stddev` existed was trained with the default
    (Glorot) init: resuming it under a config that asks for N(0, 0.02^2) is a difference, under
    the default it is not; a field only the checkpoint has is not compared."""
    from conftest import tiny_ring8_config

    from tfgan_orig import config as config_lib

    config = tiny_ring8_config(epochs=2)  # Keras' init and momentum: the fields' defaults
    old = workdir.run_fingerprint(config)
    del old["model.mlp_init_stddev"], old["model.g_batch_norm_momentum"]
    old["model.removed_since"] = 1
    defaults = config_lib.default_fingerprint()
    assert workdir.fingerprint_differences(old, workdir.run_fingerprint(config), defaults) == []
    config.model.mlp_init_stddev = 0.02
    assert workdir.fingerprint_differences(old, workdir.run_fingerprint(config), defaults) == [
        "model.mlp_init_stddev: checkpoint (written before this field existed) 0.0, config 0.02"]
    # Without the defaults a field on one side only is not compared.
    assert workdir.fingerprint_differences(old, workdir.run_fingerprint(config)) == []
    # Checkpoints from before `train.update_order` were trained alternating.
    config.model.mlp_init_stddev = 0.0
    del old["train.update_order"]
    assert workdir.fingerprint_differences(old, workdir.run_fingerprint(config), defaults) == []
    config.train.update_order = "simultaneous"
    assert workdir.fingerprint_differences(old, workdir.run_fingerprint(config), defaults) == [
        "train.update_order: checkpoint (written before this field existed) 'alternating', "
        "config 'simultaneous'"]


def test_lock_is_exclusive_within_and_across_objects(tmp_path):
    from tfgan_orig import workdir as workdir_lib

    first = workdir_lib.WorkdirLock(str(tmp_path)).acquire()
    with pytest.raises(workdir_lib.WorkdirInUse, match=f"pid {os.getpid()} on host"):
        workdir_lib.WorkdirLock(str(tmp_path)).acquire()
    first.release()
    with workdir_lib.WorkdirLock(str(tmp_path)) as again:
        assert again.held and again.taken_over is None
    assert os.listdir(tmp_path) == []
