"""Resume end to end: a training program on the paper nets SIGKILLed in the middle and re-run ends
with the same weights as an uninterrupted run. (The damaged-newest-checkpoint fallback is in
test_checkpoints.py.)"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Paper nets (dropout seed generators, scheduled-momentum SGD slots) on 2-D data, deterministic ops.
# 4 epochs x 40 steps: long enough to kill inside epoch 3, short enough for CI.
ARGS = [
    "--config=configs/ring8.py",
    "--config.model.discriminator=paper",
    "--config.model.d_units=16",
    "--config.model.d_pieces=2",
    "--config.model.g_hidden_units=(16,16)",
    "--config.optimizer.name=paper_sgd",
    "--config.optimizer.d_learning_rate=0.05",
    "--config.optimizer.g_learning_rate=0.05",
    "--config.optimizer.momentum_ramp_epochs=(1,3)",
    "--config.train.batch_size=20",
    "--config.train.steps_per_epoch=40",
    "--config.train.epochs=4",
    "--config.train.log_every_steps=10",
    "--config.train.num_samples=50",
    "--config.train.deterministic=True",
    "--config.train.export=False",
    "--config.train.verbose=0",
    "--config.seed=3",
]


def _cmd(workdir):
    return [sys.executable, "-m", "tfgan_orig.train", f"--workdir={workdir}"] + ARGS


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def _run(workdir):
    result = subprocess.run(_cmd(workdir), cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _model_state(workdir):
    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    names = [n for n in reader.get_variable_to_shape_map() if not n.startswith("_")]
    return path, {n: reader.get_tensor(n) for n in names}


@pytest.mark.slow
def test_sigkill_and_rerun_equals_uninterrupted_run(tmp_path):
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    _run(straight)

    proc = subprocess.Popen(_cmd(killed), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    index = os.path.join(killed, "checkpoints", "checkpoint")
    deadline = time.time() + 300
    # Kill as soon as epoch 2's checkpoint is indexed: the process is then inside epoch 3.
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(index) and "ckpt-2" in open(index).read():
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    latest = tf.train.latest_checkpoint(os.path.join(killed, "checkpoints"))
    assert latest.endswith(("ckpt-2", "ckpt-3")), latest  # killed before the end

    rerun = _run(killed)
    assert "Resuming from" in rerun.stdout

    path_a, state_a = _model_state(straight)
    path_b, state_b = _model_state(killed)
    assert path_a.endswith("ckpt-4") and path_b.endswith("ckpt-4")
    assert sorted(state_a) == sorted(state_b)
    # Everything: G, D, dropout RNG states, step counter, both optimizers' slots, epoch.
    assert any(n.startswith("g_optimizer/") for n in state_a)
    for name in state_a:
        np.testing.assert_allclose(state_a[name], state_b[name], rtol=1e-6, atol=1e-7,
                                   err_msg=name)


