"""tfgan_orig.evaluation: the Evaluator on a GAN, the training callback, evaluate_workdir."""

import json
import os

import pytest
import tensorflow as tf

import tfgan_orig
from tfgan_orig import data, evaluation, networks


# ----------------------------------------------------------------------- Evaluator, callback, CLI
def _ring_gan(seed=0):
    return tfgan_orig.GAN(
        networks.mlp_generator(2, 2, hidden_units=(16, 16), seed=seed),
        networks.maxout_discriminator(2, units=8, pieces=2, num_layers=1, seed=seed),
        latent_dim=2,
        seed=seed,
    )


def test_evaluator_on_ring8_with_identity_features():
    ev = evaluation.Evaluator(
        "ring8", num_samples={"fd": 1000, "pr": 1000, "dc": 1000}, num_real=1000
    )
    results, info = ev.evaluate(_ring_gan(), "modes,fd,pr,dc")
    assert set(results) == {
        "modes_captured", "high_quality_fraction", "reverse_kl", "frechet_distance",
        "precision", "recall", "density", "coverage",
    }
    assert info["feature_network"] == "identity"
    assert info["num_samples"]["modes"] == {"samples": 2500}
    assert info["num_samples"]["fd"] == {"samples": 1000, "real": 1000}
    assert results["frechet_distance"] > 0.0


def test_evaluator_rejects_modes_on_images_and_unknown_feature_network():
    with pytest.raises(ValueError, match="2-D mixture"):
        evaluation.Evaluator("fashion_mnist").evaluate(_ring_gan(), "modes")
    with pytest.raises(ValueError, match="feature_network"):
        evaluation.Evaluator("fashion_mnist", feature_network="vgg").feature_network


def test_evaluation_callback_logs_to_tensorboard(tmp_path):
    gan = _ring_gan()
    gan.compile()
    x, _ = data.ring8(num=400)
    cb = evaluation.EvaluationCallback(
        "ring8", log_dir=str(tmp_path), metrics=("modes",), every_n_epochs=2,
        num_samples={"modes": 500},
    )
    gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(100), epochs=4, verbose=0, callbacks=[cb])
    assert [epoch for epoch, _ in cb.history] == [1, 3]
    tags = {}
    for name in os.listdir(tmp_path):
        for event in tf.compat.v1.train.summary_iterator(str(tmp_path / name)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    assert tags["eval/modes_captured"] == [1, 3]
    assert "eval/high_quality_fraction" in tags


def test_metrics_json_schema_for_the_training_set_as_samples(tmp_path):
    out = str(tmp_path / "ref.json")
    record = evaluation.evaluate_workdir(
        dataset="ring8", samples="train", metrics="all", num_samples=500, num_real=500, output=out
    )
    with open(out) as f:
        saved = json.load(f)
    assert saved == {k: v for k, v in record.items() if k != "output"}
    assert saved["metrics"] == ["parzen", "modes", "fd", "kid", "pr", "dc"]  # no logits: no cs
    for group in saved["metrics"]:
        for key in evaluation.METRIC_GROUPS[group]:
            assert isinstance(saved[key], (int, float)), key
    assert saved["samples"] == "train set" and saved["workdir"] is None
    assert saved["num_samples"]["parzen"] == {"samples": 500, "valid": 1000, "test": 500}
    # Real points as samples: every mode captured, precision/recall of a set against its twin.
    assert saved["modes_captured"] == 8 and saved["high_quality_fraction"] > 0.95
    assert saved["precision"] > 0.8 and saved["recall"] > 0.8
    assert "parzen_ll" in evaluation.format_table(record)
    with pytest.raises(ValueError, match="Without a workdir"):
        evaluation.evaluate_workdir(dataset="ring8", metrics="modes", output=out)
