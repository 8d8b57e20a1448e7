"""Smoke test of the benchmark harness: it runs every kind of row for a few steps on tiny nets and
writes the documented JSON. No timing thresholds: speed is judged from the harness' own table."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.slow
def test_quick_harness_writes_the_json_schema(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable,
        os.path.join(ROOT, "benchmarks", "run.py"),
        "--quick",
        "--groups",
        "mlp_b100,mlp_replicas",
        "--json",
        str(out),
        "--quiet",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| fit |" in proc.stdout  # the markdown table
    result = json.loads(out.read_text())
    assert result["schema"] == "tfgan_orig.benchmarks/1"
    assert result["meta"]["quick"] is True and result["meta"]["threads"] == 2
    groups = {g["name"]: g for g in result["groups"]}
    assert set(groups) == {"mlp_b100", "mlp_replicas"}
    rows = {r["name"]: r for r in groups["mlp_b100"]["rows"]}
    expected = {"fit", "fit[jit,spe=2]", "raw", "raw[xla]", "pipeline"} | (
        {"torch"} if HAS_TORCH else set()
    )
    assert set(rows) == expected
    for row in list(rows.values()) + groups["mlp_replicas"]["rows"]:
        assert row["images_per_s_best"] >= row["images_per_s"] > 0
        assert len(row["images_per_s_reps"]) == result["meta"]["reps"] == 2
        assert row["peak_rss_mb"] > 0
        assert row["data"] in ("fashion_mnist", "synthetic")
    assert rows["raw"]["vs_raw"] == pytest.approx(1.0)
    # The requested settings reached Keras (XLA is allowed on a single device).
    assert rows["fit[jit,spe=2]"]["effective"] == {"steps_per_execution": 2, "jit_compile": True}
    replicas = {r["name"]: r for r in groups["mlp_replicas"]["rows"]}
    assert replicas["fit r2"]["replicas"] == 2
    if HAS_TORCH:
        assert rows["torch"]["vs_torch"] == pytest.approx(1.0)
        assert any("PyTorch" in t["target"] for t in result["targets"])
    for t in result["targets"]:
        assert set(t) == {"target", "value", "threshold", "met", "note", "value_best", "met_best"}
