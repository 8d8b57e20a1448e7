"""Checkpoints: the index is not trusted blindly, the run fingerprint travels in every checkpoint,
and restores are complete (tfgan_orig.checkpoints, against the real training program).

Most tests start from a copy of one tiny 2-epoch ring8 workdir and damage or swap one thing; the
last ones damage the newest checkpoint of their own run (truncated data, a killed save's leftovers).
"""

import json
import os
import re
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import checkpoints, train_lib, workdir as workdir_lib

from conftest import assert_indexed_checkpoints_complete, tiny_ring8_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

tiny_config = tiny_ring8_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-epoch tiny ring8 workdir (ckpt-1, ckpt-2); tests copy it."""
    workdir = str(tmp_path_factory.mktemp("trained") / "run")
    train_lib.train_and_evaluate(tiny_ring8_config(epochs=2), workdir)
    return workdir


@pytest.fixture
def run(trained, tmp_path):
    workdir = str(tmp_path / "run")
    shutil.copytree(trained, workdir)
    return workdir


def _ckpt_dir(workdir):
    return os.path.join(workdir, "checkpoints")


def _tensors(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
            if not n.startswith("_")}


# ------------------------------------------------------------------------------------ 1. the index
@pytest.mark.parametrize("damage", ["garbled", "empty", "missing", "stale"])
def test_damaged_index_resumes_from_the_complete_files(run, damage, capsys):
    """A garbled, empty or missing `checkpoint` index, or one naming deleted checkpoints, used to
    start a fresh run over the existing checkpoints (or raise a raw ValueError); the complete
    ckpt-N files are found instead, the index is rebuilt, and training continues at epoch 2."""
    index = os.path.join(_ckpt_dir(run), "checkpoint")
    before = _tensors(os.path.join(_ckpt_dir(run), "ckpt-2"))
    if damage == "garbled":
        with open(index, "w") as f:
            f.write('model_checkpoint_path: "ckpt-2\n')
    elif damage == "empty":
        open(index, "w").close()
    elif damage == "missing":
        os.remove(index)
    else:
        with open(index, "w") as f:
            f.write('model_checkpoint_path: "ckpt-7"\nall_model_checkpoint_paths: "ckpt-7"\n')
    capsys.readouterr()
    result = train_lib.train_and_evaluate(tiny_ring8_config(epochs=3), run)
    out = capsys.readouterr().out
    assert f"The checkpoint index {index} " in out
    assert "using the complete checkpoints found" in out and "ckpt-1, ckpt-2" in out
    assert result["start_epoch"] == 2 and len(result["history"]["d_loss"]) == 1
    assert result["checkpoint"].endswith("ckpt-3")
    # ckpt-2 was resumed, not overwritten by a fresh run's epoch 2.
    after = _tensors(os.path.join(_ckpt_dir(run), "ckpt-2"))
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    state = tf.train.get_checkpoint_state(_ckpt_dir(run))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        "ckpt-1", "ckpt-2", "ckpt-3"]


def test_checkpoint_files_without_a_complete_checkpoint_are_refused(run):
    """Index gone and every data file gone: nothing can be resumed, and a fresh start would
    overwrite the index files: refused, naming them."""
    directory = _ckpt_dir(run)
    os.remove(os.path.join(directory, "checkpoint"))
    for name in os.listdir(directory):
        if ".data-" in name:
            os.remove(os.path.join(directory, name))
    with pytest.raises(checkpoints.CheckpointError) as e:
        train_lib.train_and_evaluate(tiny_ring8_config(epochs=3), run)
    message = str(e.value)
    assert "no complete checkpoint" in message and "ckpt-1.index, ckpt-2.index" in message
    assert "\n" not in message
    assert sorted(os.listdir(directory)) == ["ckpt-1.index", "ckpt-2.index"]


def test_find_checkpoints_library_cases(tmp_path):
    directory = str(tmp_path)
    assert checkpoints.find_checkpoints(directory) == ([], None)
    for name in ("ckpt-3.index", "ckpt-3.data-00000-of-00002", "ckpt-3.data-00001-of-00002",
                 "ckpt-4.index", "ckpt-4.data-00000-of-00002", "ckpt-9.data-00000-of-00001"):
        open(os.path.join(directory, name), "w").close()
    os.makedirs(os.path.join(directory, "ckpt-5_temp"))  # an interrupted save's shards
    paths, note = checkpoints.find_checkpoints(directory)
    assert paths == [os.path.join(directory, "ckpt-3")]  # ckpt-4 lacks a shard
    assert "is missing" in note


# ------------------------------------------------------------------------------------ 5. outside
def test_index_entry_outside_the_directory_is_refused_and_nothing_is_deleted(run, tmp_path):
    """An index naming `/elsewhere/ckpt-1` used to be followed, and the manager's cleanup deleted
    those files once they were the oldest beyond max_checkpoints (seen: victim emptied, exit 0)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    directory = _ckpt_dir(run)
    for name in os.listdir(directory):
        if name.startswith("ckpt-1."):
            shutil.copy(os.path.join(directory, name), victim / name)
    victim_files = sorted(os.listdir(victim))
    now = time.time()  # with timestamps, as TF writes them: the manager tracks (and rotates) both
    with open(os.path.join(directory, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "ckpt-2"\n'
                f'all_model_checkpoint_paths: "{victim / "ckpt-1"}"\n'
                'all_model_checkpoint_paths: "ckpt-2"\n'
                f"all_model_checkpoint_timestamps: {now - 100}\n"
                f"all_model_checkpoint_timestamps: {now - 50}\n"
                f"last_preserved_timestamp: {now - 1000}\n")
    with pytest.raises(checkpoints.CheckpointError, match="outside") as e:
        train_lib.train_and_evaluate(tiny_ring8_config(epochs=5), run)
    assert str(victim / "ckpt-1") in str(e.value)
    assert sorted(os.listdir(victim)) == victim_files
    assert not os.path.exists(os.path.join(directory, "ckpt-3.index"))


def test_relative_escape_in_the_index_is_refused(tmp_path):
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    (directory / "checkpoint").write_text(
        'model_checkpoint_path: "../other/ckpt-1"\nall_model_checkpoint_paths: "../other/ckpt-1"\n')
    with pytest.raises(checkpoints.CheckpointError, match=r"other/ckpt-1'.*outside"):
        checkpoints.find_checkpoints(str(directory))


# ------------------------------------------------------------------------------------ 2. fingerprint
def _replace_config(workdir, **changes):
    path = workdir_lib.paths(workdir)["config"]
    with open(path) as f:
        config = json.load(f)
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        config[section][key] = value
    with open(path, "w") as f:
        json.dump(config, f)


def test_every_checkpoint_carries_the_run_fingerprint(run):
    for number in (1, 2):
        saved = checkpoints.read_fingerprint(os.path.join(_ckpt_dir(run), f"ckpt-{number}"))
        assert saved == workdir_lib.run_fingerprint(tiny_ring8_config(epochs=2))
        assert saved["data.name"] == "ring8" and saved["model.d_units"] == 16
        assert "train.epochs" not in saved and "optimizer.d_learning_rate" not in saved


@pytest.mark.parametrize("config_json", ["deleted", "kept"])
def test_resume_with_another_run_config_is_refused_whatever_config_json_says(run, config_json):
    """With config.json deleted (or matching the new config, as when ring8 checkpoints are copied
    into a grid25 workdir), grid25 with normal noise used to resume the ring8 weights."""
    config = tiny_ring8_config(epochs=3)
    config.data.name = "grid25"
    config.model.noise = "uniform"
    if config_json == "deleted":
        os.remove(workdir_lib.paths(run)["config"])
    else:
        _replace_config(run, **{"data.name": "grid25", "model.noise": "uniform"})
    with pytest.raises(workdir_lib.FingerprintMismatch) as e:
        train_lib.train_and_evaluate(config, run)
    message = str(e.value)
    assert "data.name: checkpoint 'ring8', config 'grid25'" in message
    assert "model.noise: checkpoint 'normal', config 'uniform'" in message
    assert os.path.join(_ckpt_dir(run), "ckpt-2") in message and "\n" not in message
    assert not os.path.exists(os.path.join(_ckpt_dir(run), "ckpt-3.index"))


def test_export_and_evaluate_check_the_fingerprint_not_config_json(run):
    """config.json swapped for another noise (same variables): loading used to succeed and serve
    the ring8 weights under the wrong latent distribution."""
    _replace_config(run, **{"model.noise": "uniform"})
    with pytest.raises(workdir_lib.FingerprintMismatch, match="model.noise: checkpoint 'normal'"):
        train_lib.load_gan_from_workdir(run)


def test_a_checkpoint_older_than_a_config_field_resumes_only_under_its_default(tmp_path):
    """A checkpoint written before `model.mlp_init_stddev` existed (its fingerprint lacks the field)
    holds Glorot-initialised nets: the training program and the loader used to continue it under
    a config asking for N(0, 0.02^2). Now that is refused by name; the default still resumes."""
    from tfgan_orig import builder
    from tfgan_orig import config as config_lib

    run = str(tmp_path / "run")
    config = tiny_ring8_config(epochs=2)  # the fields' defaults: Glorot init, momentum 0.99
    older = workdir_lib.run_fingerprint(config)
    del older["model.mlp_init_stddev"], older["model.g_batch_norm_momentum"]
    gan = builder.build_gan(config)
    checkpoints.TrainingCheckpoint(gan, workdir_lib.paths(run)["checkpoints"],
                                   fingerprint=older).save(epoch=1)
    config_lib.save_config(config, run)

    pacgan_init = tiny_ring8_config(epochs=2)
    pacgan_init.model.mlp_init_stddev = 0.02
    expected = "model.mlp_init_stddev: checkpoint (written before this field existed) 0.0, config 0.02"
    with pytest.raises(workdir_lib.FingerprintMismatch, match=re.escape(expected)):
        train_lib.train_and_evaluate(pacgan_init, run)
    assert not os.path.exists(os.path.join(_ckpt_dir(run), "ckpt-2.index"))
    _replace_config(run, **{"model.mlp_init_stddev": 0.02})
    with pytest.raises(workdir_lib.FingerprintMismatch, match=re.escape(expected)):
        train_lib.load_gan_from_workdir(run)
    _replace_config(run, **{"model.mlp_init_stddev": 0.0})

    result = train_lib.train_and_evaluate(config, run)  # the default: resumed at epoch 1
    assert result["epochs"] == 2
    assert os.path.exists(os.path.join(_ckpt_dir(run), "ckpt-2.index"))


# ------------------------------------------------------------------------------------ 4. partial
def test_restore_names_the_variables_a_checkpoint_lacks(run):
    """A model with an EMA generator restored from a checkpoint without one (the fingerprint is
    not consulted here: the variable check stands on its own)."""
    config = tiny_ring8_config(epochs=2)
    config.model.ema_decay = 0.99
    gan = train_lib.build_gan(config, None, train_images=None, num_steps_per_epoch=1)
    ckpt = checkpoints.TrainingCheckpoint(gan, _ckpt_dir(run), with_optimizers=False,
                                          read_only=True)
    with pytest.raises(checkpoints.CheckpointError, match="lacks") as e:
        ckpt.restore_latest(expect_partial=True)
    assert "ema" in str(e.value)


def test_export_use_ema_fails_when_config_claims_an_ema_the_checkpoint_lacks(run):
    from tfgan_orig import export

    _replace_config(run, **{"model.ema_decay": 0.99})
    with pytest.raises(workdir_lib.WorkdirError, match="ema_decay"):
        export.export_from_workdir(run, use_ema=True)
    assert workdir_lib.latest_export(workdir_lib.paths(run)["export"]) is None


# ------------------------------------------------ damaged or partial newest checkpoint
def test_truncated_newest_checkpoint_is_named_and_the_previous_one_resumes(tmp_path, capsys):
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(tiny_config(epochs=2), workdir)
    data_file = os.path.join(workdir, "checkpoints", "ckpt-2.data-00000-of-00001")
    with open(data_file, "r+b") as f:
        f.truncate(os.path.getsize(data_file) // 2)
    capsys.readouterr()
    result = train_lib.train_and_evaluate(tiny_config(epochs=3), workdir)
    out = capsys.readouterr().out
    assert f"Checkpoint {os.path.join(workdir, 'checkpoints', 'ckpt-2')} is damaged" in out
    assert data_file in out  # the file itself is named, with its size
    assert result["start_epoch"] == 1 and len(result["history"]["d_loss"]) == 2
    assert result["checkpoint"].endswith("ckpt-3")
    assert_indexed_checkpoints_complete(workdir)


def _tiny_config():
    import runpy

    config = runpy.run_path(os.path.join(REPO, "configs", "ring8.py"))["get_config"]()
    config.model.g_hidden_units = (8,)
    config.model.d_units = 4
    config.model.d_pieces = 2
    config.train.batch_size = 8
    config.train.steps_per_epoch = 2
    config.train.epochs = 2
    config.train.verbose = 0
    config.train.export = False
    config.train.num_samples = 20
    return config


def test_damaged_newest_checkpoint_falls_back_to_previous(tmp_path):
    config = _tiny_config()
    train_lib.train_and_evaluate(config, str(tmp_path))
    ckpt_dir = os.path.join(str(tmp_path), "checkpoints")
    data_file = os.path.join(ckpt_dir, "ckpt-2.data-00000-of-00001")
    with open(data_file, "r+b") as f:  # truncate: a disk fault after the index was written
        f.truncate(10)
    gan = train_lib.load_gan_from_workdir(str(tmp_path))
    assert gan.restored_epoch == 1
    # Training resumes from epoch 1 and completes epoch 2 again.
    result = train_lib.train_and_evaluate(config, str(tmp_path))
    assert result["start_epoch"] == 1 and len(result["history"]["d_loss"]) == 1


def test_orphan_partial_save_is_ignored(tmp_path):
    """A save killed before the index update leaves files the index does not name: not loaded."""
    config = _tiny_config()
    train_lib.train_and_evaluate(config, str(tmp_path))
    ckpt_dir = os.path.join(str(tmp_path), "checkpoints")
    # What a killed `ckpt-3` write leaves behind: a temp shard directory and a half data file.
    os.makedirs(os.path.join(ckpt_dir, "ckpt-3_temp", "part-00000-of-00001"), exist_ok=True)
    with open(os.path.join(ckpt_dir, "ckpt-3.data-00000-of-00001"), "wb") as f:
        f.write(b"\x00" * 7)
    gan = train_lib.load_gan_from_workdir(str(tmp_path))
    assert gan.restored_epoch == 2
