"""The training program logs evaluation metrics to TensorBoard during training (config.eval)."""

import os
import pytest
import tensorflow as tf

from conftest import tiny_ring8_config

from tfgan_orig import train_lib

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
