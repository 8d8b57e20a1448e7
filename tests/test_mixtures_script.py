"""scripts/mixtures.py (PacGAN Table 1 harness): budgets in PacGAN epochs, table statistics."""

import importlib.util
import json
import math
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def mixtures():
    spec = importlib.util.spec_from_file_location(
        "mixtures_script", os.path.join(ROOT, "scripts", "mixtures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_map_to_configs_and_budgets_count_pacgan_epochs(mixtures):
    assert mixtures.config_path("ring8", "gan") == os.path.join("configs", "ring8.py")
    assert mixtures.config_path("grid25", "pacgan4") == os.path.join("configs", "grid25_pacgan4.py")
    # PacGAN keeps 100 D rows per step: pack m means batch 100 m, epochs of 1,000 / m steps.
    assert mixtures.epoch_multiplier("ring8", "gan") == 1
    assert mixtures.epoch_multiplier("ring8", "pacgan2") == 2
    assert mixtures.epoch_multiplier("grid25", "pacgan4") == 4
    assert mixtures.epoch_multiplier("ring8", "best") == 2
    assert mixtures.epoch_multiplier("grid25", "best") == 1


def test_every_row_config_is_valid_and_packs_as_pacgan(mixtures):
    import runpy

    from tfgan_orig import config as config_lib

    for dataset in ("ring8", "grid25"):
        for row in ("gan", "pacgan2", "pacgan4", "best"):
            path = os.path.join(ROOT, mixtures.config_path(dataset, row))
            config = runpy.run_path(path)["get_config"]()
            config_lib.validate_config(config)
            assert config.data.name == dataset
            pack = config.model.get("pack", 1)
            assert config.train.batch_size == 100 * pack  # 100 packed rows per step
            if row != "best":  # PacGAN's G: batch-norm statistics per slot of 100 rows
                assert config.model.g_batch_norm_slots == pack
            # Every row's own budget is PacGAN's 400 epochs or the "beat" budget of 40.
            epochs = config.train.epochs / mixtures.epoch_multiplier(dataset, row)
            assert epochs == (40 if row == "best" else 400)


def _run(tmp_path, mixtures, dataset, row, seed, epoch, modes, hq, kl, seconds, ema=None):
    wd = mixtures.workdir(str(tmp_path), dataset, row, seed)
    os.makedirs(os.path.join(wd, "eval"))
    with open(os.path.join(wd, "eval", "metrics.json"), "w") as f:
        json.dump({"epoch": epoch, "modes_captured": modes, "high_quality_fraction": hq,
                   "reverse_kl": kl}, f)
    if ema is not None:
        with open(os.path.join(wd, "eval", "metrics_ema.json"), "w") as f:
            json.dump(dict(ema, epoch=epoch, generator="ema"), f)
    with open(os.path.join(wd, "wall_seconds.json"), "w") as f:
        json.dump([{"epochs": epoch, "seconds": seconds, "cpu_seconds": None}], f)


def test_summary_mean_standard_error_per_seed_and_published_row(tmp_path, mixtures):
    _run(tmp_path, mixtures, "ring8", "pacgan2", 0, 10, 8, 0.50, 0.10, 60.0)
    _run(tmp_path, mixtures, "ring8", "pacgan2", 1, 10, 6, 0.70, 0.30, 120.0)
    s = mixtures.summarize(str(tmp_path), "ring8", "pacgan2", [0, 1, 2], 5)
    # Package epoch 10 of a pack-2 row = PacGAN epoch 5.
    assert s["epochs"] == [5, 5] and s["seeds"] == [0, 1] and s["seeds_target"] == 3
    assert not s["complete"]  # seed 2 has no result
    assert s["modes_captured"]["mean"] == 7.0
    assert s["modes_captured"]["stderr"] == pytest.approx(1.0)  # std sqrt(2) / sqrt(2)
    assert s["high_quality_fraction"]["values"] == pytest.approx([50.0, 70.0])
    assert s["reverse_kl"]["stderr"] == pytest.approx(0.1)
    assert s["wall_seconds_total"] == 180.0 and s["cpu_seconds_total"] == 0.0
    assert s["published"]["modes_captured"] == (7.9, 0.1)
    table = mixtures.markdown([s])
    assert "| pacgan2 | 5 | 2/3 | 7.0±1.0 | 60.0±10.0 | 0.20±0.10 | 1.5 | 7.9±0.1 / 95.6±2.0" in table


def test_summary_reports_the_ema_generator_unless_asked_for_the_live_one(tmp_path, mixtures):
    ema = {"modes_captured": 8, "high_quality_fraction": 0.9, "reverse_kl": 0.05}
    _run(tmp_path, mixtures, "ring8", "gan", 0, 5, 7, 0.4, 0.5, 10.0, ema=ema)
    auto = mixtures.summarize(str(tmp_path), "ring8", "gan", [0], 5)
    assert auto["complete"]
    assert auto["high_quality_fraction"]["mean"] == pytest.approx(90.0)
    assert auto["per_seed"][0]["live_generator"]["high_quality_fraction"] == 0.4
    assert "(EMA G)" in mixtures.markdown([auto])
    live = mixtures.summarize(str(tmp_path), "ring8", "gan", [0], 5, generator="live")
    assert live["high_quality_fraction"]["mean"] == pytest.approx(40.0)
    assert live["high_quality_fraction"]["stderr"] is None  # one seed: no standard error


def test_mean_se_skips_undefined_values(mixtures):
    assert mixtures.mean_se([None, float("nan")]) == (None, None, 0)
    m, se, n = mixtures.mean_se([1.0, 3.0, None])
    assert (m, n) == (2.0, 2) and math.isclose(se, 1.0)


def test_sweep_goes_on_past_a_failed_run_and_fails_at_the_end(tmp_path, mixtures):
    """Real `tfgan_orig.train` runs refusing a bad override: both failures are reported (the sweep
    went on after the first), the table is still written with the finished seed, exit non-zero."""
    import subprocess
    import sys

    _run(tmp_path, mixtures, "ring8", "gan", 2, 1, 8, 0.9, 0.1, 30.0)  # seed 2: done at 1 epoch
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "mixtures.py"), "all", "--rows=gan",
         "--datasets=ring8", "--seeds=0,1,2", "--epochs=1", f"--runs={tmp_path}",
         f"--python={sys.executable}", "--config.model.no_such_field=1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    seed0, seed1 = (mixtures.workdir(str(tmp_path), "ring8", "gan", s) for s in (0, 1))
    assert f"FAILED (exit 1): {seed0}" in proc.stderr
    assert f"FAILED (exit 1): {seed1}" in proc.stderr
    assert proc.stderr.rstrip().endswith(f"2 run(s) failed (their output above): {seed0}, {seed1}")
    with open(os.path.join(str(tmp_path), "table.json")) as f:
        table = json.load(f)
    assert [r["workdir"] for r in table["failed_runs"]] == [seed0, seed1]
    assert all(r["exit_code"] == 1 for r in table["failed_runs"])
    (row,) = table["rows"]
    assert row["seeds"] == [2] and row["high_quality_fraction"]["mean"] == pytest.approx(90.0)
    assert not os.path.exists(os.path.join(seed0, "eval", "metrics.json"))


def test_a_finished_run_is_reused_only_under_the_overrides_it_was_trained_with(tmp_path, mixtures):
    """Seed 0 finished under `--config.model.no_such_field=1` (as its log says) is reused by a sweep
    with that override; seed 1, finished without overrides, is not: the sweep trains it again
    (here refused at once by the bad override) and leaves it out of the table instead of
    reporting its old numbers."""
    import subprocess
    import sys

    bad = "--config.model.no_such_field=1"
    for seed, logged in ((0, f"-m tfgan_orig.train --config.seed=0 {bad}"),
                         (1, "-m tfgan_orig.train --config.seed=1 --config.train.epochs=1")):
        _run(tmp_path, mixtures, "ring8", "gan", seed, 1, 8, 0.9, 0.1, 30.0)
        wd = mixtures.workdir(str(tmp_path), "ring8", "gan", seed)
        with open(os.path.join(wd, "wall_seconds.json"), "w") as f:
            json.dump([{"epochs": 1, "seconds": 30.0, "cpu_seconds": None, "command": logged}], f)
    assert mixtures._same_overrides([{"extra": [bad]}], [bad])
    assert not mixtures._same_overrides([{"extra": []}], [bad])
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "mixtures.py"), "all", "--rows=gan",
         "--datasets=ring8", "--seeds=0,1", "--epochs=1", f"--runs={tmp_path}",
         f"--python={sys.executable}", bad],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    seed0, seed1 = (mixtures.workdir(str(tmp_path), "ring8", "gan", s) for s in (0, 1))
    assert f"FAILED (exit 1): {seed1}" in proc.stderr and seed0 not in proc.stderr
    with open(os.path.join(str(tmp_path), "table.json")) as f:
        table = json.load(f)
    assert [r["workdir"] for r in table["failed_runs"]] == [seed1]
    (row,) = table["rows"]
    assert row["seeds"] == [0]  # seed 1's old numbers are not reported as this sweep's


