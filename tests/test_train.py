"""The training program's command line (`python -m tfgan_orig.train`, tfgan_orig/cli/train.py):
config-override mistakes stop it at once, before any work. Runs that train are in test_train_e2e.py."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(args, workdir=None, timeout=300):
    cmd = [sys.executable, "-m", "tfgan_orig.train"] + list(args)
    if workdir is not None:
        cmd.append(f"--workdir={workdir}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


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


def test_helpshort_lists_the_programs_flags_and_usage():
    """The flags live in tfgan_orig/cli/train.py, yet `python -m tfgan_orig.train --helpshort`
    (whose `__main__` is the shim) lists them with the program's usage."""
    result = run_cli(["--helpshort"])  # absl exits 1 after printing the help
    text = result.stdout + result.stderr
    for flag in ("--config", "--workdir", "--strategy"):
        assert flag in text, text[-2000:]
    assert "--config.<path>=<value>" in text
