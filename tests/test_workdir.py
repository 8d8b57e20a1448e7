"""Tests of tfgan_orig.workdir: the one workdir layout and the one atomic write."""

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


def test_latest_export_is_the_largest_integer_version(tmp_path):
    assert workdir.latest_export(str(tmp_path / "missing")) is None
    assert workdir.latest_export(str(tmp_path)) is None
    for name in ("2", "10", ".tmp-abc", "notes"):
        (tmp_path / name).mkdir()
    assert workdir.latest_export(str(tmp_path)) == os.path.join(tmp_path, "10")