def _tensorboard_reads(wd):
    """What TensorBoard itself reads from a run's eval logs: {metric: {epoch (1-based): value}}."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(
        os.path.join(wd, "tensorboard", "eval"), size_guidance={"tensors": 0}
    )
    acc.Reload()
    return {tag.split("/")[-1]: {e.step + 1: float(tf.make_ndarray(e.tensor_proto))
                                 for e in acc.Tensors(tag)}
            for tag in acc.Tags()["tensors"]}


def test_curves_read_the_metrics_the_training_program_logged(tmp_path, mixtures):
    """Real tiny runs (the modes metric logged every epoch): the curves are the per-epoch mean and
    standard error over the seeds of what the runs logged (as TensorBoard reads it), in PacGAN
    epochs; a seed that stopped earlier enters only the epochs it reached."""
    from conftest import tiny_ring8_config

    from tfgan_orig import train_lib

    logged = {}
    for seed, epochs in ((0, 2), (1, 2), (2, 1)):
        config = tiny_ring8_config(epochs=epochs)
        config.seed = seed
        config.eval.metrics = "modes"
        config.eval.every_n_epochs = 1
        wd = mixtures.workdir(str(tmp_path), "ring8", "gan", seed)
        train_lib.train_and_evaluate(config, wd)
        logged[seed] = _tensorboard_reads(wd)
        assert sorted(logged[seed]["high_quality_fraction"]) == list(range(1, epochs + 1))
        # (An undefined value, e.g. the reverse KL without any HQ sample, is not logged.)
        assert mixtures.logged_metrics(wd) == {m: logged[seed].get(m, {})
                                               for m in mixtures.CURVE_METRICS}
    (entry,) = mixtures.curves(str(tmp_path), ["ring8"], ["gan"], [0, 1, 2], every=1)
    assert entry["epochs"] == [1, 2]
    for metric, scale in (("high_quality_fraction", 100.0), ("modes_captured", 1.0)):
        for point, epoch in zip(entry[metric], (1, 2)):
            values = [scale * logged[s][metric][epoch] for s in logged if epoch in logged[s][metric]]
            mean = sum(values) / len(values)
            se = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values))
            assert point["n"] == len(values) == (3 if epoch == 1 else 2)
            assert point["mean"] == pytest.approx(mean) and point["stderr"] == pytest.approx(se)
    assert len(entry["reverse_kl"]) == 2
    text = mixtures.curves_markdown([entry])
    assert "| PacGAN epochs | 1 | 2 |" in text and "(n=2)" in text
    # every=2: only PacGAN epoch 2.
    assert mixtures.curves(str(tmp_path), ["ring8"], ["gan"], [0, 1, 2], every=2)[0]["epochs"] == [2]
    # since=2: seeds 0 and 1 (seed 2 stopped at epoch 1), their epoch-2 values.
    late = mixtures.curves(str(tmp_path), ["ring8"], ["gan"], [0, 1, 2], every=1, since=2)[0]["late"]
    assert sorted(late["per_seed"]) == [0, 1]
    assert late["per_seed"][1]["modes_captured"]["median"] == logged[1]["modes_captured"][2]
    # A PacGAN2 row's package epochs are half PacGAN epochs: its package epoch 2 is PacGAN epoch 1.
    import shutil

    for seed in logged:
        shutil.copytree(mixtures.workdir(str(tmp_path), "ring8", "gan", seed),
                        mixtures.workdir(str(tmp_path), "ring8", "pacgan2", seed))
    (packed,) = mixtures.curves(str(tmp_path), ["ring8"], ["pacgan2"], [0, 1, 2], every=1)
    assert packed["epochs"] == [1]
    assert packed["modes_captured"][0]["mean"] == pytest.approx(
        (logged[0]["modes_captured"][2] + logged[1]["modes_captured"][2]) / 2)


def test_late_summary_is_the_per_seed_median_and_range_from_an_epoch_on(mixtures):
    """`curves --since`: per seed, median / min / max of what was logged from PacGAN epoch
    `since` on (package epochs are `mult` times finer for a packed row), the mean +- SE of the
    medians over seeds; a seed that never reached `since` is left out, and earlier epochs never
    enter."""
    hq = {0: {1: 0.10, 2: 0.98, 3: 0.50, 4: 0.97, 5: 0.99}, 1: {1: 0.20, 2: 0.90, 3: 0.94},
          2: {1: 0.30}}
    per_seed = {s: {"high_quality_fraction": v, "modes_captured": {e: 6.0 + e % 2 for e in v},
                    "reverse_kl": {}} for s, v in hq.items()}
    late = mixtures.late_summary(per_seed, mult=1, since=2)
    assert sorted(late["per_seed"]) == [0, 1]
    seed0 = late["per_seed"][0]["high_quality_fraction"]
    assert seed0["n"] == 4 and seed0["median"] == pytest.approx(97.5)
    assert (seed0["min"], seed0["max"]) == pytest.approx((50.0, 99.0))
    assert late["per_seed"][1]["high_quality_fraction"]["median"] == pytest.approx(92.0)
    assert late["per_seed"][0]["modes_captured"]["median"] == pytest.approx(6.5)
    assert "reverse_kl" not in late["per_seed"][0]
    medians = late["median"]["high_quality_fraction"]
    assert medians["n"] == 2 and medians["mean"] == pytest.approx((97.5 + 92.0) / 2)
    assert medians["stderr"] == pytest.approx(abs(97.5 - 92.0) / 2)
    # A PacGAN2 row logs two package epochs per PacGAN epoch: since=2 starts at package epoch 4.
    packed = mixtures.late_summary(per_seed, mult=2, since=2)
    assert packed["per_seed"][0]["high_quality_fraction"]["n"] == 2
    assert sorted(packed["per_seed"]) == [0]
    text = mixtures.curves_markdown([{"dataset": "ring8", "row": "gan", "epochs": [1],
                                      "modes_captured": [], "high_quality_fraction": [],
                                      "reverse_kl": [], "late": late}])
    assert "| 0 | 4 |" in text and "97.5 [50.0, 99.0]" in text
    # Trend: seed 0's pairwise HQ slopes over epochs 2-5 (points per epoch) are -48, -0.5, 0.33,
    # 47, 24.5, 2; their median is (0.33 + 2) / 2, reported per 100 epochs.
    assert seed0["trend_per_100"] == pytest.approx(100 * (1 / 3 + 2) / 2)
    trends = late["trend"]["high_quality_fraction"]
    seed1 = late["per_seed"][1]["high_quality_fraction"]["trend_per_100"]
    assert seed1 == pytest.approx(400.0) and trends["n"] == 2
    assert trends["mean"] == pytest.approx((seed0["trend_per_100"] + seed1) / 2)
    assert "trend per 100 epochs" in text


def test_theil_sen_slope_ignores_a_dip_that_moves_least_squares(mixtures):
    """The late trend must say whether a metric still climbs, not where one dip fell: a steady
    +1 per epoch with one dip of 40 points keeps slope 1 (least squares would turn it
    negative); a flat series is 0; a single point has no slope."""
    epochs, values = [1, 2, 3, 4, 5], [90.0, 91.0, 92.0, 53.0, 94.0]
    assert mixtures.theil_sen_slope(epochs, values) == pytest.approx(1.0)
    assert np.polyfit(epochs, values, 1)[0] < 0
    assert mixtures.theil_sen_slope(epochs, [97.0] * 5) == 0.0
    assert mixtures.theil_sen_slope([7], [97.0]) is None
    # Packed rows log package epochs; late_summary passes PacGAN epochs (package / mult).
    per_seed = {0: {"high_quality_fraction": {2: 0.90, 4: 0.92, 6: 0.94},
                    "modes_captured": {}, "reverse_kl": {}}}
    packed = mixtures.late_summary(per_seed, mult=2, since=1)
    assert packed["per_seed"][0]["high_quality_fraction"]["trend_per_100"] == pytest.approx(200.0)


def test_archive_keeps_what_table_and_curves_read_and_never_replaces_another_run(tmp_path, mixtures):
    """Real tiny runs, evaluated as the sweep evaluates them: `table` and `curves` on the archive
    (no checkpoints, no event files) give the numbers they give on the runs; an unevaluated seed
    is not archived; a seed archived from a run with other defining fields, or at a larger budget,
    is refused and the archive is left as it was."""
    import shutil

    from conftest import tiny_ring8_config

    from tfgan_orig import evaluation, train_lib

    runs, archived = str(tmp_path / "runs"), str(tmp_path / "archive")
    for seed in (0, 1):
        config = tiny_ring8_config(epochs=2)
        config.seed = seed
        config.eval.metrics = "modes"
        config.eval.every_n_epochs = 1
        wd = mixtures.workdir(runs, "ring8", "gan", seed)
        train_lib.train_and_evaluate(config, wd)
        evaluation.evaluate_workdir(wd, metrics="modes", num_samples=500, seed=seed)
    os.makedirs(mixtures.workdir(runs, "ring8", "gan", 2))  # started, never evaluated
    assert mixtures.archive(runs, archived, ["ring8"], ["gan"], [0, 1, 2]) == [
        mixtures.workdir(archived, "ring8", "gan", s) for s in (0, 1)]
    assert not any(f.startswith("events") or f.startswith("ckpt")
                   for _, _, fs in os.walk(archived) for f in fs)
    for seeds in ([0, 1], [0, 1, 2]):
        assert (mixtures.summarize(archived, "ring8", "gan", seeds, 2)
                == mixtures.summarize(runs, "ring8", "gan", seeds, 2))
    on_runs = mixtures.curves(runs, ["ring8"], ["gan"], [0, 1], every=1, since=1)
    assert mixtures.curves(archived, ["ring8"], ["gan"], [0, 1], every=1, since=1) == on_runs
    assert on_runs[0]["epochs"] == [1, 2] and on_runs[0]["high_quality_fraction"][1]["n"] == 2

    def archived_files():
        out = {}
        for d, _, fs in os.walk(archived):
            for f in fs:
                with open(os.path.join(d, f)) as fh:
                    out[os.path.join(d, f)] = fh.read()
        return out

    before = archived_files()
    # Seed 1 retrained under another defining field (G's batch-norm epsilon): refused by name.
    other = mixtures.workdir(runs, "ring8", "gan", 1)
    shutil.rmtree(other)
    config = tiny_ring8_config(epochs=2)
    config.seed = 1
    config.model.g_batch_norm_epsilon = 1e-4
    train_lib.train_and_evaluate(config, other)
    evaluation.evaluate_workdir(other, metrics="modes", num_samples=500, seed=1)
    # Seed 0 has news (a later invocation's wall time) that a non-refused archive would copy.
    log = os.path.join(mixtures.workdir(runs, "ring8", "gan", 0), "wall_seconds.json")
    with open(log, "w") as f:
        json.dump([{"epochs": 2, "seconds": 1.0, "cpu_seconds": 1.0}], f)
    with pytest.raises(SystemExit, match="g_batch_norm_epsilon"):
        mixtures.archive(runs, archived, ["ring8"], ["gan"], [0, 1])
    assert archived_files() == before  # seed 0, checked first, was not rewritten either
    # Seed 0 at a smaller budget than archived: refused.
    metrics = os.path.join(mixtures.workdir(runs, "ring8", "gan", 0), "eval", "metrics.json")
    with open(metrics) as f:
        shorter = dict(json.load(f), epoch=1)
    with open(metrics, "w") as f:
        json.dump(shorter, f)
    with pytest.raises(SystemExit, match="not replaced by a shorter run"):
        mixtures.archive(runs, archived, ["ring8"], ["gan"], [0])
    assert archived_files() == before
