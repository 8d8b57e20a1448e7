"""tfgan_orig.train_lib: a run writes its workdir, resumes, logs evaluation metrics during training,
and `load_gan_from_workdir` restores it; config errors stop it before any write."""

import os
import runpy

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_ring8_config

from tfgan_orig import train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name):
    return runpy.run_path(os.path.join(REPO, "configs", f"{name}.py"))["get_config"]()


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


def _tiny_ring8():
    config = tiny_ring8_config(epochs=2, steps_per_epoch=3, num_samples=100)
    config.data.limit = 2000
    return config


def _scalars(logdir, tag):
    values = []
    for name in sorted(os.listdir(logdir)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
            for v in event.summary.value:
                if v.tag == tag:
                    values.append((event.step, float(tf.make_ndarray(v.tensor))))
    return values


def test_ring8_logs_mode_coverage_every_epoch(tmp_path):
    config = _tiny_ring8()
    assert config.eval.metrics == "modes"
    train_lib.train_and_evaluate(config, str(tmp_path))
    logged = _scalars(str(tmp_path / "tensorboard" / "eval"), "eval/modes_captured")
    assert [step for step, _ in logged] == [0, 1]
    assert all(0 <= value <= 8 for _, value in logged)


def test_unknown_eval_metric_is_a_config_error(tmp_path):
    config = _tiny_ring8()
    config.eval.metrics = "modes,fid"
    with pytest.raises(train_lib.ConfigError, match="fid"):
        train_lib.train_and_evaluate(config, str(tmp_path))
    assert not os.path.exists(tmp_path / "checkpoints")


def test_conditional_needs_label_taking_networks():
    config = _tiny_ring8()
    config.model.conditional = True
    with pytest.raises(train_lib.ConfigError, match="conditional=True needs model.generator='dcgan'"):
        train_lib.validate_config(config)
