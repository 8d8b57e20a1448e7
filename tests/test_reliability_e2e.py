"""End-to-end faults against the real training, export and evaluation programs (subprocesses, no
mocks): SIGKILLs inside a checkpoint write, at random and inside the export; SIGTERM/SIGINT; two
processes on one workdir; a workdir under a file; a diverging run; read-only workdirs and
incompatible checkpoints in export and evaluation.

The library-level halves live with their modules: test_preflight.py (unwritable workdir, full
disk, resume mismatch, bad data), test_divergence.py (skip/stop policies), test_checkpoints.py
(damaged, partial and foreign checkpoints, the run fingerprint), test_workdir.py (the lock).
Elsewhere: one SIGKILL between epochs on the paper nets (test_resume_e2e.py), config typos and
names (test_train.py, test_config_validation.py), multi-worker kills (test_distributed.py).
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import train_lib

from conftest import (TINY_RING8_FLAGS, assert_indexed_checkpoints_complete, files_under,
                      indexed_checkpoints, tiny_ring8_config)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def _cmd(workdir, extra=()):
    return [sys.executable, "-m", "tfgan_orig.train", f"--workdir={workdir}"] + TINY_RING8_FLAGS + list(extra)


def run_cli(workdir, extra=(), timeout=600):
    return subprocess.run(_cmd(workdir, extra), cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


tiny_config = tiny_ring8_config


def checkpoint_state(workdir):
    """{name: value} of every tensor of the newest indexed checkpoint (reading all of its data)."""
    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    names = [n for n in reader.get_variable_to_shape_map() if not n.startswith("_")]
    return path, {n: reader.get_tensor(n) for n in names}


def assert_export_complete(base):
    """Every integer version (what TF Serving serves) is a complete SavedModel."""
    versions = [d for d in os.listdir(base) if d.isdigit()]
    assert versions, os.listdir(base)
    for version in versions:
        assert os.path.exists(os.path.join(base, version, "saved_model.pb")), version
        assert os.path.isdir(os.path.join(base, version, "variables")), version
    return versions


# ------------------------------------------------------------------------------------ SIGKILL
def _wait_for(proc, condition, timeout=420, poll=0.002):
    """Polls `condition()` until true (returns True) or the process ends (returns False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    raise TimeoutError("condition not met in time")


# `python -m tfgan_orig.train ARGS` with TensorFlow's checkpoint merge (the step that turns the
# written `<prefix>_temp` shards into the checkpoint) delayed by 0.5 s: fault injection into the
# real program's I/O, so a SIGKILL lands inside a checkpoint write on any machine.
_SLOW_MERGE = """
import runpy, sys, time
from tensorflow.python.ops import gen_io_ops
_merge = gen_io_ops.merge_v2_checkpoints
def _slow_merge(*args, **kwargs):
    time.sleep(0.5)
    return _merge(*args, **kwargs)
gen_io_ops.merge_v2_checkpoints = _slow_merge
sys.argv = ["tfgan_orig.train", *sys.argv[1:]]
runpy.run_module("tfgan_orig.train", run_name="__main__")
"""


def _kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_in_save_in_export_and_at_random_then_rerun_equals_uninterrupted(tmp_path):
    """Kills land inside a checkpoint write (its `*_temp*` shard directory exists), at seeded
    random moments of training, and inside the SavedModel export (its `.tmp-*` directory exists).
    Each re-run resumes from the newest *complete* checkpoint; the end state equals an
    uninterrupted run's (deterministic ops), checkpoint and exported generator alike."""
    # Enough epochs that a kill inside a save (up to 4 tries) and two random kills all land before
    # the end even on an idle machine, where an epoch of this tiny model takes about a second.
    extra = ["--config.train.epochs=16", "--config.train.steps_per_epoch=20",
             "--config.train.deterministic=True", "--config.seed=5"]
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    reference = subprocess.Popen(_cmd(straight, extra), cwd=REPO, env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ckpt_dir = os.path.join(killed, "checkpoints")
    export_dir = os.path.join(killed, "export", "generator")
    rng = random.Random(1234)

    def start(slow_merge=False):
        cmd = _cmd(killed, extra)
        if slow_merge:  # the real program, its checkpoint merge held open 0.5 s (see below)
            cmd = [sys.executable, "-c", _SLOW_MERGE, *cmd[3:]]  # ARGS after "-m tfgan_orig.train"
        return subprocess.Popen(cmd, cwd=REPO, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def saving():
        return os.path.isdir(ckpt_dir) and any("_temp" in n for n in os.listdir(ckpt_dir))

    # 1. Inside a checkpoint write, with a complete checkpoint before it: killed while the write's
    # temporary shards exist. On an idle machine the tiny model's write is over before a kill
    # lands (4 tries all missed once), so this process's shard merge waits 0.5 s first.
    in_save = None
    for _ in range(4):
        proc = start(slow_merge=True)
        assert _wait_for(proc, lambda: saving() and indexed_checkpoints(killed)), "no save seen"
        _kill(proc)
        assert_indexed_checkpoints_complete(killed)
        if saving():  # the temporary files of an unfinished write are still there
            in_save = list(indexed_checkpoints(killed))
            break
    assert in_save is not None, "no kill landed inside a checkpoint write"

    # 2-3. At seeded random moments after training (re)started (a new checkpoint is indexed).
    random_kills = []
    for attempt in range(2):
        before = max(indexed_checkpoints(killed), default=0)
        proc = start()
        if not _wait_for(proc, lambda: max(indexed_checkpoints(killed), default=0) > before):
            break
        time.sleep(rng.uniform(0.0, 0.5))  # a random moment within the next epoch or so
        if proc.poll() is not None:
            break
        _kill(proc)
        if attempt == 0:  # the run after the kill inside a save resumed from the complete one
            resumed = proc.stdout.read()
            assert f"Resuming from {os.path.join(ckpt_dir, f'ckpt-{max(in_save)}')} " in resumed
        random_kills.append(max(indexed_checkpoints(killed), default=0))
        assert_indexed_checkpoints_complete(killed)
    assert random_kills, "the run ended before any random kill"

    # 4. Inside the export (training done, SavedModel being written), unless already finished.
    proc = start()
    exporting = _wait_for(
        proc, lambda: os.path.isdir(export_dir) and any(
            n.startswith(".tmp-") for n in os.listdir(export_dir))
    )
    if exporting:
        _kill(proc)
        assert not [d for d in os.listdir(export_dir) if d.isdigit()]  # nothing published
        proc = start()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert exporting, "the kill meant for the export came too late"
    assert "Resuming from" in out

    assert reference.wait(timeout=600) == 0, reference.stderr.read()[-3000:]
    # Only complete versions are servable; the interrupted export left no integer version.
    assert assert_export_complete(export_dir) == ["1"]
    assert sorted(d for d in os.listdir(export_dir) if d.isdigit()) == ["1"]

    path_a, state_a = checkpoint_state(straight)
    path_b, state_b = checkpoint_state(killed)
    assert path_a.endswith("ckpt-16") and path_b.endswith("ckpt-16")
    assert sorted(state_a) == sorted(state_b)
    for name in state_a:
        np.testing.assert_allclose(state_a[name], state_b[name], rtol=1e-6, atol=1e-7,
                                   err_msg=name)
    z = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    out_a = tf.saved_model.load(os.path.join(straight, "export", "generator", "1"))
    out_b = tf.saved_model.load(os.path.join(export_dir, "1"))
    images_a = out_a.signatures["serving_default"](z=tf.constant(z))
    images_b = out_b.signatures["serving_default"](z=tf.constant(z))
    for key in images_a:
        np.testing.assert_allclose(images_a[key].numpy(), images_b[key].numpy(), rtol=1e-6,
                                   atol=1e-7)
    print(f"kills: in save after {in_save}, random after {random_kills}, in export: {exporting}")


# ------------------------------------------------------------------------------------ workdir
def test_cli_workdir_under_a_file_fails_before_anything_is_written(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = run_cli(str(blocker / "run"))
    assert result.returncode != 0
    assert "FATAL" in result.stderr and str(blocker) in result.stderr
    assert "not a directory" in result.stderr and "Traceback" not in result.stderr
    assert files_under(str(tmp_path)) == ["a_file"]


# ------------------------------------------------------------------------------------ divergence
@pytest.mark.slow
def test_cli_divergence_stops_at_the_step_keeps_last_good_checkpoint(tmp_path):
    workdir = str(tmp_path / "run")
    sgd = ["--config.optimizer.name=sgd", "--config.optimizer.momentum=0.0",
           "--config.train.export=False"]
    config = tiny_config(epochs=2)
    config.optimizer.name = "sgd"
    config.optimizer.momentum = 0.0
    train_lib.train_and_evaluate(config, workdir)  # two good epochs
    good_path, good_state = checkpoint_state(workdir)

    result = run_cli(workdir, sgd + ["--config.train.epochs=4",
                                     "--config.optimizer.d_learning_rate=1e30"])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("FATAL")]
    assert message, result.stderr[-3000:]
    # Resumed after 10 steps; step 11 takes the huge update, step 12's loss is no longer finite.
    assert "Training diverged at step 12 " in message[0] or "at step 11 " in message[0], message
    assert "non-finite" in message[0] and ("d_loss=" in message[0] or "g_loss=" in message[0])
    assert good_path in message[0]
    # The last good checkpoint is the newest, unchanged, loadable; nothing diverged was saved.
    assert indexed_checkpoints(workdir) == [1, 2]
    assert not [f for f in os.listdir(os.path.join(workdir, "checkpoints"))
                if f.startswith("ckpt-3")]
    path, state = checkpoint_state(workdir)
    assert path == good_path
    for name, value in good_state.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)
    gan = train_lib.load_gan_from_workdir(workdir)
    assert gan.restored_epoch == 2
    assert all(np.isfinite(v.numpy()).all() for v in gan.variables)
    assert not os.path.exists(os.path.join(workdir, "export"))


# ------------------------------------------------------------------------------------ lock
def test_second_process_on_a_workdir_in_use_refuses_and_a_stale_lock_is_taken_over(tmp_path):
    """Two training processes on one workdir used to both exit 0 with the index pointing at one
    run's checkpoint and the other's config. Now the second refuses, naming the holder; after the
    holder is SIGKILLed its lock is stale and the next run takes it over, saying whose it was."""
    workdir = str(tmp_path / "run")
    holder = subprocess.Popen(_cmd(workdir, ["--config.train.epochs=1000"]), cwd=REPO, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = os.path.join(workdir, "lock")
    try:
        assert _wait_for(holder, lambda: indexed_checkpoints(workdir)), "the first run did not start"
        second = run_cli(workdir, ["--config.train.epochs=2"])
        assert holder.poll() is None  # still training: the refusal came while it held the lock
    finally:
        _kill(holder)
    assert second.returncode == 1, second.stderr[-3000:]
    fatal = [line for line in second.stderr.splitlines() if line.startswith("FATAL")]
    assert len(fatal) == 1 and "Traceback" not in second.stderr, second.stderr[-3000:]
    assert f"Workdir {workdir} is in use by another training process" in fatal[0]
    assert f"pid {holder.pid} on host {socket.gethostname()}, started " in fatal[0]
    # The killed holder left its lock file; the next run takes it over and finishes.
    assert json.load(open(lock))["pid"] == holder.pid
    third = run_cli(workdir, ["--config.train.epochs=1", "--config.train.export=False"])
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"Taking over the stale lock {lock} of pid {holder.pid} on host" in third.stdout
    assert not os.path.exists(lock)  # released at the end


# ------------------------------------------------------------------------------------ SIGTERM
def _checkpoint_position(workdir):
    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return (int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")),
            int(reader.get_tensor("step_in_epoch/.ATTRIBUTES/VARIABLE_VALUE")))


@pytest.mark.slow
def test_sigterm_and_sigint_checkpoint_the_step_and_the_rerun_equals_uninterrupted(tmp_path):
    """SIGTERM (preemption) and SIGINT (Ctrl-C) used to kill the run and lose the epoch in
    progress without a word. Now each stops after the current step, writes a checkpoint that
    records the step, says so and exits 143 / 130; the re-runs resume at that step and end with
    the weights of an uninterrupted run (deterministic ops; data order is a pure function of
    (seed, epoch))."""
    # 250 steps per epoch: a signal landing exactly on an epoch's last step is unlikely (then the
    # checkpoint is the epoch's own and the test still holds, checking less).
    extra = ["--config.train.epochs=4", "--config.train.steps_per_epoch=250",
             "--config.train.deterministic=True", "--config.seed=5"]
    straight, stopped = str(tmp_path / "straight"), str(tmp_path / "stopped")
    reference = subprocess.Popen(_cmd(straight, extra), cwd=REPO, env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rng = random.Random(7)
    positions = []
    for sig, after in ((signal.SIGTERM, 1), (signal.SIGINT, 3)):
        proc = subprocess.Popen(_cmd(stopped, extra), cwd=REPO, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert _wait_for(proc, lambda: max(indexed_checkpoints(stopped), default=0) >= after), "no epoch end"
        time.sleep(rng.uniform(0.05, 0.3))  # somewhere inside the next epoch
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 128 + sig, (proc.returncode, err[-3000:])
        assert "Traceback" not in err
        epoch, step = _checkpoint_position(stopped)
        positions.append((epoch, step))
        assert f"Received {sig.name}: stopping after the current step" in out
        newest = os.path.join(stopped, "checkpoints", f"ckpt-{epoch + (1 if step else 0)}")
        where = f"in epoch {epoch + 1} after step {step}" if step else f"after epoch {epoch}"
        assert f"Stopped by {sig.name} {where}: checkpoint {newest} written." in err
        assert_indexed_checkpoints_complete(stopped)
    result = run_cli(stopped, extra)
    assert result.returncode == 0, result.stderr[-3000:]
    epoch, step = positions[-1]
    if step:
        assert f"(epoch {epoch}/4, step {step}/250 of the next)" in result.stdout
    assert any(step for _, step in positions), f"no signal landed mid-epoch: {positions}"

    assert reference.wait(timeout=600) == 0, reference.stderr.read()[-3000:]
    path_a, state_a = checkpoint_state(straight)
    path_b, state_b = checkpoint_state(stopped)
    assert path_a.endswith("ckpt-4") and path_b.endswith("ckpt-4")
    assert sorted(state_a) == sorted(state_b)
    for name in state_a:
        if name.startswith("save_counter"):  # counts saves (the interrupted runs saved more)
            continue
        np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)
    print(f"signals landed at (epoch, step): {positions}")


# ------------------------------------------------------------------------------------ read-only
@pytest.fixture
def read_only_copy(tmp_path):
    """A finished workdir and a read-only bind mount of it (skipped where mounting is refused)."""
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(tiny_config(epochs=1), workdir)
    view = tmp_path / "ro"
    view.mkdir()
    done = subprocess.run(["mount", "--bind", workdir, str(view)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {done.stderr.strip()}")
        yield workdir, str(view)
    finally:
        subprocess.run(["umount", str(view)], check=False)


class _NoSampling:
    """A stand-in GAN that fails if evaluation gets as far as drawing samples."""

    restored_epoch = 1

    def __getattr__(self, name):
        raise AssertionError(f"evaluation computed something ({name}) before checking its output")


def test_export_and_evaluate_on_a_read_only_workdir_fail_first_in_one_line(read_only_copy):
    from tfgan_orig import evaluate, export
    from tfgan_orig import workdir as workdir_lib

    _, view = read_only_copy
    with pytest.raises(workdir_lib.WorkdirError, match="not writable"):
        evaluate.evaluate_workdir(view, metrics="modes", gan=_NoSampling())
    with pytest.raises(workdir_lib.WorkdirError, match="export directory .* is not writable"):
        export.export_from_workdir(view)
    for module in ("evaluate", "export"):
        result = subprocess.run(
            [sys.executable, "-m", f"tfgan_orig.{module}", f"--workdir={view}"], cwd=REPO,
            env=_env(), capture_output=True, text=True, timeout=600)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
        lines = [line for line in result.stderr.splitlines() if "not writable" in line]
        assert len(lines) == 1 and "Read-only file system" in lines[0], result.stderr[-3000:]


def test_evaluate_and_export_of_an_incompatible_checkpoint_is_one_line(tmp_path):
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(tiny_config(epochs=1), workdir)
    config_path = os.path.join(workdir, "config.json")
    config = json.load(open(config_path))
    config["model"]["d_units"] = 32  # another architecture than the checkpoint's
    json.dump(config, open(config_path, "w"))
    for module in ("evaluate", "export"):
        result = subprocess.run(
            [sys.executable, "-m", f"tfgan_orig.{module}", f"--workdir={workdir}"], cwd=REPO,
            env=_env(), capture_output=True, text=True, timeout=600)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
        lines = [line for line in result.stderr.splitlines() if "model.d_units" in line]
        assert len(lines) == 1 and "checkpoint 16, config 32" in lines[0], result.stderr[-3000:]
